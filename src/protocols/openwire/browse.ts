import type { QueueEntry } from '../../core/queues/entry.js';
import type { Queue } from '../../core/queues/queue.js';
import type { QueueBrowse } from '../../core/queues/queue-browse.js';
import { reportTaskError, type SlicedTask, type SlicedWork } from '../../core/sliced-work.js';

/** messages a browse copies at a time, sent before it copies more (a send costs more than a copy: the dispatch is encoded) */
const BROWSE_CHUNK = 1024;
/** sends between two looks at the clock */
const SENDS_PER_CHECK = 64;

/** where a browse's messages go: the browser's consumer on its connection */
export interface BrowseOutlet<T> {
  /** what is sent for a message (`delivered`: to a consumer, not settled yet): null for one the browser's selector leaves out */
  make(queue: Queue, e: QueueEntry, delivered: boolean): T | null;
  send(m: T): void;
  /** the end of the browse (ActiveMQ's empty dispatch) */
  end(): void;
  /** the browser was closed (RemoveInfo) or its connection: nothing more is sent */
  stopped(): boolean;
  /** may one more be sent now: the socket takes more and the browser's prefetch window is open */
  open(): boolean;
  /** how many more its prefetch window takes now (Infinity when it has none) */
  room(): number;
  /**
   * not open, and resume() will be called once it is (the socket's drain, the browser's acks);
   * else what holds it goes out by itself (this turn's writes, not on the socket yet)
   */
  resumes(): boolean;
}

/**
 * A QueueBrowser's answer, sent a slice at a time on the broker's bulk work: each queue's
 * messages as the core's QueueBrowse gives them when its turn comes (the ready ones and those
 * delivered to a consumer and not settled, in the queue's order, following the queue as it
 * changes between slices), each made into what is sent as it goes out, then the outlet's `end`.
 * Other clients are served between slices: it sent a million dispatches in one turn.
 *
 * Messages on their way back to a queue (a closed channel's unacked, requeued in slices) are
 * in their places before its browse starts (Queue.browseWhenReturned, as peek()): a browse
 * that copied at once missed them. It stops once the outlet is stopped (the browser closed
 * after a few messages cost the whole queue encoded), and while the outlet is not open (a
 * client that does not read, or does not ack within its prefetch) it leaves the bulk work
 * until `resume()` (the socket drained, an ack). The ready copy runs no further ahead of what
 * was sent than the outlet's room (its window; a chunk at most): a browse held by its window
 * makes nothing ahead, and what consumers take and settle meanwhile is not sent (review-s12-2
 * F1, F2; QueueBrowse lets go of those). Stopped (`stop()`, the browser closed; or its
 * connection), it gives up its browse: one left registered with its queue went on copying
 * every message consumers took.
 */
export class BrowseInSlices<T> implements SlicedTask {
  private next = 0;
  private browse: QueueBrowse | undefined;
  /** made and not sent yet: the outlet closed as it was made */
  private made: T | undefined;
  /** off the bulk work until the outlet opens again (resume) */
  private waiting = false;
  private stopped = false;

  constructor(
    private readonly work: SlicedWork,
    private readonly queues: readonly Queue[],
    private readonly outlet: BrowseOutlet<T>,
  ) {}

  start(): void {
    this.work.add(this);
  }

  /** the browser is closed: nothing more is sent, and the browse is given up (also while off the bulk work) */
  stop(): void {
    this.stopped = true;
    this.waiting = false;
    this.browse?.cancel();
    this.browse = undefined;
    this.made = undefined;
  }

  /** the outlet may take more again (the socket drained, acks came): back on the bulk work if the browse waited for that */
  resume(): void {
    if (!this.waiting || this.stopped) return;
    this.waiting = false;
    this.work.add(this);
  }

  step(deadline: number): boolean {
    for (;;) {
      if (this.stopped || this.outlet.stopped()) {
        this.stop();
        return true;
      }
      if (this.next === this.queues.length) {
        // the end marker waits for room as a message does (ActiveMQ queues it behind them)
        if (!this.outlet.open()) return this.pause();
        this.outlet.end();
        return true;
      }
      if (this.browse === undefined) {
        this.browse = this.queues[this.next]!.browseWhenReturned(this.started);
        // messages on their way back: off the bulk work until they are back
        if (this.browse === undefined) return true;
      }
      // what is known and not sent yet goes first: a slice copies only as much as it can send
      if (!this.flush(deadline)) return this.pause();
      if (!this.browse.done) {
        const room = Math.min(BROWSE_CHUNK, this.outlet.room());
        if (room === 0) return this.pause();
        this.browse.step(deadline, room);
        if (this.browse.waitingForReturns) {
          // what its gathering waits for is on its way back, maybe behind this very task: off the
          // bulk work until it is back (stepping here until then would hold it up for ever)
          const browse = this.browse;
          browse.whenGathered(() => {
            if (!this.stopped && this.browse === browse) this.work.add(this);
          });
          return true;
        }
        if (!this.flush(deadline)) return this.pause();
      }
      if (this.browse.done) {
        // a message that could not be copied (a bug): shown, and the browse goes on to its end
        if (this.browse.error !== undefined) reportTaskError(this.browse.error);
        this.browse = undefined;
        this.next++;
      }
      if (performance.now() >= deadline) return false;
    }
  }

  /** the queue's messages are back: its browse, started in that turn, and the browse back on the bulk work */
  private readonly started = (browse: QueueBrowse): void => {
    if (this.stopped) {
      browse.cancel();
      return;
    }
    this.browse = browse;
    this.work.add(this);
  };

  /**
   * a flush stopped short: the slice is over (false: its time is up, or the outlet waits for
   * this turn's writes to reach the socket, which a socket that takes them at once never
   * follows with a drain), or the browse waits off the bulk work for resume() (true)
   */
  private pause(): boolean {
    if (this.outlet.stopped()) {
      this.stop();
      return true;
    }
    if (this.outlet.open() || !this.outlet.resumes()) return false;
    this.waiting = true;
    return true;
  }

  /**
   * what the browse has ready to show goes out in order, until `deadline` or the outlet
   * closes; true when all of it went (the browse needs to copy more, or is done) with time left
   */
  private flush(deadline: number): boolean {
    const browse = this.browse!;
    const queue = this.queues[this.next]!;
    const now = Date.now();
    let n = 0;
    for (;;) {
      if (this.made === undefined) {
        // undefined too when its time is up passing over settled ones: then the slice is over
        const e = browse.next(now, deadline);
        if (e === undefined) return performance.now() < deadline;
        const m = this.outlet.make(queue, e, browse.lastDelivered);
        if (m !== null) this.made = m;
      }
      if (this.made !== undefined) {
        if (!this.outlet.open()) return false;
        this.outlet.send(this.made);
        this.made = undefined;
      }
      if (++n % SENDS_PER_CHECK === 0 && performance.now() >= deadline) return false;
    }
  }
}
