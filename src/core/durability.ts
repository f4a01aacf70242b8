import type { Store } from '../store/store.js';
import type { Alarms } from './alarm.js';

/**
 * The durability service: how an adapter learns that what it wrote is on disk before it
 * tells its client so (AMQP publisher confirms and tx.commit-ok, STOMP receipts, MQTT
 * PUBACK, and the same for OpenWire and AMQP 1.0). RabbitMQ's rabbit_confirms, for every
 * protocol.
 *
 * One failure policy for all of them. A write the store could not make (a full disk) turns
 * the disk alarm on, and the store retries it until it succeeds. Meanwhile:
 * - a wait whose protocol can say no gets the error at once, and the adapter says no
 *   (basic.nack, a STOMP ERROR, no PUBACK): nothing is confirmed that was not written;
 * - a wait whose protocol cannot say no (tx.commit-ok) waits for the disk alarm to clear
 *   and asks again, so the answer comes once the retried write is durable.
 */
export class Durability {
  constructor(
    private readonly store: Store,
    private readonly alarms: Alarms,
  ) {}

  /** false for the in-memory store: every wait is answered at once */
  get durable(): boolean {
    return this.store.durable;
  }

  /**
   * Waits of one client kept in order (confirms, receipts): `flush` gets them in batches,
   * with the error when their write failed.
   */
  ordered<T>(flush: (batch: T[], err?: Error) => void): OrderedDurableWaits<T> {
    return new OrderedDurableWaits(this.store, flush);
  }

  /** `cb()` once everything written so far is durable, `cb(err)` when it could not be written */
  wait(cb: (err?: Error) => void): void {
    if (!this.store.durable) cb();
    else this.store.sync(cb);
  }

  /**
   * `then` once everything written so far is durable, for an answer that has no negative
   * form: after a failed write it waits for the disk alarm to clear and asks again.
   * `alive` stops the wait when the client is gone.
   */
  waitRetrying(then: () => void, alive: () => boolean): void {
    this.store.sync((err) => {
      if (!alive()) return;
      if (!err) return then();
      this.alarms.whenClear('disk', () => {
        if (alive()) this.waitRetrying(then, alive);
      });
    });
  }
}

/**
 * Holds items (publisher confirms, receipts) until the store has made durable everything
 * written before they were added. Items are batched per turn of the event loop, and each
 * batch waits on its own sync, asked for after its writes: a sync already under way covers
 * only what came before it. The store runs sync callbacks in order, so batches are flushed
 * in the order their items were added.
 */
export class OrderedDurableWaits<T> {
  private pending: T[] = [];
  private scheduled = false;
  private waiting = 0;

  constructor(
    private readonly store: Store,
    private readonly flush: (batch: T[], err?: Error) => void,
  ) {}

  /** items added and not yet flushed (queued or waiting on a sync) */
  get outstanding(): number {
    return this.waiting;
  }

  add(item: T): void {
    this.waiting++;
    this.pending.push(item);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      this.store.sync((err) => {
        this.waiting -= batch.length;
        this.flush(batch, err);
      });
    });
  }
}
