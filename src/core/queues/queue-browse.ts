import type { QueueEntry } from './entry.js';
import { PagedEntry } from './paged-fifo.js';
import type { ReadyCopy } from './ready-list.js';
import { SortedRuns } from './sorted-runs.js';

/**
 * A message a browse shows from outside its ready copy — one delivered to a consumer and not
 * settled when the browse started, or one that left the ready list as the copy reached it —
 * unless it leaves the queue for good (acked, dropped, expired, dead-lettered) before the
 * browse gets to it. `entry` is let go of then, so a browse held back by its browser's window
 * keeps no body of a message consumed meanwhile (only this small object, in the copy's place for
 * it, until the browse passes that place or ends).
 */
export class PendingEntry {
  constructor(
    public entry: QueueEntry | undefined,
    readonly seq: number,
    readonly priority: number,
    /** handed to a consumer and waiting for its settle (else back in the ready list, or on its way there) */
    public delivered: boolean,
  ) {}
}

/** what the ready copy holds for each place: the entry as it was, a pending one, or nothing (sent, let go of) */
type Copied = QueueEntry | PendingEntry | null;

/** the queue browsed, as the browse sees it (Queue.browseWhenReturned registers the browse with it) */
export interface BrowsedQueue {
  readonly deleted: boolean;
  /** deliveries taken out of a session's book (a bulk settle) are still on their way back */
  readonly returnsInFlight: boolean;
  /** `run` once the returns in flight now are back (Queue.whenReturned) */
  whenReturned(run: () => void): void;
  unwatchBrowse(b: QueueBrowse): void;
  /** expired ready messages the browse passed over: the queue expires those still there */
  expireFound(entries: readonly QueueEntry[]): void;
  /** ahead of every message on its way back (Infinity: none is; -Infinity: the order is not by seq alone) */
  browseFloor(): number;
}

/**
 * the deliveries held when a browse starts, walked a slice at a time (VHost.unackedOf: HeldWalk),
 * with a lower bound of the seqs of those not walked yet (Infinity once all are, -Infinity when
 * not known)
 */
export interface HeldDeliveries extends Iterator<QueueEntry | null> {
  floor(): number;
}

/** a deleted queue's: none */
export const NONE_HELD: HeldDeliveries = { next: () => ({ done: true, value: undefined }), floor: () => Infinity };

/** `a` comes before `b` in a ready list's order (priority levels from the highest, each by arrival) */
function before(a: { seq: number; priority: number }, b: { seq: number; priority: number }): boolean {
  return a.priority !== b.priority ? a.priority > b.priority : a.seq < b.seq;
}

const SEQ_SPAN = 2 ** 44;

/**
 * a number whose order is `before`'s (priorities 0-255, arrival numbers below 2^44: exact in a
 * double), so that the delivered ones sort as a Float64Array does, natively, with no comparator
 */
function orderKey(p: { seq: number; priority: number }): number {
  return (255 - p.priority) * SEQ_SPAN + p.seq;
}

/** how many deliveries a step walks in the sessions' books (any queue's: review-s13-3 B3) between two looks at the clock */
const GATHER_CHECK = 1024;
/** how many places next() passes over (settled, expired, shown) between two looks at the clock (a power of 2) */
const PASS_CHECK = 1024;

/**
 * What a QueueBrowser sees of one queue: every message the queue holds, in the queue's order —
 * the ready ones and those delivered to a consumer and not settled yet (in a client's prefetch,
 * received and not acknowledged, acknowledged in a transaction not committed yet) — a slice at
 * a time. ActiveMQ 5.17 shows them all, in the queue's order: its browse walks the queue's
 * messages and skips only those acknowledged (observed with its JMS client, 10 messages, a
 * client-ack consumer holding 3: the browser enumerates m0…m9; test/openwire/browser-held.test.ts).
 *
 * The ready messages come from a ReadyCopy (a slice at a time, following the queue as it
 * changes); the delivered ones are gathered from the books of the sessions holding some when
 * the browse starts (QueueHost.unackedOf), a slice at a time, sorted into the queue's order
 * (SortedRuns: review-s13-2 F1, a walk and sort of a million in one turn held the loop for
 * seconds) and merged in by their place. What comes before every delivered one not gathered yet
 * (the walk's bound: the consumers' trails, HeldDeliveries.floor; and the queue's of returns on
 * their way) is shown as they are gathered: 400k held took 0.25-0.33 s to gather, and nothing was
 * shown meanwhile (closing-s17 item 6). Where the order has priorities (or a quorum queue's
 * returns first) nothing is shown before the gathering ends. While they are gathered,
 * what changes is told by the queue: one delivered after the start came from the ready copy's
 * reach and is not taken from a book again; one returned before its book was walked is taken
 * as it comes back. A book handed to a bulk settle (an ack or nack multiple of everything, a
 * close) is walked no further: its deliveries reach the browse as they settle (gone, returned),
 * and so do those a nack multiple took out of a book (review-s13-3 B1, B2). Returns on their
 * way once the books are walked are waited for before anything is shown (waitingForReturns:
 * off the caller's bulk work, which may be what brings them back), and one held at the start
 * that comes back later still is taken as long as its place is not passed.
 * Until the browse ends the queue tells it of every message delivered, returned and settled for
 * good (Queue.browseWhenReturned registers it; handedOut, returned, gone, readyCleared), so that:
 * - a delivered one acknowledged before the browse reaches it is left out (ActiveMQ's browser
 *   skips what is acked: review-s12-2 F2), one returned meanwhile (its consumer closed) is still
 *   shown once, at its place;
 * - a ready one taken by a consumer as the copy reaches it (the copy follows the queue while the
 *   browse waits for its browser's acks) is shown if it is not settled by the time the browse
 *   gets there (ActiveMQ shows what is delivered and not acked), left out otherwise;
 * - a message expired by then is left out (ActiveMQ's browse sends no expired message), and one
 *   in the ready list expires there (Queue.expireFound: ActiveMQ's browse expires what it walks).
 * A quorum queue's ready order (two priority buckets, weighted) is not the order the delivered
 * ones are merged by: they go by priority then arrival there too.
 */
export class QueueBrowse {
  /** the pending ones not shown yet, by arrival number (the queue tells of messages by entry) */
  private readonly pending = new Map<number, PendingEntry>();
  private readonly copy: ReadyCopy<Copied>;
  /** the delivered ones when the browse started, still being taken from the sessions' books (a slice at a time) */
  private gather: HeldDeliveries | undefined;
  /**
   * while gathering: the order key every delivered one not gathered yet is at or past (as of the
   * last step; what it bounds keeps its key wherever it moves), so what comes before it is shown
   * meanwhile (-Infinity: nothing is; Infinity once gathered)
   */
  private unknownFrom = -Infinity;
  /**
   * the ready copy's messages (ready at the start, copied as they were: a requeued part's
   * snapshot copies them whenever it gets there) delivered, or gone for good without a delivery
   * (no-ack, drop-head: an empty one), since the start while their place was ahead, by arrival
   * number, tracked as pending ones: each is shown at its place in the copy as that pending one
   * (left out once gone: review-s14-1 R1, R1c). Kept after the place is passed, for the browse's
   * life (at most one per message ready at the start): a return of one is the copy's, not one
   * to take, even when the copy's order is not by key (a requeued part behind selector takes)
   */
  private readonly lateDelivered = new Map<number, PendingEntry>();
  /** the books are walked and returns were on their way: waiting for them (whenGathered), then back */
  private waiting = false;
  private returnsBack = false;
  /**
   * the delivered ones (as the browse started, one returned later while its place is ahead, and
   * any a purge left outside the ready copy), as order keys, sorted as they are shown
   */
  private readonly held = new SortedRuns();
  /** the order key of the last place shown or passed: what comes back behind it is not shown */
  private passedKey = -Infinity;
  /** places passed over in the running next() (PASS_CHECK) */
  private passed = 0;
  /** the ready copy's places handed out or passed so far */
  private sent = 0;
  private copyComplete = false;
  private finished = false;
  /** next() gave a message that is delivered to a consumer (not a ready one) */
  lastDelivered = false;
  /** expired ready messages passed over in this next(), handed to the queue before it returns */
  private expired: QueueEntry[] | undefined;

  /**
   * `held`: the queue's deliveries waiting for a settle, walked a slice at a time from now on;
   * `start` makes the queue's ready copy with the copier given, in this same turn
   */
  constructor(
    private readonly queue: BrowsedQueue,
    /** the books' deliveries, any queue's (null: another queue's, or timed out: walked, not taken) */
    held: HeldDeliveries,
    /** the queue's next arrival number at the start: a message arriving later is not the browse's */
    private readonly startSeq: number,
    start: (copier: (e: QueueEntry, left: boolean) => Copied) => ReadyCopy<Copied>,
  ) {
    this.gather = held;
    this.copy = start(this.copied);
  }

  /** the first error the ready copy met */
  get error(): unknown {
    return this.copy.error;
  }

  /** every delivered one held at the start is gathered (what comes after them can be shown) */
  get gathered(): boolean {
    return this.gather === undefined;
  }

  /** everything shown or passed over: the browse of this queue is over */
  get done(): boolean {
    return this.finished;
  }

  /**
   * gathers more of the delivered ones until `deadline` (what comes before all of those not
   * gathered yet may be shown meanwhile: unknownFrom), then copies up to `max` more ready
   * messages; true once the delivered ones are gathered and the ready copy is complete
   */
  step(deadline: number, max: number): boolean {
    if (this.gather !== undefined) {
      const gathered = this.gatherSome(deadline);
      this.unknownFrom = gathered ? Infinity : this.waiting ? -Infinity : this.notGatheredFrom();
    }
    if (!this.copyComplete) this.copyComplete = this.copy.step(deadline, max);
    return this.copyComplete && this.gather === undefined;
  }

  /**
   * the order key from which delivered ones may still be gathered: the walk's bound of the books'
   * rest, and the queue's of those a bulk settle took out of a book and is bringing back (they
   * come back as returned()). By seq alone: -Infinity where the order has priorities.
   */
  private notGatheredFrom(): number {
    const floor = Math.min(this.gather!.floor(), this.queue.browseFloor());
    if (floor === -Infinity) return -Infinity;
    return floor === Infinity ? Infinity : orderKey({ seq: floor, priority: 0 });
  }

  /**
   * the books are walked and the browse waits for returns on their way (deliveries a bulk settle
   * took out of a book before it was walked): step() does nothing until whenGathered's `run`.
   * The caller must wait off the work that brings them back (the broker's bulk work: a browse
   * stepping there until they are back never lets them come: review-s13-3's livelock).
   */
  get waitingForReturns(): boolean {
    return this.waiting && !this.finished;
  }

  /** `run` once the returns waited for are back (or the queue is gone): the gathering can end */
  whenGathered(run: () => void): void {
    this.queue.whenReturned(() => {
      this.waiting = false;
      this.returnsBack = true;
      run();
    });
  }

  /** true once every delivered one is taken (and the returns on their way once the books were walked are back) */
  private gatherSome(deadline: number): boolean {
    if (this.waiting) return false;
    const gather = this.gather!;
    for (let n = 1; ; n++) {
      const r = gather.next();
      if (r.done) break;
      const e = r.value;
      // one at or behind what was shown meanwhile was shown already (returned, shown, and delivered
      // again into a book walked later): the walk's bound keeps every one not shown ahead of it
      if (e !== null && e.seq < this.startSeq && !this.pending.has(e.seq) && !this.lateDelivered.has(e.seq) && orderKey(e) > this.passedKey) this.held.add(orderKey(this.track(e, true)));
      if (n % GATHER_CHECK === 0 && performance.now() >= deadline) return false;
    }
    // what a bulk settle took out of a book before the walk got there and is still on its way
    // back is waited for, once: a requeue starting later holds nothing the walk did not see (the
    // walk is over), and it brings nothing back before the wait's answer has run (Queue.whenReturned)
    if (!this.returnsBack && this.queue.returnsInFlight && !this.queue.deleted) {
      this.waiting = true;
      return false;
    }
    this.gather = undefined;
    return true;
  }

  /**
   * the next message to show, in the queue's order; undefined when the ready copy has not
   * reached the next place yet (step() copies more), when the next may come after a delivered
   * one not gathered yet (step() gathers more), or everything is shown (`done`). Messages
   * settled for good meanwhile, or expired by `now`, are passed over; undefined too once
   * `deadline` is past after PASS_CHECK of them (a million held ones acked after the gathering,
   * or the queue deleted: passed over in one call held the loop ~1 s: review-s14-1 R2).
   */
  next(now: number, deadline = Infinity): QueueEntry | undefined {
    const e = this.nextShown(now, deadline);
    if (this.expired !== undefined) {
      const found = this.expired;
      this.expired = undefined;
      this.queue.expireFound(found);
    }
    return e;
  }

  private nextShown(now: number, deadline: number): QueueEntry | undefined {
    const out = this.copy.out;
    this.passed = 0;
    // while the delivered ones are gathered only what comes before all those not gathered yet is shown
    const limit = this.gather === undefined ? Infinity : this.unknownFrom;
    if (limit === -Infinity) return undefined;
    for (;;) {
      if (this.finished) return undefined;
      const r = this.sent < out.length ? out[this.sent] : undefined;
      if (r === null) {
        this.sent++;
        if (this.passing(deadline)) return undefined;
        continue;
      }
      if (r === undefined && this.sent < out.length) {
        // a place the copy has not reached: what goes before it is not known yet
        if (!this.copyComplete) return undefined;
        // complete with places left unfilled: the copy failed there (error); the ready part ends
        this.sent = out.length;
        continue;
      }
      if (r === undefined && !this.copyComplete) return undefined;
      let h: PendingEntry | undefined;
      let hKey = 0;
      for (let key = this.held.peek(); key !== undefined; key = this.held.peek()) {
        // one gone for good meanwhile (acked) is no longer pending: passed over
        h = this.pending.get(key % SEQ_SPAN);
        hKey = key;
        if (h !== undefined) break;
        this.held.take();
        if (this.passing(deadline)) return undefined;
      }
      if (h !== undefined && (r === undefined || before(h, r))) {
        if (hKey >= limit) return undefined;
        this.held.take();
        this.passedKey = hKey;
        const e = this.take(h, now);
        if (e !== undefined) return e;
        if (this.passing(deadline)) return undefined;
        continue;
      }
      if (r === undefined) {
        if (this.gather === undefined) this.finish();
        return undefined;
      }
      if (limit !== Infinity && orderKey(r) >= limit) return undefined;
      out[this.sent++] = null;
      this.passedKey = orderKey(r);
      // kept in lateDelivered after its place is passed: returned() must still know it as the copy's
      const p = r instanceof PendingEntry ? r : this.lateDelivered.get(r.seq);
      if (p !== undefined) {
        const e = this.take(p, now);
        if (e !== undefined) return e;
        if (this.passing(deadline)) return undefined;
        continue;
      }
      if (r instanceof PendingEntry) continue;
      if (r.expiresAt <= now) {
        (this.expired ??= []).push(r);
        if (this.passing(deadline)) return undefined;
        continue;
      }
      this.lastDelivered = false;
      return r;
    }
  }

  /** one more place passed over in this next(): true when it should end here (its time is up) */
  private passing(deadline: number): boolean {
    return (++this.passed & (PASS_CHECK - 1)) === 0 && performance.now() >= deadline;
  }

  /** given up (the browser closed): the queue lets go of it, and it of what it holds */
  cancel(): void {
    this.copy.cancel();
    this.finish();
  }

  // ---- told by the queue while the browse is registered with it ----------------------

  /** a message was handed to a consumer, to wait for its settle */
  handedOut(e: QueueEntry): void {
    const p = this.pending.get(e.seq);
    if (p !== undefined) {
      p.delivered = true;
      return;
    }
    // ready at the start and copied as it was (the ready copy's, in its place there): not one
    // to take from a book, nor when it comes back. Only while its place is ahead: one shown is
    // passed over by returned() anyway, so this stays within the copy's messages not shown yet
    // tracked: the copy's entry (an ArrayCopy's requeued one copied later, or one copied and not
    // shown yet) is shown as this pending one, so not once it is acked (review-s14-1 R1)
    if (e.seq < this.startSeq && !this.finished && orderKey(e) > this.passedKey) this.lateDelivered.set(e.seq, this.track(e, true));
  }

  /** a delivered message came back to the ready list (its consumer closed, a reject with requeue) */
  returned(e: QueueEntry): void {
    const p = this.pending.get(e.seq);
    if (p !== undefined) {
      p.delivered = false;
      return;
    }
    // one delivered at the start and not taken yet (its book not walked yet, or a bulk settle took
    // it out of the book first: review-s13-3 B2) is taken now, for the browse's whole life, as
    // long as its place is ahead of what was shown; not one that arrived after the start, nor the
    // ready copy's
    if (this.finished || e.seq >= this.startSeq || this.lateDelivered.has(e.seq)) return;
    const key = orderKey(e);
    if (key > this.passedKey) this.held.add(orderKey(this.track(e, false)));
  }

  /** a message left the queue for good */
  gone(e: QueueEntry): void {
    const p = this.pending.get(e.seq);
    if (p === undefined) {
      // one of the ready copy's (copied as it was and not shown yet, or still in the requeued
      // part's snapshot) left for good without a delivery that waits for an ack (a no-ack
      // consumer, a drop-head): passed over when the browse gets to its place (review-s14-1 R1c)
      if (e.seq < this.startSeq && !this.finished && orderKey(e) > this.passedKey) this.lateDelivered.set(e.seq, new PendingEntry(undefined, e.seq, e.priority, false));
      return;
    }
    p.entry = undefined;
    this.pending.delete(e.seq);
  }

  /**
   * every ready message left at once (a purge): the ready copy is given up and nothing ready
   * is shown any more; the delivered ones it held places for are shown with the rest
   */
  readyCleared(): void {
    const out = this.copy.out;
    const kept: PendingEntry[] = [];
    for (let i = this.sent; i < out.length; i++) {
      const r = out[i];
      if (r instanceof PendingEntry && r.delivered && r.entry !== undefined) kept.push(r);
    }
    // the copy's ones delivered since the start (copied or not yet): still held, so shown (review-s14-1 R1)
    for (const p of this.lateDelivered.values()) if (p.delivered && p.entry !== undefined) kept.push(p);
    for (const p of this.pending.values()) {
      if (p.delivered) continue;
      p.entry = undefined;
      this.pending.delete(p.seq);
    }
    this.copy.cancel();
    this.sent = 0;
    this.copyComplete = true;
    // merged with the others as they are shown
    for (const p of kept) this.held.add(orderKey(p));
  }

  // -------------------------------------------------------------------------------------

  /**
   * the ready copy's copier: an entry leaving the ready list as the copy reaches it is pending.
   * A paged-out entry's message is read now, while the store still holds it: the entry may be
   * sent turns later (the socket full), after a consumer took and acked it, when its journal
   * record is gone or its transient record's place holds another message.
   */
  private readonly copied = (e: QueueEntry, left: boolean): Copied => {
    if (e instanceof PagedEntry) void e.message;
    return left ? this.track(e, false) : e;
  };

  private track(e: QueueEntry, delivered: boolean): PendingEntry {
    const p = new PendingEntry(e, e.seq, e.priority, delivered);
    this.pending.set(e.seq, p);
    return p;
  }

  /** a pending one's entry, if it is still in the queue and not expired */
  private take(p: PendingEntry, now: number): QueueEntry | undefined {
    const e = p.entry;
    if (e === undefined) return undefined;
    p.entry = undefined;
    this.pending.delete(p.seq);
    if (this.queue.deleted) return undefined;
    if (e.expiresAt <= now) {
      // one back in the ready list expires there; a consumer's expires as its client sees it
      if (!p.delivered) (this.expired ??= []).push(e);
      return undefined;
    }
    this.lastDelivered = p.delivered;
    return e;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.pending.clear();
    this.held.clear();
    this.gather = undefined;
    this.lateDelivered.clear();
    this.queue.unwatchBrowse(this);
  }
}
