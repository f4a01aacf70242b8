/**
 * Numbers added in any order, taken back smallest first, sorted a run at a time: what is added
 * goes into runs of `runSize`, each sorted natively as a Float64Array (no comparator: a run of
 * 16,384 takes ~1-2 ms), and the runs are merged as the numbers are taken (a binary heap of the
 * runs by their next number: O(log runs) a take, however many small runs late additions make).
 * Sorting a million in one go held the event loop for hundreds of ms (review-s13-2 F1).
 */
export class SortedRuns {
  /** added since the last run was sealed */
  private loose: number[] = [];
  private runs: Float64Array[] = [];
  /** each run's next number not taken yet */
  private at: number[] = [];
  /** indexes of the runs with numbers left, a min-heap by their next number */
  private heap: number[] = [];

  constructor(private readonly runSize = 16_384) {}

  add(n: number): void {
    this.loose.push(n);
    if (this.loose.length >= this.runSize) this.seal();
  }

  /** the numbers added since the last run: sorted, a run of their own */
  seal(): void {
    if (this.loose.length === 0) return;
    const run = Float64Array.from(this.loose).sort();
    this.loose = [];
    this.runs.push(run);
    this.at.push(0);
    this.heap.push(this.runs.length - 1);
    this.siftUp(this.heap.length - 1);
  }

  /** the smallest number not taken yet (what was added since the last seal included), or undefined */
  peek(): number | undefined {
    if (this.loose.length > 0) this.seal();
    if (this.heap.length === 0) return undefined;
    const r = this.heap[0]!;
    return this.runs[r]![this.at[r]!];
  }

  /** the smallest (peek's) is taken */
  take(): void {
    const r = this.heap[0];
    if (r === undefined) return;
    const at = ++this.at[r]!;
    if (at < this.runs[r]!.length) {
      this.siftDown(0);
      return;
    }
    // the run is used up: let go of it
    this.runs[r] = EMPTY;
    const last = this.heap.pop()!;
    if (this.heap.length === 0) {
      this.runs = [];
      this.at = [];
      return;
    }
    this.heap[0] = last;
    this.siftDown(0);
  }

  clear(): void {
    this.loose = [];
    this.runs = [];
    this.at = [];
    this.heap = [];
  }

  private next(h: number): number {
    const r = this.heap[h]!;
    return this.runs[r]![this.at[r]!]!;
  }

  private siftUp(h: number): void {
    const heap = this.heap;
    while (h > 0) {
      const parent = (h - 1) >> 1;
      if (this.next(parent) <= this.next(h)) return;
      const t = heap[parent]!;
      heap[parent] = heap[h]!;
      heap[h] = t;
      h = parent;
    }
  }

  private siftDown(h: number): void {
    const heap = this.heap;
    for (;;) {
      const l = 2 * h + 1;
      if (l >= heap.length) return;
      const r = l + 1;
      const c = r < heap.length && this.next(r) < this.next(l) ? r : l;
      if (this.next(h) <= this.next(c)) return;
      const t = heap[c]!;
      heap[c] = heap[h]!;
      heap[h] = t;
      h = c;
    }
  }
}

const EMPTY = new Float64Array(0);
