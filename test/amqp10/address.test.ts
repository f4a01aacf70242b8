import { describe, expect, it } from 'vitest';
import { parseSource, parseTarget } from '../../src/protocols/amqp10/address.js';

describe('AMQP 1.0 addresses, RabbitMQ profile', () => {
  it('v2 targets (RabbitMQ 4): /queues/q, /exchanges/e/k, /exchanges/e, null', () => {
    expect(parseTarget('rabbitmq', '/queues/orders', [], false)).toMatchObject({ kind: 'exchange', exchange: '', key: 'orders', mustExist: { queue: 'orders' } });
    expect(parseTarget('rabbitmq', '/queues/a%2Fb%20c', [], false)).toMatchObject({ key: 'a/b c' });
    expect(parseTarget('rabbitmq', '/exchanges/amq.topic/a.b', [], false)).toMatchObject({ exchange: 'amq.topic', key: 'a.b' });
    expect(parseTarget('rabbitmq', '/exchanges/logs', [], false)).toMatchObject({ exchange: 'logs', key: '' });
    expect(parseTarget('rabbitmq', undefined, [], false)).toEqual({ kind: 'anonymous' });
    for (const bad of ['/queues/', '/exchanges/amq.default/k', '/exchanges//k', '/exchanges/e/k/extra']) {
      expect(() => parseTarget('rabbitmq', bad, [], false), bad).toThrow(/address not parsable/);
    }
  });

  it('v2 sources: /queues/q only', () => {
    expect(parseSource('rabbitmq', '/queues/q', [], false)).toEqual({ kind: 'queue', queue: 'q', mustExist: true });
    expect(() => parseSource('rabbitmq', '/exchanges/e/k', [], false)).toThrow(/address not parsable/);
  });

  it('v1 (rabbit_routing_parser): /queue/q declared with the terminus durability, /queue alone takes the subject, plain names are queues', () => {
    expect(parseTarget('rabbitmq', '/queue/q', [], true)).toMatchObject({ exchange: '', key: 'q', declareQueue: { name: 'q', durable: true } });
    expect(parseTarget('rabbitmq', '/queue', [], false)).toMatchObject({ exchange: '', key: undefined });
    // asked of RabbitMQ 3.10.8 with rabbitmq_amqp1_0: a plain name attaches as a queue
    expect(parseTarget('rabbitmq', 'plain-name', [], false)).toMatchObject({ exchange: '', key: 'plain-name', declareQueue: { name: 'plain-name', durable: false } });
    expect(parseTarget('rabbitmq', '/exchange/amq.direct/k', [], false)).toMatchObject({ exchange: 'amq.direct', key: 'k' });
    expect(parseTarget('rabbitmq', '/exchange/amq.direct', [], false)).toMatchObject({ exchange: 'amq.direct', key: undefined });
    expect(parseTarget('rabbitmq', '/topic/a.b', [], false)).toMatchObject({ exchange: 'amq.topic', key: 'a.b' });
    expect(parseTarget('rabbitmq', '/amq/queue/q', [], false)).toMatchObject({ exchange: '', key: 'q', mustExist: { queue: 'q' } });
    // only %2F is unescaped in v1
    expect(parseTarget('rabbitmq', '/queue/a%2Fb%20c', [], false)).toMatchObject({ key: 'a/b%20c' });
    expect(parseSource('rabbitmq', '/topic/a.*', [], false)).toEqual({ kind: 'subscription', exchange: 'amq.topic', bindingKey: 'a.*' });
    expect(parseSource('rabbitmq', '/exchange/amq.fanout', [], false)).toEqual({ kind: 'subscription', exchange: 'amq.fanout', bindingKey: '' });
    for (const bad of ['/queue/', '/queue/a/b', '/nope/x', '/exchange//k', 'x/y']) {
      expect(() => parseTarget('rabbitmq', bad, [], false), bad).toThrow(/address not parsable/);
    }
    expect(() => parseSource('rabbitmq', '/queue', [], false)).toThrow(/address not parsable/);
  });
});

describe('AMQP 1.0 addresses, ActiveMQ profile', () => {
  it('queue://, topic://, temp-*://, plain names and the topic capability', () => {
    expect(parseTarget('activemq', 'queue://orders', [], false)).toMatchObject({ exchange: '', key: 'orders', declareQueue: { name: 'orders', durable: true } });
    expect(parseTarget('activemq', 'orders', [], false)).toMatchObject({ exchange: '', key: 'orders' });
    expect(parseTarget('activemq', 'topic://prices.eu', [], false)).toMatchObject({ exchange: 'amq.topic', key: 'prices.eu' });
    expect(parseTarget('activemq', 'prices.eu', ['topic'], false)).toMatchObject({ exchange: 'amq.topic', key: 'prices.eu' });
    expect(parseSource('activemq', 'topic://prices.>', [], false)).toEqual({ kind: 'subscription', exchange: 'amq.topic', bindingKey: 'prices.#' });
    expect(parseSource('activemq', 'temp-queue://ID:x:1', [], false)).toMatchObject({ kind: 'queue', queue: 'ID:x:1' });
    expect(() => parseTarget('activemq', 'queue://', [], false)).toThrow(/address not parsable/);
  });
});
