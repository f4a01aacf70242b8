import { DEFAULT_LIMITS, type LimitSettings } from '../core/limits.js';
import type { Engine } from './options.js';

/**
 * Amazon MQ broker sizes and the limits each brings. RabbitMQ figures: Amazon MQ for
 * RabbitMQ sizing guidelines, single-instance brokers (on RabbitMQ 3.x brokers the limits
 * are these maxima, fixed); mq.t3.micro from the same guide's earlier table. ActiveMQ:
 * "Quotas in Amazon MQ", wire-level connections per broker, per protocol (300 on
 * mq.*.micro, 2,000 on mq.*.*large).
 */
export const INSTANCE_TYPES = ['mq.t3.micro', 'mq.m5.large', 'mq.m5.xlarge', 'mq.m5.2xlarge', 'mq.m5.4xlarge'] as const;

export type InstanceType = (typeof INSTANCE_TYPES)[number];

type SizedLimits = Pick<LimitSettings, 'maxConnections' | 'maxChannels' | 'maxQueues' | 'maxConsumersPerChannel' | 'maxConnectionsPerProtocol'>;

const SIZES: Record<InstanceType, SizedLimits> = {
  'mq.t3.micro': { maxConnections: 500, maxChannels: 1500, maxQueues: 2500, maxConsumersPerChannel: 1000, maxConnectionsPerProtocol: 300 },
  'mq.m5.large': { maxConnections: 5000, maxChannels: 15000, maxQueues: 30000, maxConsumersPerChannel: 1000, maxConnectionsPerProtocol: 2000 },
  'mq.m5.xlarge': { maxConnections: 10000, maxChannels: 30000, maxQueues: 60000, maxConsumersPerChannel: 1000, maxConnectionsPerProtocol: 2000 },
  'mq.m5.2xlarge': { maxConnections: 20000, maxChannels: 60000, maxQueues: 120000, maxConsumersPerChannel: 1000, maxConnectionsPerProtocol: 2000 },
  'mq.m5.4xlarge': { maxConnections: 40000, maxChannels: 120000, maxQueues: 240000, maxConsumersPerChannel: 1000, maxConnectionsPerProtocol: 2000 },
};

/** the instance type LocalMQ's defaults follow */
export const DEFAULT_INSTANCE_TYPE: InstanceType = 'mq.m5.large';

export function isInstanceType(value: string): value is InstanceType {
  return (INSTANCE_TYPES as readonly string[]).includes(value);
}

export function instanceTypeLimits(type: InstanceType): Readonly<SizedLimits> {
  return SIZES[type];
}

/**
 * The limits a broker runs with: LocalMQ's defaults, then the instance type's sizes,
 * then anything set explicitly. ActiveMQ's per-protocol connection limit applies in the
 * activemq profile (or when set); RabbitMQ's STOMP and MQTT plugins have none.
 */
export function resolveLimits(engine: Engine, instanceType: InstanceType | undefined, explicit: Partial<LimitSettings> = {}): LimitSettings {
  const sized = instanceType !== undefined ? SIZES[instanceType] : SIZES[DEFAULT_INSTANCE_TYPE];
  const limits: LimitSettings = { ...DEFAULT_LIMITS };
  if (instanceType !== undefined) Object.assign(limits, sized);
  limits.maxConnectionsPerProtocol = engine === 'activemq' ? sized.maxConnectionsPerProtocol : DEFAULT_LIMITS.maxConnectionsPerProtocol;
  for (const [key, value] of Object.entries(explicit) as [keyof LimitSettings, number | undefined][]) {
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
