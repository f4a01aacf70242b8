import { describe, expect, it } from 'vitest';
import type { LocalMQ } from '../../src/index.js';
import { useBroker } from '../helpers/broker.js';

/**
 * Issue 18 point 5 (1M publish floods): a queued entry that never expires holds no deadline of
 * its own. Infinity is no small integer: held by each entry it was a heap number per queued
 * message (a million objects more for the scavenges and mark-compacts of a flood); it is read
 * from the entries' prototype instead. An entry that expires holds its own, as before.
 */
describe('the queue entry of a message held in memory', () => {
  const broker = useBroker();
  const entries = (b: LocalMQ, q: string) => [...b.core.vhost('/')!.getQueue(q)!.ready.entries()];
  const declare = (b: LocalMQ, q: string, args: Record<string, unknown> = {}) =>
    b.core.vhost('/')!.declareQueue(q, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: args as never }, null);

  it('without a TTL: expiresAt is Infinity, not a value of its own', () => {
    const b = broker();
    declare(b, 'entry.plain');
    b.publish('', 'entry.plain', 'a');
    b.publish('', 'entry.plain', 'b', { deliveryMode: 2 });
    const [a, c] = entries(b, 'entry.plain');
    for (const e of [a!, c!]) {
      expect(e.expiresAt).toBe(Infinity);
      expect(Object.hasOwn(e, 'expiresAt')).toBe(false);
    }
  });

  it("with the queue's TTL or the message's own expiration: its own deadline", async () => {
    const b = broker();
    declare(b, 'entry.ttl', { 'x-message-ttl': 60_000 });
    declare(b, 'entry.own');
    const t = Date.now();
    b.publish('', 'entry.ttl', 'a');
    b.publish('', 'entry.own', 'b', { expiration: '30000' });
    b.publish('', 'entry.own', 'd');
    const [ttl] = entries(b, 'entry.ttl');
    expect(Object.hasOwn(ttl!, 'expiresAt')).toBe(true);
    expect(ttl!.expiresAt - t).toBeGreaterThanOrEqual(60_000);
    expect(ttl!.expiresAt - Date.now()).toBeLessThanOrEqual(60_000);
    const own = entries(b, 'entry.own');
    expect(own.map((e) => e.message.body.toString())).toEqual(['b', 'd']);
    expect(own[0]!.expiresAt - own[0]!.message.publishedAt).toBe(30_000);
    expect(own[1]!.expiresAt).toBe(Infinity);
    expect(await b.queue('entry.own').messages()).toHaveLength(2);
  });
});
