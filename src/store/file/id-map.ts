/** message ids per block: a block's Map rehashes at most this many entries as it grows */
export const ID_BLOCK = 4096;
/**
 * entries held in one plain Map before later ids go into blocks: ids are given store-wide, so a
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
 * steady depth of one).
 *
 * Up to SMALL_MAX entries it is one plain Map (most queues). Once that is full, the ids it holds
 * stay in it until they go (it only drains, and is dropped when empty) and every other id goes
 * into its block: nothing is moved. (Moving the 32,768 entries into blocks on the one set() that
 * crossed SMALL_MAX, as this did until session 18, held a fresh broker's event loop 27-37 ms in
 * every flood, the journal's index and the flooded queue's Map crossing on the same message.)
 * Iteration: the plain Map's entries in insertion order, then by block, in each block by
 * insertion order. Values are never undefined (get() could not tell them from a missing id).
 */
export class IdMap<V> implements Iterable<[number, V]> {
  /** the first SMALL_MAX entries; once full (`spilled`) only the ids it holds, until it empties and goes */
  private small: Map<number, V> | undefined;
  /** set() found `small` full: later ids go into blocks, for good */
  private spilled: boolean;
  /** after the spill, the highest id `small` holds: a larger one is never in it (most calls then skip it) */
  private smallTop = -1;
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

  /** ids per block, entries before blocks are used (tests use small ones; 0: blocks from the first entry) */
  constructor(
    private readonly blockIds = ID_BLOCK,
    private readonly smallMax = SMALL_MAX,
  ) {
    this.spilled = smallMax <= 0;
    this.small = this.spilled ? undefined : new Map();
  }

  get(id: number): V | undefined {
    const small = this.small;
    if (small !== undefined) {
      if (!this.spilled) return small.get(id);
      if (id <= this.smallTop) {
        const v = small.get(id);
        if (v !== undefined) return v;
      }
    }
    return this.block(Math.floor(id / this.blockIds))?.get(id);
  }

  has(id: number): boolean {
    const small = this.small;
    if (small !== undefined) {
      if (!this.spilled) return small.has(id);
      if (id <= this.smallTop && small.has(id)) return true;
    }
    return this.block(Math.floor(id / this.blockIds))?.has(id) ?? false;
  }

  set(id: number, value: V): this {
    const small = this.small;
    if (small !== undefined) {
      if (!this.spilled) {
        const n = small.size;
        if (n < this.smallMax || small.has(id)) {
          small.set(id, value);
          this.size += small.size - n;
          return this;
        }
        this.spill(small);
      } else if (id <= this.smallTop && small.has(id)) {
        small.set(id, value);
        return this;
      }
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
      if (!this.spilled) {
        if (!small.delete(id)) return false;
        this.size--;
        return true;
      }
      if (id <= this.smallTop && small.delete(id)) {
        this.size--;
        // drained after the spill: it takes no more ids, so it goes
        if (small.size === 0) this.small = undefined;
        return true;
      }
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

  /**
   * `small` is full: from now on it keeps only what it holds (smallTop: its highest id, so that later ids skip it)
   * and every other id goes into blocks. Reads its keys once (no entry moves: a fraction of a ms at SMALL_MAX).
   */
  private spill(small: Map<number, V>): void {
    let top = -1;
    for (const id of small.keys()) if (id > top) top = id;
    this.smallTop = top;
    this.spilled = true;
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
