import type { Channel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import type { LocalMQ } from '../../src/index.js';
import { uniqueName, useBrokerConnection } from '../helpers/amqp.js';

/**
 * Issue 18 point 5 (1M publish floods): a publisher mostly repeats its properties (amqplib
 * always sends an empty headers table). A message whose content-header property block is the
 * previous one's on the channel, byte for byte, shares the previous message's properties and
 * property bytes instead of holding three objects of its own; shared properties are frozen and
 * hold primitives only (a nested table is never shared). Clients see every message's own
 * properties as before, and a dead-lettered copy of a shared message gets its x-death.
 */
describe('AMQP 0-9-1: repeated properties of a channel', () => {
  const { broker, conn } = useBrokerConnection();
  const queued = (b: LocalMQ, q: string) => [...b.core.vhost('/')!.getQueue(q)!.ready.entries()].map((e) => e.message);

  /** basic.get of the next message (the dead-lettered copy arrives after the nack's round trip) */
  async function gotOne(ch: Channel, q: string, noAck = true) {
    for (;;) {
      const m = await ch.get(q, { noAck });
      if (m) return m;
    }
  }

  async function published(ch: Channel, q: string, sends: Parameters<Channel['sendToQueue']>[2][]): Promise<void> {
    sends.forEach((options, i) => ch.sendToQueue(q, Buffer.from(`m${i}`), options));
    // a round trip on the same channel: the broker has taken every publish before it
    await ch.checkQueue(q);
  }

  it('equal property blocks share one frozen properties object and one copy of the bytes; others have their own', async () => {
    const ch = await conn().createChannel();
    const q = uniqueName('repeated.props');
    await ch.assertQueue(q, { durable: false });
    const plain = { contentType: 'text/plain', headers: { a: '1', n: 2 } };
    await published(ch, q, [plain, plain, { ...plain, headers: { a: '2', n: 2 } }, { headers: { t: { x: 1 } } }, { headers: { t: { x: 1 } } }, undefined, undefined]);
    const [m0, m1, m2, m3, m4, m5, m6] = queued(broker(), q);
    expect(m1!.properties).toBe(m0!.properties);
    expect(m1!.encodedProperties).toBe(m0!.encodedProperties);
    expect(Object.isFrozen(m0!.properties) && Object.isFrozen(m0!.properties.headers)).toBe(true);
    expect(m0!.properties).toEqual({ contentType: 'text/plain', headers: { a: '1', n: 2 } });
    expect(m2!.properties).not.toBe(m0!.properties);
    expect(m2!.properties.headers).toEqual({ a: '2', n: 2 });
    // a nested table could be changed in place: never shared, never frozen
    expect(m4!.properties).not.toBe(m3!.properties);
    expect(Object.isFrozen(m3!.properties)).toBe(false);
    // amqplib's default: an empty headers table
    expect(m6!.properties).toBe(m5!.properties);
    expect(m5!.properties).toEqual({ headers: {} });
    const got = [];
    for (let i = 0; i < 7; i++) got.push(await gotOne(ch, q));
    expect(got.map((m) => [m.content.toString(), m.properties.contentType, m.properties.headers])).toEqual([
      ['m0', 'text/plain', { a: '1', n: 2 }],
      ['m1', 'text/plain', { a: '1', n: 2 }],
      ['m2', 'text/plain', { a: '2', n: 2 }],
      ['m3', undefined, { t: { x: 1 } }],
      ['m4', undefined, { t: { x: 1 } }],
      ['m5', undefined, {}],
      ['m6', undefined, {}],
    ]);
    await ch.close();
  });

  it('a message with shared properties dead-letters with its x-death, the other keeps its headers', async () => {
    const ch = await conn().createChannel();
    const q = uniqueName('repeated.dlx');
    const dlq = `${q}.dead`;
    await ch.assertQueue(dlq, { durable: false });
    await ch.assertQueue(q, { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    const options = { headers: { k: 'v' }, messageId: 'same' };
    await published(ch, q, [options, options]);
    const [a, b] = queued(broker(), q);
    expect(b!.properties).toBe(a!.properties);
    const first = await gotOne(ch, q, false);
    ch.nack(first, false, false);
    const dead = await gotOne(ch, dlq);
    expect(dead.content.toString()).toBe('m0');
    expect(dead.properties.headers!['k']).toBe('v');
    expect(dead.properties.headers!['x-death']).toMatchObject([{ count: 1, reason: 'rejected', queue: q }]);
    const second = await gotOne(ch, q);
    expect(second.properties.headers).toEqual({ k: 'v' });
    expect(second.properties.messageId).toBe('same');
    await ch.close();
  });
});
