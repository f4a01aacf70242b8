import type { Consumer, Delivery } from './consumer.js';
import type { QueueEntry } from './queues/entry.js';
import type { Queue } from './queues/queue.js';
import type { Session } from './session.js';

/**
 * A QueueBrowse's walk of the deliveries from one queue waiting for a settle when it started:
 * the books of the sessions holding some then, one after the other, as they go on changing
 * (null for each delivery walked that is not one: another queue's, or timed out; the browse
 * counts every one walked). It also bounds what it has not walked yet (floor), so the browse can
 * show what comes before all of that while it walks on: 400k held by one consumer took 0.25-0.33 s
 * to walk, and nothing was shown until the end (closing-s17 item 6).
 */
export class HeldWalk implements Iterator<QueueEntry | null> {
  private at = 0;
  private book: Iterator<Delivery> | undefined;
  /** the current book's last delivery walked of each consumer of the queue */
  private readonly walked = new Map<Consumer, { tag: number; seq: number }>();

  constructor(
    private readonly sessions: readonly Session[],
    private readonly queue: Queue,
  ) {}

  next(): IteratorResult<QueueEntry | null> {
    for (;;) {
      if (this.book === undefined) {
        if (this.at === this.sessions.length) return { done: true, value: undefined };
        this.book = this.sessions[this.at]!.unackedDeliveries();
        this.walked.clear();
      }
      const r = this.book.next();
      if (r.done === true) {
        this.book = undefined;
        this.at++;
        continue;
      }
      const d = r.value;
      if (d.queue !== this.queue || d.timedOut) return { done: false, value: null };
      if (d.consumer !== null) {
        const w = this.walked.get(d.consumer);
        if (w === undefined) this.walked.set(d.consumer, { tag: d.tag, seq: d.entry.seq });
        else {
          w.tag = d.tag;
          w.seq = d.entry.seq;
        }
      }
      return { done: false, value: d.entry };
    }
  }

  /**
   * a lower bound of the seqs of the deliveries from the queue in the books not walked yet
   * (Infinity once all are walked; -Infinity when not known: a session holds basic.gets from the
   * queue, or a consumer's trail overflowed). Deliveries handed to a bulk settle since are not in
   * the books any more: the queue's bound of its returns covers those on their way back.
   */
  floor(): number {
    let floor = Infinity;
    for (let k = this.at; k < this.sessions.length && floor !== -Infinity; k++) {
      const f = this.sessions[k]!.heldFloor(this.queue, k === this.at && this.book !== undefined ? this.walked : undefined);
      if (f < floor) floor = f;
    }
    return floor;
  }
}
