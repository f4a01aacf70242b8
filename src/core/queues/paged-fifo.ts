import { Fifo } from '../fifo.js';
import type { Message } from '../message.js';
import { storableNative } from '../native-forms.js';
import type { TransientPager } from '../../store/store.js';
import type { QueueEntry } from './entry.js';
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

  /** ready entries kept in memory before the rest pages out; undefined: nothing pages */
  private readonly threshold: number | undefined;

  constructor(
    private readonly pager: Pager | undefined,
    private readonly priority: number,
    private readonly transient?: TransientPager,
    private readonly meter?: PagingMeter,
    /** slots per block of the paged tail (a power of two; tests use small ones) */
    blockSlots = BLOCK_SLOTS,
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
    return this.head.length + this.count;
  }

  /** entries whose message is out of memory */
  get paged(): number {
    return this.count - this.kept.size;
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
    return this.head.shift();
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
      return e;
    }
    if (this.count === 0) return undefined;
    const e = this.tailEntry(0);
    leaving?.(e);
    if (e instanceof PagedEntry) {
      this.movePaged(-e.bodyLength);
      this.releaseSlot(0);
    }
    this.shiftSlot();
    return e;
  }

  /** the entry at `index` in order; a paged one comes as a PagedEntry (its message read on use) */
  at(index: number): QueueEntry | undefined {
    const h = this.head.length;
    if (index < h) return this.head.at(index);
    index -= h;
    if (index < 0 || index >= this.count) return undefined;
    return this.tailEntry(index);
  }

  /** everything, in order; paged entries as PagedEntry */
  clear(): QueueEntry[] {
    const out = this.head.clear();
    for (let i = 0; i < this.count; i++) {
      out.push(this.tailEntry(i));
      if (!this.kept.has(this.base + i)) this.releaseSlot(i);
    }
    this.resetTail();
    return out;
  }

  /** the list is dropped unread (its queue was deleted): the transient store lets go of its records */
  drop(): void {
    if (this.transient) for (let i = 0; i < this.count; i++) if (!this.kept.has(this.base + i)) this.releaseSlot(i);
    this.head.clear();
    this.resetTail();
  }

  /** take out the entries with these arrival numbers (unique within a queue) */
  removeSeqs(seqs: Set<number>): void {
    this.head.filterInPlace((e) => !seqs.has(e.seq));
    if (this.count === 0) return;
    // compact the blocks in place: slot i moves to slot w <= i, so nothing unread is overwritten
    const kept = new Map<number, QueueEntry>();
    const slots = this.slots;
    let w = 0;
    let pagedBytes = 0;
    for (let i = 0, n = this.count; i < n; i++) {
      const from = slots.blockOf(i);
      const p = slots.slotOf(i);
      if (seqs.has(from.seqs[p]!)) {
        if (!this.kept.has(this.base + i)) this.releaseSlot(i);
        continue;
      }
      const to = slots.blockOf(w);
      const q = slots.slotOf(w);
      to.ids[q] = from.ids[p]!;
      to.seqs[q] = from.seqs[p]!;
      to.expires[q] = from.expires[p]!;
      to.deliveries[q] = from.deliveries[p]!;
      to.lengths[q] = from.lengths[p]!;
      if (from.locs) to.transientLocs()[q] = from.locs[p]!;
      else if (to.locs) to.locs[q] = -1;
      const k = this.kept.get(this.base + i);
      if (k) kept.set(this.base + w, k);
      else pagedBytes += from.lengths[p]!;
      w++;
    }
    this.kept = kept;
    this.movePaged(pagedBytes - this.pagedBytes);
    if (w === 0) this.resetTail();
    else slots.truncate(w);
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

  /** bring the next batch back into memory, reading paged messages from the store */
  private pageIn(): void {
    const n = Math.min(this.count, PAGE_IN_BATCH);
    for (let i = 0; i < n; i++) {
      const e = this.tailEntry(0);
      if (e instanceof PagedEntry) {
        this.movePaged(-e.bodyLength);
        // unreadable (the store logged why): the entry stays, empty, so counts stay right
        const message = e.message;
        this.releaseSlot(0);
        this.head.push({ id: e.id, seq: e.seq, message, expiresAt: e.expiresAt, priority: e.priority, deliveryCount: e.deliveryCount, persisted: e.persisted });
      } else this.head.push(e);
      this.shiftSlot();
    }
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
