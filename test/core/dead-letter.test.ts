import { describe, expect, it } from 'vitest';
import { ACTIVEMQ_DLQ } from '../../src/core/dead-letter.js';
import type { FieldTable } from '../../src/core/fields.js';
import { Collector, coreBroker, declareQueue, publish, texts } from './helpers.js';

const consumeOptions = (tag: string) => ({ tag, noAck: false, exclusive: false, priority: 0, arguments: {} });

describe('dead-lettering, RabbitMQ strategy: the queue\'s dead-letter exchange with x-death', () => {
  it('a reject without requeue goes to the DLX with an x-death entry and the x-first/last-death headers', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'work', { 'x-dead-letter-exchange': 'amq.direct', 'x-dead-letter-routing-key': 'dead' });
    declareQueue(vhost, 'dlq');
    vhost.bindQueue('dlq', 'amq.direct', 'dead', {}, null);
    publish(vhost, '', 'work', 'bad', { expiration: '60000' });
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('work', consumeOptions('c'), sink);
    session.reject(sink.deliveries[0]!.tag, false);
    expect(texts(vhost, 'work')).toEqual([]);
    expect(texts(vhost, 'dlq')).toEqual(['bad']);
    const m = vhost.getQueue('dlq')!.peekMessages()[0]!.message;
    const [death] = m.properties.headers!['x-death'] as FieldTable[];
    expect(death).toMatchObject({ count: 1, reason: 'rejected', queue: 'work', exchange: '', 'routing-keys': ['work'], 'original-expiration': '60000' });
    expect(m.properties.headers).toMatchObject({ 'x-first-death-reason': 'rejected', 'x-first-death-queue': 'work', 'x-last-death-queue': 'work' });
    // the per-message TTL moves into the x-death entry
    expect(m.properties.expiration).toBeUndefined();
    expect(m.routingKey).toBe('dead');
  });

  it('dying again in the same queue for the same reason counts up the same entry', () => {
    const { broker, vhost } = coreBroker();
    // work dead-letters to itself through the default exchange
    declareQueue(vhost, 'work', { 'x-dead-letter-exchange': '' });
    publish(vhost, '', 'work', 'again');
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('work', consumeOptions('c'), sink);
    session.reject(sink.deliveries[0]!.tag, false);
    session.reject(sink.deliveries[1]!.tag, false);
    const deaths = sink.deliveries[2]!.message.properties.headers!['x-death'] as FieldTable[];
    expect(deaths).toHaveLength(1);
    expect(deaths[0]).toMatchObject({ count: 2, reason: 'rejected', queue: 'work' });
  });

  it('a message that would die back into a queue it expired from is dropped (a cycle with no client reject)', async () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'a', { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'b' });
    declareQueue(vhost, 'b', { 'x-message-ttl': 0, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'a' });
    const settled: string[] = [];
    const published: number[] = [];
    broker.on('published', (_m, queues) => published.push(queues));
    const done = new Promise<void>((resolve) =>
      broker.on('settled', (q) => {
        settled.push(q.name);
        if (settled.length === 2) resolve();
      }),
    );
    publish(vhost, '', 'a', 'round');
    await done;
    expect(settled).toEqual(['a', 'b']);
    // a -> b taken, b -> a refused as a cycle
    expect(published).toEqual([1, 1, 0]);
    expect([texts(vhost, 'a'), texts(vhost, 'b')]).toEqual([[], []]);
  });
});

describe('dead-lettering, ActiveMQ strategy: ActiveMQ.DLQ', () => {
  it('a NACKed persistent message goes to ActiveMQ.DLQ keeping its message-id, with original-destination and originalExpiration', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'orders', {}, true);
    publish(vhost, '', 'orders', 'p', { deliveryMode: 2, messageId: 'ID:x-1', expiration: '5000' });
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('orders', consumeOptions('c'), sink);
    const d = sink.deliveries[0]!;
    expect(session.deadLetter(d.tag, 'activemq', { destination: '/queue/orders', messageId: 'ID:x-1' })).toBe(true);
    expect(session.unackedCount).toBe(0);
    expect(texts(vhost, ACTIVEMQ_DLQ)).toEqual(['p']);
    const copy = vhost.getQueue(ACTIVEMQ_DLQ)!.peekMessages()[0]!.message;
    expect(copy.properties.messageId).toBe('ID:x-1');
    // originalExpiration a Long, as ActiveMQ 5.17's copy has it (a bigint: every protocol writes a long)
    expect(copy.properties.headers).toEqual({ originalExpiration: BigInt(d.message.publishedAt + 5000) });
    // ActiveMQ's originalDestination: a field of the message, no header
    expect(copy.originalDestination).toBe('/queue/orders');
    expect(copy.properties.expiration).toBeUndefined();
    expect(vhost.getQueue(ACTIVEMQ_DLQ)!.durable).toBe(true);
    // an unknown tag is ignored
    expect(session.deadLetter(999, 'activemq', { destination: '/queue/orders', messageId: 'x' })).toBe(false);
  });

  it('a NACKed non-persistent message is dropped', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'orders');
    publish(vhost, '', 'orders', 'np');
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('orders', consumeOptions('c'), sink);
    session.deadLetter(sink.deliveries[0]!.tag, 'activemq', { destination: '/queue/orders', messageId: 'ID:1' });
    expect(vhost.getQueue(ACTIVEMQ_DLQ)).toBeUndefined();
    expect(texts(vhost, 'orders')).toEqual([]);
  });

  it('OpenWire\'s poison ack: the copy on ActiveMQ.DLQ carries dlqDeliveryFailureCause and original-destination, in the adapter\'s own form', () => {
    // ActiveMQ RegionBroker.sendToDeadLetterQueue: the poison cause as dlqDeliveryFailureCause, expiry cleared
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'orders', {}, true);
    publish(vhost, '', 'orders', 'poison', { deliveryMode: 2, messageId: 'ID:keep', expiration: '5000' });
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('orders', consumeOptions('c'), sink);
    const d = sink.deliveries[0]!;
    const how = vhost.deadLetterer.rejected('activemq', d.message, {
      destination: '/queue/orders',
      cause: 'java.lang.Throwable: Exceeded redelivery policy limit',
      adapt: (copy) => ({ ...copy, native: { protocol: 'openwire', data: 'marshalled' } }),
    });
    expect(how).toBe('ack');
    const copy = vhost.getQueue(ACTIVEMQ_DLQ)!.peekMessages()[0]!.message;
    expect(copy.properties.headers).toEqual({
      dlqDeliveryFailureCause: 'java.lang.Throwable: Exceeded redelivery policy limit',
      originalExpiration: BigInt(d.message.publishedAt + 5000),
    });
    expect(copy.originalDestination).toBe('/queue/orders');
    expect(copy.properties.messageId).toBe('ID:keep');
    expect(copy.properties.expiration).toBeUndefined();
    expect(copy.native).toEqual({ protocol: 'openwire', data: 'marshalled' });
  });

  it('one copy per ActiveMQ message id, also from separate objects (a journal read back per queue); other ids by object', () => {
    // ActiveMQ's DLQ audit (review-s15-2 F5: two durable subscribers, broker restarted past the expiry: ActiveMQ 5.17
    // one copy, LocalMQ two); an AMQP 1.0 sender's own id need not be unique
    const { vhost } = coreBroker();
    for (const q of ['s1', 's2']) declareQueue(vhost, q, { 'x-activemq-queue': true }, true);
    for (const q of ['s1', 's2']) publish(vhost, '', q, 'same', { deliveryMode: 2, messageId: 'ID:p-1:1:1:1', expiration: '0' });
    for (const q of ['s1', 's2']) publish(vhost, '', q, 'own', { deliveryMode: 2, messageId: 'client-1', expiration: '0' });
    expect(texts(vhost, ACTIVEMQ_DLQ)).toEqual(['same', 'own', 'own']);
  });

  it('the RabbitMQ engine\'s NACK for good is a discard: the queue\'s DLX decides', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' });
    declareQueue(vhost, 'dlq');
    publish(vhost, '', 'q', 'n');
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('q', consumeOptions('c'), sink);
    session.deadLetter(sink.deliveries[0]!.tag, 'rabbitmq');
    expect(texts(vhost, 'dlq')).toEqual(['n']);
  });
});
