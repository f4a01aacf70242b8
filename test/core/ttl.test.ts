import { describe, expect, it } from 'vitest';
import type { FieldTable } from '../../src/core/fields.js';
import { coreBroker, declareQueue, publish, texts } from './helpers.js';

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
});
