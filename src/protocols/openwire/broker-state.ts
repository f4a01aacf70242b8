import type { Broker } from '../../core/broker.js';
import type { OwStruct } from './codec/marshal.js';
import { destinationsOf, tempAdvisoryTopic } from './advisory.js';
import type { OwDestination } from './destination.js';

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
 * maps to replay them to a new advisory subscriber), and the connections with advisory
 * subscribers (the 5.x client watches ActiveMQ.Advisory.TempQueue/TempTopic by default).
 */
export class OpenWireBrokerState {
  readonly clientIds = new Map<string, object>();
  readonly temps = new Map<string, TempDestination>();
  readonly advisories = new Set<AdvisoryListener>();
  /** ConsumerInfo by consumer id key, as its client sent it */
  readonly consumerInfos = new Map<string, OwStruct>();
  /** ProducerInfo (with a destination) by producer id key */
  readonly producerInfos = new Map<string, OwStruct>();

  static of(broker: Broker): OpenWireBrokerState {
    let s = STATES.get(broker);
    if (!s) STATES.set(broker, (s = new OpenWireBrokerState()));
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
