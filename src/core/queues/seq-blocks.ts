import type { QueueEntry } from './entry.js';

/** entries per block: an insert moves at most this many (and a split copies half of one) */
const BLOCK = 512;

/**
 * Entries sorted by arrival (seq), kept in blocks of at most BLOCK: a priority level's requeued
 * messages (ReadyList). A requeue puts an entry back at its place, which is in the middle when
 * two channels' unacked interleave in the queue (consumers taking round-robin) and both close:
 * in one flat array each of the second channel's entries moved everything after its place, so
 * 400k interleaved came back in 9.3 s, 1M quadratically worse (s13 mends). Here an insert moves
 * the rest of its block only (at most 2 x BLOCK: a block that grows past that is split). Taking from the front moves `head` in the first block.
 */
export class SeqBlocks {
  /** non-empty blocks, each sorted, all in order; the first is live from `head` on */
  private blocks: QueueEntry[][] = [];
  private head = 0;
  private size = 0;

  get length(): number {
    return this.size;
  }

  peek(): QueueEntry | undefined {
    return this.size === 0 ? undefined : this.blocks[0]![this.head];
  }

  shift(): QueueEntry | undefined {
    if (this.size === 0) return undefined;
    const b = this.blocks[0]!;
    const e = b[this.head]!;
    b[this.head++] = undefined as never;
    this.size--;
    if (this.head === b.length) {
      this.blocks.shift();
      this.head = 0;
    }
    return e;
  }

  /** `e` at its place by seq */
  insert(e: QueueEntry): void {
    const blocks = this.blocks;
    this.size++;
    const n = blocks.length;
    if (n === 0) {
      blocks.push([e]);
      return;
    }
    const last = blocks[n - 1]!;
    // in arrival order (one channel's unacked coming back; a single requeue after the rest): at the end
    if (last[last.length - 1]!.seq < e.seq) {
      if (last.length < BLOCK) last.push(e);
      else blocks.push([e]);
      return;
    }
    // the first block whose last entry comes after it
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = blocks[mid]!;
      if (b[b.length - 1]!.seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    const b = blocks[lo]!;
    const from = lo === 0 ? this.head : 0;
    let at = from;
    let end = b.length;
    while (at < end) {
      const mid = (at + end) >>> 1;
      if (b[mid]!.seq < e.seq) at = mid + 1;
      else end = mid;
    }
    if (lo === 0 && at === this.head && this.head > 0) {
      // ahead of everything: into the slot the last shift freed
      b[--this.head] = e;
      return;
    }
    b.splice(at, 0, e);
    if (b.length > 2 * BLOCK) this.split(lo);
  }

  /** block `i` in two halves (its live part, for the first) */
  private split(i: number): void {
    const b = this.blocks[i]!;
    const from = i === 0 ? this.head : 0;
    const mid = from + ((b.length - from) >>> 1);
    this.blocks.splice(i + 1, 0, b.slice(mid));
    b.length = mid;
  }

  /** the entries with these seqs leave (a binary search each) */
  removeSeqs(seqs: Iterable<number>): void {
    for (const seq of seqs) this.remove(seq);
  }

  /** the entry with this seq leaves (moving the rest of its block at most): false when it is not there */
  remove(seq: number): boolean {
    if (this.size === 0) return false;
    const blocks = this.blocks;
    let lo = 0;
    let hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const b = blocks[mid]!;
      if (b[b.length - 1]!.seq < seq) lo = mid + 1;
      else hi = mid;
    }
    const b = blocks[lo]!;
    let at = lo === 0 ? this.head : 0;
    let end = b.length;
    while (at < end) {
      const mid = (at + end) >>> 1;
      if (b[mid]!.seq < seq) at = mid + 1;
      else end = mid;
    }
    if (at >= b.length || b[at]!.seq !== seq) return false;
    this.size--;
    if (lo === 0 && at === this.head) {
      b[this.head++] = undefined as never;
      if (this.head < b.length) return true;
      this.head = 0;
    } else {
      b.splice(at, 1);
      if (b.length > (lo === 0 ? this.head : 0)) return true;
      if (lo === 0) this.head = 0;
    }
    blocks.splice(lo, 1);
    return true;
  }

  clear(): void {
    this.blocks = [];
    this.head = 0;
    this.size = 0;
  }

  /** the first `limit` entries in order, into `out` from `at` (up to its length); returns the next index */
  copyTo(out: QueueEntry[], at: number, limit = Infinity): number {
    const stop = Math.min(out.length, at + limit);
    for (let i = 0; i < this.blocks.length && at < stop; i++) {
      const b = this.blocks[i]!;
      for (let j = i === 0 ? this.head : 0; j < b.length && at < stop; j++) out[at++] = b[j]!;
    }
    return at;
  }

  /** the first `limit` entries in order, as an array of their own */
  toArray(limit = Infinity): QueueEntry[] {
    const out: QueueEntry[] = new Array(Math.min(limit, this.size));
    this.copyTo(out, 0);
    return out;
  }

  *[Symbol.iterator](): IterableIterator<QueueEntry> {
    for (let i = 0; i < this.blocks.length; i++) {
      const b = this.blocks[i]!;
      for (let j = i === 0 ? this.head : 0; j < b.length; j++) yield b[j]!;
    }
  }
}
