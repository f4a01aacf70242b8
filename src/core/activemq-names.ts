/**
 * ActiveMQ 5.x destination naming, shared by every adapter that speaks ActiveMQ's
 * semantics (STOMP and MQTT in the `activemq` profile, OpenWire): `.`-separated levels,
 * `*` matching exactly one level and `>` every remaining level, the parent included
 * (`a.>` matches `a`). Topics ride on amq.topic (routing key = the topic name, a binding
 * key with `>` as `#`), which keeps MQTT and AMQP 0-9-1 interop; queues are core queues
 * of the same name.
 */
export const TOPIC_EXCHANGE = 'amq.topic';
/**
 * ActiveMQ 5.17's prefetch (ActiveMQPrefetchPolicy's defaults) for a consumer that names none:
 * a STOMP subscription without activemq.prefetchSize gets these (its ProtocolConverter), and
 * the consumer advisories show them for STOMP and MQTT subscribers
 */
export const ACTIVEMQ_QUEUE_PREFETCH = 1000;
export const ACTIVEMQ_TOPIC_PREFETCH = 32767;
/** a durable topic subscriber's (ActiveMQ 5.17: a STOMP subscription with activemq.subscriptionName gets 100, measured) */
export const ACTIVEMQ_DURABLE_TOPIC_PREFETCH = 100;
/** ActiveMQ's shared dead-letter queue */
export const DLQ_NAME = 'ActiveMQ.DLQ';

/**
 * The argument (true) of a queue that is an ActiveMQ destination: adapters speaking ActiveMQ's
 * semantics declare their queues with it, and the core then keeps message groups and sends
 * expired persistent messages to ActiveMQ.DLQ (a queue of a RabbitMQ client has neither).
 */
export const ACTIVEMQ_QUEUE_ARG = 'x-activemq-queue';

/** the arguments an ActiveMQ queue is declared with; `prioritized`: ActiveMQ's prioritizedMessages policy (JMSPriority 0-9) */
export function activemqQueueArguments(prioritized = false): Record<string, boolean | number> {
  return prioritized ? { [ACTIVEMQ_QUEUE_ARG]: true, 'x-max-priority': 9 } : { [ACTIVEMQ_QUEUE_ARG]: true };
}

/** ActiveMQ message groups: the JMSXGroupID a message carries (every adapter keeps it under that header) */
export function groupIdOf(headers: Record<string, unknown> | undefined): string | undefined {
  const g = headers?.['JMSXGroupID'];
  return typeof g === 'string' && g !== '' ? g : undefined;
}

/** does the name hold a `*` or `>` level (a subscription over many destinations)? */
export function isWildcardName(name: string): boolean {
  for (const level of name.split('.')) if (level === '*' || level === '>') return true;
  return false;
}

/** ActiveMQ's wildcard match: `*` one level, `>` the rest (zero or more levels) */
export function amqNameMatches(pattern: string, name: string): boolean {
  const p = pattern.split('.');
  const n = name.split('.');
  for (let i = 0; i < p.length; i++) {
    const level = p[i]!;
    if (level === '>') return true;
    if (i >= n.length) return false;
    if (level !== '*' && level !== n[i]) return false;
  }
  return p.length === n.length;
}

/** queues that are plumbing of some protocol (subscription queues, amq.*): never ActiveMQ destinations */
const PLUMBING_PREFIXES = ['amq.', 'mqtt-subscription-', 'stomp-subscription-', 'activemq-subscription-'];

/** does a wildcard queue consumer (`a.>`, `a.*`) read this queue? ActiveMQ queues that match, never another connection's exclusive queue nor plumbing */
export function wildcardQueueTakes(pattern: string, q: { name: string; options: { exclusive: boolean } }): boolean {
  if (q.options.exclusive || !amqNameMatches(pattern, q.name)) return false;
  for (const p of PLUMBING_PREFIXES) if (q.name.startsWith(p)) return false;
  return true;
}

/** a topic subscription's binding key on amq.topic: `>` becomes `#` (both match zero or more levels) */
export function topicBindingKey(name: string): string {
  if (!name.includes('>')) return name;
  return name
    .split('.')
    .map((l) => (l === '>' ? '#' : l))
    .join('.');
}

/**
 * The JMS message type a message was sent as, in the AMQP headers: the JMS-over-AMQP
 * annotation ActiveMQ itself uses (`x-opt-jms-msg-type`). Absent means bytes for a
 * message from a non-JMS protocol.
 */
export const JMS_MSG_TYPE = 'x-opt-jms-msg-type';
export const JmsMsgType = { Message: 0, Object: 1, Map: 2, Bytes: 3, Stream: 4, Text: 5 } as const;
