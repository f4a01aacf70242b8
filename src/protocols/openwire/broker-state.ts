import type { Broker } from '../../core/broker.js';
import type { OwStruct } from './codec/marshal.js';
import type { OwDestination } from './destination.js';

/** a temporary destination, owned by the connection that made it */
export interface TempDestination {
  dest: OwDestination;
  owner: object;
  /** the DestinationInfo it was made with (advisories carry it) */
  info: OwStruct;
}

/** what an advisory subscriber is told */
export interface AdvisoryListener {
  /** advisory topic names it subscribed to */
  readonly topics: string[];
  advise(topic: string, data: OwStruct): void;
}

/**
 * What OpenWire connections of one broker share: client ids in use (ActiveMQ allows
 * one connection per client id), temporary destinations and their owners, and the
 * advisory subscribers told when temporary destinations come and go (the 5.x client
 * watches ActiveMQ.Advisory.TempQueue/TempTopic to know which exist).
 */
export class OpenWireBrokerState {
  readonly clientIds = new Map<string, object>();
  readonly temps = new Map<string, TempDestination>();
  readonly advisories = new Set<AdvisoryListener>();

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
    this.advise(t.dest, t.info);
  }

  removeTemp(d: OwDestination, info: OwStruct): TempDestination | undefined {
    const t = this.temps.get(tempKey(d));
    if (!t) return undefined;
    this.temps.delete(tempKey(d));
    this.advise(d, info);
    return t;
  }

  private advise(d: OwDestination, info: OwStruct): void {
    const topic = advisoryTopicFor(d);
    for (const a of this.advisories) if (a.topics.includes(topic)) a.advise(topic, info);
  }
}

export function advisoryTopicFor(d: OwDestination): string {
  return d.kind === 'queue' ? 'ActiveMQ.Advisory.TempQueue' : 'ActiveMQ.Advisory.TempTopic';
}

function tempKey(d: OwDestination): string {
  return `${d.kind}:${d.name}`;
}

const STATES = new WeakMap<Broker, OpenWireBrokerState>();
