import { hostname } from 'node:os';
import { amqNameMatches } from '../../core/activemq-names.js';
import type { OwStruct } from './codec/marshal.js';
import { PType, encodePrimitiveMap, type Typed } from './codec/primitive.js';
import { T } from './codec/types.js';
import { ADVISORY_PREFIX, destinationOf, expandComposite, type OwDestination } from './destination.js';

/** the broker's id, as BrokerInfo and advisories name it */
export const BROKER_ID = `ID:${hostname()}-${process.pid}-${Date.now()}-0:1`;
const ADVISORY_PRODUCER: OwStruct = { type: T.ProducerId, connectionId: BROKER_ID, sessionId: 0, value: 0 };

/** AdvisorySupport's topic prefixes */
export const CONSUMER_ADVISORY_PREFIX = `${ADVISORY_PREFIX}Consumer.`;
export const PRODUCER_ADVISORY_PREFIX = `${ADVISORY_PREFIX}Producer.`;

export function isAdvisory(d: OwDestination): boolean {
  return d.kind === 'topic' && d.name.startsWith(ADVISORY_PREFIX);
}

/** AdvisorySupport.getAdvisoryTopic: the prefix, Queue./Topic., the physical name with `,` as `&sbquo;` */
function advisoryTopic(prefix: string, destination: OwStruct): string {
  const d = destinationOf(destination)!;
  return `${prefix}${d.kind === 'queue' ? 'Queue.' : 'Topic.'}${d.name.replace(/,/g, '&sbquo;')}`;
}

/** ActiveMQ.Advisory.Consumer.Queue.<name> / Consumer.Topic.<name> */
export function consumerAdvisoryTopic(destination: OwStruct): string {
  return advisoryTopic(CONSUMER_ADVISORY_PREFIX, destination);
}

/** ActiveMQ.Advisory.Producer.Queue.<name> / Producer.Topic.<name> */
export function producerAdvisoryTopic(destination: OwStruct): string {
  return advisoryTopic(PRODUCER_ADVISORY_PREFIX, destination);
}

/** ActiveMQ.Advisory.TempQueue / TempTopic */
export function tempAdvisoryTopic(d: OwDestination): string {
  return d.kind === 'queue' ? `${ADVISORY_PREFIX}TempQueue` : `${ADVISORY_PREFIX}TempTopic`;
}

/** an advisory subscription's destination (a wildcard allowed) takes this advisory topic */
export function advisoryMatches(pattern: string, topic: string): boolean {
  return pattern === topic || amqNameMatches(pattern, topic);
}

/** does a destination (composite parts included) name consumer/producer advisories (AdvisorySupport.isConsumerAdvisoryTopic)? */
export function namesPrefix(patterns: readonly string[], prefix: string): boolean {
  return patterns.some((p) => p.startsWith(prefix) || amqNameMatches(p, `${prefix}Queue.x`) || amqNameMatches(p, `${prefix}Topic.x`));
}

/** the consumers or producers counted on an advisory: every destination a (composite) destination names */
export function destinationsOf(destination: OwStruct): OwDestination[] {
  const d = destinationOf(destination);
  return d ? expandComposite(d) : [];
}

/**
 * AdvisoryBroker.fireAdvisory: a non-persistent ActiveMQMessage of type "Advisory" on the
 * advisory topic, the command as its data structure, with the origin broker's name, id and
 * URL and the advisory's own properties (consumerCount, producerCount).
 */
export function advisoryMessage(topic: string, data: OwStruct, properties: Record<string, number>, origin: { brokerName: string; brokerUrl: string }, seq: number, target: OwStruct | null): OwStruct {
  const props = new Map<string, Typed>();
  for (const [k, v] of Object.entries(properties)) props.set(k, { t: PType.Integer, v });
  props.set('originBrokerName', { t: PType.String, v: origin.brokerName });
  props.set('originBrokerId', { t: PType.String, v: BROKER_ID });
  props.set('originBrokerURL', { t: PType.String, v: origin.brokerUrl });
  const destination = { type: T.Topic, physicalName: topic };
  return {
    type: T.Message,
    producerId: ADVISORY_PRODUCER,
    destination,
    messageId: { type: T.MessageId, textView: null, producerId: ADVISORY_PRODUCER, producerSequenceId: seq, brokerSequenceId: 0 },
    persistent: false,
    priority: 4,
    timestamp: Date.now(),
    jmsType: 'Advisory',
    dataStructure: data,
    targetConsumerId: target,
    marshalledProperties: encodePrimitiveMap(props),
  };
}
