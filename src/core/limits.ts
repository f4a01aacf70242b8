import { BrokerError } from './errors.js';

/**
 * Resource limits in the shape of Amazon MQ's broker sizes. Defaults are those of
 * mq.m5.large; going over gets RabbitMQ's own refusal.
 */
export interface LimitSettings {
  maxConnections: number;
  maxChannelsPerConnection: number;
  maxQueues: number;
  maxConsumersPerChannel: number;
  /** bytes; RabbitMQ 3.13+ defaults to 128 MiB (max_message_size) */
  maxMessageSize: number;
  /** bytes of queued message bodies above which publishers are blocked (connection.blocked) */
  memoryHighWatermark: number;
}

export const DEFAULT_LIMITS: LimitSettings = {
  maxConnections: 5000,
  maxChannelsPerConnection: 2047,
  maxQueues: 30000,
  maxConsumersPerChannel: 1000,
  maxMessageSize: 128 * 1024 * 1024,
  memoryHighWatermark: 1024 * 1024 * 1024,
};

export class Limits {
  readonly settings: LimitSettings;

  constructor(settings: Partial<LimitSettings> = {}) {
    this.settings = { ...DEFAULT_LIMITS, ...settings };
  }

  checkQueueCount(current: number): void {
    if (current >= this.settings.maxQueues) {
      throw new BrokerError(406, `queue limit in cluster (${this.settings.maxQueues}) is reached`);
    }
  }

  checkConsumerCount(current: number): void {
    if (current >= this.settings.maxConsumersPerChannel) {
      throw new BrokerError(406, `reached maximum (${this.settings.maxConsumersPerChannel}) of consumers per channel`);
    }
  }
}
