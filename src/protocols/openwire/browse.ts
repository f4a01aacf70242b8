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
 * until `resume()` (the socket drained, an ack): the copy runs at most one chunk ahead of what
 * was sent, so a browse held there holds no more than that.
 */
export class BrowseInSlices<T> implements SlicedTask {
  private next = 0;
  private copy: ReadyCopy<T | null> | undefined;
  /** messages of the current copy sent (or left out) so far */
  private sent = 0;
  /** off the bulk work until the outlet opens again (resume) */
  private waiting = false;

  constructor(
    private readonly work: SlicedWork,
    private readonly queues: readonly Queue[],
    private readonly outlet: BrowseOutlet<T>,
  ) {}

  start(): void {
    this.work.add(this);
  }

  /** the outlet may take more again (the socket drained, acks came): back on the bulk work if the browse waited for that */
  resume(): void {
    if (!this.waiting) return;
    this.waiting = false;
    this.work.add(this);
  }

  step(deadline: number): boolean {
    for (;;) {
      if (this.outlet.stopped()) return true;
      if (this.next === this.queues.length) {
        this.outlet.end();
        return true;
      }
      if (this.copy === undefined) {
        const queue = this.queues[this.next]!;
        this.copy = queue.copyReadyWhenReturned(Infinity, (e) => this.outlet.make(queue, e), this.started);
        // messages on their way back: off the bulk work until they are back
        if (this.copy === undefined) return true;
      }
      // what was copied and not sent yet goes first: a slice copies only as much as it can send
      if (!this.flush(deadline)) return this.pause();
      const complete = this.copy.step(deadline, BROWSE_CHUNK);
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
    this.copy = copy;
    this.work.add(this);
  };

  /**
   * a flush stopped short: the slice is over (false: its time is up, or the outlet waits for
   * this turn's writes to reach the socket, which a socket that takes them at once never
   * follows with a drain), or the browse waits off the bulk work for resume() (true)
   */
  private pause(): boolean {
    if (this.outlet.stopped()) return true;
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
