/** slots per block once a Fifo outgrows its ring (a power of two): 32 KiB of pointers */
export const FIFO_BLOCK = 4096;
const BLOCK = FIFO_BLOCK;
const SHIFT = 12;
const MASK = BLOCK - 1;

/**
 * A FIFO with O(1) push/shift/unshift (no O(n) Array#shift), without allocating per element.
 * Small, it is one ring that doubles (copying at most BLOCK slots); past BLOCK it becomes a
 * queue of fixed-size blocks, added at either end and freed as they empty, so a deep FIFO (a
 * queue's million ready messages in a broker without paging) never copies itself and never
 * holds two copies of its slots: a ring doubling at 2^20 copied 8 MiB into a new 16 MiB array
 * in one go. It returns to one ring (of BLOCK slots) when it empties.
 */
export class Fifo<T> {
  private items: (T | undefined)[];
  private head = 0;
  private count = 0;
  /** the blocks, once past one ring of BLOCK slots; the first slot is blocks[0][head] */
  private blocks: (T | undefined)[][] | undefined;
  /** an emptied block kept for the next one needed (a FIFO steady around a block boundary) */
  private spare: (T | undefined)[] | undefined;

  constructor(capacity = 16) {
    this.items = new Array(Math.max(1, Math.min(capacity, BLOCK)));
  }

  get length(): number {
    return this.count;
  }

  push(item: T): void {
    if (this.blocks !== undefined) return this.pushBlock(item);
    if (this.count === this.items.length) {
      if (this.count === BLOCK) {
        this.toBlocks();
        this.pushBlock(item);
        return;
      }
      this.grow();
    }
    this.items[(this.head + this.count) % this.items.length] = item;
    this.count++;
  }

  unshift(item: T): void {
    if (this.blocks === undefined && this.count === this.items.length) {
      if (this.count === BLOCK) this.toBlocks();
      else this.grow();
    }
    const blocks = this.blocks;
    if (blocks !== undefined) {
      if (this.head === 0) {
        blocks.unshift(this.newBlock());
        this.head = BLOCK;
      }
      blocks[0]![--this.head] = item;
      this.count++;
      return;
    }
    this.head = (this.head - 1 + this.items.length) % this.items.length;
    this.items[this.head] = item;
    this.count++;
  }

  peek(): T | undefined {
    if (this.count === 0) return undefined;
    return this.blocks !== undefined ? this.blocks[0]![this.head] : this.items[this.head];
  }

  shift(): T | undefined {
    if (this.count === 0) return undefined;
    const blocks = this.blocks;
    if (blocks !== undefined) {
      const first = blocks[0]!;
      const item = first[this.head];
      first[this.head] = undefined;
      this.count--;
      if (this.count === 0) this.toRing(first);
      else if (++this.head === BLOCK) {
        // emptied: kept as the spare (its slots are all undefined again)
        this.spare = blocks.shift();
        this.head = 0;
      }
      return item;
    }
    const item = this.items[this.head];
    this.items[this.head] = undefined;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    return item;
  }

  at(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    if (this.blocks !== undefined) {
      const q = this.head + index;
      return this.blocks[q >> SHIFT]![q & MASK];
    }
    return this.items[(this.head + index) % this.items.length];
  }

  /** replaces the item at `index` (an existing one) */
  set(index: number, item: T): void {
    if (index < 0 || index >= this.count) throw new RangeError(`index ${index} outside a FIFO of ${this.count}`);
    if (this.blocks !== undefined) {
      const q = this.head + index;
      this.blocks[q >> SHIFT]![q & MASK] = item;
    } else this.items[(this.head + index) % this.items.length] = item;
  }

  /** takes out the item at `index`: the ones ahead of it move back a slot (O(index): for takes near the head) */
  removeAt(index: number): T | undefined {
    if (index < 0 || index >= this.count) return undefined;
    const item = this.at(index);
    for (let i = index; i > 0; i--) this.set(i, this.at(i - 1) as T);
    this.shift();
    return item;
  }

  clear(): T[] {
    const out = this.toArray();
    this.reset();
    return out;
  }

  toArray(): T[] {
    const out: T[] = new Array(this.count);
    if (this.blocks !== undefined) for (let i = 0; i < this.count; i++) out[i] = this.at(i) as T;
    else for (let i = 0; i < this.count; i++) out[i] = this.items[(this.head + i) % this.items.length] as T;
    return out;
  }

  /**
   * Keep only the items `keep` accepts, in order, moved forward in place: nothing allocated, no
   * copy of the FIFO (filterInPlace makes three); the blocks past the last kept item go.
   */
  retain(keep: (item: T) => boolean): void {
    let w = 0;
    for (let r = 0; r < this.count; r++) {
      const item = this.at(r) as T;
      if (!keep(item)) continue;
      if (w !== r) this.set(w, item);
      w++;
    }
    this.truncate(w);
  }

  /** keep the first `n` items */
  private truncate(n: number): void {
    if (n === 0) {
      this.reset();
      return;
    }
    for (let i = n; i < this.count; i++) this.set(i, undefined as T);
    this.count = n;
    const blocks = this.blocks;
    if (blocks !== undefined) blocks.length = ((this.head + n - 1) >> SHIFT) + 1;
  }

  /** Keep only the items the predicate accepts; returns the removed ones in order. */
  filterInPlace(keep: (item: T) => boolean): T[] {
    const removed: T[] = [];
    const kept: T[] = [];
    for (const item of this.toArray()) (keep(item) ? kept : removed).push(item);
    this.reset(Math.max(16, Math.min(BLOCK, kept.length * 2)));
    for (const item of kept) this.push(item);
    return removed;
  }

  private grow(): void {
    const next: (T | undefined)[] = new Array(Math.min(this.items.length * 2, BLOCK));
    for (let i = 0; i < this.count; i++) next[i] = this.items[(this.head + i) % this.items.length];
    this.items = next;
    this.head = 0;
  }

  /** the full ring of BLOCK slots becomes the first block (in order from slot 0) */
  private toBlocks(): void {
    if (this.head !== 0) this.grow();
    this.blocks = [this.items];
    this.items = [];
  }

  private pushBlock(item: T): void {
    const blocks = this.blocks!;
    const q = this.head + this.count;
    if (q >> SHIFT === blocks.length) blocks.push(this.newBlock());
    blocks[q >> SHIFT]![q & MASK] = item;
    this.count++;
  }

  private newBlock(): (T | undefined)[] {
    const b = this.spare ?? new Array(BLOCK);
    this.spare = undefined;
    return b;
  }

  /**
   * Emptied while in blocks: the last block (every slot undefined again) becomes the ring, so a
   * queue's head that fills past a block and drains over and over does not grow its ring again
   * from 16 slots each time (a ring never shrank before blocks either).
   */
  private toRing(block: (T | undefined)[]): void {
    this.items = block;
    this.head = 0;
    this.count = 0;
    this.blocks = undefined;
    this.spare = undefined;
  }

  /** empty, one small ring again */
  private reset(capacity = 16): void {
    this.items = new Array(capacity);
    this.head = 0;
    this.count = 0;
    this.blocks = undefined;
    this.spare = undefined;
  }
}
