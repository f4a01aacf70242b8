import { describe, expect, it } from 'vitest';
import { Rejected, Routed } from '../../src/core/exchanges/routing.js';
import { Collector, coreBroker, declareQueue, publish, texts } from './helpers.js';

describe('routing in the core (exchanges/routing.ts)', () => {
  it('the default exchange routes by queue name; an unroutable publish says so', () => {
    const { vhost } = coreBroker();
    declareQueue(vhost, 'q');
    expect(publish(vhost, '', 'q', 'a')).toBe(Routed);
    expect(publish(vhost, '', 'nowhere', 'b')).toBe(0);
    expect(texts(vhost, 'q')).toEqual(['a']);
  });

  it('CC and BCC keys route too; BCC is taken off the message (RabbitMQ sender-selected distribution)', () => {
    const { vhost } = coreBroker();
    for (const q of ['main', 'cc', 'bcc']) {
      declareQueue(vhost, q);
      vhost.bindQueue(q, 'amq.direct', q, {}, null);
    }
    publish(vhost, 'amq.direct', 'main', 'm', { headers: { CC: ['cc'], BCC: ['bcc'] } });
    expect([texts(vhost, 'main'), texts(vhost, 'cc'), texts(vhost, 'bcc')]).toEqual([['m'], ['m'], ['m']]);
    const headers = vhost.getQueue('cc')!.peekMessages()[0]!.message.properties.headers;
    expect(headers?.['CC']).toEqual(['cc']);
    expect(headers?.['BCC']).toBeUndefined();
  });

  it('an exchange that routes nowhere hands the message to its alternate exchange', () => {
    const { vhost } = coreBroker();
    vhost.declareExchange('ae', 'fanout', { passive: false, durable: false, autoDelete: false, internal: false, arguments: {} });
    vhost.declareExchange('main', 'direct', { passive: false, durable: false, autoDelete: false, internal: false, arguments: { 'alternate-exchange': 'ae' } });
    declareQueue(vhost, 'routed');
    declareQueue(vhost, 'unrouted');
    vhost.bindQueue('routed', 'main', 'k', {}, null);
    vhost.bindQueue('unrouted', 'ae', '', {}, null);
    publish(vhost, 'main', 'k', 'matched');
    publish(vhost, 'main', 'other', 'fell through');
    expect(texts(vhost, 'routed')).toEqual(['matched']);
    expect(texts(vhost, 'unrouted')).toEqual(['fell through']);
  });

  it('exchange-to-exchange bindings route onwards, each queue once', () => {
    const { vhost } = coreBroker();
    vhost.declareExchange('e2', 'fanout', { passive: false, durable: false, autoDelete: false, internal: false, arguments: {} });
    vhost.bindExchange('e2', 'amq.topic', 'a.#', {});
    declareQueue(vhost, 'q');
    vhost.bindQueue('q', 'e2', '', {}, null);
    vhost.bindQueue('q', 'amq.topic', 'a.b', {}, null);
    publish(vhost, 'amq.topic', 'a.b', 'once');
    expect(texts(vhost, 'q')).toEqual(['once']);
  });

  it('a full reject-publish queue rejects; the other queues still take the message', () => {
    const { vhost } = coreBroker();
    declareQueue(vhost, 'full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    declareQueue(vhost, 'open');
    vhost.bindQueue('full', 'amq.fanout', '', {}, null);
    vhost.bindQueue('open', 'amq.fanout', '', {}, null);
    expect(publish(vhost, 'amq.fanout', '', '1')).toBe(Routed);
    expect(publish(vhost, 'amq.fanout', '', '2')).toBe(Routed | Rejected);
    expect([texts(vhost, 'full'), texts(vhost, 'open')]).toEqual([['1'], ['1', '2']]);
  });

  it('direct reply-to: a reply reaches the requesting session while it consumes, and is dropped after', () => {
    const { broker, vhost } = coreBroker();
    const requester = broker.openSession(vhost, {});
    const replies = new Collector();
    requester.consumeReplyTo({ tag: 'r', noAck: true, exclusive: false, priority: 0, arguments: {} }, replies);
    expect(vhost.directReplyTo.consuming(requester)).toBe(true);
    const address = vhost.directReplyTo.address(requester);
    expect(address.startsWith('amq.rabbitmq.reply-to.')).toBe(true);
    expect(publish(vhost, '', address, 'pong')).toBe(Routed);
    expect(replies.texts).toEqual(['pong']);
    requester.close();
    expect(publish(vhost, '', address, 'late')).toBe(0);
  });
});
