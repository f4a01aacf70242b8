import { randomBytes } from 'node:crypto';
import { TOPIC_EXCHANGE, isWildcardName, topicBindingKey, wildcardQueueTakes } from '../../core/activemq-names.js';
import { durableSubscriptionTexts, openDurableSubscription } from '../../core/durable-subscriptions.js';
import type { Consumer, ConsumerSink, Delivery } from '../../core/consumer.js';
import type { Message } from '../../core/message.js';
import type { QueueEntry } from '../../core/queues/entry.js';
import type { Queue } from '../../core/queues/queue.js';
import { BrowseInSlices } from './browse.js';
import { BrowseWindow } from './browse-window.js';
import type { Session } from '../../core/session.js';
import type { VHost } from '../../core/vhost.js';
import type { OwStruct, OwThrowable } from './codec/marshal.js';
import { AckType, T } from './codec/types.js';
import { destinationStruct, type OwDestination } from './destination.js';
import { nativeOf, toOpenWire } from './message-map.js';
import { OutstandingList } from './outstanding.js';
import { InvalidSelectorError, Selector } from '../../core/selector/index.js';
import { invalidSelector, jmsError } from './errors.js';
import { timerDelay } from '../../core/timers.js';

/** what a consumer needs from its connection */
export interface OwConsumerHost {
  readonly vhostModel: VHost;
  readonly owner: object;
  readonly connectionId: string;
  readonly writable: boolean;
  /** not writable until the socket drains: it holds more than its own high water mark, its 'drain' will come (resume()) */
  readonly drainPending: boolean;
  /** the connection is closing or closed: nothing more is sent */
  readonly closed: boolean;
  send(s: OwStruct): void;
  isTemporary(d: OwDestination): boolean;
  /** a refused message for good: ActiveMQ.DLQ with its cause */
  deadLetter(message: Message, origin: OwDestination, cause: string, expired?: boolean): void;
  check(permission: 'configure' | 'write' | 'read', kind: 'queue' | 'exchange', name: string): void;
  ensureQueue(name: string): void;
  /** the arguments of an ActiveMQ destination's queue */
  queueArguments(): Record<string, boolean | number>;
  /** call `listener` for each queue declared from now on; returns the way to stop */
  watchQueues(listener: (q: Queue) => void): () => void;
}

/**
 * One JMS MessageConsumer on its own core Session: a queue consumer reads the queue(s)
 * named; a topic consumer reads a queue of its own bound to amq.topic (a durable one,
 * kept while the subscriber is away, for a durable subscription). The prefetch window is
 * the core's per-consumer prefetch, widened by "delivered" acks as ActiveMQ does; a
 * prefetch of 0 delivers only against MessagePull.
 */
export class OwConsumer implements ConsumerSink {
  private readonly outstanding = new OutstandingList();
  private readonly coreConsumers: Consumer[] = [];
  private readonly tag: string;
  private ownedQueue: string | undefined;
  private extension = 0;
  private pullCredit = 0;
  private pullTimer: NodeJS.Timeout | undefined;
  private closed = false;
  /** a wildcard queue consumer: stops watching for new queues */
  private unwatch: (() => void) | undefined;
  /** queues read so far (a wildcard consumer adds the ones declared later) */
  private readonly queuesRead = new Set<string>();
  readonly prefetchSize: number;
  /** the JMS selector (checked by the core: a queue consumer's, or its topic queue's) */
  private readonly selector: Selector | undefined;
  /**
   * a QueueBrowser's answer in slices and its prefetch window (browse()); `ended` once its end
   * marker went, `noWaitPulls` (prefetch 0) how many of the window's pulls asked not to wait
   */
  private browsing: { task: BrowseInSlices<OwStruct>; window: BrowseWindow; ended: boolean; noWaitPulls: number } | undefined;

  constructor(
    private readonly host: OwConsumerHost,
    readonly session: Session,
    readonly info: OwStruct,
    readonly destinations: OwDestination[],
  ) {
    this.prefetchSize = Math.max(0, (info['prefetchSize'] as number) ?? 0);
    this.tag = `openwire-${randomBytes(9).toString('base64url')}`;
    const text = (info['selector'] as string | null) ?? null;
    try {
      this.selector = text !== null && text.trim() !== '' ? new Selector(text) : undefined;
    } catch (err) {
      if (err instanceof InvalidSelectorError) throw invalidSelector(err.message);
      throw err;
    }
  }

  get consumerId(): OwStruct {
    return this.info['consumerId'] as OwStruct;
  }

  get subscriptionName(): string | null {
    return (this.info['subscriptionName'] as string | null) ?? null;
  }

  /** start consuming (throws what the core refuses) */
  start(clientId: string | null): void {
    const kind = this.destinations[0]!.kind;
    const exclusive = this.info['exclusive'] === true;
    const priority = (this.info['priority'] as number) ?? 0;
    this.session.consumerPrefetch = this.prefetchSize;
    const consume = (queue: string, exclusiveUse: boolean) => {
      const selector = kind === 'queue' ? this.selector : undefined;
      const c = this.session.consume(queue, { tag: `${this.tag}/${queue}`, noAck: false, exclusive: exclusiveUse, priority, arguments: {}, ...(selector ? { selector } : {}) }, this);
      this.coreConsumers.push(c);
      this.queuesRead.add(queue);
    };
    if (kind === 'queue') {
      const patterns: string[] = [];
      for (const d of this.destinations) {
        if (!d.temporary && isWildcardName(d.name)) {
          patterns.push(d.name);
          continue;
        }
        if (!d.temporary) this.host.ensureQueue(d.name);
        this.host.check('read', 'queue', d.name);
        consume(d.name, exclusive);
      }
      if (patterns.length) {
        // ActiveMQ's wildcard queue consumer: every queue that matches, now and declared later
        // (those this user may read)
        const take = (q: Queue) => {
          if (this.closed || this.queuesRead.has(q.name) || !patterns.some((p) => wildcardQueueTakes(p, q))) return;
          try {
            this.host.check('read', 'queue', q.name);
          } catch {
            return;
          }
          consume(q.name, exclusive);
          this.session.resume();
        };
        for (const q of [...this.host.vhostModel.queues.values()]) take(q);
        this.unwatch = this.host.watchQueues(take);
      }
      return;
    }
    const vhost = this.host.vhostModel;
    this.host.check('read', 'exchange', TOPIC_EXCHANGE);
    const sub = this.subscriptionName;
    if (sub !== null && clientId !== null) {
      // a durable subscription: its queue outlives the subscriber (and, persistent messages, a restart)
      const topics = this.destinations.map((d) => d.name);
      const name = openDurableSubscription(vhost, { clientId, name: sub, topics, selector: this.selector?.text ?? '', arguments: this.host.queueArguments() });
      if (name === undefined) throw jmsError(durableSubscriptionTexts.consumeInUse(clientId, sub));
      consume(name, true);
      return;
    }
    const name = `activemq-subscription-${randomBytes(12).toString('base64url')}`;
    const args = { ...this.host.queueArguments(), ...(this.selector ? { 'x-selector': this.selector.text } : {}) };
    vhost.declareQueue(name, { passive: false, durable: false, exclusive: true, autoDelete: true, arguments: args }, this.host.owner);
    this.ownedQueue = name;
    for (const d of this.destinations) vhost.bindQueue(name, TOPIC_EXCHANGE, topicBindingKey(d.name), {}, this.host.owner);
    consume(name, false);
  }

  /**
   * a QueueBrowser: what the queue holds, then the end-of-browse marker (an empty dispatch),
   * sent a slice at a time on the broker's bulk work (BrowseInSlices: a browse of a million
   * held the event loop for the whole of it); access is checked now, for every queue. Sent as
   * the socket takes it, within the browser's prefetch (BrowseWindow), until the browser is
   * closed (close(): its RemoveInfo).
   */
  browse(): void {
    const queues: Queue[] = [];
    const destinations = new Map<Queue, OwStruct>();
    for (const d of this.destinations) {
      const q = this.host.vhostModel.getQueue(d.name);
      if (!q) continue;
      this.host.check('read', 'queue', d.name);
      queues.push(q);
      destinations.set(q, destinationStruct(d));
    }
    const make = (q: Queue, e: QueueEntry, delivered: boolean): OwStruct | null => {
      // one delivered to a consumer shows its redeliveries before that delivery (ActiveMQ 5.17: a browsed message a consumer holds is not JMSRedelivered)
      const redeliveries = Math.max(0, delivered ? e.deliveryCount - 1 : e.deliveryCount);
      if (this.selector && !this.selector.matches(e.message, redeliveries)) return null;
      const dest = destinations.get(q)!;
      return { type: T.MessageDispatch, consumerId: this.consumerId, destination: dest, message: toOpenWire(e.message, dest, e.id, redeliveries, (x) => this.host.isTemporary(x)), redeliveryCounter: redeliveries };
    };
    const window = new BrowseWindow(this.prefetchSize);
    const host = this.host;
    const task = new BrowseInSlices(host.vhostModel.bulkWork, queues, {
      make,
      send: (m) => {
        window.sent();
        if (this.browsing!.noWaitPulls > 0) this.browsing!.noWaitPulls--;
        host.send(m);
      },
      end: () => {
        window.sent();
        this.browsing!.ended = true;
        this.sendEmptyDispatch();
        // ActiveMQ 5.17: a no-wait pull answered by the end marker is also told it got no message (pull 6 of 5: two empty dispatches)
        if (this.browsing!.noWaitPulls > 0) {
          this.browsing!.noWaitPulls--;
          this.sendEmptyDispatch();
        }
      },
      stopped: () => this.closed || host.closed,
      open: () => host.writable && window.open,
      room: () => window.room,
      resumes: () => !window.open || host.drainPending,
    });
    this.browsing = { task, window, ended: false, noWaitPulls: 0 };
    task.start();
  }

  // ---- ConsumerSink -----------------------------------------------------------------

  isWritable(): boolean {
    if (this.closed || !this.host.writable) return false;
    return this.prefetchSize > 0 || this.pullCredit > 0;
  }

  deliver(d: Delivery): void {
    const m = d.message;
    if (this.prefetchSize === 0 && this.pullCredit > 0) {
      this.pullCredit--;
      if (this.pullCredit === 0) this.clearPullTimer();
    }
    const dest = this.deliveryDestination(m, d.queue);
    if (this.info['noLocal'] === true && dest.kind === 'topic' && nativeOf(m)?.connectionId === this.host.connectionId) {
      // a noLocal subscriber never sees its own connection's messages
      this.session.ack(d.tag, false);
      return;
    }
    const destStruct = destinationStruct(dest);
    const redeliveryCounter = d.entry.deliveryCount - 1;
    const message = toOpenWire(m, destStruct, d.entry.id, redeliveryCounter, (x) => this.host.isTemporary(x));
    // Queue.assignGroup: the first message of a group this consumer now owns
    if (d.groupFirst) message['jmsxGroupFirstForConsumer'] = true;
    const id = message['messageId'] as OwStruct;
    // kept in delivery (tag) order: a redelivered id moves to the end
    if (d.entry.deliveryCount > 1) this.outstanding.removeId(id);
    this.outstanding.push({ tag: d.tag, id, brokerSeq: d.entry.id, message: m, dest });
    this.host.send({ type: T.MessageDispatch, consumerId: this.consumerId, destination: destStruct, message, redeliveryCounter });
  }

  cancelledByBroker(_c: Consumer): void {
    // the queue was deleted (a temporary queue removed, a purge by the management API):
    // the client keeps its consumer, as ActiveMQ's does
  }

  private deliveryDestination(m: Message, queue: Queue | null): OwDestination {
    if (m.exchange === TOPIC_EXCHANGE && this.destinations[0]!.kind === 'topic') {
      const d: OwDestination = { kind: 'topic', temporary: false, name: m.routingKey };
      if (this.host.isTemporary(d)) d.temporary = true;
      return d;
    }
    const d: OwDestination = { kind: 'queue', temporary: false, name: queue?.name ?? m.routingKey };
    if (this.host.isTemporary(d)) d.temporary = true;
    return d;
  }

  // ---- acks -------------------------------------------------------------------------

  /** a MessageAck for this consumer; `defer` (transacted) postpones what settles messages until commit */
  ack(ack: OwStruct, defer?: (apply: () => void) => void): void {
    const type = ack['ackType'] as number;
    const count = (ack['messageCount'] as number) ?? 1;
    if (this.browsing) {
      // a browser's acks settle nothing (ActiveMQ's QueueBrowserSubscription), they open its window
      if (this.browsing.window.acked(type, count)) this.browsing.task.resume();
      return;
    }
    const last = this.outstanding.find(ack['lastMessageId'] as OwStruct | null);
    switch (type) {
      case AckType.Delivered:
        // delivered, not yet acknowledged (a transaction, or a slow consumer): the window widens
        this.widen(count);
        return;
      case AckType.Redelivered:
        return;
      case AckType.Standard:
      case AckType.Individual: {
        this.widen(-count);
        if (!last) return;
        const apply = () => {
          if (type === AckType.Individual) {
            if (this.outstanding.take(last) && this.session.isOutstanding(last.tag)) this.session.ack(last.tag, false);
            return;
          }
          for (const o of this.outstanding.takeThrough(last)) {
            if (this.session.isOutstanding(o.tag)) this.session.ack(o.tag, false);
          }
        };
        if (defer) defer(apply);
        else apply();
        return;
      }
      case AckType.Poison:
      case AckType.Expired:
      case AckType.Unmatched: {
        this.widen(-count);
        if (!last) return;
        const first = this.outstanding.find(ack['firstMessageId'] as OwStruct | null);
        const from = first?.tag ?? last.tag;
        const cause = type === AckType.Poison ? describeCause(ack['poisonCause'] as OwThrowable | null) : undefined;
        const apply = () => {
          for (const o of this.outstanding.takeRange(from, last.tag)) {
            // ActiveMQ 5.17's cause for one its client found expired names the expiration
            const why = type === AckType.Expired ? `java.lang.Throwable: Message Expired. Expiration:${expirationOf(o.message)}` : cause;
            if (why !== undefined) this.host.deadLetter(o.message, o.dest, why, type === AckType.Expired);
            if (this.session.isOutstanding(o.tag)) this.session.ack(o.tag, false);
          }
        };
        if (defer) defer(apply);
        else apply();
        return;
      }
    }
  }

  private widen(n: number): void {
    if (this.prefetchSize === 0) return;
    const next = Math.max(0, this.extension + n);
    if (next === this.extension) return;
    this.extension = next;
    for (const c of this.coreConsumers) c.prefetch = this.prefetchSize + this.extension;
    if (n > 0) this.session.resume();
  }

  // ---- pull (prefetch 0) ------------------------------------------------------------

  /** MessagePull: one message now, or (timeout -1) nothing now, or nothing once `timeout` ms pass */
  pull(timeout: number): void {
    if (this.prefetchSize > 0 || this.closed) return;
    if (this.browsing) return this.pullBrowsed(timeout);
    this.pullCredit = 1;
    this.session.resume();
    if (this.pullCredit === 0) return;
    if (timeout < 0) {
      this.pullCredit = 0;
      this.sendEmptyDispatch();
    } else if (timeout > 0) {
      this.clearPullTimer();
      this.pullTimer = setTimeout(() => {
        this.pullTimer = undefined;
        if (this.closed || this.pullCredit === 0) return;
        this.pullCredit = 0;
        this.sendEmptyDispatch();
      }, timerDelay(timeout));
    }
  }

  /**
   * a prefetch-0 browser's MessagePull (the ActiveMQ JMS client pulls with timeout -1 as its
   * enumeration waits, then waits up to 2 s): one more dispatch from the browse, sent as the
   * browse gets to it on the bulk work. An empty dispatch would end the client's enumeration, so
   * a no-wait pull is not answered "nothing" while the browse still runs (ActiveMQ answers from
   * what it has paged in); once the end marker went, as ActiveMQ 5.17 answers a raw browser: a
   * no-wait pull gets an empty dispatch at once, a timed one when its time is up, a waiting one
   * (timeout 0) nothing.
   */
  private pullBrowsed(timeout: number): void {
    const b = this.browsing!;
    if (!b.ended) {
      b.window.pulled();
      if (timeout < 0) b.noWaitPulls++;
      b.task.resume();
      return;
    }
    if (timeout < 0) this.sendEmptyDispatch();
    else if (timeout > 0) {
      this.clearPullTimer();
      this.pullTimer = setTimeout(() => {
        this.pullTimer = undefined;
        if (!this.closed) this.sendEmptyDispatch();
      }, timerDelay(timeout));
    }
  }

  private clearPullTimer(): void {
    if (this.pullTimer) clearTimeout(this.pullTimer);
    this.pullTimer = undefined;
  }

  private sendEmptyDispatch(): void {
    this.host.send({ type: T.MessageDispatch, consumerId: this.consumerId, destination: destinationStruct(this.destinations[0]!), message: null, redeliveryCounter: 0 });
  }

  /**
   * As ActiveMQ 5.17's Queue.removeSubscription: of the consumer's unacked messages (in delivery
   * order) those up to the one whose broker sequence id its RemoveInfo names as the last it
   * delivered to the application count as delivered (flagged redelivered, their redelivery
   * counter up: session.close returns them); the ones after it sat in its prefetch and go back
   * as if never delivered; when it names none of them (nothing delivered: -1) none counts, when
   * it does not know (-2) all do. ActiveMQ 5.17, a client-ack consumer (prefetch 1000) receives
   * 3 of 10 and closes: the next consumer gets m0-m2 redelivered (JMSXDeliveryCount 2), m3-m9 not.
   */
  private returnUnseen(lastDelivered: number): void {
    if (lastDelivered === LAST_DELIVERED_UNKNOWN) return;
    for (const o of this.outstanding.after(lastDelivered)) if (this.session.isOutstanding(o.tag)) this.session.returnUnseen(o.tag);
  }

  /** socket drained: deliver again (a browse waiting for it goes on) */
  resume(): void {
    if (this.closed) return;
    this.session.resume();
    this.browsing?.task.resume();
  }

  /**
   * unacked messages go back to their queue, flagged redelivered; a private topic queue goes.
   * `lastDeliveredSequenceId` (the consumer's RemoveInfo; none when its connection just went):
   * what the client never handed to its application is not (returnUnseen).
   */
  close(lastDeliveredSequenceId?: number): void {
    if (this.closed) return;
    this.closed = true;
    this.browsing?.task.stop();
    this.unwatch?.();
    this.clearPullTimer();
    if (lastDeliveredSequenceId !== undefined) this.returnUnseen(lastDeliveredSequenceId);
    this.outstanding.clear();
    this.session.close();
    if (this.ownedQueue !== undefined) this.host.vhostModel.deleteQueue(this.ownedQueue, false, false, this.host.owner);
  }
}

/** RemoveInfo.lastDeliveredSequenceId: the client does not know what it delivered (ActiveMQ's LAST_DELIVERED_UNKNOWN) */
const LAST_DELIVERED_UNKNOWN = -2;

/** a message's JMSExpiration (ms since the epoch; 0: none): the producer's when it came over OpenWire */
function expirationOf(m: Message): number {
  const native = nativeOf(m);
  if (native) return (native.struct['expiration'] as number | undefined) ?? 0;
  const ttl = m.properties.expiration;
  return ttl !== undefined ? m.publishedAt + Number(ttl) : 0;
}

function describeCause(t: OwThrowable | null): string {
  if (!t) return 'poison ack';
  return t.message ? `${t.className ?? 'java.lang.Throwable'}: ${t.message}` : (t.className ?? 'poison ack');
}
