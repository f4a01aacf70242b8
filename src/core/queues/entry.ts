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
  /**
   * failed deliveries: returns as failed (rejected with requeue, modified delivery-failed, a
   * consumer's channel or session gone), RabbitMQ 4's delivery_count, the AMQP 1.0 header's
   * delivery-count, ActiveMQ's redelivery counter; counted by the core (Queue.returned) for the
   * queue types whose engine counts them; unset until the first
   */
  failedDeliveries?: number;
  /** a quorum queue's returns of any kind (rabbit_fifo's acquired_count, 4.3's x-acquired-count; unset until the first) */
  acquiredCount?: number;
  /** written to the store for this queue */
  readonly persisted: boolean;
}
