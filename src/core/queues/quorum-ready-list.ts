import { Fifo } from '../fifo.js';
import type { QueueEntry } from './entry.js';
import { entryBodyLength, PagedFifo, type Pager, type PagingMeter } from './paged-fifo.js';
import { ReadyCopy, ReadyList, firstEntries } from './ready-list.js';
import { ArrayCopy, type CopyPart, type EntryCopier } from './fifo-copy.js';
import { TwoLevelCopy } from './two-level-copy.js';
import type { TransientPager } from '../../store/store.js';

/**
 * How a quorum queue orders messages by priority, per RabbitMQ version:
 * - 'none' (3.13): one FIFO; the priority property is ignored.
 * - 'two-level' (4.0-4.2, rabbit_fifo_q): priority > 4 is "high", anything else (or none)
 *   "normal"; while both have messages, two high ones go out for each normal one (WEIGHT 2),
 *   except that the third turn takes the high one only if it is older than the normal one.
 * - 'strict' (4.3, rabbit_fifo_pq): 32 levels 0..31 (higher first, a priority above 31 is 31),
 *   a message without one at 4 (DEFAULT_PRIORITY).
 */
export type QuorumPriorities = 'none' | 'two-level' | 'strict';

/** rabbit_fifo_q's ?WEIGHT: the dequeue counter runs 0..WEIGHT */
const WEIGHT = 2;
const STRICT_LEVELS = 32;
const STRICT_DEFAULT = 4;

/** the bucket a message of `priority` goes to (its QueueEntry.priority in a quorum queue) */
export function quorumBucket(scheme: QuorumPriorities, priority: number | undefined): number {
  if (scheme === 'two-level') return priority !== undefined && priority > 4 ? 1 : 0;
  if (scheme === 'strict') return priority === undefined ? STRICT_DEFAULT : Math.max(0, Math.min(STRICT_LEVELS - 1, priority));
  return 0;
}

/**
 * The ready messages of a quorum queue as rabbit_fifo keeps them: messages returned by a
 * consumer (nack/reject with requeue, a closed channel) wait in `returns`, in the order they
 * came back, and go out before any other (take_next_msg/1); the rest sit in priority buckets.
 * A ReadyList to the queue, with all of its methods its own.
 *
 * On the file journal each bucket pages its persistent messages out past the threshold, as
 * a classic queue's levels do: RabbitMQ's quorum queues keep message bodies on disk (3.10+),
 * only an index in memory (issue 18: a million messages in a durable queue).
 */
export class QuorumReadyList extends ReadyList {
  private returns = new Fifo<QueueEntry>();
  /** index = bucket: 'none' one, 'two-level' [normal, high], 'strict' 32 (higher index first) */
  private buckets: PagedFifo[];
  /** rabbit_fifo_q's dequeue_counter */
  private dequeueCounter = 0;
  private held = 0;
  private heldBytes = 0;
  /** how many of them, and how many body bytes, are persistent (the management API's messages_persistent) */
  private heldPersistent = 0;
  private heldPersistentBytes = 0;
  /** a detached list being settled: paged-out entries leave without being read back */
  private shiftUnread = false;

  constructor(
    readonly scheme: QuorumPriorities,
    private readonly bucketPager?: Pager,
    private readonly bucketTransient?: TransientPager,
    private readonly bucketMeter?: PagingMeter,
  ) {
    // a ReadyList to whoever holds one (Queue.ready); none of the base's levels is used
    super(0);
    const n = scheme === 'two-level' ? 2 : scheme === 'strict' ? STRICT_LEVELS : 1;
    this.buckets = Array.from({ length: n }, (_, b) => new PagedFifo(bucketPager, b, bucketTransient, bucketMeter));
  }

  override get paged(): number {
    let n = 0;
    for (const b of this.buckets) n += b.paged;
    return n;
  }

  override get pagedBytes(): number {
    let n = 0;
    for (const b of this.buckets) n += b.pagedBytes;
    return n;
  }

  override get length(): number {
    return this.held;
  }

  override get bytes(): number {
    return this.heldBytes;
  }

  override get persistent(): number {
    return this.heldPersistent;
  }

  override get persistentBytes(): number {
    return this.heldPersistentBytes;
  }

  override get maxPriority(): number {
    return this.buckets.length - 1;
  }

  override push(e: QueueEntry): void {
    this.buckets[e.priority]!.push(e);
    this.counted(e);
  }

  override pushPaged(id: number, seq: number, expiresAt: number, bucket: number, deliveryCount: number, bodyLength: number): boolean {
    if (!this.buckets[bucket]!.pushIndex(id, seq, expiresAt, deliveryCount, bodyLength)) return false;
    this.held++;
    this.heldBytes += bodyLength;
    this.heldPersistent++;
    this.heldPersistentBytes += bodyLength;
    return true;
  }

  override requeue(e: QueueEntry): void {
    this.returns.push(e);
    this.counted(e);
  }

  override peek(): QueueEntry | undefined {
    if (this.held === 0) return undefined;
    return this.returns.peek() ?? this.buckets[this.nextBucket(this.dequeueCounter)]!.peek();
  }

  override shift(): QueueEntry | undefined {
    if (this.held === 0) return undefined;
    let e = this.returns.shift();
    if (e === undefined) {
      const bucket = this.buckets[this.nextBucket(this.dequeueCounter)]!;
      e = (this.shiftUnread ? bucket.shiftLazy() : bucket.shift())!;
      this.dequeueCounter = this.dequeueCounter === WEIGHT ? 0 : this.dequeueCounter + 1;
    }
    this.uncounted(e);
    return e;
  }

  /**
   * Ready counts as rabbit_fifo's overview has them: returned ones, then per priority (4.0-4.2:
   * high and normal; 4.3: per priority level with messages, `messages_by_priority`).
   */
  overview(): { returned: number; high?: number; normal?: number; byPriority?: Record<string, number> } {
    const returned = this.returns.length;
    if (this.scheme === 'two-level') return { returned, high: this.buckets[1]!.length, normal: this.buckets[0]!.length };
    if (this.scheme === 'strict') {
      const byPriority: Record<string, number> = {};
      this.buckets.forEach((b, p) => {
        if (b.length) byPriority[String(p)] = b.length;
      });
      return { returned, byPriority };
    }
    return { returned };
  }

  /** take these entries out, wherever they are (selector consumers take from the middle) */
  override remove(entries: Set<QueueEntry>): void {
    // by arrival number: a paged entry handed out is a fresh object each time
    const seqs = new Set<number>();
    for (const e of entries) seqs.add(e.seq);
    this.returns.filterInPlace((e) => !seqs.has(e.seq));
    for (const b of this.buckets) if (b.length) b.removeSeqs(seqs);
    for (const e of entries) this.uncounted(e);
  }

  /**
   * Offer the entries to `choose` in delivery order (as entries() gives them), from the head:
   * 'take' takes the entry out and hands it to `taken`, 'pass' leaves it in its place, 'stop'
   * ends the walk. Nothing is copied and a take costs O(log n) (a hole in its bucket; a return
   * is near the head), so a selector consumer's dispatch costs what it walks, never the length
   * of the queue (it copied the whole list per dispatch and rewrote it per take).
   */
  takeWhere(choose: (e: QueueEntry) => 'take' | 'pass' | 'stop', taken: (e: QueueEntry) => void): void {
    for (let r = 0; r < this.returns.length; ) {
      const e = this.returns.at(r)!;
      const what = choose(e);
      if (what === 'stop') return;
      if (what === 'pass') {
        r++;
        continue;
      }
      this.returns.removeAt(r);
      this.uncounted(e);
      taken(e);
    }
    const pos = this.buckets.map(() => 0);
    let counter = this.dequeueCounter;
    for (;;) {
      const b = this.nextBucket(counter, pos);
      const bucket = this.buckets[b]!;
      const e = bucket.at(pos[b]!);
      if (e === undefined) return;
      const what = choose(e);
      if (what === 'stop') return;
      // the order goes on as the snapshot of entries() had it: a taken entry counts as a turn of its bucket
      counter = counter === WEIGHT ? 0 : counter + 1;
      if (what === 'pass') {
        // its message stays in memory: the next dispatch passes it again without reading it
        bucket.keepPassed(pos[b]!, e);
        pos[b]!++;
        continue;
      }
      // a copy under way (peek) takes `e` as the selector read it: not read from the journal twice
      bucket.removeAt(pos[b]!, e);
      this.uncounted(e);
      taken(e);
    }
  }

  /** in delivery order (as successive shifts would give them), without copying the list */
  override *entries(): IterableIterator<QueueEntry> {
    for (let i = 0; i < this.returns.length; i++) yield this.returns.at(i)!;
    const pos = this.buckets.map(() => 0);
    let counter = this.dequeueCounter;
    for (let left = this.held - this.returns.length; left > 0; left--) {
      const b = this.nextBucket(counter, pos);
      yield this.buckets[b]!.at(pos[b]!)!;
      pos[b]!++;
      counter = counter === WEIGHT ? 0 : counter + 1;
    }
  }

  /**
   * the first `limit` entries in delivery order as they are now, each through `copy`, copied a
   * slice at a time while the list goes on: the returns at once (one array of pointers, as a
   * classic level's requeued ones), each bucket a slice at a time (PagedFifo.copy: told of
   * every entry leaving it); strict priorities deliver bucket after bucket, 4.0-4.2's two levels
   * interleave them (TwoLevelCopy). It copied the whole list in one turn first.
   */
  override copyInSlices<T>(limit: number, copy: EntryCopier<T>): ReadyCopy<T> {
    const out: T[] = new Array(Math.min(limit, this.held));
    const parts: CopyPart[] = [];
    const r = Math.min(this.returns.length, out.length);
    if (r > 0) parts.push(new ArrayCopy(firstEntries(returnsOf(this.returns), r, r), out, 0, copy));
    const rest = out.length - r;
    if (rest > 0 && this.scheme === 'two-level') parts.push(new TwoLevelCopy(this.buckets[0]!, this.buckets[1]!, this.dequeueCounter, WEIGHT, rest, out, r, copy));
    else if (rest > 0) {
      let at = r;
      // 'none': one bucket; 'strict': the highest first, each drained before the next
      for (let b = this.buckets.length - 1; b >= 0 && at < out.length; b--) {
        const n = Math.min(this.buckets[b]!.length, out.length - at);
        if (n > 0) parts.push(this.buckets[b]!.copy(n, out, at, copy));
        at += n;
      }
    }
    return ReadyCopy.ofParts(out, parts);
  }

  override toArray(limit = Infinity): QueueEntry[] {
    return firstEntries(this.entries(), this.held, limit);
  }

  /**
   * Hand every entry over to a new list, in the same order, and start empty: O(buckets)
   * whatever the length (a purge or a delete of millions of messages). The base's swaps its
   * priority levels; this list swaps its returns and buckets, and keeps the scheme.
   */
  override detach(): QuorumReadyList {
    const out = new QuorumReadyList(this.scheme, this.bucketPager, this.bucketTransient, this.bucketMeter);
    out.shiftUnread = true;
    [out.returns, this.returns] = [this.returns, out.returns];
    [out.buckets, this.buckets] = [this.buckets, out.buckets];
    out.dequeueCounter = this.dequeueCounter;
    out.held = this.held;
    out.heldBytes = this.heldBytes;
    out.heldPersistent = this.heldPersistent;
    out.heldPersistentBytes = this.heldPersistentBytes;
    this.held = this.heldBytes = this.heldPersistent = this.heldPersistentBytes = 0;
    return out;
  }

  override drop(): void {
    this.returns.clear();
    for (const b of this.buckets) b.drop();
    this.held = this.heldBytes = this.heldPersistent = this.heldPersistentBytes = 0;
  }

  override clear(): QueueEntry[] {
    const all = this.toArray();
    this.returns.clear();
    for (const b of this.buckets) b.clear();
    this.held = 0;
    this.heldBytes = 0;
    this.heldPersistent = 0;
    this.heldPersistentBytes = 0;
    return all;
  }

  /**
   * The bucket the next message comes from (some bucket holds one); `pos` skips what an
   * iteration already took. rabbit_fifo_q:next/1 for two levels, the highest non-empty
   * level for strict priorities.
   */
  private nextBucket(counter: number, pos?: number[]): number {
    const head = (b: number): QueueEntry | undefined => this.buckets[b]!.at(pos ? pos[b]! : 0);
    if (this.scheme === 'two-level') {
      const hi = head(1);
      const no = head(0);
      if (hi && no && counter === WEIGHT) return hi.seq < no.seq ? 1 : 0;
      return hi ? 1 : 0;
    }
    for (let b = this.buckets.length - 1; b > 0; b--) if (head(b)) return b;
    return 0;
  }

  private counted(e: QueueEntry): void {
    const bytes = entryBodyLength(e);
    this.held++;
    this.heldBytes += bytes;
    if (e.persisted) {
      this.heldPersistent++;
      this.heldPersistentBytes += bytes;
    }
  }

  private uncounted(e: QueueEntry): void {
    const bytes = entryBodyLength(e);
    this.held--;
    this.heldBytes -= bytes;
    if (e.persisted) {
      this.heldPersistent--;
      this.heldPersistentBytes -= bytes;
    }
  }
}

/** a Fifo's entries in order, without copying it */
function* returnsOf(returns: Fifo<QueueEntry>): IterableIterator<QueueEntry> {
  for (let i = 0; i < returns.length; i++) yield returns.at(i)!;
}
