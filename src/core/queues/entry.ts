import type { Message } from '../message.js';

/** A message's place in one queue. The same Message may sit in several queues. */
export interface QueueEntry {
  /** broker-wide message id (shared by every queue the message went to; the store's key) */
  readonly id: number;
  /** arrival order in this queue: a requeued entry goes back to its original place */
  readonly seq: number;
  /** replaced (never mutated) when a redelivery adds a header, e.g. a quorum queue's x-delivery-count */
  message: Message;
  /** ms since epoch; Infinity when the message has no TTL here */
  readonly expiresAt: number;
  readonly priority: number;
  /** times handed to a consumer; > 0 means the next delivery is flagged redelivered */
  deliveryCount: number;
  /** returns that count toward a quorum queue's delivery limit (unset until the first) */
  failedDeliveries?: number;
  /** a quorum queue's returns of any kind (RabbitMQ 4.3's x-acquired-count; unset until the first) */
  acquiredCount?: number;
  /** written to the store for this queue */
  readonly persisted: boolean;
}
