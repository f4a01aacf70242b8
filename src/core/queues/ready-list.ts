import type { QueueEntry } from './entry.js';
import { entryBodyLength, PagedFifo, type Pager, type PagingMeter } from './paged-fifo.js';
import type { TransientPager } from '../../store/store.js';
import { ArrayCopy, type CopyPart, type EntryCopier, type FifoCopy } from './fifo-copy.js';
import { SeqBlocks } from './seq-blocks.js';

/**
 * One priority level: new messages at the back of a FIFO; requeued ones in a small list
 * sorted by arrival, always ahead of the FIFO (they were taken from its head, so they are
 * older than anything still in it). That puts a requeued message back where it was, as
 * RabbitMQ does, without scanning the whole queue.
 */
class Level {
  /** the requeued entries, by arrival (two closed channels' unacked interleave: SeqBlocks) */
  private readonly requeuedEntries = new SeqBlocks();
  readonly fresh: PagedFifo;

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
    return this.requeuedEntries.length + this.fresh.length;
  }

  /** how many of them were requeued (ahead of the FIFO) */
  get requeuedCount(): number {
    return this.requeuedEntries.length;
  }

  /** the first `limit` requeued entries, in order (an array of their own) */
  requeued(limit = Infinity): QueueEntry[] {
    return this.requeuedEntries.toArray(limit);
  }

  peek(): QueueEntry | undefined {
    return this.requeuedEntries.peek() ?? this.fresh.peek();
  }

  /** `lazy`: a paged-out entry comes as a PagedEntry, its message not read back (a purge drops it unread) */
  shift(lazy = false): QueueEntry | undefined {
    if (this.requeuedEntries.length) return this.requeuedEntries.shift();
    // the FIFO tells copies being taken of it (a peek's) of the entry leaving
    return lazy ? this.fresh.shiftLazy() : this.fresh.shift();
  }

  /** a copy of the FIFO's first `count` entries as they are now, taken a slice at a time (FifoCopy) */
  copyFresh<T>(count: number, out: T[], at: number, copy: EntryCopier<T>): FifoCopy<T> {
    return this.fresh.copy(count, out, at, copy);
  }

  /** the requeued entries with these arrival numbers leave (a binary search each: the list is sorted by arrival) */
  removeRequeued(seqs: Iterable<number>): void {
    this.requeuedEntries.removeSeqs(seqs);
  }

  /** the requeued entry with this arrival number, out of the list: false when it is not there */
  removeRequeuedSeq(seq: number): boolean {
    // within its block: a QueueBrowser's expired finds, one call each (review-s13-2 F2: a splice of the whole list each)
    return this.requeuedEntries.remove(seq);
  }

  clearRequeued(): void {
    this.requeuedEntries.clear();
  }

  /** `e` back at its place among the requeued entries (by arrival) */
  requeue(e: QueueEntry): void {
    this.requeuedEntries.insert(e);
  }

  /** requeued first, then the FIFO: the level's delivery order */
  *entries(): IterableIterator<QueueEntry> {
    yield* this.requeuedEntries;
    for (let i = 0; i < this.fresh.length; i++) yield this.fresh.at(i)!;
  }

  /** entries() into `out` from `at`, up to its length, without a generator (a peek of a million); returns the next index */
  copyTo(out: QueueEntry[], at: number): number {
    at = this.requeuedEntries.copyTo(out, at);
    const fresh = this.fresh;
    for (let i = 0, n = fresh.length; i < n && at < out.length; i++) out[at++] = fresh.at(i)!;
    return at;
  }
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

  static ofLevels<T>(levels: readonly Level[], total: number, limit: number, copy: EntryCopier<T>): ReadyCopy<T> {
    const out: T[] = new Array(Math.min(limit, total));
    const parts: CopyPart[] = [];
    let at = 0;
    for (let p = levels.length - 1; p >= 0 && at < out.length; p--) {
      const level = levels[p]!;
      // requeued ones first: usually few (after a channel's million came back, one array copy)
      const r = Math.min(level.requeuedCount, out.length - at);
      if (r > 0) parts.push(new ArrayCopy(level.requeued(r), out, at, copy));
      at += r;
      const f = Math.min(level.fresh.length, out.length - at);
      if (f > 0) parts.push(level.copyFresh(f, out, at, copy));
      at += f;
    }
    return new ReadyCopy(out, parts);
  }

  /** `parts` filling `out` in turn (a quorum queue's returns and buckets) */
  static ofParts<T>(out: T[], parts: CopyPart[]): ReadyCopy<T> {
    return new ReadyCopy(out, parts);
  }

  /** the first error a part met (the copy then stops) */
  get error(): unknown {
    for (const p of this.parts) if (p.error !== undefined) return p.error;
    return undefined;
  }

  /**
   * given up before its end (a QueueBrowser closed midway): its parts stop and are let go of by
   * the FIFOs they follow, which would otherwise copy every entry leaving them until the copy
   * reached the end of the queue as it was (review-s12-2 F1); what it made is released
   */
  cancel(): void {
    for (const p of this.parts) p.cancel();
    this.next = this.parts.length;
    this.out.length = 0;
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
      // ended within its step (TwoLevelCopy): answered with the prefix, as above
      if (part.ended) continue;
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
      level.removeRequeued(seqs);
      level.fresh.removeSeqs(seqs);
    }
    for (const e of entries) this.taken(e);
  }

  /**
   * take out those of `entries` still in the list (each found by its arrival number: O(log n),
   * the FIFO's in one removal); returns them. A QueueBrowser's expired finds (Queue.expireFound):
   * some may have left the list since the browse saw them.
   */
  removePresent(entries: readonly QueueEntry[]): QueueEntry[] {
    const removed: QueueEntry[] = [];
    const fresh = new Map<Level, QueueEntry[]>();
    for (const e of entries) {
      const level = this.levels[e.priority];
      if (level === undefined) continue;
      if (level.removeRequeuedSeq(e.seq)) removed.push(e);
      else if (level.fresh.indexOfSeq(e.seq) >= 0) {
        let list = fresh.get(level);
        if (list === undefined) fresh.set(level, (list = []));
        list.push(e);
      }
    }
    for (const [level, list] of fresh) {
      level.fresh.removeSeqs(list.map((e) => e.seq));
      for (const e of list) removed.push(e);
    }
    for (const e of removed) this.taken(e);
    return removed;
  }

  /** in delivery order, without copying the list */
  *entries(): IterableIterator<QueueEntry> {
    for (let p = this.levels.length - 1; p >= 0; p--) yield* this.levels[p]!.entries();
  }

  /**
   * the first `limit` entries in delivery order as they are now, each through `copy`, copied a
   * slice at a time while the list goes on (ReadyCopy): no copy of the whole list at once
   */
  copyInSlices<T>(limit: number, copy: EntryCopier<T>): ReadyCopy<T> {
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
      level.clearRequeued();
      level.fresh.drop();
    }
    this.zeroCounts();
  }

  clear(): QueueEntry[] {
    const all = this.toArray();
    for (const level of this.levels) {
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
