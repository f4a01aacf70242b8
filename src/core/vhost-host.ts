import type { Store } from '../store/store.js';
import type { VersionRules } from './engine-versions.js';
import type { Consumer, Delivery } from './consumer.js';
import type { Limits } from './limits.js';
import type { ActiveMqDlqStrategy } from './dead-letter.js';
import type { TenantLimits } from './tenant-limits.js';
import type { Message } from './message.js';
import type { PolicyService } from './policies.js';
import type { QueueEntry } from './queues/entry.js';
import type { Queue } from './queues/queue.js';
import type { PagingMeter } from './queues/paged-fifo.js';
import type { SlicedWork } from './sliced-work.js';

/**
 * What a vhost needs from the broker that holds it (as a Queue has QueueHost): the store,
 * the limits, the message-id sequence, the memory accounting behind the alarm, and the
 * hooks that become the broker's events. The Broker implements it; nothing in the core
 * below the broker imports broker.ts.
 */
export interface VHostHost {
  readonly store: Store;
  readonly limits: Limits;
  /** per-vhost and per-user limits (RabbitMQ's vhost-limits and user limits) */
  readonly tenantLimits: TenantLimits;
  /** ActiveMQ's deadLetterStrategy per destination, from the broker configuration's destination policies */
  readonly activeMqDeadLetterStrategy?: (kind: 'queue' | 'topic', name: string) => ActiveMqDlqStrategy | undefined;
  readonly activeMqPrioritized?: (queue: string) => boolean;
  /** counters the management API reads (churn: queue declares) */
  readonly stats: { queueDeclares: number };
  /** the engine version's rules (queue types, refusals) */
  readonly engineRules: VersionRules;
  /** the node-wide default queue type (rabbit.default_queue_type); undefined: the version's */
  readonly defaultQueueType: 'classic' | 'quorum' | undefined;
  /** RabbitMQ's consumer_timeout in ms (undefined: none) for queues that set none */
  readonly consumerTimeoutMs: number | undefined;
  /** at-least-once dead-lettering: how long before a message no queue took is offered again */
  readonly deadLetterRetryMs: number;
  /** ActiveMQ's expireMessagesPeriod (ms; 0: never) */
  readonly activeMqExpireMessagesPeriodMs: number;
  /** RabbitMQ's policies, applied to each queue as it is declared or recovered */
  readonly policies: PolicyService;
  /** queues in every vhost (the node-wide queue limit) */
  queueCount(): number;
  nextMessageId(): number;
  memoryAdded(bytes: number): void;
  memoryReleased(bytes: number): void;
  /** body bytes of every queue's paged-out messages (the memory alarm leaves them out) */
  readonly paging?: PagingMeter;
  /** bulk work on big queues, done in slices between other clients' turns */
  readonly bulkWork: SlicedWork;
  /** a message entered the broker; `queues` is how many queues took it */
  published(message: Message, queues: number): void;
  delivered(queue: Queue, delivery: Delivery): void;
  settled(queue: Queue, entry: QueueEntry, how: 'acked' | 'dropped'): void;
  queueDeclared(queue: Queue): void;
  queueDeleted(queue: Queue): void;
  /** a consumer started on a queue, or ended (cancelled, its session closed, its queue deleted) */
  consumerAdded(queue: Queue, consumer: Consumer): void;
  consumerRemoved(queue: Queue, consumer: Consumer): void;
  /** a queue was bound to an exchange, or unbound (not announced when the queue itself goes) */
  queueBound(queue: Queue, exchange: string, key: string): void;
  queueUnbound(queue: Queue, exchange: string, key: string): void;
}
