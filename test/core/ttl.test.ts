import { describe, expect, it } from 'vitest';
import type { FieldTable } from '../../src/core/fields.js';
import { coreBroker, declareQueue, keepingConsumer, publish, texts } from './helpers.js';

describe('message TTL in the core', () => {
  it('x-message-ttl: an expired message leaves its queue for the DLX with reason expired', async () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'short', { 'x-message-ttl': 5, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'expired' });
    declareQueue(vhost, 'expired');
    const arrived = new Promise<void>((resolve) => broker.on('published', (m, n) => m.routingKey === 'expired' && n === 1 && resolve()));
    publish(vhost, '', 'short', 'stale');
    await arrived;
    expect(texts(vhost, 'short')).toEqual([]);
    expect(texts(vhost, 'expired')).toEqual(['stale']);
    const [death] = vhost.getQueue('expired')!.peekMessages()[0]!.message.properties.headers!['x-death'] as FieldTable[];
    expect(death).toMatchObject({ reason: 'expired', queue: 'short', count: 1 });
  });

  it('a per-message expiration of 0 expires at once when nobody can take it; the lower of queue and message TTL wins', async () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q', { 'x-message-ttl': 60_000 });
    const settled = new Promise<string>((resolve) => broker.on('settled', (_q, e, how) => resolve(`${e.message.body.toString()}:${how}`)));
    publish(vhost, '', 'q', 'now', { expiration: '0' });
    publish(vhost, '', 'q', 'kept');
    vhost.getQueue('q')!.dispatch();
    expect(await settled).toBe('now:dropped');
    expect(texts(vhost, 'q')).toEqual(['kept']);
  });

  it('a TTL of 0 goes to a consumer with room at once (RabbitMQ\'s TTL guide: "unless they can be delivered to a consumer immediately"), and expires behind a full one', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q');
    const c = keepingConsumer(broker, vhost, 'c', 1);
    publish(vhost, '', 'q', 'taken', { expiration: '0' });
    publish(vhost, '', 'q', 'no room', { expiration: '0' });
    publish(vhost, '', 'q', 'waits');
    expect(c.bodies()).toEqual(['taken']);
    expect(texts(vhost, 'q')).toEqual(['waits']);
    expect(vhost.getQueue('q')!.stats.expired).toBe(1);
    // x-message-ttl 0 alike
    declareQueue(vhost, 'q0', { 'x-message-ttl': 0 });
    const got: string[] = [];
    const session = broker.openSession(vhost, {});
    session.consume('q0', { tag: 't', noAck: true, exclusive: false, priority: 0, arguments: {} }, { deliver: (d) => got.push(d.message.body.toString()), isWritable: () => true, cancelledByBroker: () => undefined });
    publish(vhost, '', 'q0', 'queue ttl 0');
    expect(got).toEqual(['queue ttl 0']);
  });
});
