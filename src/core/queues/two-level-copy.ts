import type { QueueEntry } from './entry.js';
import type { CopyPart, EntryCopier, FifoCopy } from './fifo-copy.js';
import type { PagedFifo } from './paged-fifo.js';

/** an entry of one bucket as copied: its arrival number (the merge compares them) and its copy */
interface Copied<T> {
  seq: number;
  value: T;
}

/**
 * The ready messages of a quorum queue with 4.0-4.2's two priority levels (rabbit_fifo_q),
 * copied a slice at a time in delivery order: each bucket's first entries copied as they are
 * when the copy starts (PagedFifo.copy: it is told of every entry leaving them), then merged
 * into `out` from `at` as successive dequeues would interleave them: two high ones for each
 * normal one, the third turn taking the high one only if it is older
 * (QuorumReadyList.nextBucket), the turn counter starting where the queue's is.
 */
export class TwoLevelCopy<T> implements CopyPart {
  /** [normal, high] */
  private readonly buckets: FifoCopy<Copied<T>>[];
  private readonly copied: Copied<T>[][];
  /** how many of each bucket the copy takes: the first `count` of the merge come from these */
  private readonly counts: number[];
  private readonly pos = [0, 0];
  private merged = 0;
  /** a bucket's copy ended short (its queue deleted midway): `out` keeps the prefix merged so far */
  ended = false;

  constructor(
    normal: PagedFifo,
    high: PagedFifo,
    private counter: number,
    private readonly weight: number,
    private readonly count: number,
    private readonly out: T[],
    readonly at: number,
    copy: EntryCopier<T>,
  ) {
    this.counts = [Math.min(normal.length, count), Math.min(high.length, count)];
    this.copied = this.counts.map((n) => new Array<Copied<T>>(n));
    const withSeq = (e: QueueEntry, left: boolean): Copied<T> => ({ seq: e.seq, value: copy(e, left) });
    this.buckets = [normal, high].map((b, i) => b.copy(this.counts[i]!, this.copied[i]!, 0, withSeq));
  }

  get error(): unknown {
    return this.buckets[0]!.error ?? this.buckets[1]!.error;
  }

  get done(): boolean {
    return this.error !== undefined || this.ended || this.merged >= this.count;
  }

  get filled(): number {
    return this.merged;
  }

  cancel(): void {
    for (const b of this.buckets) b.cancel();
    for (const c of this.copied) c.length = 0;
    this.ended = true;
  }

  step(deadline: number, max: number): number {
    // each bucket's copy first (entries leaving meanwhile are copied as they leave), `max` at a time too
    let left = max;
    for (const b of this.buckets) {
      while (!b.done) {
        left -= b.step(deadline, left);
        if (!b.done && (left <= 0 || performance.now() >= deadline)) return 0;
      }
    }
    if (this.error !== undefined) return 0;
    const start = this.merged;
    const end = Math.min(this.count, start + Math.max(left, 1));
    const [normal, high] = this.buckets;
    // a bucket's copy that ended short has its first `filled`: the merge stops where it would need more
    const have = [normal!.ended ? normal!.filled : this.counts[0]!, high!.ended ? high!.filled : this.counts[1]!];
    const pos = this.pos;
    while (this.merged < end) {
      const hi = pos[1]! < this.counts[1]!;
      const no = pos[0]! < this.counts[0]!;
      if ((hi && pos[1]! >= have[1]!) || (no && pos[0]! >= have[0]!)) {
        this.ended = true;
        break;
      }
      const b = hi && no && this.counter === this.weight ? (this.copied[1]![pos[1]!]!.seq < this.copied[0]![pos[0]!]!.seq ? 1 : 0) : hi ? 1 : 0;
      this.out[this.at + this.merged++] = this.copied[b]![pos[b]!++]!.value;
      this.counter = this.counter === this.weight ? 0 : this.counter + 1;
      if ((this.merged & 1023) === 0 && performance.now() >= deadline) break;
    }
    return this.merged - start;
  }
}
