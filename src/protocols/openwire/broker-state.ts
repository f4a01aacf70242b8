import type { Broker } from '../../core/broker.js';
import { amqNameMatches } from '../../core/activemq-names.js';
import type { VHost } from '../../core/vhost.js';
import type { OwStruct } from './codec/marshal.js';
import { T } from './codec/types.js';
import { consumerAdvisoryTopic, destinationsOf, producerAdvisoryTopic, tempAdvisoryTopic } from './advisory.js';
import type { OwDestination } from './destination.js';
import { ForeignClients } from './foreign-clients.js';

/** a temporary destination, owned by the connection that made it */
export interface TempDestination {
  dest: OwDestination;
  owner: object;
  /** the DestinationInfo it was made with (advisories carry it) */
  info: OwStruct;
}

/** a connection with advisory subscribers: told every advisory, it picks what its subscriptions match */
export interface AdvisoryListener {
  advise(topic: string, data: OwStruct, properties: Record<string, number>): void;
}

/**
 * What OpenWire connections of one broker share: client ids in use (ActiveMQ allows
 * one connection per client id), temporary destinations and their owners, the consumers
 * and producers that consumer/producer advisories report (AdvisoryBroker keeps the same
 * maps to replay them to a new advisory subscriber) — OpenWire's own and, synthesised by
 * ForeignClients, those of the other protocols — and the connections with advisory
 * subscribers (the 5.x client watches ActiveMQ.Advisory.TempQueue/TempTopic by default).
 */
export class OpenWireBrokerState {
  readonly clientIds = new Map<string, object>();
  readonly temps = new Map<string, TempDestination>();
  readonly advisories = new Set<AdvisoryListener>();
  /** ConsumerInfo by consumer id key, as its client sent it (or as made for another protocol's consumer) */
  readonly consumerInfos = new Map<string, OwStruct>();
  /** ProducerInfo (with a destination) by producer id key */
  readonly producerInfos = new Map<string, OwStruct>();
  /** OpenWire's own consumer sinks: their advisories carry the client's ConsumerInfo */
  readonly ownSinks = new WeakSet<object>();
  private readonly foreign: ForeignClients;

  private constructor(readonly broker: Broker) {
    this.foreign = new ForeignClients(this);
  }

  static of(broker: Broker): OpenWireBrokerState {
    let s = STATES.get(broker);
    if (!s) {
      STATES.set(broker, (s = new OpenWireBrokerState(broker)));
      s.foreign.start();
    }
    return s;
  }

  isTemporary(d: OwDestination): boolean {
    return this.temps.has(tempKey(d));
  }

  addTemp(t: TempDestination): void {
    this.temps.set(tempKey(t.dest), t);
    this.fire(tempAdvisoryTopic(t.dest), t.info, {});
  }

  removeTemp(d: OwDestination, info: OwStruct): TempDestination | undefined {
    const t = this.temps.get(tempKey(d));
    if (!t) return undefined;
    this.temps.delete(tempKey(d));
    this.fire(tempAdvisoryTopic(d), info, {});
    return t;
  }

  /** an advisory to every subscriber whose advisory destination matches `topic` */
  fire(topic: string, data: OwStruct, properties: Record<string, number>): void {
    for (const a of this.advisories) a.advise(topic, data, properties);
  }

  /** AdvisoryBroker.addConsumer: the ConsumerInfo on ActiveMQ.Advisory.Consumer.<Queue|Topic>.<name>, kept for the replay */
  consumerAdded(key: string, info: OwStruct, vhost: VHost | undefined): void {
    this.consumerInfos.set(key, info);
    this.fireConsumerAdvisory(info, info, vhost);
  }

  /** a consumer went: its RemoveInfo on the consumer advisory topic */
  consumerRemoved(key: string, vhost: VHost | undefined): void {
    const info = this.consumerInfos.get(key);
    if (!info) return;
    this.consumerInfos.delete(key);
    this.fireConsumerAdvisory(info, removeInfo(info['consumerId'] as OwStruct), vhost);
  }

  /** AdvisoryBroker.addProducer (a producer with a destination; anonymous ones are not advised) */
  producerAdded(key: string, info: OwStruct): void {
    this.producerInfos.set(key, info);
    this.fireProducerAdvisory(info, info);
  }

  producerRemoved(key: string): void {
    const info = this.producerInfos.get(key);
    if (!info) return;
    this.producerInfos.delete(key);
    this.fireProducerAdvisory(info, removeInfo(info['producerId'] as OwStruct));
  }

  /**
   * AdvisoryBroker.fireConsumerAdvisory: `consumerCount` is what the destination(s) now have
   * (a queue's count is the core's, every protocol's consumers; a topic's, its subscribers
   * on any protocol, a wildcard subscription counting on the topics it matches, as ActiveMQ
   * counts the consumers of every destination the advised one names).
   */
  private fireConsumerAdvisory(info: OwStruct, data: OwStruct, vhost: VHost | undefined): void {
    const destination = info['destination'] as OwStruct;
    this.fire(consumerAdvisoryTopic(destination), data, { consumerCount: this.consumerCount(destination, vhost) });
  }

  private fireProducerAdvisory(info: OwStruct, data: OwStruct): void {
    const destination = info['destination'] as OwStruct;
    this.fire(producerAdvisoryTopic(destination), data, { producerCount: this.producerCount(destination) });
  }

  consumerCount(destination: OwStruct, vhost: VHost | undefined): number {
    let n = 0;
    for (const d of destinationsOf(destination)) {
      if (d.kind === 'queue') n += vhost?.getQueue(d.name)?.consumerCount ?? 0;
      else for (const info of this.consumerInfos.values()) if (destinationsOf(info['destination'] as OwStruct).some((x) => x.kind === 'topic' && topicsOverlap(x.name, d.name))) n++;
    }
    return n;
  }

  producerCount(destination: OwStruct): number {
    let n = 0;
    for (const d of destinationsOf(destination)) {
      for (const info of this.producerInfos.values()) if (destinationsOf(info['destination'] as OwStruct).some((x) => x.kind === d.kind && x.name === d.name)) n++;
    }
    return n;
  }
}

/** the same topic, or one a wildcard of the other takes (ActiveMQ 5.17: `a.>` counts on `a.t`'s advisory, and `a.t` on `a.>`'s) */
function topicsOverlap(a: string, b: string): boolean {
  return a === b || amqNameMatches(a, b) || amqNameMatches(b, a);
}

function removeInfo(objectId: OwStruct): OwStruct {
  return { type: T.RemoveInfo, commandId: 0, responseRequired: false, objectId, lastDeliveredSequenceId: 0 };
}

function tempKey(d: OwDestination): string {
  return `${d.kind}:${d.name}`;
}

const STATES = new WeakMap<Broker, OpenWireBrokerState>();

/** the producers with a destination, counted per destination (`queue:name`, `topic:name`); none before OpenWire ran */
export function openWireProducerCounts(broker: Broker): Map<string, number> {
  const counts = new Map<string, number>();
  const s = STATES.get(broker);
  if (!s) return counts;
  for (const info of s.producerInfos.values()) {
    for (const d of destinationsOf(info['destination'] as OwStruct)) {
      const key = `${d.kind}:${d.name}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}
