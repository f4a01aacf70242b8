/** slots per block (a power of two): 4096 x 32 B = 128 KiB of columns (+ 32 KiB of transient places) */
export const BLOCK_SLOTS = 4096;

/**
 * The columns of `size` consecutive slots of a paged queue: what the queue needs to count,
 * order and expire a message whose body is in the store. One buffer for the five columns.
 */
export class SlotBlock {
  readonly ids: Float64Array;
  readonly seqs: Float64Array;
  readonly expires: Float64Array;
  readonly deliveries: Uint32Array;
  readonly lengths: Uint32Array;
  /** where the transient store holds a slot's message, -1 for the journal; made on the block's first transient slot */
  locs: Float64Array | undefined;

  constructor(readonly size: number) {
    const buf = new ArrayBuffer(size * 32);
    this.ids = new Float64Array(buf, 0, size);
    this.seqs = new Float64Array(buf, size * 8, size);
    this.expires = new Float64Array(buf, size * 16, size);
    this.deliveries = new Uint32Array(buf, size * 24, size);
    this.lengths = new Uint32Array(buf, size * 28, size);
  }

  /** the transient places of this block, made (every slot -1: the journal) on first use */
  transientLocs(): Float64Array {
    return (this.locs ??= new Float64Array(this.size).fill(-1));
  }
}

/**
 * A FIFO of slots stored as a queue of fixed-size blocks: growing adds a block, draining past
 * one frees it. Nothing is ever copied to grow, and no two copies are ever live: a ring that
 * doubles holds its old and new columns together (at 2^20 slots 40 MiB + 80 MiB at once),
 * which made a flooded queue jump tens of MiB past the memory watermark within one turn.
 *
 * Slot `i` (0 = the first) lives in `blockOf(i)` at `slotOf(i)`. One emptied block is kept
 * as a spare while the FIFO is not empty, so a queue steady around a block boundary does not
 * allocate and free a block every few thousand messages.
 */
export class SlotBlocks {
  private blocks: SlotBlock[] = [];
  /** index in blocks[0] of the first slot */
  private first = 0;
  private count = 0;
  private spare: SlotBlock | undefined;
  private readonly shift: number;
  private readonly mask: number;

  constructor(readonly blockSlots = BLOCK_SLOTS) {
    if (!Number.isInteger(Math.log2(blockSlots)) || blockSlots < 1) throw new RangeError(`block size ${blockSlots} is not a power of two`);
    this.shift = Math.log2(blockSlots);
    this.mask = blockSlots - 1;
  }

  get length(): number {
    return this.count;
  }

  /** blocks held (the spare too): memory follows the depth */
  get blockCount(): number {
    return this.blocks.length + (this.spare ? 1 : 0);
  }

  blockOf(i: number): SlotBlock {
    return this.blocks[(this.first + i) >> this.shift]!;
  }

  slotOf(i: number): number {
    return (this.first + i) & this.mask;
  }

  /** one slot more at the end (its columns hold whatever was there: the caller writes them); returns its index */
  push(): number {
    if ((this.first + this.count) >> this.shift === this.blocks.length) {
      const b = this.spare ?? new SlotBlock(this.blockSlots);
      this.spare = undefined;
      this.blocks.push(b);
    }
    return this.count++;
  }

  /** the first slot leaves */
  shiftSlot(): void {
    this.count--;
    if (++this.first === this.blockSlots) {
      this.first = 0;
      this.spare = this.blocks.shift();
    }
    // the last slot gone: no block held (PagedFifo relies on it)
    if (this.count === 0) this.clear();
  }

  /**
   * Slots `from`.. `from + n - 1` copied over `to`.. (`to` < `from`: a close-up moving them
   * forward; a slot is read before any write reaches it), a stretch within one block of each at
   * a time: a long stretch as one typed-array copy per column, a short one slot by slot (a
   * subarray view per column would cost more than the copy).
   */
  moveForward(from: number, to: number, n: number): void {
    while (n > 0) {
      const src = this.blockOf(from);
      const p = this.slotOf(from);
      const dst = this.blockOf(to);
      const q = this.slotOf(to);
      const k = Math.min(n, this.blockSlots - p, this.blockSlots - q);
      if (k < COLUMN_COPY_MIN) for (let j = 0; j < k; j++) copySlot(src, p + j, dst, q + j);
      else copyColumns(src, p, dst, q, k);
      from += k;
      to += k;
      n -= k;
    }
  }

  /** keep the first `n` slots, let go of the blocks past them */
  truncate(n: number): void {
    if (n === 0) {
      this.clear();
      return;
    }
    this.count = n;
    const need = ((this.first + n - 1) >> this.shift) + 1;
    if (this.blocks.length > need) {
      this.spare = this.blocks[need];
      this.blocks.length = need;
    }
  }

  /** empty, holding no block */
  clear(): void {
    this.blocks = [];
    this.first = 0;
    this.count = 0;
    this.spare = undefined;
  }
}

/** stretches shorter than this are copied slot by slot (moveForward) */
const COLUMN_COPY_MIN = 32;

function copySlot(from: SlotBlock, p: number, to: SlotBlock, q: number): void {
  to.ids[q] = from.ids[p]!;
  to.seqs[q] = from.seqs[p]!;
  to.expires[q] = from.expires[p]!;
  to.deliveries[q] = from.deliveries[p]!;
  to.lengths[q] = from.lengths[p]!;
  if (from.locs) to.transientLocs()[q] = from.locs[p]!;
  else if (to.locs) to.locs[q] = -1;
}

/** `k` slots from `from`[p..] to `to`[q..], a column at a time (the same block: copyWithin, which handles the overlap) */
function copyColumns(from: SlotBlock, p: number, to: SlotBlock, q: number, k: number): void {
  if (from === to) {
    from.ids.copyWithin(q, p, p + k);
    from.seqs.copyWithin(q, p, p + k);
    from.expires.copyWithin(q, p, p + k);
    from.deliveries.copyWithin(q, p, p + k);
    from.lengths.copyWithin(q, p, p + k);
    from.locs?.copyWithin(q, p, p + k);
    return;
  }
  to.ids.set(from.ids.subarray(p, p + k), q);
  to.seqs.set(from.seqs.subarray(p, p + k), q);
  to.expires.set(from.expires.subarray(p, p + k), q);
  to.deliveries.set(from.deliveries.subarray(p, p + k), q);
  to.lengths.set(from.lengths.subarray(p, p + k), q);
  if (from.locs) to.transientLocs().set(from.locs.subarray(p, p + k), q);
  else if (to.locs) to.locs.fill(-1, q, q + k);
}
