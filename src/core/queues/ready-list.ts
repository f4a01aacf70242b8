import type { QueueEntry } from './entry.js';
import { entryBodyLength, PagedFifo, type Pager, type PagingMeter } from './paged-fifo.js';
import type { TransientPager } from '../../store/store.js';

/**
 * One priority level: new messages at the back of a FIFO; requeued ones in a small list
 * sorted by arrival, always ahead of the FIFO (they were taken from its head, so they are
 * older than anything still in it). That puts a requeued message back where it was, as
 * RabbitMQ does, without scanning the whole queue.
 */
class Level {
  /**
   * requeued entries from index `head` on: taking the first one moves `head` (Array#shift on
   * an array of a million — a closed channel's unacked — copies the whole array every time)
   */
  private requeuedAll: QueueEntry[] = [];
  private head = 0;
  readonly fresh: PagedFifo;
  /** copies being taken of the FIFO a slice at a time (a peek of a million): told of each entry leaving its head */
  private copies: FifoCopy<unknown>[] | undefined;

  constructor(
    pager: Pager | undefined,
    /** the priority its entries have (ReadyList.push puts an entry at its own) */
    readonly priority: number,
    transient: TransientPager | undefined,
    meter: PagingMeter | undefined,
  ) {
    this.fresh = new PagedFifo(pager, priority, transient, meter);
  }

  get length(): number {
    return this.requeuedAll.length - this.head + this.fresh.length;
  }

  /** the requeued entries, in order (a copy when some were taken off the front) */
  get requeued(): QueueEntry[] {
    if (this.head > 0) this.compact();
    return this.requeuedAll;
  }

  peek(): QueueEntry | undefined {
    return this.head < this.requeuedAll.length ? this.requeuedAll[this.head] : this.fresh.peek();
  }

  /** `lazy`: a paged-out entry comes as a PagedEntry, its message not read back (a purge drops it unread) */
  shift(lazy = false): QueueEntry | undefined {
    const r = this.requeuedAll;
    if (this.head >= r.length) {
      // lazy: copies take the entry before a transient one's record is let go of (shiftLazy)
      if (lazy) return this.fresh.shiftLazy(this.copies === undefined ? undefined : this.onLeaving);
      const e = this.fresh.shift();
      if (this.copies !== undefined && e !== undefined) this.leaving(e);
      return e;
    }
    const e = r[this.head]!;
    r[this.head++] = undefined as never;
    if (this.head === r.length) {
      this.requeuedAll = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= r.length) this.compact();
    return e;
  }

  /** a copy of the FIFO's first `count` entries as they are now, taken a slice at a time (FifoCopy) */
  copyFresh<T>(count: number, out: T[], at: number, copy: (e: QueueEntry) => T): FifoCopy<T> {
    const c = new FifoCopy(this.fresh, count, out, at, copy);
    if (!c.done) (this.copies ??= []).push(c as FifoCopy<unknown>);
    return c;
  }

  private readonly onLeaving = (e: QueueEntry): void => this.leaving(e);

  /** the FIFO's head entry `e` leaves: copies not past it take it now */
  private leaving(e: QueueEntry): void {
    const copies = this.copies!;
    for (const c of copies) c.leaving(e);
    if (copies.some((c) => c.done)) this.dropDone();
  }

  /**
   * these entries of this level are about to be taken out of the FIFO's middle (ReadyList.remove;
   * no broker path reaches it with a copy running today — a quorum queue's list has its own remove
   * and copy — it is kept so that a future caller cannot silently misalign a peek):
   * each copy captures those it has not reached yet and counts the others as gone (FifoCopy.removing),
   * before the FIFO closes up behind them. O(entries × log FIFO) to find them, and the copies'
   * cursors move: nothing else is copied.
   */
  removing(entries: Iterable<QueueEntry>): void {
    const copies = this.copies;
    if (copies === undefined) return;
    const positions: number[] = [];
    for (const e of entries) {
      if (e.priority !== this.priority) continue;
      const i = this.fifoIndexOf(e.seq);
      if (i >= 0) positions.push(i);
    }
    if (positions.length === 0) return;
    positions.sort((a, b) => a - b);
    // the FIFO's own entries (a paged one reads its message back when a copy takes it, before the FIFO lets go of it)
    const removed = positions.map((i) => this.fresh.at(i)!);
    for (const c of copies) c.removing(positions, removed);
    if (copies.some((c) => c.done)) this.dropDone();
  }

  /**
   * where the entry with arrival number `seq` is in the FIFO, or -1: a binary search, since the
   * FIFO holds entries in arrival order (an entry gets its number as it is pushed; requeued ones
   * go to the requeued list). An entry not in it (requeued, or already delivered, expired or
   * purged) is -1: no scan of a million to find what is not there.
   */
  private fifoIndexOf(seq: number): number {
    return this.fresh.indexOfSeq(seq);
  }

  /** the requeued entries with these arrival numbers leave (a binary search each: the list is sorted by arrival) */
  removeRequeued(seqs: Iterable<number>): void {
    if (this.head >= this.requeuedAll.length) return;
    const r = this.requeued;
    for (const seq of seqs) {
      let lo = 0;
      let hi = r.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (r[mid]!.seq < seq) lo = mid + 1;
        else hi = mid;
      }
      if (lo < r.length && r[lo]!.seq === seq) r.splice(lo, 1);
    }
  }

  /**
   * the FIFO is dropped (its queue deleted) or cleared: a copy with at most END_FINISH_MAX
   * entries left finishes now; a longer one ends with what it has copied (ReadyCopy then
   * answers that prefix), never copying the rest in one turn (review-s9-1 #1: 4.1-14.9 s at 1M).
   * The bound is a count (a test can rely on it) as large as one slice of peek's: a queue of a
   * few thousand deleted right after peek() still answers all of it.
   */
  endCopies(): void {
    if (this.copies === undefined) return;
    for (const c of this.copies) {
      if (c.remaining <= END_FINISH_MAX) c.step(Infinity, Infinity);
      else c.end();
    }
    this.copies = undefined;
  }

  private dropDone(): void {
    const left = this.copies!.filter((c) => !c.done);
    this.copies = left.length ? left : undefined;
  }

  clearRequeued(): void {
    this.requeuedAll = [];
    this.head = 0;
  }

  private compact(): void {
    this.requeuedAll = this.requeuedAll.slice(this.head);
    this.head = 0;
  }

  requeue(e: QueueEntry): void {
    if (this.head > 0) this.compact();
    const r = this.requeuedAll;
    if (r.length === 0 || r[r.length - 1]!.seq < e.seq) {
      r.push(e);
      return;
    }
    let lo = 0;
    let hi = r.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (r[mid]!.seq < e.seq) lo = mid + 1;
      else hi = mid;
    }
    r.splice(lo, 0, e);
  }

  /** requeued first, then the FIFO: the level's delivery order */
  *entries(): IterableIterator<QueueEntry> {
    for (let i = this.head; i < this.requeuedAll.length; i++) yield this.requeuedAll[i]!;
    for (let i = 0; i < this.fresh.length; i++) yield this.fresh.at(i)!;
  }

  /** entries() into `out` from `at`, up to its length, without a generator (a peek of a million); returns the next index */
  copyTo(out: QueueEntry[], at: number): number {
    const r = this.requeuedAll;
    for (let i = this.head; i < r.length && at < out.length; i++) out[at++] = r[i]!;
    const fresh = this.fresh;
    for (let i = 0, n = fresh.length; i < n && at < out.length; i++) out[at++] = fresh.at(i)!;
    return at;
  }
}

/** one piece of a ReadyCopy: copies into its part of `out` until a deadline or a number of entries */
interface CopyPart {
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
}

/** entries left at a drop or clear that a copy still copies at once (one slice of peek's: a bounded turn); past that it ends with what it has */
const END_FINISH_MAX = 16_384;

/** entries of an array nothing else changes, copied into `out` from index `at` */
class ArrayCopy<T> implements CopyPart {
  private copied = 0;
  error: unknown;
  /** its array is its own: nothing ends it */
  readonly ended = false;

  constructor(
    private readonly entries: readonly QueueEntry[],
    private readonly out: T[],
    readonly at: number,
    private readonly copy: (e: QueueEntry) => T,
  ) {}

  get done(): boolean {
    return this.error !== undefined || this.copied >= this.entries.length;
  }

  get filled(): number {
    return this.copied;
  }

  step(deadline: number, max: number): number {
    const start = this.copied;
    const end = Math.min(this.entries.length, start + max);
    try {
      while (this.copied < end) {
        this.out[this.at + this.copied] = this.copy(this.entries[this.copied]!);
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
 * - it loses entries at its head (deliveries, expiry, a purge's settling in slices): Level.shift
 *   tells `leaving`; the one the copy is at is copied as it leaves, any other was copied already;
 * - it loses entries from its middle (ReadyList.remove): Level.removing tells `removing` first;
 *   one the copy has not reached is copied then, out of turn, into its own place (a `hole` the
 *   cursor later steps over), one it passed only counts;
 * so the copy's next entry is always found by arithmetic: entry `copied` of the copy sits at
 * `copied - gone` in the FIFO. An entry leaving costs the copy O(1) and a removal O(holes), and
 * the cursor reaching a hole O(holes) (dormant: no broker path removes from the middle of a
 * base list with a copy running, Level.removing), never a copy of what is left. A drop or
 * clear of the FIFO (its queue deleted) finishes a copy with few entries left and ends a longer one with what it has (Level.endCopies: the ReadyCopy
 * then answers the prefix it has).
 */
class FifoCopy<T> implements CopyPart {
  /** the next entry of the copy to fill in turn: out[at] … out[at + copied - 1] are filled (and the holes above) */
  private copied = 0;
  /** of the copy's entries below `copied`, how many are no longer in the FIFO (left its head, or taken from its middle) */
  private gone = 0;
  /** copy indices above `copied` filled out of turn (their entries were taken from the FIFO's middle first), ascending */
  private holes: number[] | undefined;
  /** stopped short: its FIFO was dropped with many entries still to copy */
  ended = false;
  error: unknown;

  constructor(
    private readonly fifo: PagedFifo,
    private readonly count: number,
    private readonly out: T[],
    readonly at: number,
    private readonly copy: (e: QueueEntry) => T,
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

  /** the FIFO's head entry `e` leaves */
  leaving(e: QueueEntry): void {
    if (this.done) return;
    // at FIFO position 0 is the entry the copy is at (holes are stepped over as soon as reached)
    if (this.copied === this.gone) this.put(e);
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
      let k = this.copied + (p - cur);
      if (this.holes) {
        for (const h of this.holes) {
          if (h > k) break;
          k++;
        }
      }
      if (k >= this.count) break;
      try {
        this.out[this.at + k] = this.copy(entries[n]!);
      } catch (err) {
        this.error = err ?? new Error('copy failed');
        return;
      }
      filled.push(k);
    }
    this.gone += passed;
    if (filled.length) this.holes = this.holes ? mergeAscending(this.holes, filled) : filled;
    this.skipHoles();
  }

  step(deadline: number, max: number): number {
    const start = this.copied;
    const end = Math.min(this.count, start + max);
    let n = 0;
    while (this.copied < end && !this.done) {
      // the entry `copied` of the copy sits at `copied - gone` in the FIFO now
      this.put(this.fifo.at(this.copied - this.gone)!);
      this.skipHoles();
      if ((++n & 255) === 0 && performance.now() >= deadline) break;
    }
    return this.copied - start;
  }

  private put(e: QueueEntry): void {
    try {
      this.out[this.at + this.copied] = this.copy(e);
      this.copied++;
    } catch (err) {
      this.error = err ?? new Error('copy failed');
    }
  }

  /** the cursor reached entries filled out of turn: past them (they are not in the FIFO any more) */
  private skipHoles(): void {
    const holes = this.holes;
    if (holes === undefined || holes[0] !== this.copied) return;
    let i = 0;
    while (i < holes.length && holes[i] === this.copied) {
      i++;
      this.copied++;
      this.gone++;
    }
    this.holes = i === holes.length ? undefined : holes.slice(i);
  }
}

function mergeAscending(a: readonly number[], b: readonly number[]): number[] {
  const out: number[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) out.push(j >= b.length || (i < a.length && a[i]! < b[j]!) ? a[i++]! : b[j++]!);
  return out;
}

/**
 * A copy of a ready list as it is when made — the first `limit` entries in delivery order, each
 * through `copy` — taken a slice at a time (`step`) while the list goes on changing: each
 * priority level's requeued entries are copied at once (one array copy), its FIFO a slice at
 * a time (FifoCopy). peek() of a million messages builds its answer so.
 */
export class ReadyCopy<T> {
  private next = 0;

  private constructor(
    readonly out: T[],
    private readonly parts: CopyPart[],
  ) {}

  static ofLevels<T>(levels: readonly Level[], total: number, limit: number, copy: (e: QueueEntry) => T): ReadyCopy<T> {
    const out: T[] = new Array(Math.min(limit, total));
    const parts: CopyPart[] = [];
    let at = 0;
    for (let p = levels.length - 1; p >= 0 && at < out.length; p--) {
      const level = levels[p]!;
      // requeued ones first: usually few (after a channel's million came back, one array copy)
      const requeued = level.requeued;
      const r = Math.min(requeued.length, out.length - at);
      if (r > 0) parts.push(new ArrayCopy(requeued.slice(0, r), out, at, copy));
      at += r;
      const f = Math.min(level.fresh.length, out.length - at);
      if (f > 0) parts.push(level.copyFresh(f, out, at, copy));
      at += f;
    }
    return new ReadyCopy(out, parts);
  }

  /** entries copied already (a quorum queue's list is copied whole first), each through `copy` in slices */
  static ofArray<T>(entries: QueueEntry[], copy: (e: QueueEntry) => T): ReadyCopy<T> {
    const out: T[] = new Array(entries.length);
    return new ReadyCopy(out, [new ArrayCopy(entries, out, 0, copy)]);
  }

  /** the first error a part met (the copy then stops) */
  get error(): unknown {
    for (const p of this.parts) if (p.error !== undefined) return p.error;
    return undefined;
  }

  /**
   * copies until `deadline` or `max` entries; true once the copy is complete (or failed: error;
   * or ended short, its queue deleted midway: `out` then holds the first entries, those copied)
   */
  step(deadline: number, max = Infinity): boolean {
    let left = max;
    while (this.next < this.parts.length) {
      const part = this.parts[this.next]!;
      if (part.ended) {
        this.out.length = part.at + part.filled;
        this.next = this.parts.length;
        return true;
      }
      left -= part.step(deadline, left);
      if (part.error !== undefined) return true;
      if (!part.done) return false;
      this.next++;
      if (left <= 0 || performance.now() >= deadline) break;
    }
    return this.next === this.parts.length;
  }
}

/** The ready (not yet delivered) messages of a queue, by priority then arrival. */
export class ReadyList {
  private readonly levels: Level[];
  private count = 0;
  private byteCount = 0;
  /** how many of them, and how many body bytes, are persistent (the management API's messages_persistent) */
  private persistentCount = 0;
  private persistentByteCount = 0;
  /** a detached list being settled: paged-out entries leave without being read back */
  private lazy = false;

  constructor(
    maxPriority: number,
    private readonly pager?: Pager,
    /** where transient messages page out (and all of a non-durable queue's) */
    private readonly transient?: TransientPager,
    /** the broker's count of paged-out body bytes */
    private readonly meter?: PagingMeter,
  ) {
    this.levels = Array.from({ length: maxPriority + 1 }, (_, p) => new Level(pager, p, transient, meter));
  }

  /** ready messages whose body is out of memory (paged out to the store) */
  get paged(): number {
    let n = 0;
    for (const level of this.levels) n += level.fresh.paged;
    return n;
  }

  /** body bytes of the paged-out messages */
  get pagedBytes(): number {
    let n = 0;
    for (const level of this.levels) n += level.fresh.pagedBytes;
    return n;
  }

  get length(): number {
    return this.count;
  }

  /** body bytes of the ready messages (x-max-length-bytes counts these) */
  get bytes(): number {
    return this.byteCount;
  }

  get persistent(): number {
    return this.persistentCount;
  }

  get persistentBytes(): number {
    return this.persistentByteCount;
  }

  get maxPriority(): number {
    return this.levels.length - 1;
  }

  push(e: QueueEntry): void {
    this.levels[e.priority]!.fresh.push(e);
    this.added(e);
  }

  requeue(e: QueueEntry): void {
    this.levels[e.priority]!.requeue(e);
    this.added(e);
  }

  /**
   * Recovery: a persistent message left in the store, straight into its level's paged part
   * (PagedFifo.pushIndex). False when it must come in as an entry (the level's in-memory head
   * is not full yet, or the queue does not page).
   */
  pushPaged(id: number, seq: number, expiresAt: number, priority: number, deliveryCount: number, bodyLength: number): boolean {
    if (!this.levels[priority]!.fresh.pushIndex(id, seq, expiresAt, deliveryCount, bodyLength)) return false;
    this.count++;
    this.byteCount += bodyLength;
    this.persistentCount++;
    this.persistentByteCount += bodyLength;
    return true;
  }

  peek(): QueueEntry | undefined {
    if (this.count === 0) return undefined;
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const e = this.levels[p]!.peek();
      if (e) return e;
    }
    return undefined;
  }

  shift(): QueueEntry | undefined {
    if (this.count === 0) return undefined;
    for (let p = this.levels.length - 1; p >= 0; p--) {
      const level = this.levels[p]!;
      if (level.length) {
        const e = level.shift(this.lazy)!;
        this.taken(e);
        return e;
      }
    }
    return undefined;
  }

  /**
   * take these entries out, wherever they are (a quorum queue's selector consumers take from the
   * middle, through QuorumReadyList's own remove; this one has no caller in the broker today):
   * O(entries × log n), each found by its arrival number and left a hole (PagedFifo.removeSeqs)
   */
  remove(entries: Set<QueueEntry>): void {
    // by arrival number: a paged entry handed out is a fresh object each time
    const seqs: number[] = [];
    for (const e of entries) seqs.push(e.seq);
    for (const level of this.levels) {
      if (!level.length) continue;
      level.removing(entries);
      level.removeRequeued(seqs);
      level.fresh.removeSeqs(seqs);
    }
    for (const e of entries) this.taken(e);
  }

  /** in delivery order, without copying the list */
  *entries(): IterableIterator<QueueEntry> {
    for (let p = this.levels.length - 1; p >= 0; p--) yield* this.levels[p]!.entries();
  }

  /**
   * the first `limit` entries in delivery order as they are now, each through `copy`, copied a
   * slice at a time while the list goes on (ReadyCopy): no copy of the whole list at once
   */
  copyInSlices<T>(limit: number, copy: (e: QueueEntry) => T): ReadyCopy<T> {
    return ReadyCopy.ofLevels(this.levels, this.count, limit, copy);
  }

  /** in delivery order */
  toArray(limit = Infinity): QueueEntry[] {
    const out: QueueEntry[] = new Array(Math.min(limit, this.count));
    let at = 0;
    for (let p = this.levels.length - 1; p >= 0 && at < out.length; p--) at = this.levels[p]!.copyTo(out, at);
    return out;
  }

  /**
   * Hand every entry over to a new list, in the same order, and start empty: O(priority
   * levels) whatever the length (a purge or a delete of millions of messages).
   */
  detach(): ReadyList {
    const out = new ReadyList(this.levels.length - 1, this.pager, this.transient, this.meter);
    out.lazy = true;
    for (let p = 0; p < this.levels.length; p++) {
      const level = this.levels[p]!;
      this.levels[p] = out.levels[p]!;
      out.levels[p] = level;
    }
    out.count = this.count;
    out.byteCount = this.byteCount;
    this.count = 0;
    this.byteCount = 0;
    return out;
  }

  /** a detached list nobody will read (its queue was deleted): paged-out transient records are let go */
  drop(): void {
    for (const level of this.levels) {
      level.endCopies();
      level.clearRequeued();
      level.fresh.drop();
    }
    this.zeroCounts();
  }

  clear(): QueueEntry[] {
    const all = this.toArray();
    for (const level of this.levels) {
      level.endCopies();
      level.clearRequeued();
      level.fresh.clear();
    }
    this.zeroCounts();
    return all;
  }

  private zeroCounts(): void {
    this.count = 0;
    this.byteCount = 0;
    this.persistentCount = 0;
    this.persistentByteCount = 0;
  }

  private added(e: QueueEntry): void {
    this.count++;
    this.byteCount += entryBodyLength(e);
    if (e.persisted) {
      this.persistentCount++;
      this.persistentByteCount += entryBodyLength(e);
    }
  }

  private taken(e: QueueEntry): void {
    this.count--;
    this.byteCount -= entryBodyLength(e);
    if (e.persisted) {
      this.persistentCount--;
      this.persistentByteCount -= entryBodyLength(e);
    }
  }
}

/**
 * The first `limit` of `count` entries. Copies one entry at a time: a queue holds millions of
 * messages, and spreading them into a call (push(...all)) overflows the stack.
 */
export function firstEntries(entries: Iterable<QueueEntry>, count: number, limit: number): QueueEntry[] {
  const out: QueueEntry[] = new Array(Math.min(limit, count));
  let i = 0;
  if (i < out.length) {
    for (const e of entries) {
      out[i++] = e;
      if (i === out.length) break;
    }
  }
  return out;
}
