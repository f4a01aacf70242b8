import { BrokerError } from './errors.js';

/**
 * Resource limits in the shape of Amazon MQ's broker sizes. Defaults are those of
 * mq.m5.large; going over gets RabbitMQ's own refusal (texts from rabbit_reader,
 * rabbit_channel and rabbit_amqqueue, as Amazon MQ's sizing guide quotes them).
 */
export interface LimitSettings {
  /** every protocol together: RabbitMQ's `connection_max` */
  maxConnections: number;
  /** the channel_max a connection may negotiate (RabbitMQ's `channel_max`) */
  maxChannelsPerConnection: number;
  /** open AMQP channels across all connections: RabbitMQ's `channel_max_per_node` */
  maxChannels: number;
  /** RabbitMQ's `cluster_queue_limit` */
  maxQueues: number;
  /** RabbitMQ's `consumer_max_per_channel` */
  maxConsumersPerChannel: number;
  /**
   * STOMP and MQTT connections per protocol, as ActiveMQ's transport connectors'
   * `maximumConnections` (Amazon MQ for ActiveMQ: per wire-level protocol). Unlimited
   * unless the activemq engine or an instance type sets it.
   */
  maxConnectionsPerProtocol: number;
  /** bytes; RabbitMQ 3.13+ defaults to 128 MiB (max_message_size) */
  maxMessageSize: number;
  /** bytes of queued message bodies above which publishers are blocked (connection.blocked) */
  memoryHighWatermark: number;
  /**
   * ms a client has from opening its socket to finishing its protocol's handshake (AMQP
   * connection.open, STOMP CONNECT, MQTT CONNECT, AMQP 1.0 open, OpenWire ConnectionInfo)
   * before the socket is closed: RabbitMQ's `handshake_timeout`, 10 s
   */
  handshakeTimeoutMs: number;
  /**
   * ms one client's input is processed before the other sockets, the timers and the disk's
   * completions get a turn (the rest of that read waits for the next turn of the event loop):
   * what Erlang's preemption gives RabbitMQ. 0: a read is processed whole. (protocols/common/read-slices.ts)
   */
  readSliceMs: number;
  /**
   * unbounded deliveries one connection may hold unacknowledged, over all its channels / sessions
   * / subscriptions: those of consumers that take with acks with no prefetch (no basic.qos, no
   * global qos; AMQP 1.0 links, whose credit does not bound unsettled deliveries), and basic.gets
   * with ack (qos does not bound them). At the cap those consumers get nothing more (nothing is
   * read back or buffered for them) until it settles some; a consumer with a prefetch gets its
   * window in full, as from RabbitMQ. 0: no cap (RabbitMQ has none). (core/connection-unacked.ts)
   */
  maxUnackedPerConnection: number;
}

/**
 * Unbounded unacked deliveries a connection may hold by default (a client that asked for a bound
 * is not counted: two channels with basic.qos 60000 each hold 60000 each, as in RabbitMQ;
 * review-s13-1 C2). Far above what a reader without a bound holds while it acks as it goes, far
 * below what takes a broker past its memory watermark: each unacked 1 KiB message read back from
 * disk costs ~2.9 KiB of RSS (bench/unacked-reader.ts), so 100k are ~0.3 GiB where RabbitMQ's
 * default watermark (0.4 of RAM) of an 8 GiB machine is passed at ~1.1 M.
 */
export const DEFAULT_MAX_UNACKED_PER_CONNECTION = 100_000;

export const DEFAULT_LIMITS: LimitSettings = {
  maxConnections: 5000,
  maxChannelsPerConnection: 2047,
  maxChannels: 15000,
  maxQueues: 30000,
  maxConsumersPerChannel: 1000,
  maxConnectionsPerProtocol: Number.POSITIVE_INFINITY,
  maxMessageSize: 128 * 1024 * 1024,
  memoryHighWatermark: 1024 * 1024 * 1024,
  handshakeTimeoutMs: 10_000,
  // long enough that a warm broker rarely stops mid-read, short against the 100 ms a publisher may wait for a confirm
  readSliceMs: 5,
  maxUnackedPerConnection: DEFAULT_MAX_UNACKED_PER_CONNECTION,
};

export class Limits {
  readonly settings: LimitSettings;
  /** AMQP channels open on this broker (the node, in RabbitMQ's terms) */
  private channels = 0;

  constructor(settings: Partial<LimitSettings> = {}) {
    this.settings = { ...DEFAULT_LIMITS, ...settings };
  }

  get openChannels(): number {
    return this.channels;
  }

  /** channels opened and closed since start (the management API's churn rates) */
  channelsCreated = 0;
  channelsClosed = 0;

  /** take a broker-wide channel slot; false when `maxChannels` are open */
  reserveChannel(): boolean {
    if (this.channels >= this.settings.maxChannels) return false;
    this.channels++;
    this.channelsCreated++;
    return true;
  }

  releaseChannel(): void {
    this.channelsClosed++;
    if (this.channels > 0) this.channels--;
  }

  /** RabbitMQ answers with 406 on the channel (rabbit_amqqueue's queue_limit_exceeded) */
  checkQueueCount(current: number, queueName: string): void {
    if (current >= this.settings.maxQueues) {
      throw new BrokerError(406, `cannot declare queue '${queueName}': queue limit in cluster (${this.settings.maxQueues}) is reached`);
    }
  }

  /** RabbitMQ raises not_allowed: a hard error, the whole connection closes with 530 */
  checkConsumerCount(current: number): void {
    if (current >= this.settings.maxConsumersPerChannel) {
      throw new BrokerError(530, `reached maximum (${this.settings.maxConsumersPerChannel}) of consumers per channel`, 'connection');
    }
  }
}
