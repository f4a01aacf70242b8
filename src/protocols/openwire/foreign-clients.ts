import { hostname } from 'node:os';
import type { ProducerRef } from '../../core/broker.js';
import type { Consumer } from '../../core/consumer.js';
import type { Queue } from '../../core/queues/queue.js';
import { ACTIVEMQ_QUEUE_PREFETCH, ACTIVEMQ_TOPIC_PREFETCH, TOPIC_EXCHANGE } from '../../core/activemq-names.js';
import type { OwStruct } from './codec/marshal.js';
import { T } from './codec/types.js';
import type { OpenWireBrokerState } from './broker-state.js';
import { destinationStruct, type OwDestination } from './destination.js';
import { isAdvisory } from './advisory.js';

const HOST = hostname();

/**
 * The consumers and producers of the other protocols (STOMP, AMQP 1.0, MQTT, AMQP 0-9-1) as
 * ActiveMQ's consumer/producer advisories report them: ActiveMQ turns every transport's
 * subscription into a ConsumerInfo and fires AdvisoryBroker's advisories for it, so a JMS
 * advisory listener hears of a STOMP SUBSCRIBE or an MQTT subscription like a JMS consumer.
 *
 * The core announces consumers (added/removed) and queue bindings; a consumer is on the
 * ActiveMQ topics its queue is bound to from amq.topic (a subscription queue: each binding a
 * topic, `#` as `>`), or else on its queue when that is an ActiveMQ queue (x-activemq-queue).
 * Each (consumer, destination) gets a ConsumerInfo made here, kept with OpenWire's own for
 * the replay to a new advisory subscriber. Producers: adapters announce the ones with a fixed
 * destination (an AMQP 1.0 sender link with a target); STOMP's and MQTT's publishers are
 * anonymous in ActiveMQ too (no producer advisory, measured on 5.17).
 */
export class ForeignClients {
  /** per consumer of another protocol: destination key → the consumerInfos key of its ConsumerInfo */
  private readonly consumers = new Map<Consumer, Map<string, string>>();
  /** amq.topic binding keys per queue (a subscription queue's topics) */
  private readonly topicKeys = new Map<Queue, Map<string, number>>();
  private readonly producers = new Map<ProducerRef, string>();
  private seq = 0;

  constructor(private readonly state: OpenWireBrokerState) {}

  /** listen to the core, and take in the consumers and producers that exist already */
  start(): void {
    const broker = this.state.broker;
    for (const vhost of broker.vhosts.values()) {
      const topics = vhost.getExchange(TOPIC_EXCHANGE);
      if (topics) for (const b of topics.bindings.values()) if (b.destination.kind === 'queue') this.bound(b.destination as Queue, b.routingKey);
      for (const q of vhost.queues.values()) if (q.consumers.length) this.refresh(q);
    }
    broker.on('consumerAdded', (q) => this.refresh(q));
    broker.on('consumerRemoved', (q, c) => this.consumerGone(q, c));
    broker.on('queueBound', (q, exchange, key) => {
      if (exchange !== TOPIC_EXCHANGE) return;
      this.bound(q, key);
      if (q.consumers.length) this.refresh(q);
    });
    broker.on('queueUnbound', (q, exchange, key) => {
      if (exchange !== TOPIC_EXCHANGE) return;
      const keys = this.topicKeys.get(q);
      const n = keys?.get(key);
      if (keys === undefined || n === undefined) return;
      if (n > 1) keys.set(key, n - 1);
      else keys.delete(key);
      if (keys.size === 0) this.topicKeys.delete(q);
      if (q.consumers.length) this.refresh(q);
    });
    broker.on('queueDeleted', (q) => this.topicKeys.delete(q));
    broker.on('producerAdded', (p) => this.producerAdded(p));
    broker.on('producerRemoved', (p) => {
      const key = this.producers.get(p);
      if (key === undefined) return;
      this.producers.delete(p);
      this.state.producerRemoved(key);
    });
  }

  private bound(q: Queue, key: string): void {
    let keys = this.topicKeys.get(q);
    if (!keys) this.topicKeys.set(q, (keys = new Map()));
    keys.set(key, (keys.get(key) ?? 0) + 1);
  }

  /** the ActiveMQ destinations a consumer of this queue reads */
  private destinationsOf(q: Queue): OwDestination[] {
    const keys = this.topicKeys.get(q);
    if (keys && keys.size) return [...keys.keys()].map((k) => ({ kind: 'topic', temporary: false, name: activeMqTopicName(k) }));
    return q.config.activemq ? [{ kind: 'queue', temporary: false, name: q.name }] : [];
  }

  /** bring the advisories of the queue's consumers (other protocols') in line with its destinations */
  private refresh(q: Queue): void {
    const dests = this.destinationsOf(q).filter((d) => !isAdvisory(d));
    const vhost = this.state.broker.vhost(q.vhost);
    for (const c of q.consumers) {
      if (this.state.ownSinks.has(c.sink)) continue;
      let mine = this.consumers.get(c);
      if (!mine) this.consumers.set(c, (mine = new Map()));
      const want = new Set(dests.map(destKey));
      for (const [dk, infoKey] of mine) {
        if (want.has(dk)) continue;
        mine.delete(dk);
        this.state.consumerRemoved(infoKey, vhost);
      }
      for (const d of dests) {
        const dk = destKey(d);
        if (mine.has(dk)) continue;
        const infoKey = `foreign-consumer:${++this.seq}`;
        mine.set(dk, infoKey);
        this.state.consumerAdded(infoKey, this.consumerInfo(q, c, d), vhost);
      }
    }
  }

  private consumerGone(q: Queue, c: Consumer): void {
    const mine = this.consumers.get(c);
    if (!mine) return;
    this.consumers.delete(c);
    const vhost = this.state.broker.vhost(q.vhost);
    for (const infoKey of mine.values()) this.state.consumerRemoved(infoKey, vhost);
  }

  /** ConsumerInfo as ActiveMQ's transports make it for their subscriptions */
  private consumerInfo(q: Queue, c: Consumer, d: OwDestination): OwStruct {
    const selector = c.options.selector?.text ?? q.selector?.text ?? null;
    return {
      type: T.ConsumerInfo,
      commandId: 0,
      responseRequired: false,
      consumerId: { type: T.ConsumerId, connectionId: `ID:${HOST}-${c.session.id}`, sessionId: 1, value: this.seq },
      browser: false,
      destination: destinationStruct(d),
      prefetchSize: d.kind === 'topic' ? ACTIVEMQ_TOPIC_PREFETCH : c.prefetch > 0 ? c.prefetch : ACTIVEMQ_QUEUE_PREFETCH,
      maximumPendingMessageLimit: 0,
      dispatchAsync: true,
      selector,
      clientId: null,
      subscriptionName: null,
      noLocal: false,
      exclusive: c.options.exclusive,
      retroactive: false,
      priority: Math.max(-128, Math.min(127, c.options.priority)),
      brokerPath: null,
      additionalPredicate: null,
      networkSubscription: false,
      optimizedAcknowledge: false,
      noRangeAcks: false,
      networkConsumerPath: null,
    };
  }

  private producerAdded(p: ProducerRef): void {
    let d: OwDestination;
    if (p.exchange === '' && p.routingKey !== '') d = { kind: 'queue', temporary: false, name: p.routingKey };
    else if (p.exchange === TOPIC_EXCHANGE && p.routingKey !== '') d = { kind: 'topic', temporary: false, name: activeMqTopicName(p.routingKey) };
    else return;
    if (isAdvisory(d)) return;
    const key = `foreign-producer:${++this.seq}`;
    this.producers.set(p, key);
    this.state.producerAdded(key, {
      type: T.ProducerInfo,
      commandId: 0,
      responseRequired: false,
      producerId: { type: T.ProducerId, connectionId: `ID:${HOST}-producer-${this.seq}`, value: this.seq, sessionId: 1 },
      destination: destinationStruct(d),
      brokerPath: null,
      dispatchAsync: false,
      windowSize: 0,
    });
  }
}

/** an amq.topic binding key as ActiveMQ names the topic (`#` is `>`) */
function activeMqTopicName(key: string): string {
  return key.includes('#') ? key.split('.').map((l) => (l === '#' ? '>' : l)).join('.') : key;
}

function destKey(d: OwDestination): string {
  return `${d.kind}:${d.name}`;
}
