import type { QueueEntry } from '../../core/queues/entry.js';
import type { Queue } from '../../core/queues/queue.js';
import type { ReadyCopy } from '../../core/queues/ready-list.js';
import { reportTaskError, type SlicedTask, type SlicedWork } from '../../core/sliced-work.js';

/** messages a browse copies at a time, sent before it copies more (a send costs more than a copy: the dispatch is encoded) */
const BROWSE_CHUNK = 1024;
/** sends between two looks at the clock */
const SENDS_PER_CHECK = 64;

/** where a browse's messages go: the browser's consumer on its connection */
export interface BrowseOutlet<T> {
  /** what is sent for a message: null for one the browser's selector leaves out */
  make(queue: Queue, e: QueueEntry): T | null;
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
 * A QueueBrowser's answer, sent a slice at a time on the broker's bulk work: each queue's ready
 * messages as they are when its turn comes (Queue.copyReady: a ReadyCopy, which follows the
 * queue as it changes between slices), each made into what is sent as the copy reaches it and
 * sent in the queue's order, then the outlet's `end`. Other clients are served between slices:
 * it sent a million dispatches in one turn. A message taken from the middle of a quorum queue
 * by a selector consumer while the browse runs is made when taken, and sent when the browse
 * reaches its place.
 *
 * Messages on their way back to a queue (a closed channel's unacked, requeued in slices) are
 * in their places before its copy starts (Queue.copyReadyWhenReturned, as peek()): a browse
 * that copied at once missed them. It stops once the outlet is stopped (the browser closed
 * after a few messages cost the whole queue encoded), and while the outlet is not open (a
 * client that does not read, or does not ack within its prefetch) it leaves the bulk work
 * until `resume()` (the socket drained, an ack). The copy runs no further ahead of what was
 * sent than the outlet's room (its window; a chunk at most), and a message taken from the
 * queue before the copy reaches it is left out (`left`: ActiveMQ's QueueBrowserSubscription
 * skips what another consumer acknowledged meanwhile; one taken and not acknowledged yet,
 * which ActiveMQ would still show, is left out too), so a browse held by its window neither
 * sends messages consumed meanwhile nor makes them (review-s12-2 F1, F2). Stopped (`stop()`,
 * the browser closed; or its connection), it gives up its copy: a copy left registered with
 * its queue went on copying every message consumers took.
 */
export class BrowseInSlices<T> implements SlicedTask {
  private next = 0;
  private copy: ReadyCopy<T | null> | undefined;
  /** messages of the current copy sent (or left out) so far */
  private sent = 0;
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

  /** the browser is closed: nothing more is sent, and the copy is given up (also while off the bulk work) */
  stop(): void {
    this.stopped = true;
    this.waiting = false;
    this.copy?.cancel();
    this.copy = undefined;
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
      if (this.copy === undefined) {
        const queue = this.queues[this.next]!;
        this.copy = queue.copyReadyWhenReturned(Infinity, (e, left) => (left ? null : this.outlet.make(queue, e)), this.started);
        // messages on their way back: off the bulk work until they are back
        if (this.copy === undefined) return true;
      }
      // what was copied and not sent yet goes first: a slice copies only as much as it can send
      if (!this.flush(deadline)) return this.pause();
      const room = Math.min(BROWSE_CHUNK, this.outlet.room());
      if (room === 0) return this.pause();
      const complete = this.copy.step(deadline, room);
      if (!this.flush(deadline)) return this.pause();
      if (complete) {
        // a message that could not be made (a bug): shown, and the browse goes on to its end
        if (this.copy.error !== undefined) reportTaskError(this.copy.error);
        this.copy = undefined;
        this.sent = 0;
        this.next++;
      }
      if (performance.now() >= deadline) return false;
    }
  }

  /** the queue's messages are back: its copy, made in that turn, and the browse back on the bulk work */
  private readonly started = (copy: ReadyCopy<T | null>): void => {
    if (this.stopped) {
      copy.cancel();
      return;
    }
    this.copy = copy;
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
   * what the copy has filled goes out in order, and is let go of, until `deadline` or the
   * outlet closes; true when all of it went
   */
  private flush(deadline: number): boolean {
    const out = this.copy!.out;
    let n = 0;
    while (this.sent < out.length) {
      const m = out[this.sent];
      // not reached yet (a copy fills in order; one taken from the middle is filled ahead)
      if (m === undefined) return true;
      if (m !== null) {
        if (!this.outlet.open()) return false;
        this.outlet.send(m);
      }
      out[this.sent++] = null;
      if (++n % SENDS_PER_CHECK === 0 && performance.now() >= deadline) return this.sent === out.length || out[this.sent] === undefined;
    }
    return true;
  }
}
