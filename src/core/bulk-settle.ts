import type { Delivery } from './consumer.js';
import { Fifo } from './fifo.js';
import { CHUNKS_PER_SLICE, LEAVE_CHUNK } from './queues/leaving.js';
import type { Queue, SettleHow } from './queues/queue.js';
import { reportTaskError, type SlicedTask } from './sliced-work.js';
import { Waiters } from './waiters.js';

interface Batch {
  /** the deliveries, already out of the session's outstanding map (their tags are gone at once) */
  readonly deliveries: Iterator<Delivery>;
  readonly how: SettleHow;
  /** requeue kinds: the queues told that messages are on their way back (Queue.returnsPending) */
  readonly returningTo: Set<Queue> | undefined;
  done: boolean;
}

/** the settle ways that put messages back in their queues, whose order then waits for them */
const putsBack = (how: SettleHow): boolean => how === 'requeue' || how === 'release' || how === 'return' || how === 'detach';

/**
 * One session's settles of many deliveries at once — basic.nack multiple of a million
 * unacked to a dead-letter exchange, an ack multiple, a channel closing with a million
 * unacked — done in the broker's sliced work (SlicedWork), so other clients are served in
 * between. The session takes the deliveries out of its books at once (their tags are
 * settled as far as the client can tell: a second ack of one is an unknown tag, as in
 * RabbitMQ); what each queue does with them (store removal, dead-lettering, requeue) runs
 * here, in the order the client settled them. Later settles of the same session queue up
 * behind, so a nack of one tag after a nack multiple dead-letters in the client's order.
 *
 * Messages going back to their queue (requeue, release, return, detach) hold that queue's
 * deliveries until the batch is done (its consumers wait, other clients are served), and make
 * it finish the batch at once before an answer that depends on its order (basic.get, a purge,
 * a copy of the ready list for peek or the management get),
 * so a requeued message is back in its place ahead of later ones, as RabbitMQ does.
 */
export class BulkSettle implements SlicedTask {
  private readonly batches = new Fifo<Batch>();
  private count = 0;
  /** queues told messages are on their way back: how many unfinished batches bring some */
  private readonly returning = new Map<Queue, number>();
  /** handed to the broker's SlicedWork and not finished yet */
  scheduled = false;
  /** told once nothing is left to settle (whenDone) */
  private readonly doneWaiters = new Waiters();

  constructor(
    /** settle one delivery already out of the session's books; queues it touched go in `touched` */
    private readonly settle: (d: Delivery, how: SettleHow, touched: Set<Queue>) => void,
    /** after a slice: queues whose consumers got credit back may deliver again (see bringsBack) */
    private readonly after: (touched: Set<Queue>) => void,
  ) {}

  /** batches not finished yet (a later settle of the session then queues up behind them) */
  get pending(): boolean {
    return this.batches.length > 0;
  }

  /** messages of this task are still on their way back to `q` (it delivers once they are: returnsDone) */
  bringsBack(q: Queue): boolean {
    return this.returning.has(q);
  }

  /** deliveries handed over and not settled yet */
  get length(): number {
    return this.count;
  }

  /**
   * `count` deliveries to settle `how`, in this order. `queues`: the queues they came from (more
   * may be given: a queue named that gets none back only waits for this batch). Requeue kinds tell
   * those queues at once that messages are on their way back; nothing here looks at the
   * deliveries themselves (a million of them, scattered over the heap, took 40–200 ms to walk).
   */
  add(deliveries: Iterable<Delivery>, count: number, how: SettleHow, queues: Iterable<Queue>): void {
    if (count === 0) return;
    let returningTo: Set<Queue> | undefined;
    if (putsBack(how)) {
      returningTo = new Set(queues);
      for (const q of returningTo) {
        const n = this.returning.get(q) ?? 0;
        this.returning.set(q, n + 1);
        if (n === 0) q.returnsPending(this);
      }
    }
    this.batches.push({ deliveries: deliveries[Symbol.iterator](), how, returningTo, done: false });
    this.count += count;
  }

  step(deadline: number): boolean {
    let chunks = 0;
    const touched = new Set<Queue>();
    while (this.batches.length) {
      const batch = this.batches.peek()!;
      let n = 0;
      // the iterator moves before each settle: a queue it touches may finish this task re-entrantly
      for (let r = batch.deliveries.next(); ; r = batch.deliveries.next()) {
        if (r.done) {
          this.finished(batch);
          break;
        }
        this.count--;
        try {
          this.settle(r.value, batch.how, touched);
        } catch (err) {
          // one delivery's bug must not drop the task: its queues would wait for the batch for ever
          reportTaskError(err);
        }
        if (++n === LEAVE_CHUNK) break;
      }
      if (++chunks >= CHUNKS_PER_SLICE || performance.now() >= deadline) break;
    }
    this.after(touched);
    if (this.batches.length) return false;
    this.scheduled = false;
    this.doneWaiters.release();
    return true;
  }

  /** `cb` once every delivery handed over so far is settled (at once if none is pending) */
  whenDone(cb: () => void): void {
    if (this.batches.length === 0) cb();
    else this.doneWaiters.add(cb);
  }

  private finished(batch: Batch): void {
    if (batch.done) return;
    batch.done = true;
    if (this.batches.peek() === batch) this.batches.shift();
    if (!batch.returningTo) return;
    for (const q of batch.returningTo) {
      const n = this.returning.get(q)! - 1;
      if (n > 0) this.returning.set(q, n);
      else {
        this.returning.delete(q);
        q.returnsDone(this);
      }
    }
  }
}
