import type { FieldTable, FieldValue } from './fields.js';
import { isPersistent, type Message } from './message.js';
import { deadLetteredNative } from './native-forms.js';
import type { DeadLetterReason, Queue } from './queues/queue.js';

import { DLQ_NAME as ACTIVEMQ_DLQ, TOPIC_EXCHANGE } from './activemq-names.js';

/** message ids the ActiveMQ DLQ audit remembers (ActiveMQMessageAudit: 2048 per producer, 64 producers) */
const DLQ_AUDIT_DEPTH = 2048 * 64;

/** when the message's TTL ends, ms since the epoch (0: it has none), as ActiveMQ's absolute JMSExpiration */
function absoluteExpiration(m: Message): number {
  const ttl = m.properties.expiration;
  return ttl !== undefined ? m.publishedAt + Number(ttl) : 0;
}

/** ActiveMQ's shared dead-letter queue (its default individualDeadLetterStrategy is off) */
export { ACTIVEMQ_DLQ };

/** whose dead-lettering a client's NACK follows: RabbitMQ's dead-letter exchange, or ActiveMQ's DLQ */
export type DeadLetterEngine = 'rabbitmq' | 'activemq';

/**
 * ActiveMQ's deadLetterStrategy of a destination (its broker configuration's policyEntry):
 * one shared DLQ (the default, ActiveMQ.DLQ), a DLQ per destination (prefix + name +
 * suffix), or none (discarding). Non-persistent messages are dead-lettered only with
 * processNonPersistent.
 */
export type ActiveMqDlqStrategy =
  | { kind: 'shared'; queue: string; processNonPersistent: boolean; processExpired?: boolean }
  | { kind: 'individual'; queuePrefix: string; topicPrefix: string; queueSuffix: string; topicSuffix: string; processNonPersistent: boolean; processExpired?: boolean }
  | { kind: 'discarding' };

/** what the dead-letterer needs of its vhost: routing, and (ActiveMQ) declaring the DLQ */
export interface DeadLetterTarget {
  hasExchange(name: string): boolean;
  publish(exchange: string, routingKey: string, message: Message): number;
  /** a durable, shared queue, declared if missing */
  ensureDurableQueue(name: string): void;
  /** the ActiveMQ dead-letter strategy configured for a destination; none: ActiveMQ's default */
  activeMqDeadLetterStrategy?(kind: 'queue' | 'topic', name: string): ActiveMqDlqStrategy | undefined;
}

/** the STOMP header naming where an ActiveMQ DLQ copy came from (`/queue/a`): ActiveMQ's originalDestination */
export const ORIGINAL_DESTINATION = 'original-destination';


/** where a NACKed message came from, as an ActiveMQ client saw it */
export interface DeadLetterOrigin {
  /** the destination the client consumed from, in the protocol's own form (STOMP `/queue/a`) */
  destination: string;
  /** the message-id the client was given (STOMP): the DLQ copy keeps it, with `originalExpiration` */
  messageId?: string;
  /** why, as ActiveMQ's `dlqDeliveryFailureCause` property (OpenWire: the poison ack's cause, or `expired`) */
  cause?: string;
  /** its client found it expired (a JMS expired ack): the DLQ strategy's processExpired applies */
  expired?: boolean;
  /** the copy in the adapter's own form too (OpenWire keeps its marshalled message, with the cause) */
  adapt?: (copy: Message) => Message;
}

/**
 * The one dead-letterer of a vhost (RabbitMQ's rabbit_dead_letter, LavinMQ's DeadLetterer),
 * called by queues (TTL, max-length, delivery limit, reject without requeue) and by every
 * adapter's NACK path. The strategy follows the engine:
 * - RabbitMQ: the queue's dead-letter exchange, with the `x-death` history;
 * - ActiveMQ: a persistent message goes to `ActiveMQ.DLQ` with `original-destination` and
 *   `originalExpiration` (a non-persistent one is dropped, ActiveMQ's processNonPersistent=false).
 */
export class DeadLetterer {
  /**
   * messages ActiveMQ.DLQ has a copy of: ActiveMQ's dead-letter strategy audits duplicates
   * (AbstractDeadLetterStrategy.isSendToDeadLetterQueue), so a message published to a topic that
   * expires in several subscriptions goes there once (ActiveMQ 5.17: one copy for two durable
   * subscribers, review-s15-2 Q4). Weak: the entry goes with the message.
   */
  private readonly inActiveMqDlq = new WeakSet<Message>();
  /** the message ids of the last DLQ_AUDIT_DEPTH messages ActiveMQ.DLQ got a copy of */
  private readonly auditedIds = new Set<string>();

  constructor(private readonly vhost: DeadLetterTarget) {}

  /**
   * RabbitMQ: messages a queue lets go of, to its dead-letter exchange if it has one. Returns,
   * per entry, whether some queue took the copy (at-least-once keeps those that none took).
   */
  fromQueue(queue: Queue, entries: readonly { readonly message: Message }[], reason: DeadLetterReason): boolean[] {
    if (queue.config.activemq) {
      // ActiveMQ: expired messages to ActiveMQ.DLQ (persistent ones); nothing else dead-letters here
      if (reason === 'expired') for (const e of entries) this.expiredFromActiveMq(queue.name, e.message);
      return entries.map(() => true);
    }
    const dlx = queue.config.deadLetterExchange;
    if (dlx === undefined && reason === 'expired') {
      // a message an ActiveMQ-side adapter found expired before it arrived: ActiveMQ dead-letters it at
      // the send, whichever queue (an MQTT subscriber's, a RabbitMQ client's) it was routed to
      for (const e of entries) if (e.message.expiredBeforeArrival !== undefined) this.expiredFromActiveMq(queue.name, e.message);
      return entries.map(() => false);
    }
    if (dlx === undefined || !this.vhost.hasExchange(dlx)) return entries.map(() => false); // RabbitMQ drops it when the DLX is missing
    const now = Date.now();
    return entries.map((e) => {
      const message = e.message;
      const copy = deadLetteredCopy(message, queue, reason, now);
      if (!isPersistent(message)) copy.properties.deliveryMode = message.properties.deliveryMode;
      try {
        return this.vhost.publish(dlx, copy.routingKey, copy) > 0;
      } catch {
        // an internal DLX or the like: the message is dropped, as RabbitMQ does
        return false;
      }
    });
  }

  /**
   * A client refused a message for good (NACK, reject without requeue). Returns how the
   * delivery is then settled: RabbitMQ discards it from its queue, which dead-letters it
   * through the queue's exchange (fromQueue, reason `rejected`); ActiveMQ puts a copy on
   * ActiveMQ.DLQ here and acknowledges the original.
   */
  rejected(engine: DeadLetterEngine, message: Message, origin: DeadLetterOrigin | undefined): 'discard' | 'ack' {
    if (engine === 'rabbitmq' || !origin) return 'discard';
    if (this.firstTimeInActiveMqDlq(message)) this.toActiveMqDlq(message, origin);
    return 'ack';
  }

  /**
   * A message an ActiveMQ-side adapter found expired before it arrived that no queue took (a topic
   * without subscribers, or none selecting it): ActiveMQ checks the expiry at the destination's send,
   * before any subscription, so it is dead-lettered all the same. ActiveMQ 5.17 asked
   * (/tmp/mends-s17/topic-nosub.mjs): a persistent SEND with `expires` 1 s past to a topic nobody
   * subscribes to: one copy on ActiveMQ.DLQ, original-destination the topic.
   */
  expiredUnrouted(m: Message): void {
    if (m.expiredBeforeArrival !== undefined) this.expiredFromActiveMq(m.routingKey, m);
  }

  /**
   * ActiveMQ (RegionBroker.messageExpired → sendToDeadLetterQueue, the default shared strategy
   * with processExpired on and processNonPersistent off): a message that expired on an ActiveMQ
   * destination (queue `queueName`, or its topic) goes to ActiveMQ.DLQ if persistent, with the
   * cause ActiveMQ writes; else dropped.
   */
  private expiredFromActiveMq(queueName: string, m: Message): void {
    if (!this.firstTimeInActiveMqDlq(m)) return;
    const expiration = m.expiredBeforeArrival ?? absoluteExpiration(m);
    // a topic's message expired in a subscription's queue: ActiveMQ names the topic (5.17: /topic/<t>, JMS topic://<t>)
    const destination = m.exchange === TOPIC_EXCHANGE ? `/topic/${m.routingKey}` : `/queue/${queueName}`;
    const cause = `java.lang.Throwable: Message Expired. Expiration:${expiration}`;
    // the copy in its adapter's own form, when it has one (OpenWire: typed properties, the timestamp's ms)
    const native = deadLetteredNative(m, cause);
    const { native: _adapterForm, ...plain } = m;
    this.toActiveMqDlq(plain, { destination, cause, ...(native ? { adapt: (copy: Message) => ({ ...copy, native }) } : {}) }, expiration);
  }

  /** true once per message: the duplicates ActiveMQ's DLQ audit drops */
  private firstTimeInActiveMqDlq(m: Message): boolean {
    // by message id: a message read back from the journal (a restart, a page) is an object per queue. ActiveMQ
    // audits its own MessageId; LocalMQ's ActiveMQ adapters give every message one (`ID:…`); another id (an
    // AMQP 1.0 sender's own) need not be unique, so such a message is audited as the object it is
    const id = m.properties.messageId;
    if (id !== undefined && id.startsWith('ID:')) {
      if (this.auditedIds.has(id)) return false;
      this.auditedIds.add(id);
      // the oldest goes (a Set keeps insertion order): bounded as ActiveMQ's audit is
      if (this.auditedIds.size > DLQ_AUDIT_DEPTH) this.auditedIds.delete(this.auditedIds.values().next().value as string);
      return true;
    }
    if (this.inActiveMqDlq.has(m)) return false;
    this.inActiveMqDlq.add(m);
    return true;
  }

  /**
   * ActiveMQ 5.17, measured: a persistent message → a copy on ActiveMQ.DLQ keeping its
   * message-id, with `original-destination` and `originalExpiration`, no expiry;
   * non-persistent → dropped.
   */
  private toActiveMqDlq(m: Message, origin: DeadLetterOrigin, expiredAt?: number): void {
    const dlq = this.activeMqDlqFor(origin.destination, isPersistent(m), expiredAt !== undefined || origin.expired === true);
    // refused on (or expired in) the DLQ itself: ActiveMQ 5.17 drops it rather than loop (RegionBroker.sendToDeadLetterQueue)
    if (dlq === undefined || origin.destination === `/queue/${dlq}`) return;
    this.vhost.ensureDurableQueue(dlq);
    const p = m.properties;
    const headers: FieldTable = { ...p.headers };
    if (origin.cause !== undefined) headers['dlqDeliveryFailureCause'] = origin.cause;
    // ActiveMQ 5.17: every copy keeps the expiration it had as originalExpiration, a Long (0 when none;
    // its JMS client on poisoned, NACKed and expired copies): a bigint, so every protocol writes a long
    const expiration = expiredAt ?? absoluteExpiration(m);
    headers['originalExpiration'] = BigInt(Number.isFinite(expiration) ? Math.trunc(expiration) : 0);
    const properties = { ...p, headers };
    if (origin.messageId !== undefined) properties.messageId = origin.messageId;
    delete properties.expiration;
    // ActiveMQ's originalDestination: a field of the message, not a property (STOMP shows it as a
    // header, JMS as getOriginalDestination, AMQP 1.0 not at all)
    const copy: Message = { exchange: '', routingKey: dlq, properties, body: m.body, publishedAt: m.publishedAt, originalDestination: origin.destination };
    this.vhost.publish('', dlq, origin.adapt ? origin.adapt(copy) : copy);
  }

  /** the DLQ a message refused on `destination` (`/queue/a`, `/topic/t`) goes to, or undefined when it is dropped */
  private activeMqDlqFor(destination: string, persistent: boolean, expired: boolean): string | undefined {
    const m = /^\/(queue|topic)\/(.*)$/.exec(destination);
    const strategy = m ? this.vhost.activeMqDeadLetterStrategy?.(m[1] as 'queue' | 'topic', m[2]!) : undefined;
    if (!strategy) return persistent ? ACTIVEMQ_DLQ : undefined;
    if (strategy.kind === 'discarding') return undefined;
    // processExpired="false": expired messages are dropped instead (AbstractDeadLetterStrategy.isSendToDeadLetterQueue)
    if (expired && strategy.processExpired === false) return undefined;
    if (!persistent && !strategy.processNonPersistent) return undefined;
    if (strategy.kind === 'shared') return strategy.queue;
    const topic = m![1] === 'topic';
    return `${topic ? strategy.topicPrefix : strategy.queuePrefix}${m![2]}${topic ? strategy.topicSuffix : strategy.queueSuffix}`;
  }
}

/** The routing keys a message was published with: its key plus sender-selected CC keys. */
function originalRoutingKeys(m: Message): string[] {
  const keys = [m.routingKey];
  const cc = m.properties.headers?.['CC'];
  if (Array.isArray(cc)) for (const k of cc) if (typeof k === 'string') keys.push(k);
  return keys;
}

/**
 * The message as it leaves `queue` for its dead-letter exchange, with the x-death history
 * RabbitMQ writes: the newest (queue, reason) entry first, counted up when the same pair
 * recurs; x-first-death-* set once and x-last-death-* each time; the per-message expiration
 * moved into the entry as original-expiration.
 */
export function deadLetteredCopy(m: Message, queue: Queue, reason: DeadLetterReason, now: number): Message {
  const headers: FieldTable = { ...(m.properties.headers ?? {}) };
  const previous = Array.isArray(headers['x-death']) ? (headers['x-death'] as FieldValue[]) : [];
  const routingKeys = originalRoutingKeys(m);
  const time = new Date(Math.floor(now / 1000) * 1000);
  let found: FieldTable | undefined;
  const rest: FieldValue[] = [];
  for (const e of previous) {
    const t = e as FieldTable;
    if (!found && t && typeof t === 'object' && t['queue'] === queue.name && t['reason'] === reason) found = t;
    else rest.push(e);
  }
  let entry: FieldTable;
  if (found) {
    const count = typeof found['count'] === 'number' ? found['count'] : Number(found['count'] ?? 0);
    entry = { ...found, count: count + 1, time };
  } else {
    entry = { count: 1, reason, queue: queue.name, time, exchange: m.exchange, 'routing-keys': routingKeys };
    if (m.properties.expiration !== undefined) entry['original-expiration'] = m.properties.expiration;
  }
  headers['x-death'] = [entry, ...rest];
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue.name;
    headers['x-first-death-exchange'] = m.exchange;
  }
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-queue'] = queue.name;
  headers['x-last-death-exchange'] = m.exchange;

  const { expiration: _dropped, ...properties } = m.properties;
  const dlx = queue.config.deadLetterExchange ?? '';
  return {
    exchange: dlx,
    routingKey: queue.config.deadLetterRoutingKey ?? m.routingKey,
    properties: { ...properties, headers },
    body: m.body,
    publishedAt: now,
  };
}

/**
 * RabbitMQ drops a dead-lettered message that would come back to a queue it already died
 * in, unless a client rejected it somewhere along the way (then the cycle is the client's choice).
 */
export function isDeadLetterCycle(m: Message, target: Queue): boolean {
  const deaths = m.properties.headers?.['x-death'];
  if (!Array.isArray(deaths)) return false;
  let seen = false;
  for (const e of deaths) {
    const t = e as FieldTable;
    if (t?.['reason'] === 'rejected') return false;
    if (t?.['queue'] === target.name) seen = true;
  }
  return seen;
}
