import type { Consumer, ConsumerSink, Delivery } from '../../core/consumer.js';
import type { Session } from '../../core/session.js';
import type { StompHeader, StompVersion } from './codec/index.js';
import { formatDestination } from './destination.js';
import { appendPropertyHeaders } from './properties.js';

export type AckMode = 'auto' | 'client' | 'client-individual';

/** what a subscription needs from its connection */
export interface SubscriptionHost {
  readonly version: StompVersion;
  readonly sessionId: string;
  sendFrame(command: string, headers: StompHeader[], body?: Buffer): void;
  /** a delivery's MESSAGE frame (the connection may hold it until the read it came from is answered) */
  sendMessage(sub: StompSubscription, headers: StompHeader[], body: Buffer): void;
  readonly writable: boolean;
  subscriptionCancelledByBroker(sub: StompSubscription): void;
}

/** separates consumer tag, session and delivery tag in a message-id (RabbitMQ's "@@") */
export const MESSAGE_ID_SEPARATOR = '@@';

/**
 * What every STOMP subscription shares, whichever dialect made it: its identity, its
 * own core Session (so closing it requeues exactly its unacked messages) and the
 * writability its consumers are paced by.
 */
export abstract class SubscriptionBase<Host extends { readonly writable: boolean }> implements ConsumerSink {
  /** `T_<id>` for a subscription with an id, `Q_<destination>` without (RabbitMQ's consumer tags) */
  readonly tag: string;
  protected closed = false;

  constructor(
    protected readonly host: Host,
    readonly session: Session,
    /** the `id` header; undefined for a 1.0 subscription by destination only */
    readonly id: string | undefined,
    /** the destination header as the client sent it */
    readonly destination: string,
    readonly ackMode: AckMode,
    /** the queue consumed (a wildcard subscription: its pattern) */
    readonly queue: string,
    /** a server-named queue this subscription declared (deleted with it when not durable) */
    readonly ownsQueue: boolean,
  ) {
    this.tag = subscriptionTag(id, destination);
  }

  /** how the brokers name a subscription in error texts */
  get description(): string {
    return this.id !== undefined ? `id='${this.id}'` : `destination='${this.destination}'`;
  }

  abstract deliver(d: Delivery): void;
  abstract cancelledByBroker(consumer: Consumer): void;

  isWritable(): boolean {
    return !this.closed && this.host.writable;
  }

  resume(): void {
    if (!this.closed) this.session.resume();
  }
}

/**
 * One STOMP subscription in RabbitMQ's dialect: a core consumer on its own Session, so
 * `ack:client` (cumulative) maps onto the session's `multiple` acks without touching
 * other subscriptions. Writes each delivery as a MESSAGE frame.
 */
export class StompSubscription extends SubscriptionBase<SubscriptionHost> {
  private readonly messageIdPrefix: string;

  constructor(host: SubscriptionHost, session: Session, id: string | undefined, destination: string, ackMode: AckMode, queue: string, ownsQueue: boolean) {
    super(host, session, id, destination, ackMode, queue, ownsQueue);
    this.messageIdPrefix = `${this.tag}${MESSAGE_ID_SEPARATOR}${host.sessionId}${MESSAGE_ID_SEPARATOR}`;
  }

  deliver(d: Delivery): void {
    const m = d.message;
    const messageId = this.messageIdPrefix + d.tag;
    const headers: StompHeader[] = [];
    if (this.id !== undefined) headers.push(['subscription', this.id]);
    headers.push(['destination', formatDestination(m.exchange, m.routingKey)], ['message-id', messageId], ['redelivered', d.redelivered ? 'true' : 'false']);
    if (this.ackMode !== 'auto' && this.host.version === '1.2') headers.push(['ack', messageId]);
    appendPropertyHeaders(headers, m.properties);
    this.host.sendMessage(this, headers, m.body);
  }

  cancelledByBroker(_consumer: Consumer): void {
    if (this.closed) return;
    this.host.subscriptionCancelledByBroker(this);
  }

  ack(deliveryTag: number): void {
    this.session.ack(deliveryTag, this.ackMode === 'client');
  }

  nack(deliveryTag: number, requeue: boolean): void {
    this.session.nack(deliveryTag, this.ackMode === 'client', requeue);
  }

  /** cancel the consumer and requeue every unacked message, flagged redelivered */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.session.close();
  }
}

export function subscriptionTag(id: string | undefined, destination: string): string {
  return id !== undefined ? `T_${id}` : `Q_${destination}`;
}

/**
 * Reads `<consumer tag>@@<session>@@<delivery tag>` from the right, so a
 * subscription id that itself holds "@@" still parses.
 */
export function parseMessageId(id: string): { tag: string; deliveryTag: number } | undefined {
  const last = id.lastIndexOf(MESSAGE_ID_SEPARATOR);
  if (last <= 0) return undefined;
  const middle = id.lastIndexOf(MESSAGE_ID_SEPARATOR, last - 1);
  if (middle < 0) return undefined;
  const digits = id.slice(last + MESSAGE_ID_SEPARATOR.length);
  if (!/^\d+$/.test(digits)) return undefined;
  return { tag: id.slice(0, middle), deliveryTag: Number(digits) };
}
