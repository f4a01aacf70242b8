import { SLICE_MS, type SlicedTask, type SlicedWork } from '../sliced-work.js';

/** messages handed out between two looks at the clock: a dispatch of fewer never stops early */
const TAKES_PER_CLOCK_READ = 128;

/**
 * The time a queue's dispatch may take in one turn, and where it goes on after. A selector
 * consumer with a large window took every message it had room for in one call: from a durable
 * queue each one read back from the journal and matched, ~1000 in 21-55 ms per dispatch after an
 * ack of a 1M queue, and a window of 10,000 or no limit at all would be 10 times that or the whole
 * queue. The plain dispatch did the same for a consumer with no window whose sink never reports
 * full (in-process; over a socket the socket's writability bounds it): one call read a whole paged
 * durable queue back. Now the walk stops at its deadline and the queue dispatches again as a turn
 * of the broker's sliced work (SlicedWork.addTurn: one turn at the start of each slice, queues
 * taking turns, ahead of the bulk tasks). Nothing is reordered: every dispatch walks from the
 * head, and what was passed is passed again (in memory: PagedFifo.keepPassed). A wake-up is not
 * lost: the continuation stays queued until it has run, and a consumer that still has room gets
 * the rest, slice after slice. Meanwhile a publish, ack or pull dispatches a short walk only, one
 * take per consumer (each walking a slice of its own would hold the loop a slice per publish, and
 * leaving it all to the continuation would answer an OpenWire no-wait pull "nothing" with the
 * queue full): what it takes is taken from the head, so the order is the same either way.
 */
export class DispatchSlices {
  /** the deadline a dispatch was given (undefined: SLICE_MS from its first selective walk or first clock read) */
  private given: number | undefined;
  private deadline = Infinity;
  /** the deadline is set (a selective walk began, or the clock was read) */
  private begun = false;
  private taken = 0;
  /** the clock is read once `taken` reaches this */
  private nextRead = TAKES_PER_CLOCK_READ;
  private queued = false;

  /** a continuation is queued: the dispatch is not done (a caller answering from what it got waits: AMQP 1.0 drain) */
  get pending(): boolean {
    return this.queued;
  }

  /** callers waiting for the continuation's next turn (afterTurn) */
  private waiters: (() => void)[] = [];

  /**
   * `run` after the continuation's next turn, at once when none is queued. A caller that answers
   * from what the dispatch gave it (AMQP 1.0 drain) looks after each turn: a turn that gave it
   * nothing means nothing is available to it (not the single active consumer, a lower priority),
   * and it need not wait for the rest of the continuation, which may be the whole queue.
   */
  afterTurn(run: () => void): void {
    if (this.queued) this.waiters.push(run);
    else run();
  }
  /** the last dispatch stopped at its deadline (it goes on in the sliced work) */
  stopped = false;

  constructor(
    private readonly work: SlicedWork,
    /** dispatch again, until `deadline` (the queue checks it still has consumers) */
    private readonly resume: (deadline: number) => void,
  ) {}

  /**
   * a dispatch starts: it may walk until `deadline` (given, else SLICE_MS from its first selective
   * walk or, on the plain path, from its first look at the clock), or, while a continuation is
   * queued, hand out `consumers` messages at most (a round of the round robin). No clock read here:
   * a plain dispatch (one per publish) hands out fewer than TAKES_PER_CLOCK_READ and never needs one.
   */
  start(deadline: number | undefined, consumers: number): void {
    this.given = deadline;
    this.begun = false;
    this.taken = 0;
    this.nextRead = this.queued ? Math.max(1, consumers) : TAKES_PER_CLOCK_READ;
    this.stopped = false;
  }

  /** a selective walk begins: the dispatch's deadline is set at the first */
  begin(): void {
    if (this.begun) return;
    this.begun = true;
    this.deadline = this.given ?? performance.now() + SLICE_MS;
  }

  /** the walk handed a message out */
  took(): void {
    this.taken++;
  }

  /**
   * Before each step of the walk: true once the dispatch is past its deadline (it stops, and goes
   * on later). Only what it hands out counts toward a look at the clock: what it passes over is
   * bounded by PASS_LIMIT already, and a dispatch of a few messages never stops early. A plain
   * dispatch sets its deadline at its first look (after TAKES_PER_CLOCK_READ handed out, not at its
   * start: the one clock read per publish that 3860a9e removed stays removed).
   */
  spent(): boolean {
    if (this.taken < this.nextRead) return false;
    if (this.queued) {
      // the continuation goes on from here
      this.stopped = true;
      return true;
    }
    this.nextRead = this.taken + TAKES_PER_CLOCK_READ;
    const now = performance.now();
    if (!this.begun) {
      this.begun = true;
      this.deadline = this.given ?? now + SLICE_MS;
    }
    if (now < this.deadline) return false;
    this.stopped = true;
    this.queued = true;
    // a turn of the sliced work: not behind the whole of the bulk tasks queued ahead (review-s13-2 F4)
    this.work.addTurn(this.task);
    return true;
  }

  private readonly task: SlicedTask = {
    step: (deadline: number): boolean => {
      this.queued = false;
      try {
        // a time of its own, not what the slice has left: it walks again what it passed before
        // (up to PASS_LIMIT) and must get past that; finish() (the broker stopping) runs it to the end
        this.resume(deadline === Infinity ? Infinity : performance.now() + SLICE_MS);
      } finally {
        // done here: a dispatch stopped again queues this afresh, behind what came meanwhile. Also
        // when it threw (a consumer's bug; the sliced work drops the task): no waiter is left behind
        if (this.waiters.length) for (const run of this.waiters.splice(0)) run();
      }
      return true;
    },
  };
}
