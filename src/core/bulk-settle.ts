import type { Delivery } from './consumer.js';
import { Fifo } from './fifo.js';
import { CHUNKS_PER_SLICE, LEAVE_CHUNK } from './queues/leaving.js';
import type { Queue, ReturnsInFlight, SettleHow } from './queues/queue.js';
import type { SeqTrail } from './seq-trail.js';
import { reportTaskError, type SlicedTask, type SlicedWork } from './sliced-work.js';
import { Waiters } from './waiters.js';

interface Batch {
  /** the deliveries, already out of the session's outstanding map (their tags are gone at once) */
  readonly deliveries: Iterator<Delivery>;
  readonly how: SettleHow;
  /**
   * requeue kinds: the queues told that messages are on their way back (Queue.returnsPending),
   * each with how many of the batch's deliveries are still to come back to it and the number the
   * queue gave this batch's requeue; a queue is let go (Queue.returnsDone) as soon as its last
   * one is back, not at the end of the batch
   */
  readonly returningTo: Map<Queue, Returning> | undefined;
  /**
   * taken from `deliveries` but not settled yet, in their order: those of queues that held the
   * batch's requeue there (Queue.returnsHeldFor), settled ahead of the rest once their queue's
   * answers have run. The rest of the batch goes on meanwhile: its other queues get theirs back
   * without waiting for an answer on another queue, as each RabbitMQ queue process requeues its
   * own; when only held queues are left, the batch waits (park) instead of walking the rest aside
   * (undefined until one is held)
   */
  aside: Fifo<Delivery> | undefined;
  /** the queues of `aside`, with how many each has there: every later delivery of one of them goes there too (each queue's order kept) */
  asideOf: Map<Queue, number> | undefined;
  done: boolean;
}

/**
 * a batch's requeue to one queue: the trails of the consumers whose deliveries it brings back
 * there (null when some are basic.gets, whose order is not kept) bound the queue order of what is
 * still to come, so the queue delivers what is ahead of all of it meanwhile (Queue.dispatch)
 */
class Returning implements ReturnsInFlight {
  /** the queue's number for this requeue (Queue.returnsPending) */
  id = 0;
  /** the tag and seq of the last of them back so far (0: none yet) */
  lastTag = 0;
  lastSeq: number | undefined;

  constructor(
    readonly task: SlicedTask,
    /** deliveries still to come back */
    public left: number,
    private readonly trails: readonly SeqTrail[] | null,
  ) {}

  floor(): number {
    const trails = this.trails;
    if (trails === null) return -Infinity;
    // one consumer's: the last back is its, and what follows it is no lower until the trail drops
    if (trails.length === 1) return trails[0]!.floorAfter(this.lastTag, this.lastTag === 0 ? undefined : this.lastSeq);
    let floor = Infinity;
    for (const t of trails) floor = Math.min(floor, t.floorAfter(this.lastTag, undefined));
    return floor;
  }
}

/**
 * The session's count of a batch's deliveries per queue (Consumer.booked, its gets) was wrong: a
 * bug, shown loudly (a process warning, as a task's error) rather than passed over; the batch
 * still ends and lets its queues go, so the broker goes on.
 */
function reportMiscount(q: Queue, what: string): void {
  reportTaskError(new Error(`BulkSettle miscount for ${q.describe()}: ${what}`));
}

/** the settle ways that put messages back in their queues, whose order then waits for them */
const putsBack = (how: SettleHow): boolean => how === 'requeue' || how === 'release' || how === 'return' || how === 'detach' || how === 'unseen';

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
 * Messages going back to their queue (requeue, release, return, detach) hold back that queue's
 * deliveries of what is behind any of them until they are back (its consumers get only what is
 * ahead of every one still to come: the consumers' trails bound their order, Returning.floor), and
 * an answer that depends on its order (basic.get, a purge, peek's copy, the management get)
 * waits for them too (Queue.whenReturned), so a requeued message is back in its place ahead of
 * later ones, as RabbitMQ does. Only the queues the batch brings messages
 * back to are held, each only until its own are back (counted a chunk at a time): a channel
 * closing with a million unacked of one queue and a few of another gives the other its few back
 * at once, as RabbitMQ's queue processes each requeue their own. Likewise a queue where an answer
 * asked before the requeue still waits (Queue.returnsHeldFor) has its part set aside (Batch.aside)
 * until that answer has run, the rest of the batch going on: the batch's other queues do not wait
 * for it (they waited for the requeue that answer waits for: closing-s15 item 5).
 */
export class BulkSettle implements SlicedTask {
  private readonly batches = new Fifo<Batch>();
  private count = 0;
  /**
   * its entry in the broker's SlicedWork (scheduleOn), while queued there. Finished outside it
   * (Queue.settleReturns steps it to its end at once) the entry goes dead: the session's next
   * batch is queued afresh at the tail, not run by the old entry ahead of the work queued in
   * between (review-s11-1 F3)
   */
  private queued: { dead: boolean; step(deadline: number): boolean; sharesSlices(): boolean } | undefined;
  /** the bulk work it is queued on (scheduleOn) */
  private work: SlicedWork | undefined;
  /** the queue whose waiting answers it waits for, out of the bulk work (park) */
  private parkedOn: Queue | undefined;
  /** told once nothing is left to settle (whenDone) */
  private readonly doneWaiters = new Waiters();

  constructor(
    /** settle one delivery already out of the session's books; queues it touched go in `touched` */
    private readonly settle: (d: Delivery, how: SettleHow, touched: Set<Queue>) => void,
    /** after a slice: queues whose consumers got credit back, or that have more back, may deliver again */
    private readonly after: (touched: Set<Queue>) => void,
  ) {}

  /** batches not finished yet (a later settle of the session then queues up behind them) */
  get pending(): boolean {
    return this.batches.length > 0;
  }

  /** deliveries handed over and not settled yet */
  get length(): number {
    return this.count;
  }

  /**
   * `count` deliveries to settle `how`, in this order. `queues`: the queues they came from and how
   * many of the deliveries (not released by a consumer timeout) each has, exactly (Session counts
   * them as they enter and leave its book). Requeue kinds tell those queues at once that messages
   * are on their way back; nothing here looks at the deliveries themselves (a million of them,
   * scattered over the heap, took 40–200 ms to walk). `trails`: for each of those queues, the
   * trails of the consumers whose deliveries go back there (null, or none given: not known; the
   * queue then delivers nothing until they are all back).
   */
  add(deliveries: Iterable<Delivery>, count: number, how: SettleHow, queues: Map<Queue, number>, trails?: Map<Queue, SeqTrail[] | null>): void {
    if (count === 0) return;
    let returningTo: Map<Queue, Returning> | undefined;
    if (putsBack(how)) {
      returningTo = new Map();
      for (const [q, k] of queues) {
        if (k <= 0) continue;
        const r = new Returning(this, k, trails?.get(q) ?? null);
        // each batch a requeue of its own for the queue: an answer waiting for it waits for this batch, not for later ones
        r.id = q.returnsPending(r);
        returningTo.set(q, r);
      }
    }
    this.batches.push({ deliveries: deliveries[Symbol.iterator](), how, returningTo, aside: undefined, asideOf: undefined, done: false });
    this.count += count;
  }

  step(deadline: number): boolean {
    let chunks = 0;
    let parked = false;
    const touched = new Set<Queue>();
    while (this.batches.length) {
      const batch = this.batches.peek()!;
      const back = batch.returningTo;
      // the queue of a run of deliveries put back, and its length: counted off at the run's end
      let runOf: Queue | null = null;
      let run = 0;
      // the tag and seq of the run's last delivery (what the queue has back so far: Returning.floor)
      let runTag = 0;
      let runSeq = 0;
      let n = 0;
      // the iterator moves before each settle: a queue it touches may finish this task re-entrantly
      for (;;) {
        let d: Delivery;
        // set-aside ones first once their queue's answers have run (each queue's order: they came before the rest)
        const early = batch.aside?.peek();
        if (early !== undefined && (early.queue === runOf || !this.heldBy(back!, early.queue!))) {
          // taken off before it is settled: a queue it touches may step this task re-entrantly
          batch.aside!.shift();
          const left = batch.asideOf!.get(early.queue!)! - 1;
          if (left > 0) batch.asideOf!.set(early.queue!, left);
          else batch.asideOf!.delete(early.queue!);
          d = early;
        } else {
          const r = batch.deliveries.next();
          if (r.done) {
            if (run > 0) this.cameBack(batch, runOf!, run, runTag, runSeq);
            // what is left waits for a queue's answers
            if (early !== undefined) {
              this.park(early.queue!);
              parked = true;
            } else this.finished(batch);
            break;
          }
          d = r.value;
          // a run of deliveries back to another queue: that queue may hold this requeue until answers
          // asked before it have run; then its deliveries wait aside and the rest of the batch goes on
          if (back !== undefined && d.queue !== null && !d.timedOut && (batch.asideOf?.has(d.queue) || (d.queue !== runOf && this.heldBy(back, d.queue)))) {
            (batch.aside ??= new Fifo()).push(d);
            const asideOf = (batch.asideOf ??= new Map());
            asideOf.set(d.queue, (asideOf.get(d.queue) ?? 0) + 1);
            const onlyHeldLeft = this.onlyHeldLeft(back, asideOf);
            if (onlyHeldLeft || ++n === LEAVE_CHUNK) {
              if (run > 0) this.cameBack(batch, runOf!, run, runTag, runSeq);
              // nothing else to bring back: wait here (the rest of the iterator is theirs), not walk it all aside,
              // for the queue at the head of those set aside (held: checked above; `d` itself when it is the first)
              if (onlyHeldLeft) {
                this.park((early ?? d).queue!);
                parked = true;
              }
              break;
            }
            continue;
          }
        }
        this.count--;
        try {
          this.settle(d, batch.how, touched);
        } catch (err) {
          // one delivery's bug must not drop the task: its queues would wait for the batch for ever
          reportTaskError(err);
        }
        if (back !== undefined && !d.timedOut && d.queue !== null) {
          if (d.queue !== runOf) {
            if (run > 0) this.cameBack(batch, runOf!, run, runTag, runSeq);
            runOf = d.queue;
            run = 0;
          }
          run++;
          runTag = d.tag;
          runSeq = d.entry.seq;
        }
        if (++n === LEAVE_CHUNK) {
          if (run > 0) this.cameBack(batch, runOf!, run, runTag, runSeq);
          break;
        }
      }
      if (parked || ++chunks >= CHUNKS_PER_SLICE || performance.now() >= deadline) break;
    }
    try {
      this.after(touched);
    } catch (err) {
      reportTaskError(err);
    }
    // parked: out of the bulk work (its entry dead) until the queue's answers have run
    if (parked) return true;
    if (this.batches.length) return false;
    if (this.queued !== undefined) {
      this.queued.dead = true;
      this.queued = undefined;
    }
    this.doneWaiters.release();
    return true;
  }

  /**
   * Does `q` hold this batch's requeue back: an answer asked before the requeue started (a
   * basic.get, a purge, the management get, waiting for earlier requeues) has not run yet. In
   * RabbitMQ the answer and the channel's requeue (notify_down, a call of priority 0 like
   * basic_get and purge: rabbit_amqqueue_process prioritise_call) are served in the order they
   * reached the queue process, and the requeue in one go: the answer sees none of this requeue,
   * so none of it may be back before the answer has run (review-s11-1 F1: a purge counted part
   * of a later channel's unacked).
   */
  private heldBy(back: Map<Queue, Returning>, q: Queue): boolean {
    const r = back.get(q);
    // (not queued on bulk work: a caller steps it to its end itself)
    return r !== undefined && this.work !== undefined && q.returnsHeldFor(r.id);
  }

  /** every queue the batch still brings messages back to has some set aside (held): the rest of it is theirs */
  private onlyHeldLeft(back: Map<Queue, Returning>, asideOf: Map<Queue, number>): boolean {
    // a queue with some aside has some still to come back: asideOf's queues are among back's
    if (asideOf.size < back.size) return false;
    for (const q of back.keys()) if (!asideOf.has(q)) return false;
    return true;
  }

  /**
   * Wait, out of the bulk work, until `q`'s answers have run (what is left of the batch goes back
   * to held queues): parked there, the work behind this task (perhaps the requeue those answers
   * wait for) goes on; then it runs again ahead of it.
   */
  private park(q: Queue): void {
    const work = this.work!;
    this.parkedOn = q;
    if (this.queued !== undefined) {
      this.queued.dead = true;
      this.queued = undefined;
    }
    work.park(this);
    q.afterAnswers(() => {
      this.parkedOn = undefined;
      // ahead of the work queued while it was parked (it was at the head): the rest of the batch
      // (its other queues' returns) does not wait for that; nothing if it was finished meanwhile
      // (finish(), a synchronous read of the queue: settleReturns)
      const entry = this.batches.length ? this.newEntry() : undefined;
      if (!work.unpark(this, entry) && entry !== undefined) {
        entry.dead = true;
        this.queued = undefined;
      }
    });
  }

  /** queue it on `work` if it has batches and no live entry there (one object per time it is queued, not per delivery) */
  scheduleOn(work: SlicedWork): void {
    this.work = work;
    // parked: it queues itself again once the answers it waits for have run
    if (this.parkedOn !== undefined || this.queued !== undefined || this.batches.length === 0) return;
    work.add(this.newEntry());
  }

  /**
   * the batch it is on only puts messages back in their places, so another session's requeue may
   * take turns with it a slice each (SlicedTask.sharesSlices): not when one of its queues is a
   * quorum queue, where a return may dead-letter the message (delivery limit) and the dead-letter
   * queue's order would mix the two channels' messages (rabbit_fifo handles one channel's DOWN in
   * one command)
   */
  sharesSlices(): boolean {
    const back = this.batches.peek()?.returningTo;
    if (back === undefined) return false;
    for (const q of back.keys()) if (q.config.queueType === 'quorum') return false;
    return true;
  }

  /** its entry for the bulk work (queued) */
  private newEntry(): { dead: boolean; step(deadline: number): boolean; sharesSlices(): boolean } {
    const entry = {
      dead: false,
      // a dead entry (the task was finished outside the bulk work) has nothing left to do
      step: (deadline: number): boolean => entry.dead || this.step(deadline),
      sharesSlices: (): boolean => !entry.dead && this.sharesSlices(),
    };
    this.queued = entry;
    return entry;
  }

  /** `cb` once every delivery handed over so far is settled (at once if none is pending) */
  whenDone(cb: () => void): void {
    if (this.batches.length === 0) cb();
    else this.doneWaiters.add(cb);
  }

  /** `k` more of the batch's deliveries are back in `q`, the last of them `tag` (its seq `seq`): the last of all lets the queue go */
  private cameBack(batch: Batch, q: Queue, k: number, tag: number, seq: number): void {
    const r = batch.returningTo!.get(q);
    if (r === undefined) {
      // more came back than the session counted: the queue was let go (delivered again) before these were back
      reportMiscount(q, `${k} more of its deliveries came back than were counted`);
      return;
    }
    if (r.left > k) {
      r.left -= k;
      r.lastTag = tag;
      r.lastSeq = seq;
      q.returnsMoved();
    } else {
      if (k > r.left) reportMiscount(q, `${k - r.left} more of its deliveries came back than were counted`);
      batch.returningTo!.delete(q);
      this.letGo(q, r.id);
    }
  }

  private finished(batch: Batch): void {
    if (batch.done) return;
    batch.done = true;
    if (this.batches.peek() === batch) this.batches.shift();
    if (!batch.returningTo) return;
    // each queue is let go as its last delivery comes back: any left here was counted too high
    for (const [q, r] of batch.returningTo) {
      reportMiscount(q, `${r.left} of its deliveries counted never came back`);
      this.letGo(q, r.id);
    }
    batch.returningTo.clear();
  }

  /** a batch's requeue `id` to `q` is done: answers waiting for it may go, and what was held behind it delivers */
  private letGo(q: Queue, id: number): void {
    // the queue delivers here, inside the loop: a consumer that throws must not drop the task
    // (the rest of the batch would never come back, its queues held for ever: review-s10-2 #1)
    try {
      q.returnsDone(id);
    } catch (err) {
      reportTaskError(err);
    }
  }
}
