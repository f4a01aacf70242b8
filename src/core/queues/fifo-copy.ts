import type { QueueEntry } from './entry.js';

/**
 * Copies of a ready list's parts taken a slice at a time while the list goes on changing
 * (ReadyCopy in ready-list.ts puts them together): an array nothing else changes (ArrayCopy),
 * and a FIFO told of every entry leaving it (FifoCopy).
 */

/**
 * makes an entry's copy. `left`: the entry is leaving its list (taken from the head or the
 * middle) as the copy reaches it, rather than read in turn: peek() shows it all the same, a
 * QueueBrowser shows it only if it is still in the queue when the browse gets there
 * (QueueBrowse: ActiveMQ's browser skips what another consumer acknowledged)
 */
export type EntryCopier<T> = (e: QueueEntry, left: boolean) => T;

/** what a FifoCopy reads: the FIFO's live entries by index */
export interface IndexedFifo {
  at(index: number): QueueEntry | undefined;
}

/** one piece of a ReadyCopy: copies into its part of `out` until a deadline or a number of entries */
export interface CopyPart {
  /** copies until `deadline` (performance.now()) or `max` entries; returns how many it copied */
  step(deadline: number, max: number): number;
  readonly done: boolean;
  /** what `copy` threw (the part then stops) */
  readonly error: unknown;
  /** its first index in `out` */
  readonly at: number;
  /** stopped short (its FIFO was dropped): the copy ends with what precedes `at + filled` */
  readonly ended: boolean;
  /** entries filled from `at` on without a gap */
  readonly filled: number;
  /** given up (ReadyCopy.cancel): nothing more is copied, and what it is registered with lets go of it */
  cancel(): void;
}

/** entries left at a drop or clear that a copy still copies at once (one slice of peek's: a bounded turn); past that it ends with what it has */
export const END_FINISH_MAX = 16_384;

/** entries of an array nothing else changes, copied into `out` from index `at` */
export class ArrayCopy<T> implements CopyPart {
  private copied = 0;
  error: unknown;
  /** its array is its own: nothing ends it */
  readonly ended = false;

  constructor(
    private readonly entries: readonly QueueEntry[],
    private readonly out: T[],
    readonly at: number,
    private readonly copy: EntryCopier<T>,
  ) {}

  get done(): boolean {
    return this.error !== undefined || this.copied >= this.entries.length;
  }

  get filled(): number {
    return this.copied;
  }

  cancel(): void {
    // registered nowhere: let go of with its ReadyCopy
  }

  step(deadline: number, max: number): number {
    const start = this.copied;
    const end = Math.min(this.entries.length, start + max);
    try {
      while (this.copied < end) {
        this.out[this.at + this.copied] = this.copy(this.entries[this.copied]!, false);
        if ((++this.copied & 255) === 0 && performance.now() >= deadline) break;
      }
    } catch (err) {
      this.error = err ?? new Error('copy failed');
    }
    return this.copied - start;
  }
}

/**
 * A copy of the first `count` entries of a level's FIFO as they were when it started, made a
 * slice at a time into `out` from index `at`, each entry through `copy` (peek(): a
 * PeekedMessage, made from the entry as it is then). Between slices the FIFO changes:
 * - it gains entries at its back (publishes): what comes after the first `count` is never looked at;
 * - it loses entries at its head (deliveries, expiry, a purge's settling in slices): the FIFO
 *   (FifoCopies) tells `leaving`; the one the copy is at is copied as it leaves, any other was copied already;
 * - it loses entries from its middle (a selector consumer's take): the FIFO tells `removing` first;
 *   one the copy has not reached is copied then, out of turn, into its own place (a `hole` the
 *   cursor later steps over), one it passed only counts;
 * so the copy's next entry is always found by arithmetic: entry `copied` of the copy sits at
 * `copied - gone` in the FIFO. An entry leaving costs the copy O(1), a removal O(log holes) (and
 * O(holes) only when it lands below a hole already filled: takes come in ascending order), and
 * the cursor reaching a hole amortised O(1), never a copy of what is left (review-s11-2 R2: a
 * walk per take and a slice per reach made a selector's takes ahead of a copy O(takes²)). A drop or clear of the
 * FIFO (its queue deleted) finishes a copy with few entries left and ends a longer one with
 * what it has (FifoCopies.end: the ReadyCopy then answers the prefix it has).
 */
export class FifoCopy<T> implements CopyPart {
  /** the next entry of the copy to fill in turn: out[at] … out[at + copied - 1] are filled (and the holes above) */
  private copied = 0;
  /** of the copy's entries below `copied`, how many are no longer in the FIFO (left its head, or taken from its middle) */
  private gone = 0;
  /** copy indices above `copied` filled out of turn (their entries were taken from the FIFO's middle first), ascending, from `holesStart` on */
  private holes: number[] | undefined;
  /** holes below this index were stepped over (compacted now and then rather than sliced per step) */
  private holesStart = 0;
  /** stopped short: its FIFO was dropped with many entries still to copy */
  ended = false;
  error: unknown;

  constructor(
    private readonly fifo: IndexedFifo,
    private readonly count: number,
    private readonly out: T[],
    readonly at: number,
    private readonly copy: EntryCopier<T>,
  ) {}

  get done(): boolean {
    return this.error !== undefined || this.ended || this.copied >= this.count;
  }

  get filled(): number {
    return this.copied;
  }

  /** entries still to copy (holes included: an upper bound) */
  get remaining(): number {
    return this.count - this.copied;
  }

  /** stop here: the copy keeps what it filled in turn */
  end(): void {
    if (!this.done) this.ended = true;
  }

  /** done from now on: its FIFO drops it at its next change (FifoCopies.dropDone), told nothing more meanwhile */
  cancel(): void {
    this.end();
  }

  /** the FIFO's head entry `e` leaves */
  leaving(e: QueueEntry): void {
    if (this.done) return;
    // at FIFO position 0 is the entry the copy is at (holes are stepped over as soon as reached)
    if (this.copied === this.gone) this.put(e, true);
    this.gone++;
    this.skipHoles();
  }

  /**
   * the FIFO entries at `positions` (ascending, as the FIFO is now) are about to be taken out of
   * its middle; `entries` are those entries. One the copy has passed only counts as gone; one it
   * has not reached (within its `count`) is copied now into its own place, a hole stepped over later.
   */
  removing(positions: readonly number[], entries: readonly QueueEntry[]): void {
    if (this.done) return;
    const cur = this.copied - this.gone;
    let passed = 0;
    const filled: number[] = [];
    for (let n = 0; n < positions.length; n++) {
      const p = positions[n]!;
      if (p < cur) {
        passed++;
        continue;
      }
      // the (p - cur)-th copy index from `copied` on that is not a hole yet (holes of this call are not in the FIFO's count yet: positions are as it is now)
      const k = this.copied + (p - cur) + this.holesAtOrBelow(this.copied + (p - cur));
      if (k >= this.count) break;
      try {
        this.out[this.at + k] = this.copy(entries[n]!, true);
      } catch (err) {
        this.error = err ?? new Error('copy failed');
        return;
      }
      filled.push(k);
    }
    this.gone += passed;
    if (filled.length) this.addHoles(filled);
    this.skipHoles();
  }

  /**
   * how many holes come before the copy index of the d-th entry not a hole from `copied` on
   * (`target` = copied + d): hole r (counted from holesStart) is passed when holes[r] - r <= target,
   * and holes[r] - r never decreases (holes are distinct and ascending), so a binary search
   */
  private holesAtOrBelow(target: number): number {
    const holes = this.holes;
    if (holes === undefined) return 0;
    const base = this.holesStart;
    let lo = base;
    let hi = holes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (holes[mid]! - (mid - base) <= target) lo = mid + 1;
      else hi = mid;
    }
    return lo - base;
  }

  /** `filled` (ascending) become holes: appended when past the last one (a walk's takes), else merged */
  private addHoles(filled: number[]): void {
    const holes = this.holes;
    if (holes === undefined) {
      this.holes = filled;
      this.holesStart = 0;
    } else if (filled[0]! > holes[holes.length - 1]!) {
      for (const k of filled) holes.push(k);
    } else {
      this.holes = mergeAscending(holes, this.holesStart, filled);
      this.holesStart = 0;
    }
  }

  step(deadline: number, max: number): number {
    const start = this.copied;
    const end = Math.min(this.count, start + max);
    let n = 0;
    while (this.copied < end && !this.done) {
      // the entry `copied` of the copy sits at `copied - gone` in the FIFO now
      this.put(this.fifo.at(this.copied - this.gone)!, false);
      this.skipHoles();
      if ((++n & 255) === 0 && performance.now() >= deadline) break;
    }
    return this.copied - start;
  }

  private put(e: QueueEntry, left: boolean): void {
    try {
      this.out[this.at + this.copied] = this.copy(e, left);
      this.copied++;
    } catch (err) {
      this.error = err ?? new Error('copy failed');
    }
  }

  /** the cursor reached entries filled out of turn: past them (they are not in the FIFO any more) */
  private skipHoles(): void {
    const holes = this.holes;
    if (holes === undefined || holes[this.holesStart] !== this.copied) return;
    let i = this.holesStart;
    while (i < holes.length && holes[i] === this.copied) {
      i++;
      this.copied++;
      this.gone++;
    }
    if (i === holes.length) {
      this.holes = undefined;
      this.holesStart = 0;
    } else if (i > 1024 && i * 2 > holes.length) {
      // compacted once more than half is stepped over: amortised O(1) per hole
      this.holes = holes.slice(i);
      this.holesStart = 0;
    } else this.holesStart = i;
  }
}

/** a[from…] and b, both ascending, merged */
function mergeAscending(a: readonly number[], from: number, b: readonly number[]): number[] {
  const out: number[] = [];
  let i = from;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!);
  return out;
}


/**
 * The copies being taken of one FIFO a slice at a time (PagedFifo keeps them): each is told of
 * every entry leaving the FIFO, from its head or its middle, and ended when the FIFO is dropped
 * or cleared. A copy is let go of once done.
 */
export class FifoCopies {
  private list: FifoCopy<unknown>[] = [];

  get empty(): boolean {
    return this.list.length === 0;
  }

  add(c: FifoCopy<unknown>): void {
    this.list.push(c);
  }

  /** the FIFO's head entry `e` leaves: copies not past it take it now */
  leaving(e: QueueEntry): void {
    for (const c of this.list) c.leaving(e);
    this.dropDone();
  }

  /** the FIFO's entries at `positions` (ascending, as it is now) are about to be taken out of its middle */
  removing(positions: readonly number[], entries: readonly QueueEntry[]): void {
    for (const c of this.list) c.removing(positions, entries);
    this.dropDone();
  }

  /**
   * the FIFO is dropped (its queue deleted) or cleared: a copy with at most END_FINISH_MAX
   * entries left finishes now; a longer one ends with what it has copied (ReadyCopy then
   * answers that prefix), never copying the rest in one turn (review-s9-1 #1: 4.1-14.9 s at 1M).
   * The bound is a count (a test can rely on it) as large as one slice of peek's: a queue of a
   * few thousand deleted right after peek() still answers all of it.
   */
  end(): void {
    for (const c of this.list) {
      if (c.remaining <= END_FINISH_MAX) c.step(Infinity, Infinity);
      else c.end();
    }
    this.list = [];
  }

  private dropDone(): void {
    if (this.list.some((c) => c.done)) this.list = this.list.filter((c) => !c.done);
  }
}
