import { Fifo } from '../fifo.js';
import type { Message } from '../message.js';
import { storableNative } from '../native-forms.js';
import type { TransientPager } from '../../store/store.js';
import type { QueueEntry } from './entry.js';
import { FifoCopies, FifoCopy, type EntryCopier } from './fifo-copy.js';
import { Hole, Holes } from './holes.js';
import { BLOCK_SLOTS, SlotBlocks } from './slot-blocks.js';

/**
 * Where paged-out messages come back from: the store that holds their records
 * (the file journal). `read` is synchronous: a queue pages in within one turn.
 */
export interface Pager {
  /** ready messages of one priority kept in memory before the rest is paged out */
  readonly threshold: number;
  read(id: number): Message | undefined;
}

/**
 * Body bytes of every queue's paged-out messages, one per broker: they are on disk, so the
 * memory alarm's count of queued bodies leaves them out (RabbitMQ's alarm counts memory).
 */
export interface PagingMeter {
  bytes: number;
}

/** how many paged-out messages come back at once when the in-memory part runs dry */
const PAGE_IN_BATCH = 512;

/**
 * holes kept at most before the FIFO closes up behind them, when they also outnumber its live
 * entries: a selector consumer taking every message behind one nobody selects leaves a hole
 * per delivery, which the front never reaches; closing up then costs O(live + holes), at most
 * twice the holes made since the last time (amortised O(1) per removal)
 */
const HOLES_KEPT = 4096;

/**
 * A queue entry whose message is in the store, not in memory: what iterating a paged
 * queue (peek, purge, the test API) hands out. The message is read back on first use.
 */
export class PagedEntry implements QueueEntry {
  failedDeliveries?: number;
  private loaded: Message | undefined;

  constructor(
    readonly id: number,
    readonly seq: number,
    readonly expiresAt: number,
    readonly priority: number,
    public deliveryCount: number,
    /** the body's size, known without reading the message */
    readonly bodyLength: number,
    private readonly pager: Pager | TransientPager,
    /** where the transient store holds it; -1: the journal holds it (a persistent message) */
    private readonly loc = -1,
  ) {}

  /** in the journal (else in the transient store, gone at restart) */
  get persisted(): boolean {
    return this.loc < 0;
  }

  get message(): Message {
    // the store always holds a paged message (it leaves the store only when it leaves the
    // queue); if its record cannot be read the store has said why, and the entry is empty
    return (this.loaded ??= (this.loc < 0 ? this.pager.read(this.id) : this.pager.read(this.loc)) ?? missingMessage(this.bodyLength));
  }

  set message(m: Message) {
    this.loaded = m;
  }
}

function missingMessage(_bodyLength: number): Message {
  return { exchange: '', routingKey: '', properties: {}, body: Buffer.alloc(0), publishedAt: 0 };
}

/** body bytes of an entry, without reading a paged-out message back */
export function entryBodyLength(e: QueueEntry): number {
  return e instanceof PagedEntry ? e.bodyLength : e.message.body.length;
}

/**
 * The FIFO of one priority level of a queue, bounded in memory: the first `threshold`
 * entries are objects; persistent entries behind them keep only what the queue needs
 * to count, order and expire them (id, arrival, expiry, deliveries, body size: 32 bytes
 * in typed arrays, blocks of a few thousand slots added and freed as the queue grows and
 * drains: slot-blocks.ts), their messages staying in the store until the in-memory part runs
 * dry and a batch is read back. Transient messages (all of a non-durable queue's) page out the
 * same way to the transient store, where one is given (8 bytes more each: where it is).
 * Entries that cannot be paged (an adapter's own form of a message with no codec to store
 * it, a quorum queue's counts, nowhere to page to) wait behind as objects, in their place.
 *
 * An entry taken out of the middle (a selector consumer's pick) leaves a hole in its slot
 * (Holes; a Hole object in the head, its message let go of at once): O(log n) to find it by its
 * arrival number, nothing moved. The front skips holes as it reaches them; many holes the front
 * does not reach are closed up (HOLES_KEPT). Indexes (`at`, `length`) count live entries only.
 */
export class PagedFifo {
  /** the in-memory head */
  private readonly head = new Fifo<QueueEntry>();
  /** the paged tail: its columns in fixed-size blocks */
  private readonly slots: SlotBlocks;
  /** entries in the tail kept as objects, by their slot's absolute index */
  private kept = new Map<number, QueueEntry>();
  /** absolute index of the tail's first slot (kept's keys count from the first push) */
  private base = 0;
  /** the place (slots numbered from the first push, head and tail alike) of the first slot */
  private front = 0;
  /** places of the entries taken out that the front has not reached */
  private readonly holes = new Holes();
  /** of those, how many are in the tail */
  private tailHoles = 0;
  /** copies being taken a slice at a time (a peek of a million): told of every entry leaving */
  private copies: FifoCopies | undefined;

  /** ready entries kept in memory before the rest pages out; undefined: nothing pages */
  private readonly threshold: number | undefined;

  constructor(
    private readonly pager: Pager | undefined,
    private readonly priority: number,
    private readonly transient?: TransientPager,
    private readonly meter?: PagingMeter,
    /** slots per block of the paged tail (a power of two; tests use small ones) */
    blockSlots = BLOCK_SLOTS,
    /** holes kept at most before closing up behind them (tests use few) */
    private readonly holesKept = HOLES_KEPT,
  ) {
    this.threshold = pager?.threshold ?? transient?.threshold;
    this.slots = new SlotBlocks(blockSlots);
  }

  /** entries in the paged tail (paged out, or kept as objects behind the head) */
  private get count(): number {
    return this.slots.length;
  }

  /** blocks the paged tail holds (tests: memory follows the depth) */
  get tailBlocks(): number {
    return this.slots.blockCount;
  }

  get length(): number {
    return this.head.length + this.count - this.holes.count;
  }

  /** entries whose message is out of memory */
  get paged(): number {
    return this.count - this.kept.size - this.tailHoles;
  }

  /** body bytes of the entries whose message is out of memory */
  pagedBytes = 0;

  /** pagedBytes moves by `delta` (the broker's meter with it) */
  private movePaged(delta: number): void {
    this.pagedBytes += delta;
    if (this.meter) this.meter.bytes += delta;
  }

  push(e: QueueEntry): void {
    if (this.count === 0 && (this.threshold === undefined || this.head.length < this.threshold)) {
      this.head.push(e);
      return;
    }
    this.pushTail(e);
  }

  /**
   * Recovery: an entry whose message stays in the store, straight into the paged part, no
   * object made. False when it belongs in the in-memory head (the head is not full yet, or
   * nothing pages here): the caller then reads the message and pushes an entry.
   */
  pushIndex(id: number, seq: number, expiresAt: number, deliveryCount: number, bodyLength: number): boolean {
    if (this.pager === undefined || (this.count === 0 && this.head.length < this.pager.threshold)) return false;
    const i = this.slots.push();
    const b = this.slots.blockOf(i);
    const p = this.slots.slotOf(i);
    b.seqs[p] = seq;
    b.ids[p] = id;
    b.expires[p] = expiresAt;
    b.deliveries[p] = deliveryCount;
    b.lengths[p] = bodyLength;
    if (b.locs) b.locs[p] = -1;
    this.movePaged(bodyLength);
    return true;
  }

  peek(): QueueEntry | undefined {
    if (this.head.length === 0 && this.count > 0) this.pageIn();
    return this.head.peek();
  }

  shift(): QueueEntry | undefined {
    if (this.head.length === 0 && this.count > 0) this.pageIn();
    const e = this.head.shift();
    if (e !== undefined) {
      if (this.copies) this.copiesLeaving(e);
      this.frontMoved();
    }
    return e;
  }

  /** a copy of the first `count` entries as they are now, taken a slice at a time into `out` from `at` (FifoCopy) */
  copy<T>(count: number, out: T[], at: number, copy: EntryCopier<T>): FifoCopy<T> {
    const c = new FifoCopy(this, count, out, at, copy);
    if (!c.done) (this.copies ??= new FifoCopies()).add(c as FifoCopy<unknown>);
    return c;
  }

  /**
   * The first entry without reading a paged-out message back (it comes as a PagedEntry: a
   * purge drops it unread). `leaving` sees it first, while its message can still be read (a
   * peek's copy takes it then): a transient one's record is let go of only after, so the
   * PagedEntry handed back must not be read.
   */
  shiftLazy(leaving?: (e: QueueEntry) => void): QueueEntry | undefined {
    if (this.head.length > 0) {
      const e = this.head.shift()!;
      leaving?.(e);
      if (this.copies) this.copiesLeaving(e);
      this.frontMoved();
      return e;
    }
    if (this.count === 0) return undefined;
    const e = this.tailEntry(0);
    // copies take it while a transient one's record is still there
    leaving?.(e);
    if (this.copies) this.copiesLeaving(e);
    if (e instanceof PagedEntry) {
      this.movePaged(-e.bodyLength);
      this.releaseSlot(0);
    }
    this.shiftSlot();
    this.frontMoved();
    return e;
  }

  /** the entry at `index` in order; a paged one comes as a PagedEntry (its message read on use) */
  at(index: number): QueueEntry | undefined {
    if (index < 0 || index >= this.length) return undefined;
    return this.entryInSlot(this.holes.count === 0 ? index : this.holes.slotOf(index, this.front));
  }

  /** everything, in order; paged entries as PagedEntry */
  clear(): QueueEntry[] {
    this.endCopies();
    const out: QueueEntry[] = [];
    const tailFront = this.front + this.head.length;
    for (const e of this.head.clear()) if (!(e instanceof Hole)) out.push(e);
    for (let i = 0; i < this.count; i++) {
      if (this.tailHoles > 0 && this.holes.has(tailFront + i)) continue;
      out.push(this.tailEntry(i));
      if (!this.kept.has(this.base + i)) this.releaseSlot(i);
    }
    this.front = tailFront + this.count;
    this.resetTail();
    this.holesGone();
    return out;
  }

  /** the list is dropped unread (its queue was deleted): the transient store lets go of its records */
  drop(): void {
    this.endCopies();
    // a hole's record was let go of as it was taken out (its place reads -1: the journal)
    if (this.transient) for (let i = 0; i < this.count; i++) if (!this.kept.has(this.base + i)) this.releaseSlot(i);
    this.front += this.head.length + this.count;
    this.head.clear();
    this.resetTail();
    this.holesGone();
  }

  /** where the entry with arrival number `seq` is (an index as `at` takes), or -1 */
  indexOfSeq(seq: number): number {
    const slot = this.slotOfSeq(seq);
    if (slot < 0) return -1;
    if (this.holes.count === 0) return slot;
    const place = this.front + slot;
    return this.holes.has(place) ? -1 : slot - this.holes.before(place);
  }

  /**
   * take out the entries with these arrival numbers (unique within a queue): each found by a
   * binary search, its slot left a hole (the FIFO holds entries in arrival order: an entry gets
   * its number as it is pushed, requeued ones go elsewhere); numbers not here are passed over
   */
  removeSeqs(seqs: Iterable<number>): void {
    const found: number[] = [];
    for (const seq of seqs) {
      const slot = this.slotOfSeq(seq);
      if (slot >= 0 && (this.holes.count === 0 || !this.holes.has(this.front + slot))) found.push(slot);
    }
    if (found.length === 0) return;
    found.sort((a, b) => a - b);
    const slots = found.filter((slot, i) => i === 0 || found[i - 1] !== slot);
    if (this.copies) this.copiesRemoving(slots.map((slot) => (this.holes.count === 0 ? slot : slot - this.holes.before(this.front + slot))));
    for (const slot of slots) this.holeAt(slot);
    this.afterHoles();
  }

  /**
   * take out the entry at `index` (as `at` counts); `read`: that entry as `at` handed it out, its
   * message read already (a selector walk's): copies under way take it instead of reading it again
   */
  removeAt(index: number, read?: QueueEntry): void {
    if (index < 0 || index >= this.length) throw new RangeError(`index ${index} outside a FIFO of ${this.length}`);
    if (this.copies) this.copiesRemoving([index], read && [read]);
    this.holeAt(this.holes.count === 0 ? index : this.holes.slotOf(index, this.front));
    this.afterHoles();
  }

  private copiesLeaving(e: QueueEntry): void {
    this.copies!.leaving(e);
    if (this.copies!.empty) this.copies = undefined;
  }

  /**
   * the live entries at `positions` (ascending) are about to be taken out: copies that have not
   * reached one take it now (a paged one reads its message back before the FIFO lets go of it,
   * unless `entries` gives them read already)
   */
  private copiesRemoving(positions: number[], entries = positions.map((i) => this.at(i)!)): void {
    this.copies!.removing(positions, entries);
    if (this.copies!.empty) this.copies = undefined;
  }

  private endCopies(): void {
    this.copies?.end();
    this.copies = undefined;
  }

  /** the slot (counted from the front, holes included) of arrival number `seq`, or -1 */
  private slotOfSeq(seq: number): number {
    let lo = 0;
    let hi = this.head.length + this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.seqInSlot(mid) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.head.length + this.count && this.seqInSlot(lo) === seq ? lo : -1;
  }

  /** the arrival number in slot `slot` (a hole keeps its entry's) */
  private seqInSlot(slot: number): number {
    const h = this.head.length;
    if (slot < h) return this.head.at(slot)!.seq;
    const i = slot - h;
    return this.slots.blockOf(i).seqs[this.slots.slotOf(i)]!;
  }

  private entryInSlot(slot: number): QueueEntry {
    const h = this.head.length;
    return slot < h ? this.head.at(slot)! : this.tailEntry(slot - h);
  }

  /** the live entry in `slot` is taken out: a Hole in the head, a released slot in the tail */
  private holeAt(slot: number): void {
    const h = this.head.length;
    if (slot < h) this.head.set(slot, new Hole(this.head.at(slot)!.seq));
    else {
      const i = slot - h;
      const k = this.base + i;
      if (!this.kept.delete(k)) {
        const b = this.slots.blockOf(i);
        const p = this.slots.slotOf(i);
        this.movePaged(-b.lengths[p]!);
        this.releaseSlot(i);
        // released: a later drop or clear must not release it again
        if (b.locs) b.locs[p] = -1;
      }
      this.tailHoles++;
    }
    this.holes.add(this.front + slot);
  }

  /** holes were made: the front skips those it is at; too many it does not reach are closed up */
  private afterHoles(): void {
    this.skipHoles();
    if (this.holes.count > this.holesKept && this.holes.count > this.length) this.closeUp();
  }

  /** the first slot left: the front moves past it, and past the holes it is at then */
  private frontMoved(): void {
    this.front++;
    if (this.holes.count > 0) this.skipHoles();
  }

  /** the front at holes: past them (the front is never a hole between calls) */
  private skipHoles(): void {
    while (this.holes.next === this.front) {
      if (this.head.length > 0) this.head.shift();
      else {
        this.tailHoles--;
        this.shiftSlot();
      }
      this.front++;
      this.holes.shift();
    }
  }

  /** every hole closed up: the entries behind move forward (O(slots)) */
  private closeUp(): void {
    const tailFront = this.front + this.head.length;
    this.head.retain((e) => !(e instanceof Hole));
    if (this.tailHoles > 0) this.closeUpTail(tailFront);
    this.holesGone();
  }

  /**
   * the tail's holes closed up (its first slot at place `tailFront`): its blocks compacted in
   * place, run by run between the holes (Holes.liveRuns; a long run a column copy per block). It
   * looked each of the million slots up among the holes (a binary search) and in `kept`: 103 ms at 1M.
   */
  private closeUpTail(tailFront: number): void {
    const slots = this.slots;
    // the kept objects' new slots: each moves forward by the tail's holes before it
    if (this.kept.size > 0) {
      const kept = new Map<number, QueueEntry>();
      const headHoles = this.holes.before(tailFront);
      for (const [k, e] of this.kept) {
        const i = k - this.base;
        kept.set(k - (this.holes.before(tailFront + i) - headHoles), e);
      }
      this.kept = kept;
    }
    // a run moves to w <= its start, so nothing unread is overwritten
    let w = 0;
    this.holes.liveRuns(tailFront, this.count, (from, length) => {
      if (from !== w) slots.moveForward(from, w, length);
      w += length;
    });
    if (w === 0) this.resetTail();
    else slots.truncate(w);
  }

  /** no hole left (emptied, or closed up) */
  private holesGone(): void {
    this.holes.clear();
    this.tailHoles = 0;
  }

  private tailEntry(i: number): QueueEntry {
    const kept = this.kept.get(this.base + i);
    if (kept) return kept;
    const b = this.slots.blockOf(i);
    const p = this.slots.slotOf(i);
    const loc = b.locs ? b.locs[p]! : -1;
    return new PagedEntry(b.ids[p]!, b.seqs[p]!, b.expires[p]!, this.priority, b.deliveries[p]!, b.lengths[p]!, loc < 0 ? this.pager! : this.transient!, loc);
  }

  /** the tail's slot `i` (a paged one) leaves: its transient record is let go */
  private releaseSlot(i: number): void {
    const locs = this.slots.blockOf(i).locs;
    const loc = locs ? locs[this.slots.slotOf(i)]! : -1;
    if (loc >= 0) this.transient!.release(loc);
  }

  /** the tail's first slot leaves (its entry handed out or brought into the head) */
  private shiftSlot(): void {
    this.kept.delete(this.base);
    this.base++;
    this.slots.shiftSlot();
    if (this.count === 0) this.resetTail();
  }

  private pushTail(e: QueueEntry): void {
    const i = this.slots.push();
    const b = this.slots.blockOf(i);
    const p = this.slots.slotOf(i);
    b.seqs[p] = e.seq;
    let loc = -1;
    if (this.pageable(e) || (this.transientPageable(e) && (loc = this.transient!.write(e.message)) >= 0)) {
      const length = entryBodyLength(e);
      b.ids[p] = e.id;
      b.expires[p] = e.expiresAt;
      b.deliveries[p] = e.deliveryCount;
      b.lengths[p] = length;
      this.movePaged(length);
      if (loc >= 0) b.transientLocs()[p] = loc;
      else if (b.locs) b.locs[p] = -1;
    } else {
      this.kept.set(this.base + i, e);
      // a reused block's slot still holds the record place of the message it held before (released):
      // a kept entry taken from the middle leaves `kept`, and drop() would release that place again
      if (b.locs) b.locs[p] = -1;
    }
  }

  /** a message the journal does not hold, which the transient store can take */
  private transientPageable(e: QueueEntry): boolean {
    if (this.transient === undefined || e.persisted || e instanceof PagedEntry || e.failedDeliveries !== undefined || e.acquiredCount !== undefined) return false;
    return storableNative(e.message) && e.deliveryCount <= 0xffffffff;
  }

  /** its message is in the store as it is here, and nothing else about it needs an object */
  private pageable(e: QueueEntry): boolean {
    // a quorum queue's counts (x-delivery-count, x-acquired-count) live on the entry and in its
    // message's headers, not in the store's copy of the message
    if (this.pager === undefined || !e.persisted || e.failedDeliveries !== undefined || e.acquiredCount !== undefined) return false;
    if (e instanceof PagedEntry) return true;
    // an adapter's own form of the message (OpenWire's typed JMS properties) is in the store
    // when the adapter gave a codec for it (src/core/native-forms.ts)
    return storableNative(e.message) && e.deliveryCount <= 0xffffffff;
  }

  /**
   * A selector walk passed over the entry at `index`, `e` as `at` handed it out (its message
   * read to match it): it stays in memory from now on, brought into the head with the tail's
   * slots before it, so the next walk passes it without reading it again (it read every passed
   * paged-out message at every dispatch, up to the walk's window: 378 reads per publish). Memory
   * stays bounded: a walk passes over at most its window, and it brings in only what it reached.
   */
  keepPassed(index: number, e: QueueEntry): void {
    // nothing paged behind the head (a queue in memory): nothing to read
    if (this.count === 0) return;
    const slot = this.holes.count === 0 ? index : this.holes.slotOf(index, this.front);
    while (this.head.length < slot) this.pageInFirst();
    if (this.head.length === slot) this.pageInFirst(e instanceof PagedEntry ? e : undefined);
  }

  /** bring the next batch back into memory, reading paged messages from the store */
  private pageIn(): void {
    const n = Math.min(this.count, PAGE_IN_BATCH);
    for (let i = 0; i < n; i++) this.pageInFirst();
  }

  /** the tail's first slot into the head, its message read from the store (or taken from `read`: the PagedEntry of that slot, read already) */
  private pageInFirst(read?: PagedEntry): void {
    if (this.tailHoles > 0 && this.holes.has(this.front + this.head.length)) {
      // a hole stays a hole, in its place (its slot was released as it was taken out)
      this.head.push(new Hole(this.slots.blockOf(0).seqs[this.slots.slotOf(0)]!));
      this.tailHoles--;
      this.shiftSlot();
      return;
    }
    const e = read ?? this.tailEntry(0);
    if (e instanceof PagedEntry) {
      this.movePaged(-e.bodyLength);
      // unreadable (the store logged why): the entry stays, empty, so counts stay right
      const message = e.message;
      this.releaseSlot(0);
      this.head.push({ id: e.id, seq: e.seq, message, expiresAt: e.expiresAt, priority: e.priority, deliveryCount: e.deliveryCount, persisted: e.persisted });
    } else this.head.push(e);
    this.shiftSlot();
  }

  /** the tail empties: its blocks go */
  private resetTail(): void {
    this.movePaged(-this.pagedBytes);
    this.base += this.count;
    this.kept.clear();
    // shifted to empty, SlotBlocks let go of its blocks itself
    if (this.count > 0) this.slots.clear();
  }
}
