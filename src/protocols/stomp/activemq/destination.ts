/**
 * Destinations as ActiveMQ 5.x names them over STOMP: `/queue/a.b` and `/topic/a.b`
 * (`.`-separated levels), with `*` matching exactly one level and `>` every remaining
 * level, the parent included (`a.>` matches `a`). A name without a known prefix is a
 * queue of that literal name (ActiveMQ accepts the SEND and creates it).
 *
 * Topics ride on amq.topic (routing key = the topic name, binding key with `>` as `#`),
 * which keeps MQTT and AMQP interop; queues are core queues of the same name.
 */
export type AmqDestination = { kind: 'queue'; name: string } | { kind: 'topic'; name: string };

export const TOPIC_EXCHANGE = 'amq.topic';

const PREFIXES: [string, AmqDestination['kind']][] = [
  ['/queue/', 'queue'],
  ['/topic/', 'topic'],
  ['/temp-queue/', 'queue'],
  ['/temp-topic/', 'topic'],
];

export function parseAmqDestination(text: string): AmqDestination {
  for (const [prefix, kind] of PREFIXES) {
    if (text.startsWith(prefix) && text.length > prefix.length) return { kind, name: text.slice(prefix.length) };
  }
  return { kind: 'queue', name: text };
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

/** a topic subscription's binding key on amq.topic: `>` becomes `#` (both match zero or more levels) */
export function topicBindingKey(name: string): string {
  if (!name.includes('>')) return name;
  return name
    .split('.')
    .map((l) => (l === '>' ? '#' : l))
    .join('.');
}

/**
 * The `destination` of a MESSAGE: the message's real destination, as ActiveMQ's
 * JMSDestination reads back: a topic message names its topic (not the wildcard a
 * subscriber used), anything read from a queue names that queue.
 */
export function formatAmqDestination(exchange: string, routingKey: string, queue: string | undefined): string {
  if (exchange === TOPIC_EXCHANGE) return `/topic/${routingKey}`;
  if (exchange === '' || queue === undefined) return `/queue/${routingKey}`;
  return `/queue/${queue}`;
}
