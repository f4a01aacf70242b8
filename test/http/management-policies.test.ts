import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { call, getJson } from '../helpers/management.js';

/*
 * Policies as RabbitMQ applies them (rabbit_policy:match/2, rabbit_amqqueue_process's
 * policy lookups): the highest-priority policy whose pattern matches the queue's name
 * applies; message-ttl, expires and max-length take the lower of policy and x-argument,
 * dead-letter-exchange and overflow the x-argument's value; queues re-evaluate when a
 * policy is added, changed or removed.
 */

let broker: LocalMQ;
let conn: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  broker = await startBroker();
  conn = await connect(broker);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await conn?.close();
  await broker?.stop();
});

/** resolves when `queue` drops (expires, overflows) a message */
function dropped(queue: string): Promise<void> {
  return new Promise((resolve) => {
    const on = (q: { name: string }, _e: unknown, how: string) => {
      if (q.name === queue && how === 'dropped') {
        broker.events.off('settled', on);
        resolve();
      }
    };
    broker.events.on('settled', on);
  });
}

describe('policies', () => {
  it('validates a policy as RabbitMQ does', async () => {
    const badKey = await call(broker, 'PUT', '/api/policies/%2F/bad', { body: { pattern: '.*', definition: { 'no-such-key': 1 } } });
    expect(badKey.status).toBe(400);
    expect((await badKey.json()).reason).toMatch(/not recognised policy settings/);
    const badTtl = await call(broker, 'PUT', '/api/policies/%2F/bad', { body: { pattern: '.*', definition: { 'message-ttl': -1 } } });
    expect(badTtl.status).toBe(400);
    const badRegex = await call(broker, 'PUT', '/api/policies/%2F/bad', { body: { pattern: '(', definition: { 'message-ttl': 1 } } });
    expect(badRegex.status).toBe(400);
    expect((await call(broker, 'GET', '/api/policies/%2F/bad')).status).toBe(404);
    expect((await call(broker, 'PUT', '/api/policies/nowhere/p', { body: { pattern: '.*', definition: { 'message-ttl': 1 } } })).status).toBe(404);
  });

  it('applies message-ttl to a matching queue (its messages expire), and stops when the policy is removed', async () => {
    await ch.assertQueue('ttl.orders');
    await ch.assertQueue('other.orders');
    const put = await call(broker, 'PUT', '/api/policies/%2F/short-ttl', { body: { pattern: '^ttl\\.', definition: { 'message-ttl': 30 }, priority: 0, 'apply-to': 'queues' } });
    expect(put.status).toBe(201);
    expect(await getJson(broker, '/api/policies/%2F/short-ttl')).toEqual({ vhost: '/', name: 'short-ttl', pattern: '^ttl\\.', 'apply-to': 'queues', definition: { 'message-ttl': 30 }, priority: 0 });
    expect(await getJson(broker, '/api/queues/%2F/ttl.orders')).toMatchObject({ policy: 'short-ttl', effective_policy_definition: { 'message-ttl': 30 } });
    expect(await getJson(broker, '/api/queues/%2F/other.orders')).toMatchObject({ policy: null });

    const expired = dropped('ttl.orders');
    ch.sendToQueue('ttl.orders', Buffer.from('short-lived'));
    ch.sendToQueue('other.orders', Buffer.from('kept'));
    await expired;
    await broker.waitFor('other.orders', (m) => m.text() === 'kept');
    expect(broker.queue('ttl.orders').messageCount()).toBe(0);
    expect(broker.queue('other.orders').messageCount()).toBe(1);

    expect((await call(broker, 'DELETE', '/api/policies/%2F/short-ttl')).status).toBe(204);
    expect(await getJson(broker, '/api/queues/%2F/ttl.orders')).toMatchObject({ policy: null });
    ch.sendToQueue('ttl.orders', Buffer.from('now kept'));
    await broker.waitFor('ttl.orders', (m) => m.text() === 'now kept');
    expect(broker.queue('ttl.orders').messages().map((m) => m.text())).toEqual(['now kept']);
  });

  it('applies max-length at once to a queue that already holds more, the highest priority policy winning', async () => {
    await ch.assertQueue('cap.jobs');
    for (let i = 0; i < 5; i++) ch.sendToQueue('cap.jobs', Buffer.from(`job ${i}`));
    await broker.waitFor('cap.jobs', (m) => m.text() === 'job 4');
    await call(broker, 'PUT', '/api/policies/%2F/cap-low', { body: { pattern: '^cap\\.', definition: { 'max-length': 3 }, priority: 1 } });
    expect(broker.queue('cap.jobs').messages().map((m) => m.text())).toEqual(['job 2', 'job 3', 'job 4']);
    await call(broker, 'PUT', '/api/policies/%2F/cap-high', { body: { pattern: '^cap\\.jobs$', definition: { 'max-length': 1 }, priority: 5 } });
    expect(await getJson(broker, '/api/queues/%2F/cap.jobs')).toMatchObject({ policy: 'cap-high' });
    expect(broker.queue('cap.jobs').messages().map((m) => m.text())).toEqual(['job 4']);
    await call(broker, 'DELETE', '/api/policies/%2F/cap-high');
    await call(broker, 'DELETE', '/api/policies/%2F/cap-low');
  });

  it('keeps the lower of policy and x-argument for limits, and the x-argument for dead-letter-exchange', async () => {
    await ch.assertQueue('mix.q', { arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': 'own.dlx' } });
    await call(broker, 'PUT', '/api/policies/%2F/mix', { body: { pattern: '^mix\\.', definition: { 'max-length': 10, 'dead-letter-exchange': 'policy.dlx' } } });
    const q = broker.core.vhost('/')!.getQueue('mix.q')!;
    expect(q.config.maxLength).toBe(2);
    expect(q.config.deadLetterExchange).toBe('own.dlx');
    await call(broker, 'PUT', '/api/policies/%2F/mix', { body: { pattern: '^mix\\.', definition: { 'max-length': 1 } } });
    expect(q.config.maxLength).toBe(1);
    await call(broker, 'DELETE', '/api/policies/%2F/mix');
    expect(q.config.maxLength).toBe(2);
  });

  it('dead-letters expired messages through a policy\'s dead-letter-exchange and routing key', async () => {
    await ch.assertExchange('pol.dlx', 'direct');
    await ch.assertQueue('pol.dead');
    await ch.bindQueue('pol.dead', 'pol.dlx', 'expired');
    await call(broker, 'PUT', '/api/policies/%2F/dlx', { body: { pattern: '^pol\\.work$', definition: { 'message-ttl': 20, 'dead-letter-exchange': 'pol.dlx', 'dead-letter-routing-key': 'expired' } } });
    await ch.assertQueue('pol.work');
    ch.sendToQueue('pol.work', Buffer.from('too late'));
    const dead = await broker.waitFor('pol.dead', (m) => m.text() === 'too late');
    expect(dead.properties.headers?.['x-death']).toBeDefined();
    await call(broker, 'DELETE', '/api/policies/%2F/dlx');
  });

  it('applies expires: an unused queue goes once the policy says', async () => {
    await ch.assertQueue('exp.idle');
    const gone = new Promise<void>((resolve) => broker.events.on('queueDeleted', (q) => q.name === 'exp.idle' && resolve()));
    await call(broker, 'PUT', '/api/policies/%2F/idle', { body: { pattern: '^exp\\.', definition: { expires: 30 } } });
    await gone;
    expect(broker.queue('exp.idle').exists()).toBe(false);
    await call(broker, 'DELETE', '/api/policies/%2F/idle');
  });

  it('keeps policies across a restart of a persistent broker', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'localmq-policies-'));
    try {
      const first = await startBroker({ dataDir: dir });
      await call(first, 'PUT', '/api/queues/%2F/keep.q', { body: { durable: true } });
      await call(first, 'PUT', '/api/policies/%2F/keep', { body: { pattern: '^keep\\.', definition: { 'max-length': 4 } } });
      await first.stop();
      const second = await startBroker({ dataDir: dir });
      try {
        expect(await getJson(second, '/api/queues/%2F/keep.q')).toMatchObject({ policy: 'keep', effective_policy_definition: { 'max-length': 4 } });
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
