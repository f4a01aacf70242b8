import { Consumer, type ConsumeOptions, type ConsumerSink, type Delivery } from './consumer.js';
import type { DeadLetterEngine, DeadLetterOrigin } from './dead-letter.js';
import { BrokerError, notFound, preconditionFailed } from './errors.js';
import type { QueueEntry } from './queues/entry.js';
import type { Queue, SettleHow } from './queues/queue.js';
import type { VHost } from './vhost.js';
import { LEAVE_CHUNK } from './queues/leaving.js';
import { BulkSettle } from './bulk-settle.js';
import { OutstandingDeliveries, type BookCounts } from './outstanding.js';
import type { ConnectionUnacked } from './connection-unacked.js';
import { SeqTrail } from './seq-trail.js';

function addTo<K>(counts: Map<K, number>, key: K, n: number): void {
  counts.set(key, (counts.get(key) ?? 0) + n);
}

/** a consumer's trail for a bulk requeue of its deliveries to `q` (none: its order is not known, null) */
function addTrail(trails: Map<Queue, SeqTrail[] | null>, q: Queue, trail: SeqTrail | undefined): void {
  const list = trails.get(q);
  if (list === null) return;
  if (trail === undefined) trails.set(q, null);
  else if (list === undefined) trails.set(q, [trail]);
  else list.push(trail);
}

/**
 * The delivery book of one AMQP channel (or one STOMP subscription, or one MQTT client):
 * hands out delivery tags, keeps what is unacked, enforces prefetch, and settles acks,
 * nacks, rejects and recovers. Protocol adapters call it; it never touches a socket.
 */
export class Session {
  /** basic.qos global=true: a limit shared by every consumer of the session; 0 = none */
  globalPrefetch = 0;
  /** basic.qos global=false: the limit given to consumers created from now on */
  consumerPrefetch = 0;
  /** AMQP channel.flow: false pauses deliveries */
  active = true;
  unacked = 0;
  /** of them, those that count against the connection's cap (Delivery.capped) */
  private capped = 0;
  private nextTag = 1;
  /** unacked deliveries by tag, in tag order (a bulk settle takes them all by swapping the book) */
  private outstanding = new OutstandingDeliveries();
  /**
   * Where the book's deliveries come from, so that a bulk requeue can tell their queues at once
   * that messages are on their way back, and how many, without walking a million deliveries
   * first (BulkSettle.add): the consumers that take with acks, each counting its deliveries in
   * the book (Consumer.booked; a cancelled one stays while it has any there: it leaves at its
   * cancel, or when its last one leaves the book) ...
   */
  private readonly bookConsumers = new Set<Consumer>();
  /** ... and how many basic.gets with acks the book holds from each queue (a queue leaves with its last) */
  private gotFrom = new Map<Queue, number>();
  /** settles of many deliveries at once, done in the broker's sliced work (and later settles behind them) */
  private readonly bulk = new BulkSettle(
    (d, how, touched) => this.finishSettle(d, how, touched),
    (touched) => this.afterSlice(touched),
  );
  readonly consumers = new Map<string, Consumer>();
  /** told of each outstanding delivery as it is settled (an adapter's own ids for it go then) */
  onSettled: ((d: Delivery) => void) | undefined;
  private closed = false;
  /** consumer timeout: told (with the timeout that applied) when the oldest unacked delivery outlived it */
  private ackTimedOut: ((timeoutMs: number, delivery: Delivery) => void) | undefined;
  /** which deliveries the timeout watches: all (the channel's) or quorum consumers' (4.3) */
  private ackTimeoutScope: 'channel' | 'quorum-queue' = 'channel';
  private ackTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly vhost: VHost,
    /** the connection: owner of its exclusive queues */
    readonly owner: object,
    /** unique per broker; names direct reply-to addresses */
    readonly id: string,
    /** the connection's count of unacked deliveries against its cap, shared by its sessions */
    readonly connection: ConnectionUnacked,
  ) {
  }

  hasCredit(): boolean {
    return this.active && (this.globalPrefetch === 0 || this.unacked < this.globalPrefetch);
  }

  get unackedCount(): number {
    return this.outstanding.size;
  }

  /**
   * Start a consumer. `accepted` runs once every check has passed and before the first
   * delivery, so the adapter can answer (AMQP's consume-ok precedes any basic.deliver).
   */
  consume(queueName: string, options: ConsumeOptions, sink: ConsumerSink, accepted?: (c: Consumer) => void): Consumer {
    const queue = this.vhost.getQueue(queueName);
    if (!queue) throw notFound(`no queue '${queueName}' in vhost '${this.vhost.name}'`);
    queue.checkAccess(this.owner);
    if (queue.config.queueType === 'quorum' && this.globalPrefetch > 0) {
      // rabbit_quorum_queue:consume/3 with the channel's limiter active (basic.qos global=true)
      throw new BrokerError(540, `${queue.describe()} does not support global qos`, 'connection');
    }
    return this.attach(queue, options, sink, accepted);
  }

  /** direct reply-to: consume the session's own pseudo-queue amq.rabbitmq.reply-to */
  consumeReplyTo(options: ConsumeOptions, sink: ConsumerSink, accepted?: (c: Consumer) => void): Consumer {
    return this.attach(this.vhost.directReplyTo.queueFor(this), options, sink, accepted);
  }

  private attach(queue: Queue, options: ConsumeOptions, sink: ConsumerSink, accepted?: (c: Consumer) => void): Consumer {
    const c = new Consumer(this, queue, options, sink);
    c.prefetch = this.consumerPrefetch;
    queue.addConsumer(c);
    if (!c.noAck) {
      this.bookConsumers.add(c);
      // it will hold deliveries a QueueBrowser shows (VHost.unackedOf) until it closes
      this.vhost.sessions.add(this);
    }
    this.consumers.set(options.tag, c);
    accepted?.(c);
    queue.dispatch();
    return c;
  }

  hasConsumer(tag: string): boolean {
    return this.consumers.has(tag);
  }

  /** the client cancelled; unacked messages stay unacked until settled or the session closes */
  cancel(tag: string): Consumer | undefined {
    const c = this.consumers.get(tag);
    if (!c) return undefined;
    this.consumers.delete(tag);
    c.ended = true;
    c.queue.removeConsumer(c);
    if (c.booked === 0) this.bookConsumers.delete(c);
    return c;
  }

  /** the broker ended a consumer (queue deleted) */
  forget(c: Consumer): void {
    if (this.consumers.get(c.tag) === c) this.consumers.delete(c.tag);
    c.ended = true;
    if (c.booked === 0) this.bookConsumers.delete(c);
  }

  /** basic.get: the head of the queue, tracked like a delivery unless noAck */
  get(queueName: string, noAck: boolean): { delivery: Delivery; messageCount: number } | undefined {
    const queue = this.vhost.getQueue(queueName);
    if (!queue) throw notFound(`no queue '${queueName}' in vhost '${this.vhost.name}'`);
    return this.getFrom(queue, noAck);
  }

  /**
   * basic.get from this very queue: a caller that waited for it (Queue.whenReturned) gets from the
   * queue it waited on, not from one declared under its name meanwhile; a deleted one is not found
   */
  getFrom(queue: Queue, noAck: boolean): { delivery: Delivery; messageCount: number } | undefined {
    if (queue.deleted) throw notFound(`no queue '${queue.name}' in vhost '${this.vhost.name}'`);
    queue.checkAccess(this.owner);
    // at the connection's cap of unacked deliveries a get with ack finds nothing, as a consumer gets nothing
    const entry = noAck || this.connection.hasRoomForGet() ? queue.get() : undefined;
    if (!entry) {
      queue.stats.getEmpty++;
      return undefined;
    }
    if (!noAck) {
      addTo(this.gotFrom, queue, 1);
      this.vhost.sessions.add(this);
    }
    const delivery = this.track(entry, queue, null, !noAck);
    queue.stats.delivered++;
    if (delivery.redelivered) queue.stats.redelivered++;
    if (noAck) {
      queue.stats.getNoAck++;
      queue.settle(entry, 'acked');
    } else {
      queue.stats.get++;
      queue.holdUnacked(entry);
    }
    this.vhost.delivered(queue, delivery);
    queue.afterDelivery();
    return { delivery, messageCount: queue.messageCount };
  }

  /** Record a delivery and give it a tag; `needsAck` keeps it outstanding until settled. */
  track(entry: QueueEntry, queue: Queue | null, consumer: Consumer | null, needsAck: boolean): Delivery {
    const redelivered = entry.deliveryCount > 0;
    entry.deliveryCount++;
    // RabbitMQ brings a message delivered before a restart back redelivered; an ActiveMQ queue
    // does not (persistJMSRedelivered is off by default), so it writes no mark
    if (!redelivered && entry.persisted && queue && needsAck && !queue.config.activemq) {
      this.vhost.store.markDelivered({ vhost: queue.vhost, queue: queue.name }, entry.id);
    }
    // RabbitMQ's qos does not bound basic.get: a get with ack always counts against the cap
    const capped = needsAck && (consumer === null ? queue !== null : consumer.unbounded);
    const delivery: Delivery = { tag: this.nextTag++, entry, queue, consumer, redelivered, message: entry.message, capped };
    if (needsAck) {
      this.outstanding.add(delivery);
      this.unacked++;
      if (capped) {
        this.capped++;
        this.connection.count++;
      }
      if (consumer !== null) {
        consumer.booked++;
        // where its deliveries stand in the queue's order, for a bulk requeue of them (SeqTrail)
        const trail = (consumer.trail ??= new SeqTrail());
        if (trail.note(delivery.tag, entry.seq)) trail.prune(this.outstanding.firstTag()!);
      }
      if (this.ackTimedOut) {
        delivery.deliveredAt = Date.now();
        if (!this.ackTimer && this.watches(delivery)) this.armAckTimer();
      }
    }
    return delivery;
  }

  /**
   * a delivery (not timed out) leaves the book, or is released by a consumer timeout: its
   * consumer's count, or its queue's count of gets, goes down (a cancelled consumer goes with its last)
   */
  private unbook(d: Delivery): void {
    const c = d.consumer;
    if (c !== null) {
      if (--c.booked === 0 && c.ended) this.bookConsumers.delete(c);
    } else if (d.queue !== null) this.ungot(d.queue, 1);
  }

  /** `n` of the book's gets from `q` left it */
  private ungot(q: Queue, n: number): void {
    const left = this.gotFrom.get(q)! - n;
    if (left > 0) this.gotFrom.set(q, left);
    else this.gotFrom.delete(q);
  }

  /**
   * RabbitMQ's consumer timeout (rabbit_channel, 3.13 to 4.2): the oldest unacknowledged
   * delivery of the channel may stay so for the `consumer-timeout` of its queue (x-argument or
   * policy, the lower wins) or else the broker's `consumer_timeout` (30 min by default);
   * past that `timedOut` is told the timeout that applied (the channel then closes with 406).
   */
  watchAckTimeout(timedOut: (timeoutMs: number, delivery: Delivery) => void, scope: 'channel' | 'quorum-queue' = 'channel'): void {
    this.ackTimedOut = timedOut;
    this.ackTimeoutScope = scope;
  }

  /**
   * RabbitMQ 4.3's quorum consumer timeout for a client told by a cancel (AMQP 0-9-1's
   * basic.cancel, STOMP's ERROR): the consumer's deliveries past their deadline go back to the
   * queue as releaseTimedOut has them, their tags still settle without error (rabbit_channel keeps
   * its pending acks: `{released, …, timeout}` only sends basic.cancel), and the consumer is
   * cancelled; returns the consumer, for the adapter to tell its client.
   */
  timeOutConsumer(c: Consumer, now = Date.now()): Consumer | undefined {
    this.releaseTimedOut(c, now);
    return this.cancel(c.tag);
  }

  /**
   * RabbitMQ 4.3's quorum consumer timeout as rabbit_fifo applies it (evaluate_consumer_timeout,
   * maybe_untimeout), for a client whose protocol has no cancel to send (AMQP 1.0: rabbit_amqp_session
   * then sends `released` dispositions, unsettled): each delivery of the consumer past its deadline
   * goes back to its queue, not counted as a failed delivery (delivery-count unchanged), and the
   * consumer stays but is timed out: it gets nothing until the client has settled every one of
   * them. Their tags stay outstanding until then; settling one, with any outcome, only clears it
   * (the message is no longer the client's). Returns the deliveries released.
   */
  releaseTimedOut(c: Consumer, now = Date.now()): Delivery[] {
    const touched = new Set<Queue>();
    const released: Delivery[] = [];
    // a copy: a return may deliver to the session's other consumers, adding to `outstanding`
    for (const d of [...this.outstanding.values()]) {
      if (d.consumer !== c || d.timedOut || !d.queue) continue;
      const timeout = this.ackTimeoutOf(d);
      if (timeout === undefined || (d.deliveredAt ?? now) + timeout > now) continue;
      d.timedOut = true;
      c.timedOut++;
      this.settled(1, d.capped ? 1 : 0);
      this.unbook(d);
      d.queue.settleDelivered(d.entry, c, 'timeout');
      touched.add(d.queue);
      released.push(d);
    }
    this.afterSettle(touched, true);
    if (!this.ackTimer) this.armAckTimer();
    return released;
  }

  /** 4.3: every quorum delivery, basic.get's too (rabbit_queue_type:dequeue/5 checks it out with the queue's timeout) */
  private watches(d: Delivery): boolean {
    return this.ackTimeoutScope === 'channel' || d.queue?.config.queueType === 'quorum';
  }

  /** the oldest delivery the timeout watches */
  private watchedHead(): Delivery | undefined {
    for (const d of this.outstanding.values()) if (!d.timedOut && this.watches(d)) return d;
    return undefined;
  }

  /**
   * the timeout that applies to a delivery, if any: 4.3's quorum consumers may set their own
   * (`x-consumer-timeout` consumer argument, AMQP 1.0 link property rabbitmq:consumer-timeout:
   * rabbit_queue_type:consume/3), else the queue's (argument or policy), else the broker's
   */
  private ackTimeoutOf(d: Delivery): number | undefined {
    if (this.ackTimeoutScope === 'quorum-queue') {
      const own = d.consumer?.options.arguments['x-consumer-timeout'];
      if (typeof own === 'number' && Number.isInteger(own) && own >= 0) return own;
    }
    return d.queue?.config.consumerTimeout ?? this.vhost.host.consumerTimeoutMs;
  }

  /** a timer for the oldest outstanding delivery's deadline (only the oldest is looked at, as RabbitMQ does) */
  private armAckTimer(): void {
    this.ackTimer = undefined;
    if (this.closed || !this.ackTimedOut) return;
    const head = this.watchedHead();
    if (!head) return;
    const timeout = this.ackTimeoutOf(head);
    if (timeout === undefined) return;
    const due = (head.deliveredAt ?? Date.now()) + timeout;
    const wait = due - Date.now();
    if (wait < 0) {
      this.ackTimedOut(timeout, head);
      return;
    }
    // +1: a timer may fire a millisecond early; RabbitMQ requires the time to have passed
    this.ackTimer = setTimeout(() => this.armAckTimer(), wait + 1);
    this.ackTimer.unref?.();
  }

  /**
   * basic.qos: a limit for each new consumer, or (global) one shared by the session's consumers.
   * Versions that deny global QoS (RabbitMQ 4.3) apply a global request per consumer, as
   * rabbit_channel does when the global_qos deprecated feature is not permitted.
   */
  setPrefetch(count: number, global: boolean): void {
    if (global && this.vhost.engineRules.globalQos) this.globalPrefetch = count;
    else this.consumerPrefetch = count;
  }

  ack(tag: number, multiple: boolean): void {
    this.settle(tag, multiple, 'ack');
  }

  /** given back (requeue) unfailed, or refused for good: basic.nack, STOMP NACK, AMQP 1.0 released */
  nack(tag: number, multiple: boolean, requeue: boolean): void {
    this.settle(tag, multiple, requeue ? 'release' : 'discard');
  }

  /** failed (requeue) or refused for good: basic.reject, AMQP 1.0 modified delivery-failed */
  reject(tag: number, requeue: boolean): void {
    this.settle(tag, false, requeue ? 'requeue' : 'discard');
  }

  /**
   * An AMQP 1.0 link went leaving this delivery unsettled: back to its queue as a removed
   * consumer's (classic queues count it failed where the engine counts, quorum queues do not:
   * rabbit_queue_consumers:remove / requeue_and_run/3, rabbit_fifo return_all on `remove`)
   */
  returnDetached(tag: number): void {
    this.settle(tag, false, 'detach');
  }

  /**
   * A delivery its client never handed to the application (an ActiveMQ consumer closed with it
   * still in its prefetch, past RemoveInfo's lastDeliveredSequenceId): back to its queue as if
   * it had not been delivered (not flagged redelivered next time, not a failed delivery)
   */
  returnUnseen(tag: number): void {
    this.settle(tag, false, 'unseen');
  }

  /**
   * A client refused a delivery for good (a NACK): dead-lettered the engine's way by the
   * vhost's dead-letterer, then settled. Unknown tags are ignored (false).
   */
  deadLetter(tag: number, engine: DeadLetterEngine, origin?: DeadLetterOrigin): boolean {
    const d = this.outstanding.get(tag);
    if (!d) return false;
    // released by a consumer timeout: the message is no longer the client's to refuse
    const how = d.timedOut ? 'discard' : this.vhost.deadLetterer.rejected(engine, d.message, origin);
    this.settle(tag, false, how);
    return true;
  }

  /** an outstanding delivery by tag */
  delivery(tag: number): Delivery | undefined {
    return this.outstanding.get(tag);
  }

  /**
   * Every outstanding delivery settled `how`, in tag order (in slices of the broker's bulk work
   * when there are many); resolves once all are settled. The management API's get settles the
   * messages it took this way (rabbit_mgmt_wm_queue_get nacks or rejects each in turn).
   */
  settleOutstanding(how: 'requeue' | 'release' | 'discard'): Promise<void> {
    this.settleAll(how);
    return new Promise((resolve) => this.bulk.whenDone(resolve));
  }

  /** basic.recover: every unacked message goes back to its queue, flagged redelivered */
  recover(): void {
    // rabbit_channel basic.recover_async: a `requeue` settle, as basic.nack's
    this.settleAll('release');
  }

  /** deliveries whose tag is known and unacked (STOMP maps its ack ids onto these) */
  isOutstanding(tag: number): boolean {
    return this.outstanding.has(tag);
  }

  private settle(tag: number, multiple: boolean, how: SettleHow): void {
    if (multiple && tag !== 0 && !this.outstanding.has(tag) && !this.anyAtOrBelow(tag)) {
      throw preconditionFailed(`unknown delivery tag ${tag}`);
    }
    const one = multiple ? undefined : this.outstanding.get(tag);
    if (!multiple && !one) throw preconditionFailed(`unknown delivery tag ${tag}`);
    if (this.bulk.pending || (multiple && this.outstanding.size > LEAVE_CHUNK)) {
      this.settleInSlices(tag, multiple, how);
      return;
    }
    const requeued = how === 'requeue' || how === 'release' || how === 'detach' || how === 'unseen';
    if (one) {
      this.afterSettleOne(this.settleOne(one, how), requeued);
      return;
    }
    const touched = new Set<Queue>();
    for (const [t, d] of this.outstanding) {
      if (tag !== 0 && t > tag) break;
      const q = this.settleOne(d, how);
      if (q) touched.add(q);
    }
    this.afterSettle(touched, requeued);
  }

  /**
   * `n` unacked deliveries left the book (settled, or released by a consumer timeout), `capped`
   * of them counted against the connection's cap
   */
  private settled(n: number, capped: number): void {
    this.unacked -= n;
    if (capped !== 0) {
      this.capped -= capped;
      this.connection.count -= capped;
    }
  }

  private anyAtOrBelow(tag: number): boolean {
    const first = this.outstanding.firstTag();
    return first !== undefined && first <= tag;
  }

  /** settle one outstanding delivery; returns the queue whose deliveries it may free, if any */
  private settleOne(d: Delivery, how: SettleHow): Queue | null {
    this.outstanding.delete(d.tag);
    if (!d.timedOut) {
      this.settled(1, d.capped ? 1 : 0);
      this.unbook(d);
    }
    return this.finishOne(d, how);
  }

  /** a delivery out of the books: its queue settles its message (the queue touched, if any) */
  private finishOne(d: Delivery, how: SettleHow): Queue | null {
    this.onSettled?.(d);
    if (d.timedOut) {
      // its message went back when it timed out: settling it only ends the consumer's timeout
      return d.consumer && --d.consumer.timedOut === 0 && d.queue ? d.queue : null;
    }
    if (!d.queue) return null;
    d.queue.settleDelivered(d.entry, d.consumer, how);
    return d.queue;
  }

  /** finishOne for a bulk settle's slice, which gathers the queues touched */
  private finishSettle(d: Delivery, how: SettleHow, touched: Set<Queue>): void {
    const q = this.finishOne(d, how);
    if (q) touched.add(q);
  }

  /**
   * Many deliveries at once (a nack multiple of a million), or anything while such a settle
   * is still running: the deliveries leave the books now (their tags are gone for the client)
   * and their queues settle them in the broker's sliced work, in this order (BulkSettle).
   */
  private settleInSlices(tag: number, multiple: boolean, how: SettleHow): void {
    if (!multiple) {
      const d = this.outstanding.get(tag)!;
      this.outstanding.delete(tag);
      const queues = new Map<Queue, number>();
      const trails = new Map<Queue, SeqTrail[] | null>();
      if (!d.timedOut) {
        this.settled(1, d.capped ? 1 : 0);
        this.unbook(d);
        // a timed-out one's message went back when it timed out: its queue gets nothing back now
        if (d.queue !== null) {
          queues.set(d.queue, 1);
          trails.set(d.queue, [SeqTrail.of(d.tag, d.entry.seq)]);
        }
      }
      this.bulkSettle([d], 1, how, queues, trails);
    } else if (tag === 0 || tag >= this.nextTag - 1) this.settleAllInSlices(how);
    else {
      // none timed out (the usual case): what is unacked is what stays in the book
      const untimed = this.unacked === this.outstanding.size;
      const taken = this.outstanding.takeThrough(tag);
      // the book counted the side it copied, timed-out ones left out (as `capped` leaves them out)
      const counted = taken.counted!;
      const cappedTaken = counted.side === 'taken' ? counted.capped : this.capped - counted.capped;
      if (untimed) this.settled(this.unacked - this.outstanding.size, cappedTaken);
      else {
        let n = 0;
        for (const d of taken.values()) if (!d.timedOut) n++;
        this.settled(n, cappedTaken);
      }
      const trails = new Map<Queue, SeqTrail[] | null>();
      this.bulkSettle(taken.values(), taken.size, how, this.unbookTaken(taken.counted!, tag, trails), trails);
    }
  }

  /**
   * A nack/ack multiple up to a tag took deliveries out of the book: from what the book's copy
   * counted (the side it copied: the taken deliveries, or the kept ones), the consumers' and gets'
   * counts go down by what was taken, and the queues they come from are returned with how many
   * each gets back. Exactly those: a consumer's deliveries already handed to an earlier bulk settle
   * are not counted again (its Consumer.unacked still holds them), nor are gets settled before.
   * The consumers' trails up to `tag` go into `trails` (a queue with gets taken: null).
   */
  private unbookTaken(counted: BookCounts, tag: number, trails: Map<Queue, SeqTrail[] | null>): Map<Queue, number> {
    const queues = new Map<Queue, number>();
    if (counted.side === 'taken') {
      for (const [c, n] of counted.consumers) {
        c.booked -= n;
        addTo(queues, c.queue, n);
        addTrail(trails, c.queue, c.trail?.takeThrough(tag));
        if (c.booked === 0 && c.ended) this.bookConsumers.delete(c);
      }
      for (const [q, n] of counted.gets) {
        this.ungot(q, n);
        addTo(queues, q, n);
        trails.set(q, null);
      }
      return queues;
    }
    for (const c of this.bookConsumers) {
      const kept = counted.consumers.get(c) ?? 0;
      if (c.booked > kept) {
        addTo(queues, c.queue, c.booked - kept);
        addTrail(trails, c.queue, c.trail?.takeThrough(tag));
        c.booked = kept;
      }
      if (kept === 0 && c.ended) this.bookConsumers.delete(c);
    }
    for (const [q, n] of this.gotFrom) {
      const kept = counted.gets.get(q) ?? 0;
      if (n > kept) {
        addTo(queues, q, n - kept);
        this.ungot(q, n - kept);
        trails.set(q, null);
      }
    }
    return queues;
  }

  /** every outstanding delivery, in slices: the book itself is handed over (O(1)) */
  private settleAllInSlices(how: SettleHow): void {
    const all = this.outstanding;
    // every delivery in the book goes: the book's counts say where they come from, and how many
    const queues = new Map<Queue, number>();
    const trails = new Map<Queue, SeqTrail[] | null>();
    for (const c of this.bookConsumers) {
      if (c.booked > 0) {
        addTo(queues, c.queue, c.booked);
        addTrail(trails, c.queue, c.trail?.takeAll());
      }
      c.booked = 0;
      if (c.ended) this.bookConsumers.delete(c);
    }
    for (const [q, n] of this.gotFrom) {
      addTo(queues, q, n);
      trails.set(q, null);
    }
    this.gotFrom = new Map();
    this.outstanding = new OutstandingDeliveries();
    this.settled(this.unacked, this.capped);
    this.bulkSettle(all.values(), all.size, how, queues, trails);
  }

  private bulkSettle(deliveries: Iterable<Delivery>, count: number, how: SettleHow, queues: Map<Queue, number>, trails: Map<Queue, SeqTrail[] | null>): void {
    this.bulk.add(deliveries, count, how, queues, trails);
    this.bulk.scheduleOn(this.vhost.bulkWork);
  }

  private settleAll(how: 'return' | 'requeue' | 'release' | 'discard'): void {
    if (this.bulk.pending || this.outstanding.size > LEAVE_CHUNK) {
      this.settleAllInSlices(how);
      return;
    }
    const touched = new Set<Queue>();
    for (const d of this.outstanding.values()) {
      const q = this.settleOne(d, how);
      if (q) touched.add(q);
    }
    this.afterSettle(touched, how !== 'discard');
  }

  /** freed credit lets queues deliver again: to this session's consumers and, after a requeue, anyone's */
  private afterSettle(touched: Set<Queue>, requeued: boolean): void {
    // the sessions refused at the connection's cap take the freed slots first (fair turns, C1)
    if (!this.closed) this.connection.wake();
    if (requeued) for (const q of touched) q.afterRequeue();
    if (this.closed) return;
    for (const c of this.consumers.values()) {
      if (!touched.has(c.queue)) touched.add(c.queue);
    }
    for (const q of touched) if (!q.deleted) q.dispatch();
  }

  /**
   * afterSettle for one settled delivery (an ack, the usual case) without a set of touched
   * queues per ack: the same queues, in the same order, when the session has at most one
   * consumer (an MQTT client, a typical AMQP channel); a set otherwise.
   */
  private afterSettleOne(q: Queue | null, requeued: boolean): void {
    if (this.consumers.size > 1) {
      const touched = new Set<Queue>();
      if (q) touched.add(q);
      this.afterSettle(touched, requeued);
      return;
    }
    if (!this.closed) this.connection.wake();
    if (requeued && q) q.afterRequeue();
    if (this.closed) return;
    let own: Queue | undefined;
    for (const c of this.consumers.values()) own = c.queue;
    if (q && !q.deleted) q.dispatch();
    if (own && own !== q && !own.deleted) own.dispatch();
  }

  /**
   * after a slice of a bulk settle: as afterSettle; a queue still waiting for returns delivers what is
   * now ahead of all of them (Queue.dispatch), to any consumer, this session closed or not
   */
  private afterSlice(touched: Set<Queue>): void {
    if (!this.closed) {
      this.connection.wake();
      for (const c of this.consumers.values()) touched.add(c.queue);
    }
    for (const q of touched) if (!q.deleted) q.dispatch();
  }

  /** a paused client resumes, or its socket drained: let its queues deliver again */
  resume(): void {
    const queues = new Set<Queue>();
    for (const c of this.consumers.values()) queues.add(c.queue);
    for (const q of queues) if (!q.deleted) q.dispatch();
  }

  /** channel closed: cancel consumers, requeue everything unacked */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ackTimer) clearTimeout(this.ackTimer);
    this.ackTimer = undefined;
    // the consumers go first, without their queues delivering yet: the unacked must be back (or on
    // their way, registered) before the next single active consumer takes over, or it would get
    // the ready messages behind them first (review-s12-1 F2; RabbitMQ's handle_ch_down erases the
    // channel's consumers and requeues its unacked in one go: the next active one gets them first)
    const queues = new Set<Queue>();
    for (const c of this.consumers.values()) {
      c.ended = true;
      c.queue.removeConsumer(c, false);
      queues.add(c.queue);
    }
    this.consumers.clear();
    // a million unacked go back in slices (settleAll): until they are, each queue delivers only
    // what is ahead of all of its own still coming (Queue.dispatch), as each RabbitMQ queue process
    // handles the channel's DOWN in one go
    this.settleAll('return');
    for (const q of queues) if (!q.deleted) q.dispatch();
    // the book is empty now (a consumer with none unacked stayed in it: held until the session went)
    this.bookConsumers.clear();
    // what it held no longer counts against its connection: the connection's other sessions may deliver again
    this.connection.leave(this);
    this.connection.wake();
    this.vhost.directReplyTo.sessionClosed(this);
    this.vhost.sessions.delete(this);
  }

  /**
   * does its book hold deliveries from `queue` (a consumer of it that takes with acks, or gets
   * with acks)? Only such a session's book is walked for what a QueueBrowser shows besides the
   * ready messages (QueueBrowse)
   */
  holdsFrom(queue: Queue): boolean {
    return this.gotFrom.has(queue) || this.hasBookConsumerOf(queue);
  }

  /**
   * its deliveries still waiting for a settle, walked as its book goes on changing (a Map's
   * iteration): a QueueBrowse's gathering (HeldWalk). The walk ends when the book is handed to a
   * bulk settle (settleAllInSlices): those deliveries are told to the queue's browses as they are
   * settled (gone, returned), and one walked on would be shown though acked (review-s13-3 B1).
   */
  *unackedDeliveries(): Generator<Delivery, void, undefined> {
    const book = this.outstanding;
    for (const d of book.values()) {
      if (this.outstanding !== book) return;
      yield d;
    }
  }

  /**
   * a lower bound of the seqs of its deliveries from `queue` not walked yet (HeldWalk): by its
   * consumers' trails, from the last one walked of each (`walked`: its tag and seq) on, or all of
   * them; -Infinity when it holds basic.gets from there (their order is not kept) or a trail
   * overflowed
   */
  heldFloor(queue: Queue, walked: ReadonlyMap<Consumer, { tag: number; seq: number }> | undefined): number {
    if (this.gotFrom.has(queue)) return -Infinity;
    let floor = Infinity;
    for (const c of this.bookConsumers) {
      if (c.queue !== queue || c.trail === undefined) continue;
      const at = walked?.get(c);
      const f = c.trail.floorFrom(at?.tag ?? 0, at?.seq);
      if (f < floor) floor = f;
    }
    return floor;
  }

  private hasBookConsumerOf(queue: Queue): boolean {
    for (const c of this.bookConsumers) if (c.queue === queue) return true;
    return false;
  }
}
