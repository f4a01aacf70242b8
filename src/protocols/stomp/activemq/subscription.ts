import type { Consumer, Delivery } from '../../../core/consumer.js';
import { isPersistent, type Message } from '../../../core/message.js';
import type { Queue } from '../../../core/queues/queue.js';
import type { Session } from '../../../core/session.js';
import type { VHost } from '../../../core/vhost.js';
import type { StompHeader, StompSerializeOptions, StompVersion } from '../codec/index.js';
import { SubscriptionBase, type AckMode } from '../subscription.js';
import { DLQ_NAME, formatAmqDestination } from './destination.js';
import { nextAckId } from './ids.js';
import { appendAmqHeaders, isTextMessage } from './properties.js';

/** what an ActiveMQ-dialect subscription needs from its connection */
export interface AmqSubscriptionHost {
  readonly version: StompVersion;
  readonly writable: boolean;
  readonly vhostModel: VHost;
  sendFrame(command: string, headers: StompHeader[], body?: Buffer, options?: StompSerializeOptions): void;
  subscriptionCancelledByBroker(sub: ActiveMqSubscription): void;
  /** a 1.2 `ack` id handed out, so ACK/NACK `id:` finds its way back */
  ackIssued(ackId: string, sub: ActiveMqSubscription, deliveryTag: number): void;
  ackSettled(ackId: string): void;
}

interface Outstanding {
  messageId: string;
  ackId: string | undefined;
  message: Message;
  destination: string;
}

const TEXT_FRAME: StompSerializeOptions = { omitContentLength: true };
const BYTES_FRAME: StompSerializeOptions = {};

/**
 * One STOMP subscription in the ActiveMQ dialect, on its own core Session: one consumer
 * for a plain queue or a topic, or one per matching queue for a wildcard queue
 * subscription (`/queue/a.>`), which grows as matching queues are declared. Tracks the
 * unacknowledged deliveries by ActiveMQ message-id (1.0/1.1 ACK) and ack id (1.2), and
 * settles a NACK the way ActiveMQ does: a persistent message to ActiveMQ.DLQ, a
 * non-persistent one dropped.
 */
export class ActiveMqSubscription extends SubscriptionBase<AmqSubscriptionHost> {
  /** consumer tag per consumed queue */
  private readonly consumers = new Map<string, string>();
  private readonly outstanding = new Map<number, Outstanding>();
  private readonly byMessageId = new Map<string, number>();

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
  }

  /** start reading `queueName` (once per queue) */
  consumeQueue(queueName: string): void {
    if (this.closed || this.consumers.has(queueName)) return;
    const tag = this.wildcard ? `${this.tag}/${queueName}` : this.tag;
    this.consumers.set(queueName, tag);
    this.session.consume(queueName, { tag, noAck: this.ackMode === 'auto', exclusive: false, priority: 0, arguments: {} }, this);
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
      this.outstanding.set(d.tag, { messageId, ackId, message: m, destination });
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
    if (!this.outstanding.has(deliveryTag)) return;
    if (this.ackMode === 'client') {
      for (const tag of [...this.outstanding.keys()]) {
        if (tag > deliveryTag) continue;
        this.forget(tag);
      }
      this.session.ack(deliveryTag, true);
    } else {
      this.forget(deliveryTag);
      this.session.ack(deliveryTag, false);
    }
  }

  /**
   * NACK, one message in every ack mode (ActiveMQ 5.17 measured): persistent → a copy on
   * ActiveMQ.DLQ keeping its message-id, with `original-destination` and
   * `originalExpiration`, no expiry; non-persistent → dropped.
   */
  nack(deliveryTag: number): void {
    const o = this.outstanding.get(deliveryTag);
    if (!o) return;
    this.forget(deliveryTag);
    if (isPersistent(o.message)) this.deadLetter(o);
    this.session.ack(deliveryTag, false);
  }

  private deadLetter(o: Outstanding): void {
    const vhost = this.host.vhostModel;
    vhost.declareQueue(DLQ_NAME, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
    const p = o.message.properties;
    const originalExpiration = p.expiration !== undefined ? String(o.message.publishedAt + Number(p.expiration)) : '0';
    const properties = { ...p, messageId: o.messageId, headers: { ...p.headers, 'original-destination': o.destination, originalExpiration } };
    delete properties.expiration;
    vhost.publish('', DLQ_NAME, { exchange: '', routingKey: DLQ_NAME, properties, body: o.message.body, publishedAt: o.message.publishedAt });
  }

  private forget(tag: number): void {
    const o = this.outstanding.get(tag);
    if (!o) return;
    this.outstanding.delete(tag);
    if (this.byMessageId.get(o.messageId) === tag) this.byMessageId.delete(o.messageId);
    if (o.ackId !== undefined) this.host.ackSettled(o.ackId);
  }

  /** a queue just declared: a wildcard subscription takes it on if it matches */
  queueDeclared(q: Queue): void {
    this.consumeQueue(q.name);
  }

  /** cancel every consumer and requeue what is unacked, flagged redelivered (no limit, no DLQ) */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const o of this.outstanding.values()) if (o.ackId !== undefined) this.host.ackSettled(o.ackId);
    this.outstanding.clear();
    this.byMessageId.clear();
    this.session.close();
  }
}
