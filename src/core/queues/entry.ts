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

/**
 * The QueueEntry a queue makes for a message held in memory. A number that is not a small
 * integer (a deadline in ms since the epoch, Infinity) costs each object that holds it a heap
 * number of its own: an entry that never expires reads `expiresAt` from the prototype
 * (Infinity) instead, so a flood of a million messages without a TTL is a million fewer objects
 * for the scavenges to copy and the mark-compacts to visit. An entry that expires holds its own.
 */
export class ReadyEntry implements QueueEntry {
  declare readonly expiresAt: number;
  declare failedDeliveries?: number;
  declare acquiredCount?: number;

  constructor(
    readonly id: number,
    readonly seq: number,
    public message: Message,
    expiresAt: number,
    readonly priority: number,
    public deliveryCount: number,
    readonly persisted: boolean,
  ) {
    if (expiresAt !== Infinity) (this as { expiresAt: number }).expiresAt = expiresAt;
  }
}
// writable, so that the constructor's assignment makes an own property (a read-only one inherited would refuse it)
Object.defineProperty(ReadyEntry.prototype, 'expiresAt', { value: Infinity, writable: true, enumerable: false });
