import type { Consumer, Delivery } from '../../../core/consumer.js';
import type { Queue } from '../../../core/queues/queue.js';
import type { Selector } from '../../../core/selector/index.js';
import type { Session } from '../../../core/session.js';
import type { StompHeader, StompSerializeOptions, StompVersion } from '../codec/index.js';
import { SubscriptionBase, type AckMode } from '../subscription.js';
import { formatAmqDestination } from './destination.js';
import { nextAckId } from './ids.js';
import { appendAmqHeaders, isTextMessage } from './properties.js';

/** what an ActiveMQ-dialect subscription needs from its connection */
export interface AmqSubscriptionHost {
  readonly version: StompVersion;
  readonly writable: boolean;
  sendFrame(command: string, headers: StompHeader[], body?: Buffer, options?: StompSerializeOptions): void;
  subscriptionCancelledByBroker(sub: ActiveMqSubscription): void;
  /** a 1.2 `ack` id handed out, so ACK/NACK `id:` finds its way back */
  ackIssued(ackId: string, sub: ActiveMqSubscription, deliveryTag: number): void;
  ackSettled(ackId: string): void;
  /** the subscription closed with these ack ids unacknowledged: ActiveMQ still answers them (StaleAckIds) */
  acksStale(ackIds: readonly string[], cumulative: boolean): void;
}

/** the ids an unacknowledged delivery was given, to find it by and to forget with it */
interface DeliveryIds {
  messageId: string;
  ackId: string | undefined;
}

const TEXT_FRAME: StompSerializeOptions = { omitContentLength: true };
const BYTES_FRAME: StompSerializeOptions = {};

/**
 * One STOMP subscription in the ActiveMQ dialect, on its own core Session: one consumer
 * for a plain queue or a topic, or one per matching queue for a wildcard queue
 * subscription (`/queue/a.>`), which grows as matching queues are declared. Finds the
 * unacknowledged deliveries by ActiveMQ message-id (1.0/1.1 ACK) and ack id (1.2); the
 * Session keeps them and settles them, and a NACK goes to the core's dead-letterer
 * (ActiveMQ's strategy: ActiveMQ.DLQ).
 */
export class ActiveMqSubscription extends SubscriptionBase<AmqSubscriptionHost> {
  /** consumer tag per consumed queue */
  private readonly consumers = new Map<string, string>();
  /** delivery tag → its ids, while the Session holds the delivery unacknowledged */
  private readonly ids = new Map<number, DeliveryIds>();
  private readonly byMessageId = new Map<string, number>();
  /** the `selector` header: the core's JMS selector, as OpenWire consumers use it */
  selector: Selector | undefined;
  /** activemq.prefetchSize 0: ActiveMQ 5.17 registers the consumer and never dispatches to it (a STOMP client cannot pull) */
  pushesNothing = false;
  /**
   * a durable topic subscription's: what it holds unacked goes back uncounted when it closes (ActiveMQ 5.17,
   * measured: after a socket close, an UNSUBSCRIBE by id or a DISCONNECT they come back without `redelivered`;
   * a queue subscription's come back flagged). ActiveMQ's STOMP converter names no last delivered message in
   * its RemoveInfo, and its durable subscription counts only what came before that one.
   */
  returnsUncounted = false;

  constructor(
    host: AmqSubscriptionHost,
    session: Session,
    id: string | undefined,
    destination: string,
    ackMode: AckMode,
    /** the queue consumed, or the wildcard pattern for a wildcard queue subscription */
    queue: string,
    /** the server-named queue of a topic subscription, deleted with it */
    ownsQueue: boolean,
    private readonly wildcard: boolean,
  ) {
    super(host, session, id, destination, ackMode, queue, ownsQueue);
    session.onSettled = (d) => this.forget(d.tag);
  }

  override isWritable(): boolean {
    return !this.pushesNothing && super.isWritable();
  }

  /** start reading `queueName` (once per queue) */
  consumeQueue(queueName: string): void {
    if (this.closed || this.consumers.has(queueName)) return;
    const tag = this.wildcard ? `${this.tag}/${queueName}` : this.tag;
    this.consumers.set(queueName, tag);
    // a topic subscription's own queue filters on entry (x-selector); a queue is filtered per consumer
    const selector = this.ownsQueue ? undefined : this.selector;
    this.session.consume(queueName, { tag, noAck: this.ackMode === 'auto', exclusive: false, priority: 0, arguments: {}, ...(selector ? { selector } : {}) }, this);
  }

  deliver(d: Delivery): void {
    const m = d.message;
    const messageId = m.properties.messageId ?? `ID:${this.session.id}-${d.tag}`;
    const destination = formatAmqDestination(m.exchange, m.routingKey, d.queue?.name);
    const headers: StompHeader[] = [['destination', destination]];
    let ackId: string | undefined;
    if (this.ackMode !== 'auto') {
      if (this.host.version === '1.2') {
        ackId = nextAckId();
        headers.push(['ack', ackId]);
        this.host.ackIssued(ackId, this, d.tag);
      }
      this.ids.set(d.tag, { messageId, ackId });
      this.byMessageId.set(messageId, d.tag);
    }
    if (this.id !== undefined) headers.push(['subscription', this.id]);
    // ActiveMQ writes `redelivered` only when it is true
    if (d.redelivered) headers.push(['redelivered', 'true']);
    headers.push(['message-id', messageId]);
    appendAmqHeaders(headers, m);
    this.host.sendFrame('MESSAGE', headers, m.body, isTextMessage(m) && m.properties.headers?.['content-length'] === undefined ? TEXT_FRAME : BYTES_FRAME);
  }

  cancelledByBroker(consumer: Consumer): void {
    if (this.closed) return;
    // one of many queues going away leaves a wildcard subscription reading the others
    if (this.wildcard) {
      this.consumers.delete(consumer.queue.name);
      return;
    }
    this.host.subscriptionCancelledByBroker(this);
  }

  /** the delivery tag of an unacknowledged message, by its message-id */
  tagOfMessage(messageId: string): number | undefined {
    return this.byMessageId.get(messageId);
  }

  /** ACK: `ack:client` acknowledges everything up to this message, the other modes just it */
  ack(deliveryTag: number): void {
    if (!this.ids.has(deliveryTag)) return;
    this.session.ack(deliveryTag, this.ackMode === 'client');
  }

  /** NACK, one message in every ack mode (ActiveMQ 5.17 measured): to the dead-letterer, ActiveMQ's way */
  nack(deliveryTag: number): void {
    const ids = this.ids.get(deliveryTag);
    const d = this.session.delivery(deliveryTag);
    if (!ids || !d) return;
    const destination = formatAmqDestination(d.message.exchange, d.message.routingKey, d.queue?.name);
    this.session.deadLetter(deliveryTag, 'activemq', { destination, messageId: ids.messageId });
  }

  /** the Session settled a delivery: its ids go */
  private forget(tag: number): void {
    const o = this.ids.get(tag);
    if (!o) return;
    this.ids.delete(tag);
    if (this.byMessageId.get(o.messageId) === tag) this.byMessageId.delete(o.messageId);
    if (o.ackId !== undefined) this.host.ackSettled(o.ackId);
  }

  /** a queue just declared: a wildcard subscription takes it on if it matches */
  queueDeclared(q: Queue): void {
    this.consumeQueue(q.name);
  }

  /** cancel every consumer and requeue what is unacked, flagged redelivered (a durable subscription's: not; no limit, no DLQ) */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // the ack ids of what goes back leave the dialect's map now (more than a slice's worth go back in
    // slices, after the close), kept as stale ids ActiveMQ still answers; taken before anything goes
    // back (a settled delivery's ids are forgotten)
    const stale: string[] = [];
    for (const o of this.ids.values()) if (o.ackId !== undefined) stale.push(o.ackId);
    this.host.acksStale(stale, this.ackMode === 'client');
    if (this.returnsUncounted) for (const tag of this.ids.keys()) if (this.session.isOutstanding(tag)) this.session.returnUnseen(tag);
    this.session.close();
    this.ids.clear();
    this.byMessageId.clear();
  }
}
