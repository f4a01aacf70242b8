/**
 * Destinations as ActiveMQ 5.x names them over STOMP: `/queue/a.b` and `/topic/a.b`
 * (`.`-separated levels), with `*` matching exactly one level and `>` every remaining
 * level, the parent included (`a.>` matches `a`). A name without a known prefix is a
 * queue of that literal name (ActiveMQ accepts the SEND and creates it).
 * (The naming rules are the core's, src/core/activemq-names.ts.)
 */
export type AmqDestination = { kind: 'queue'; name: string } | { kind: 'topic'; name: string };

import { TOPIC_EXCHANGE } from '../../../core/activemq-names.js';

// the naming rules themselves live in the core, shared with OpenWire
export { DLQ_NAME, TOPIC_EXCHANGE, amqNameMatches, isWildcardName, topicBindingKey } from '../../../core/activemq-names.js';

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
