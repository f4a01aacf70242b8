import { Fifo } from '../fifo.js';
import type { Message } from '../message.js';
import { storableNative } from '../native-forms.js';
import type { TransientPager } from '../../store/store.js';
import type { QueueEntry } from './entry.js';

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
/** the compact part starts this big and doubles */
const INITIAL_CAPACITY = 1024;

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
 * in typed arrays), their messages staying in the store until the in-memory part runs dry
 * and a batch is read back. Transient messages (all of a non-durable queue's) page out the
 * same way to the transient store, where one is given (8 bytes more each: where it is).
 * Entries that cannot be paged (an adapter's own form of a message with no codec to store
 * it, a quorum queue's counts, nowhere to page to) wait behind as objects, in their place.
 */
export class PagedFifo {
  /** the in-memory head */
  private readonly head = new Fifo<QueueEntry>();
  // the paged tail: a ring of columns
  private cap = 0;
  private start = 0;
  private count = 0;
  private ids = new Float64Array(0);
  private seqs = new Float64Array(0);
  private expires = new Float64Array(0);
  private deliveries = new Uint32Array(0);
  private lengths = new Uint32Array(0);
  /** where the transient store holds a slot's message, -1 for the journal; made on the first transient slot */
  private locs: Float64Array | undefined;
  /** entries in the tail kept as objects, by their ring position's absolute index */
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
  ) {
    this.threshold = pager?.threshold ?? transient?.threshold;
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
    if (this.count === this.cap) this.grow();
    const p = (this.start + this.count) % this.cap;
    this.seqs[p] = seq;
    this.ids[p] = id;
    this.expires[p] = expiresAt;
    this.deliveries[p] = deliveryCount;
    this.lengths[p] = bodyLength;
    if (this.locs) this.locs[p] = -1;
    this.movePaged(bodyLength);
    this.count++;
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

  /** the first entry without reading a paged-out message back (it comes as a PagedEntry) */
  shiftLazy(): QueueEntry | undefined {
    if (this.head.length > 0) return this.head.shift();
    if (this.count === 0) return undefined;
    const e = this.tailEntry(0);
    if (e instanceof PagedEntry) {
      this.movePaged(-e.bodyLength);
      this.releaseSlot(this.start);
    }
    this.kept.delete(this.base);
    this.start = (this.start + 1) % this.cap;
    this.count--;
    this.base++;
    if (this.count === 0) this.resetTail();
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
      if (!this.kept.has(this.base + i)) this.releaseSlot((this.start + i) % this.cap);
    }
    this.resetTail();
    return out;
  }

  /** the list is dropped unread (its queue was deleted): the transient store lets go of its records */
  drop(): void {
    if (this.locs) for (let i = 0; i < this.count; i++) if (!this.kept.has(this.base + i)) this.releaseSlot((this.start + i) % this.cap);
    this.head.clear();
    this.resetTail();
  }

  /** take out the entries with these arrival numbers (unique within a queue) */
  removeSeqs(seqs: Set<number>): void {
    this.head.filterInPlace((e) => !seqs.has(e.seq));
    if (this.count === 0) return;
    // compact the ring in place: slot i moves to slot w <= i, so nothing unread is overwritten
    const kept = new Map<number, QueueEntry>();
    let w = 0;
    let pagedBytes = 0;
    for (let i = 0; i < this.count; i++) {
      const p = (this.start + i) % this.cap;
      if (seqs.has(this.seqs[p]!)) {
        if (!this.kept.has(this.base + i)) this.releaseSlot(p);
        continue;
      }
      const q = (this.start + w) % this.cap;
      this.ids[q] = this.ids[p]!;
      this.seqs[q] = this.seqs[p]!;
      this.expires[q] = this.expires[p]!;
      this.deliveries[q] = this.deliveries[p]!;
      this.lengths[q] = this.lengths[p]!;
      if (this.locs) this.locs[q] = this.locs[p]!;
      const k = this.kept.get(this.base + i);
      if (k) kept.set(this.base + w, k);
      else pagedBytes += this.lengths[p]!;
      w++;
    }
    this.count = w;
    this.kept = kept;
    this.movePaged(pagedBytes - this.pagedBytes);
    if (w === 0) this.resetTail();
  }

  private tailEntry(i: number): QueueEntry {
    const kept = this.kept.get(this.base + i);
    if (kept) return kept;
    const p = (this.start + i) % this.cap;
    const loc = this.locs ? this.locs[p]! : -1;
    return new PagedEntry(this.ids[p]!, this.seqs[p]!, this.expires[p]!, this.priority, this.deliveries[p]!, this.lengths[p]!, loc < 0 ? this.pager! : this.transient!, loc);
  }

  /** the slot at ring position `p` (a paged one) leaves: its transient record is let go */
  private releaseSlot(p: number): void {
    const loc = this.locs ? this.locs[p]! : -1;
    if (loc >= 0) this.transient!.release(loc);
  }

  private pushTail(e: QueueEntry): void {
    if (this.count === this.cap) this.grow();
    const p = (this.start + this.count) % this.cap;
    this.seqs[p] = e.seq;
    let loc = -1;
    if (this.pageable(e) || (this.transientPageable(e) && (loc = this.transient!.write(e.message)) >= 0)) {
      this.ids[p] = e.id;
      this.expires[p] = e.expiresAt;
      this.deliveries[p] = e.deliveryCount;
      this.lengths[p] = entryBodyLength(e);
      this.movePaged(this.lengths[p]!);
      if (loc >= 0) (this.locs ??= new Float64Array(this.cap).fill(-1))[p] = loc;
      else if (this.locs) this.locs[p] = -1;
    } else {
      this.kept.set(this.base + this.count, e);
    }
    this.count++;
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
      const p = this.start;
      this.kept.delete(this.base);
      this.start = (this.start + 1) % this.cap;
      this.count--;
      this.base++;
      if (e instanceof PagedEntry) {
        this.movePaged(-e.bodyLength);
        // unreadable (the store logged why): the entry stays, empty, so counts stay right
        const message = e.message;
        this.releaseSlot(p);
        this.head.push({ id: e.id, seq: e.seq, message, expiresAt: e.expiresAt, priority: e.priority, deliveryCount: e.deliveryCount, persisted: e.persisted });
      } else this.head.push(e);
    }
    if (this.count === 0) this.resetTail();
    else if (this.cap > INITIAL_CAPACITY && this.count < this.cap / 4) this.resize(this.cap / 2);
  }

  private grow(): void {
    this.resize(this.cap === 0 ? INITIAL_CAPACITY : this.cap * 2);
  }

  private resize(cap: number): void {
    const ids = new Float64Array(cap);
    const seqs = new Float64Array(cap);
    const expires = new Float64Array(cap);
    const deliveries = new Uint32Array(cap);
    const lengths = new Uint32Array(cap);
    const locs = this.locs ? new Float64Array(cap).fill(-1) : undefined;
    for (let i = 0; i < this.count; i++) {
      const p = (this.start + i) % this.cap;
      ids[i] = this.ids[p]!;
      seqs[i] = this.seqs[p]!;
      expires[i] = this.expires[p]!;
      deliveries[i] = this.deliveries[p]!;
      lengths[i] = this.lengths[p]!;
      if (locs) locs[i] = this.locs![p]!;
    }
    this.locs = locs;
    this.ids = ids;
    this.seqs = seqs;
    this.expires = expires;
    this.deliveries = deliveries;
    this.lengths = lengths;
    this.cap = cap;
    this.start = 0;
  }

  private resetTail(): void {
    this.movePaged(-this.pagedBytes);
    this.base += this.count;
    this.count = 0;
    this.start = 0;
    this.kept.clear();
    if (this.cap !== 0) {
      this.cap = 0;
      this.ids = new Float64Array(0);
      this.seqs = new Float64Array(0);
      this.expires = new Float64Array(0);
      this.deliveries = new Uint32Array(0);
      this.lengths = new Uint32Array(0);
      this.locs = undefined;
    }
  }
}
