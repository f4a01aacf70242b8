import { preconditionFailed, describeQueue } from '../errors.js';
import type { FieldTable, FieldValue } from '../fields.js';
import { ACTIVEMQ_QUEUE_ARG } from '../activemq-names.js';

export type Overflow = 'drop-head' | 'reject-publish' | 'reject-publish-dlx';

/** A queue's behaviour, resolved once from its x-arguments (and policies). */
export interface QueueConfig {
  messageTtl?: number;
  expires?: number;
  deadLetterExchange?: string;
  deadLetterRoutingKey?: string;
  maxLength?: number;
  maxLengthBytes?: number;
  overflow: Overflow;
  maxPriority: number;
  singleActiveConsumer: boolean;
  queueType: 'classic' | 'quorum' | 'stream';
  /** quorum queues: x-delivery-limit (a negative value: unlimited); unset: the version's default */
  deliveryLimit?: number;
  /** x-consumer-timeout / policy consumer-timeout (ms): overrides the broker's consumer_timeout */
  consumerTimeout?: number;
  /** quorum queues: x-dead-letter-strategy (at-least-once needs overflow reject-publish) */
  deadLetterStrategy?: 'at-most-once' | 'at-least-once';
  /**
   * an ActiveMQ destination (made by an adapter speaking ActiveMQ's semantics, `x-activemq-queue`):
   * message groups, and expired persistent messages to ActiveMQ.DLQ
   */
  activemq: boolean;
}

/** RabbitMQ's names for field types, used in its error texts */
export function amqpTypeName(v: FieldValue): string {
  if (v === null || v === undefined) return 'void';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'bigint') return 'long';
  if (typeof v === 'number') return Number.isInteger(v) ? (v >= -0x80000000 && v <= 0x7fffffff ? 'signedint' : 'long') : 'double';
  if (typeof v === 'string') return 'longstr';
  if (Buffer.isBuffer(v)) return 'binary';
  if (v instanceof Date) return 'timestamp';
  if (Array.isArray(v)) return 'array';
  return 'table';
}

export function fieldToString(v: FieldValue): string | undefined {
  if (typeof v === 'string') return v;
  if (Buffer.isBuffer(v)) return v.toString();
  return undefined;
}

const integer = (v: FieldValue): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? v : typeof v === 'bigint' ? Number(v) : undefined;

/**
 * Validate and resolve a queue's arguments as RabbitMQ does, with its error texts:
 * `invalid arg 'x-message-ttl' for queue 'q' in vhost '/': {value_negative,-1}`.
 */
export function resolveQueueArgs(vhost: string, name: string, args: FieldTable): QueueConfig {
  const invalid = (key: string, why: string) =>
    preconditionFailed(`invalid arg '${key}' for ${describeQueue(vhost, name)}: ${why}`);
  const nonNegativeInt = (key: string, allowZero = true): number | undefined => {
    const raw = args[key];
    if (raw === undefined) return undefined;
    const n = integer(raw);
    if (n === undefined) throw invalid(key, `{unacceptable_type,${amqpTypeName(raw)}}`);
    if (n < 0) throw invalid(key, `{value_negative,${n}}`);
    if (n === 0 && !allowZero) throw invalid(key, `{value_zero,${n}}`);
    return n;
  };
  const str = (key: string): string | undefined => {
    const raw = args[key];
    if (raw === undefined) return undefined;
    const s = fieldToString(raw);
    if (s === undefined) throw invalid(key, `{unacceptable_type,${amqpTypeName(raw)}}`);
    return s;
  };

  const cfg: QueueConfig = {
    messageTtl: nonNegativeInt('x-message-ttl'),
    expires: nonNegativeInt('x-expires', false),
    deadLetterExchange: str('x-dead-letter-exchange'),
    deadLetterRoutingKey: str('x-dead-letter-routing-key'),
    maxLength: nonNegativeInt('x-max-length'),
    maxLengthBytes: nonNegativeInt('x-max-length-bytes'),
    overflow: 'drop-head',
    maxPriority: 0,
    singleActiveConsumer: false,
    queueType: 'classic',
    activemq: args[ACTIVEMQ_QUEUE_ARG] === true,
  };
  if (cfg.deadLetterRoutingKey !== undefined && cfg.deadLetterExchange === undefined) {
    throw preconditionFailed(
      `invalid arg 'x-dead-letter-routing-key' for ${describeQueue(vhost, name)}: {routing_key_but_no_dlx_defined}`,
    );
  }
  const overflow = str('x-overflow');
  if (overflow !== undefined) {
    if (overflow !== 'drop-head' && overflow !== 'reject-publish' && overflow !== 'reject-publish-dlx') {
      throw invalid('x-overflow', `{invalid_value,<<"${overflow}">>}`);
    }
    cfg.overflow = overflow;
  }
  const maxPriority = nonNegativeInt('x-max-priority');
  if (maxPriority !== undefined) {
    if (maxPriority > 255) throw invalid('x-max-priority', `{value_too_large,${maxPriority},255}`);
    cfg.maxPriority = maxPriority;
  }
  const sac = args['x-single-active-consumer'];
  if (sac !== undefined) {
    if (typeof sac !== 'boolean') throw invalid('x-single-active-consumer', `{unacceptable_type,${amqpTypeName(sac)}}`);
    cfg.singleActiveConsumer = sac;
  }
  const qt = str('x-queue-type');
  if (qt !== undefined) {
    if (qt !== 'classic' && qt !== 'quorum' && qt !== 'stream') throw invalid('x-queue-type', `{unacceptable_value,<<"${qt}">>}`);
    cfg.queueType = qt;
  }
  cfg.consumerTimeout = nonNegativeInt('x-consumer-timeout');
  const strategy = str('x-dead-letter-strategy');
  if (strategy === 'at-most-once' || strategy === 'at-least-once') cfg.deadLetterStrategy = strategy;
  const limit = args['x-delivery-limit'];
  if (limit !== undefined) {
    const n = integer(limit);
    if (n === undefined) throw invalid('x-delivery-limit', `{unacceptable_type,${amqpTypeName(limit)}}`);
    cfg.deliveryLimit = n;
  }
  // rabbit_quorum_queue:overflow/3: a quorum queue takes reject-publish-dlx with a logged
  // warning ("Invalid overflow strategy") and drops the head instead, as its default
  if (cfg.queueType === 'quorum' && cfg.overflow === 'reject-publish-dlx') cfg.overflow = 'drop-head';
  return cfg;
}

/** the arguments RabbitMQ compares when a queue is declared again */
export const EQUIVALENCE_CHECKED_ARGS = [
  'x-dead-letter-exchange',
  'x-dead-letter-routing-key',
  'x-expires',
  'x-max-length',
  'x-max-length-bytes',
  'x-max-priority',
  'x-message-ttl',
  'x-overflow',
  'x-queue-type',
  'x-single-active-consumer',
  'x-delivery-limit',
  'x-dead-letter-strategy',
] as const;
