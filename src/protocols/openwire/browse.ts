import type { QueueEntry } from '../../core/queues/entry.js';
import type { Queue } from '../../core/queues/queue.js';
import type { ReadyCopy } from '../../core/queues/ready-list.js';
import { reportTaskError, type SlicedTask } from '../../core/sliced-work.js';

/** messages a browse copies at a time, sent before it copies more (a send costs more than a copy: the dispatch is encoded) */
const BROWSE_CHUNK = 1024;
/** sends between two looks at the clock */
const SENDS_PER_CHECK = 64;

/**
 * A QueueBrowser's answer, sent a slice at a time on the broker's bulk work: each queue's ready
 * messages as they are when its turn comes (Queue.copyReady: a ReadyCopy, which follows the
 * queue as it changes between slices), each made into what is sent (`make`: null for one the
 * browser's selector leaves out) as the copy reaches it and sent in the queue's order, then
 * `end` (ActiveMQ's empty dispatch marking the end of the browse). Other clients are served
 * between slices: it sent a million dispatches in one turn. Stops once `gone` (its connection
 * closed). A message taken from the middle of a quorum queue by a selector consumer while
 * the browse runs is made when taken, and sent when the browse reaches its place.
 */
export class BrowseInSlices<T> implements SlicedTask {
  private next = 0;
  private copy: ReadyCopy<T | null> | undefined;
  /** messages of the current copy sent (or left out) so far */
  private sent = 0;

  constructor(
    private readonly queues: readonly Queue[],
    private readonly make: (queue: Queue, e: QueueEntry) => T | null,
    private readonly send: (m: T) => void,
    private readonly end: () => void,
    private readonly gone: () => boolean,
  ) {}

  step(deadline: number): boolean {
    for (;;) {
      if (this.gone()) return true;
      if (this.next === this.queues.length) {
        this.end();
        return true;
      }
      const queue = this.queues[this.next]!;
      this.copy ??= queue.copyReady(Infinity, (e) => this.make(queue, e));
      // what was copied and not sent yet goes first: a slice copies only as much as it can send
      if (!this.flush(deadline)) return false;
      const complete = this.copy.step(deadline, BROWSE_CHUNK);
      if (!this.flush(deadline)) return false;
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

  /** what the copy has filled in turn goes out in order, and is let go of, until `deadline`; true when all of it went */
  private flush(deadline: number): boolean {
    const out = this.copy!.out;
    let n = 0;
    while (this.sent < out.length) {
      const m = out[this.sent];
      // not reached yet (a copy fills in order; one taken from the middle is filled ahead)
      if (m === undefined) return true;
      if (m !== null) this.send(m);
      out[this.sent++] = null;
      if (++n % SENDS_PER_CHECK === 0 && performance.now() >= deadline) return this.sent === out.length || out[this.sent] === undefined;
    }
    return true;
  }
}
