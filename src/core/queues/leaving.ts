import { Fifo } from '../fifo.js';
import type { SlicedTask } from '../sliced-work.js';
import type { QueueEntry } from './entry.js';
import type { ReadyList } from './ready-list.js';

/** why messages left a queue in bulk: purged (dropped), or expired / over max-length (dead-lettered or dropped) */
export type LeaveReason = 'purged' | 'expired' | 'maxlen';

/** entries handed to one settle call: a slice checks its deadline between chunks */
export const LEAVE_CHUNK = 512;
/**
 * chunks one slice takes at most, whatever its time left: the work is spread over as many
 * turns of the event loop on a fast machine as on a slow one (16 k entries a turn)
 */
export const CHUNKS_PER_SLICE = 32;

interface Batch {
  /** a detached ready list (a purge), or entries taken off the head (expiry, drop-head) */
  readonly list: ReadyList | QueueEntry[];
  /** next index into an array batch */
  at: number;
  readonly reason: LeaveReason;
}

/**
 * Messages that left a queue together (a purge, a million expiring at once, a drop-head to a
 * smaller max-length) and are still to be settled: removed from the store, dead-lettered or
 * dropped. The queue is already without them — its count, basic.get and deliveries never see
 * them again — so settling them can run in slices (SlicedWork) while other clients are
 * served. Batches settle in the order they left, so dead-letters keep their order.
 */
export class Leaving implements SlicedTask {
  private readonly batches = new Fifo<Batch>();
  private count = 0;
  /** handed to the broker's SlicedWork and not finished yet */
  scheduled = false;

  constructor(private readonly settle: (entries: QueueEntry[], reason: LeaveReason) => void) {}

  /** entries still to settle */
  get length(): number {
    return this.count;
  }

  add(list: ReadyList | QueueEntry[], reason: LeaveReason): void {
    if (list.length === 0) return;
    this.batches.push({ list, at: 0, reason });
    this.count += list.length;
  }

  step(deadline: number): boolean {
    let chunks = 0;
    while (this.batches.length) {
      const batch = this.batches.peek()!;
      const chunk = take(batch, LEAVE_CHUNK);
      if (remaining(batch) === 0) this.batches.shift();
      this.count -= chunk.length;
      this.settle(chunk, batch.reason);
      if (++chunks >= CHUNKS_PER_SLICE || performance.now() >= deadline) break;
    }
    if (this.batches.length) return false;
    this.scheduled = false;
    return true;
  }
}

function remaining(b: Batch): number {
  return Array.isArray(b.list) ? b.list.length - b.at : b.list.length;
}

function take(b: Batch, n: number): QueueEntry[] {
  const k = Math.min(n, remaining(b));
  const out: QueueEntry[] = new Array(k);
  if (Array.isArray(b.list)) {
    for (let i = 0; i < k; i++) out[i] = b.list[b.at++]!;
  } else {
    for (let i = 0; i < k; i++) out[i] = b.list.shift()!;
  }
  return out;
}
