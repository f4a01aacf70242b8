/** message ids per block: a block's Map rehashes at most this many entries as it grows */
export const ID_BLOCK = 4096;
/**
 * entries held in one plain Map before it is spread into blocks: ids are given store-wide, so a
 * queue that gets one id in thousands (thousands of queues published to in turn: MQTT devices,
 * per-user queues) would hold a block per message (~220 B against ~38 B: review-s10-3 #2); a Map
 * this size rehashes well under a MiB at once
 */
export const SMALL_MAX = 32_768;

/**
 * A Map from message ids to values that grows a block of ids at a time: the journal's index of
 * every stored message, and each queue's messages. One Map of a million entries grows by
 * rehashing into a table twice its size in one go, the old one live until the next GC: a
 * Map<number, object> at 2^19 → 2^20 entries allocates ~28 MiB at once, and the journal's index
 * and a flooded queue's Map cross that size on the same message (a durable flood went 27 MiB past
 * the memory watermark between two readings). Here each block of ID_BLOCK consecutive ids has its
 * own Map (ids are given in order, so a queue's messages fill a few blocks at a time), found
 * through a Map of blocks that has a thousandth of the entries; a block goes when it empties,
 * except the newest one (where the next ids land: no Map made and dropped per message at a
 * steady depth of one). Iteration is by block, in each block by insertion order. Up to
 * SMALL_MAX entries it is one plain Map (most queues), spread into blocks once past it.
 */
export class IdMap<V> implements Iterable<[number, V]> {
  /** all entries while few (SMALL_MAX); undefined once spread into blocks, for good */
  private small: Map<number, V> | undefined = new Map();
  private readonly blocks = new Map<number, Map<number, V>>();
  /**
   * the two blocks looked at last: almost every call is about the newest ids (a publish) or
   * the oldest (an ack of the queue's head), so most calls find their block here
   */
  private lastNo = -1;
  private last: Map<number, V> | undefined;
  private otherNo = -1;
  private other: Map<number, V> | undefined;
  /** the highest block number made so far */
  private newest = -1;
  size = 0;

  /** ids per block, entries before blocks are used (tests use small ones) */
  constructor(
    private readonly blockIds = ID_BLOCK,
    private readonly smallMax = SMALL_MAX,
  ) {}

  get(id: number): V | undefined {
    if (this.small !== undefined) return this.small.get(id);
    return this.block(Math.floor(id / this.blockIds))?.get(id);
  }

  has(id: number): boolean {
    if (this.small !== undefined) return this.small.has(id);
    return this.block(Math.floor(id / this.blockIds))?.has(id) ?? false;
  }

  set(id: number, value: V): this {
    const small = this.small;
    if (small !== undefined) {
      small.set(id, value);
      this.size = small.size;
      if (small.size > this.smallMax) this.spread(small);
      return this;
    }
    const no = Math.floor(id / this.blockIds);
    let b = this.block(no);
    if (b === undefined) {
      b = new Map();
      this.blocks.set(no, b);
      if (no > this.newest) this.newest = no;
      this.remember(no, b);
    }
    const n = b.size;
    b.set(id, value);
    this.size += b.size - n;
    return this;
  }

  delete(id: number): boolean {
    const small = this.small;
    if (small !== undefined) {
      if (!small.delete(id)) return false;
      this.size--;
      return true;
    }
    const no = Math.floor(id / this.blockIds);
    const b = this.block(no);
    if (b === undefined || !b.delete(id)) return false;
    this.size--;
    if (b.size === 0 && no !== this.newest) {
      this.blocks.delete(no);
      if (this.lastNo === no) {
        this.lastNo = -1;
        this.last = undefined;
      } else if (this.otherNo === no) {
        this.otherNo = -1;
        this.other = undefined;
      }
    }
    return true;
  }

  *keys(): IterableIterator<number> {
    if (this.small !== undefined) yield* this.small.keys();
    for (const b of this.blocks.values()) yield* b.keys();
  }

  *values(): IterableIterator<V> {
    if (this.small !== undefined) yield* this.small.values();
    for (const b of this.blocks.values()) yield* b.values();
  }

  *[Symbol.iterator](): IterableIterator<[number, V]> {
    if (this.small !== undefined) yield* this.small.entries();
    for (const b of this.blocks.values()) yield* b.entries();
  }

  /** past SMALL_MAX: every entry into its block, once (a few ms) */
  private spread(small: Map<number, V>): void {
    this.small = undefined;
    this.size = 0;
    for (const [id, v] of small) this.set(id, v);
  }

  /** blocks held (tests: memory follows the ids held; 0 while one plain Map) */
  get blockCount(): number {
    return this.blocks.size;
  }

  private block(no: number): Map<number, V> | undefined {
    if (no === this.lastNo) return this.last;
    if (no === this.otherNo) return this.other;
    const b = this.blocks.get(no);
    if (b !== undefined) this.remember(no, b);
    return b;
  }

  private remember(no: number, b: Map<number, V>): void {
    this.otherNo = this.lastNo;
    this.other = this.last;
    this.lastNo = no;
    this.last = b;
  }
}
