import type { Store } from '../store/store.js';

/**
 * Holds items (publisher confirms, receipts) until the store has made durable everything
 * written before they were added. Items are batched per turn of the event loop, and each
 * batch waits on its own sync, asked for after its writes: a sync already under way covers
 * only what came before it. The store runs sync callbacks in order, so batches are flushed
 * in the order their items were added.
 */
export class DurableBarrier<T> {
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
