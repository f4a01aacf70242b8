import type { Store } from '../store/store.js';
import type { Alarms } from './alarm.js';

/** how long a write that keeps failing is retried before its waiters are told no (RabbitMQ's channel_operation_timeout) */
export const DEFAULT_GIVE_UP_MS = 15_000;

const ALWAYS = (): boolean => true;

/**
 * The durability service: how an adapter learns that what it wrote is on disk before it
 * tells its client so (AMQP publisher confirms and tx.commit-ok, STOMP receipts, MQTT
 * PUBACK, OpenWire's answers to synchronous sends and commits, AMQP 1.0 dispositions).
 * RabbitMQ's rabbit_confirms, for every protocol.
 *
 * One failure policy for all of them. A write the store could not make (a full disk)
 * turns the disk alarm on and the store retries it. A wait on such a write is retried
 * too: each time the disk alarm clears it asks the store again, and is answered yes
 * once the write is durable. When the write still has not succeeded `giveUpMs` after it
 * first failed, the write has finally failed: the wait gets the error, and the adapter
 * says no in its protocol (basic.nack, a 406 "partial tx completion" for tx.commit, a
 * STOMP ERROR, no PUBACK and the connection closed, an OpenWire exception, an AMQP 1.0
 * rejected outcome). Nothing is confirmed that was not written.
 */
export class Durability {
  /** how long a failing write is retried before the waits on it get the error */
  giveUpMs = DEFAULT_GIVE_UP_MS;

  constructor(
    private readonly store: Store,
    private readonly alarms: Alarms,
  ) {}

  /** false for the in-memory store: every wait is answered at once */
  get durable(): boolean {
    return this.store.durable;
  }

  /**
   * Waits of one client kept in order (confirms, receipts): `flush` gets them in batches,
   * in the order they were added, with the error when their write finally failed.
   */
  ordered<T>(flush: (batch: T[], err?: Error) => void, backlog?: DurableBacklog): OrderedDurableWaits<T> {
    return new OrderedDurableWaits(this, flush, backlog);
  }

  /**
   * Where everything written so far becomes durable, to wait on later with `wait`'s `upTo`
   * (the store's sync point); undefined when the store has none (then `wait` waits for all).
   */
  point(): number | undefined {
    return this.store.syncPoint?.();
  }

  /**
   * `cb()` once everything written so far is durable — or, given `upTo` (a `point()`),
   * everything written before that point; `cb(err)` when the write finally failed (the
   * policy above). `alive` stops the wait when the client is gone.
   */
  wait(cb: (err?: Error) => void, alive: () => boolean = ALWAYS, upTo?: number): void {
    if (!this.store.durable) {
      if (alive()) cb();
      return;
    }
    const answered = (err?: Error): void => {
      if (!alive()) return;
      if (!err) return cb();
      // only a write the store is retrying (the disk alarm is on) is worth waiting for; a closed store is final
      if (!this.alarms.isOn('store')) return cb(err);
      this.retry(cb, alive, err, Date.now() + this.giveUpMs);
    };
    if (upTo !== undefined && this.store.syncTo) this.store.syncTo(upTo, answered);
    else this.store.sync(answered);
  }

  /** a failed write: ask again whenever the disk alarm clears, until it is written or the time is up */
  private retry(cb: (err?: Error) => void, alive: () => boolean, err: Error, deadline: number): void {
    let done = false;
    const finish = (e?: Error): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (alive()) cb(e);
    };
    const timer = setTimeout(() => finish(err), Math.max(0, deadline - Date.now()));
    timer.unref();
    this.alarms.whenClear('store', () => {
      if (done) return;
      if (!alive()) {
        done = true;
        clearTimeout(timer);
        return;
      }
      this.store.sync((again) => {
        if (done) return;
        if (!again) return finish();
        if (!this.alarms.isOn('store')) return finish(again);
        done = true;
        clearTimeout(timer);
        this.retry(cb, alive, again, deadline);
      });
    });
  }
}

/**
 * How many waits a client may have outstanding before its reading is held (a publisher at
 * full speed otherwise reads far ahead of the disk: its whole burst is parsed, routed and
 * written before the first sync ends, and no confirm goes out meanwhile). Released at half.
 */
export const DURABLE_BACKLOG_LIMIT = 4096;

/**
 * How many waits a client may add in one turn of the event loop before its reading is held
 * until the next turn. A socket with data waiting is read again and again within one turn
 * (libuv reads up to 32 × 64 KiB per readiness event): a publisher at full speed would have
 * thousands of publishes parsed and written in one go while the sync of the first ones has
 * long ended and its confirms wait for the turn to end. Held, the turn ends after about one
 * read: that read's batch goes to its own sync, ended syncs release their confirms, and
 * the next read follows at once. (The memory store answers at the end of the turn: no hold.)
 */
export const DURABLE_TURN_LIMIT = 512;

/** where a client's reading is held while its backlog is over the limit (its PublisherFlow) */
export interface DurableBacklog {
  hold(on: boolean): void;
  limit?: number;
  /** waits added in one turn before the reading is held until the next (DURABLE_TURN_LIMIT) */
  turnLimit?: number;
}

/**
 * Holds items (publisher confirms, receipts) until the store has made durable everything
 * written before they were added. Items are batched per turn of the event loop, and each
 * batch waits on its own sync, asked for after its writes: a sync already under way covers
 * only what came before it. The batch waits for the store's sync point as it was when its
 * last item was added, not for everything written by the time the wait is asked for at the
 * end of the turn: what other reads wrote in between (a flush already took this batch's
 * writes) would otherwise hold its confirms for one more flush. A turn's items whose points
 * differ (a flush started between two of them: each socket read's callback ends with the
 * flush of what it wrote, and one turn runs many) are cut into one batch per point, so the
 * first ones are released by the flush that wrote them and do not wait for the next one's
 * fsync too (session 19: 55-67 turns of a fresh broker's 100k-publish round had items of two
 * or three points, in each protocol; on a busy disk the sync that ended then released nothing
 * and a gap without a confirm lasted two device flushes). Batches are flushed in the order
 * their items were added, also when a failed write is retried (a later batch never overtakes
 * an earlier one).
 */
export class OrderedDurableWaits<T> {
  private pending: T[] = [];
  /** the store's sync point when the newest pending item was added (its writes come before it) */
  private pendingPoint: number | undefined;
  /** this turn's earlier items, cut off from `pending` when the point moved on: each with its own point */
  private cut: { items: T[]; point: number | undefined }[] = [];
  /** items added in this turn (turnLimit counts them, whatever batches they were cut into) */
  private turnAdded = 0;
  private scheduled = false;
  private waiting = 0;
  /** batches asked for, oldest first, each answered or not yet */
  private readonly inFlight: { items: T[]; answered: boolean; err?: Error }[] = [];

  private holding = false;
  private readonly limit: number;
  /** the reading is held for the rest of this turn (turnLimit reached) */
  private turnHeld = false;
  private readonly turnLimit: number;

  constructor(
    private readonly durability: Durability,
    private readonly flush: (batch: T[], err?: Error) => void,
    private readonly backlog?: DurableBacklog,
  ) {
    this.limit = backlog?.limit ?? DURABLE_BACKLOG_LIMIT;
    this.turnLimit = backlog?.turnLimit ?? DURABLE_TURN_LIMIT;
  }

  /** items added and not yet flushed (queued or waiting on a sync) */
  get outstanding(): number {
    return this.waiting;
  }

  add(item: T): void {
    this.waiting++;
    if (this.backlog && !this.holding && this.waiting > this.limit) {
      this.holding = true;
      this.backlog.hold(true);
    }
    const point = this.durability.point();
    if (this.pending.length > 0 && point !== this.pendingPoint) {
      this.cut.push({ items: this.pending, point: this.pendingPoint });
      this.pending = [];
    }
    this.pending.push(item);
    this.pendingPoint = point;
    this.turnAdded++;
    if (this.backlog && !this.turnHeld && this.turnAdded >= this.turnLimit && this.durability.durable) {
      this.turnHeld = true;
      this.backlog.hold(true);
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batches = this.cut;
      batches.push({ items: this.pending, point: this.pendingPoint });
      this.cut = [];
      this.pending = [];
      this.turnAdded = 0;
      if (this.turnHeld) {
        this.turnHeld = false;
        this.backlog!.hold(false);
      }
      for (const b of batches) this.ask(b.items, b.point);
    });
  }

  /** one batch waits for the flush that makes its point durable; answered batches go out in order */
  private ask(items: T[], point: number | undefined): void {
    const batch: { items: T[]; answered: boolean; err?: Error } = { items, answered: false };
    this.inFlight.push(batch);
    this.durability.wait(
      (err) => {
        batch.answered = true;
        batch.err = err;
        this.flushAnswered();
      },
      undefined,
      point,
    );
  }

  private flushAnswered(): void {
    while (this.inFlight.length > 0 && this.inFlight[0]!.answered) {
      const b = this.inFlight.shift()!;
      this.waiting -= b.items.length;
      this.flush(b.items, b.err);
    }
    if (this.holding && this.waiting <= this.limit >> 1) {
      this.holding = false;
      this.backlog!.hold(false);
    }
  }
}
