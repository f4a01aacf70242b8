import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { engineVersionRules } from '../../src/core/engine-versions.js';
import { connect } from '../helpers/amqp.js';

const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const ALICE = `Basic ${Buffer.from('alice:alice-secret').toString('base64')}`;

let broker: LocalMQ;
let conn: ChannelModel;
let ch: ConfirmChannel;

async function api(path: string, init: { method?: string; auth?: string | null } = {}) {
  const headers: Record<string, string> = {};
  const auth = init.auth === undefined ? GUEST : init.auth;
  if (auth !== null) headers['authorization'] = auth;
  return fetch(`${broker.urls.http}${path}`, { method: init.method ?? 'GET', headers });
}

async function json<T = any>(path: string, auth?: string | null): Promise<T> {
  const res = await api(path, { auth });
  expect(res.status, `${path} status`).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/json');
  return (await res.json()) as T;
}

beforeAll(async () => {
  broker = await startBroker({
    vhosts: ['other'],
    users: [
      { name: 'guest', password: 'guest', tags: ['administrator'] },
      { name: 'alice', password: 'alice-secret', tags: ['management'] },
    ],
  });
  broker.users.clearPermission('alice', 'other');
  conn = await connect(broker);
  ch = await conn.createConfirmChannel();
  await ch.assertQueue('mq.orders', { durable: true, arguments: { 'x-max-length': 10 } });
  await ch.assertQueue('mq.purge', { durable: false });
  await ch.assertExchange('mq.events', 'topic', { durable: true });
  await ch.bindQueue('mq.orders', 'mq.events', 'order.*');
  for (let i = 0; i < 3; i++) ch.publish('mq.events', 'order.created', Buffer.from(`order ${i}`));
  for (let i = 0; i < 5; i++) ch.sendToQueue('mq.purge', Buffer.from(`junk ${i}`));
  await ch.waitForConfirms();
});

afterAll(async () => {
  await conn?.close();
  await broker?.stop();
});

describe('authentication', () => {
  it('answers 401 with a Basic challenge without credentials or with wrong ones', async () => {
    for (const auth of [null, `Basic ${Buffer.from('guest:nope').toString('base64')}`, 'Bearer not-the-token']) {
      const res = await api('/api/queues', { auth });
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
      expect(await res.json()).toEqual({ error: 'not_authorized', reason: 'Login failed' });
    }
  });

  it('whoami names the user and its tags; the control token acts as an administrator', async () => {
    expect(await json('/api/whoami')).toEqual({ name: 'guest', tags: ['administrator'] });
    expect(await json('/api/whoami', ALICE)).toEqual({ name: 'alice', tags: ['management'] });
    const viaToken = await json('/api/whoami', `Bearer ${broker.controlToken}`);
    expect(viaToken.tags).toEqual(['administrator']);
  });

  it('keeps users and permissions to administrators', async () => {
    expect((await api('/api/users', { auth: ALICE })).status).toBe(401);
    expect((await api('/api/permissions', { auth: ALICE })).status).toBe(401);
  });
});

describe('read API', () => {
  it('lists vhosts with message counts', async () => {
    const vhosts = await json<any[]>('/api/vhosts');
    expect(vhosts.map((v) => v.name).sort()).toEqual(['/', 'other']);
    const root = vhosts.find((v) => v.name === '/');
    // the version's default queue type (classic on 3.13, quorum on 4.2+: test/server/engine-versions.test.ts)
    const dqt = broker.core.engineRules.defaultQueueType;
    expect(root).toMatchObject({ description: 'Default virtual host', tags: [], default_queue_type: dqt, tracing: false, messages: 8, messages_ready: 8, messages_unacknowledged: 0 });
  });

  it('lists queues everywhere, per vhost and one by name', async () => {
    const expected = {
      name: 'mq.orders',
      vhost: '/',
      durable: true,
      auto_delete: false,
      exclusive: false,
      // a durable queue that names no type: the version's default (quorum on 4.2+), written in on 4.x
      arguments: { 'x-max-length': 10, ...(broker.core.engineRules.writesImplicitQueueType ? { 'x-queue-type': broker.core.engineRules.defaultQueueType } : {}) },
      type: broker.core.engineRules.defaultQueueType,
      state: 'running',
      messages: 3,
      messages_ready: 3,
      messages_unacknowledged: 0,
      consumers: 0,
    };
    const all = await json<any[]>('/api/queues');
    expect(all.find((q) => q.name === 'mq.orders')).toMatchObject(expected);
    const inRoot = await json<any[]>('/api/queues/%2F');
    expect(inRoot.map((q) => q.name).sort()).toEqual(['mq.orders', 'mq.purge']);
    expect(await json<any[]>('/api/queues/other')).toEqual([]);
    const one = await json('/api/queues/%2F/mq.orders');
    expect(one).toMatchObject(expected);
    expect(one.message_stats.publish).toBe(3);
  });

  it('counts unacknowledged deliveries and consumers', async () => {
    const reader = await conn.createChannel();
    expect(await reader.get('mq.orders', { noAck: false })).not.toBe(false);
    expect(await json('/api/queues/%2F/mq.orders')).toMatchObject({ messages: 3, messages_ready: 2, messages_unacknowledged: 1, consumers: 0 });
    await reader.consume('mq.orders', () => undefined, { noAck: false });
    expect((await json('/api/queues/%2F/mq.orders')).consumers).toBe(1);
    await reader.close(); // requeues what it held, as later tests expect 3 ready messages
  });

  it('answers 404 for a missing queue or vhost', async () => {
    for (const path of ['/api/queues/%2F/no-such-queue', '/api/queues/no-such-vhost', '/api/queues/no-such-vhost/mq.orders', '/api/nothing-here']) {
      const res = await api(path);
      expect(res.status, path).toBe(404);
      expect(await res.json()).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
    }
  });

  it('lists exchanges, the default and amq.* ones included', async () => {
    const all = await json<any[]>('/api/exchanges/%2F');
    // message_stats appear once the exchange has seen a publish (publish_in / publish_out), as on RabbitMQ
    const { message_stats: stats, ...events } = all.find((x) => x.name === 'mq.events');
    expect(stats === undefined || typeof stats.publish_in === 'number').toBe(true);
    expect(events).toEqual({
      name: 'mq.events',
      vhost: '/',
      type: 'topic',
      durable: true,
      auto_delete: false,
      internal: false,
      arguments: {},
    });
    expect(all.find((x) => x.name === '')).toMatchObject({ type: 'direct', durable: true });
    expect(all.some((x) => x.name === 'amq.topic')).toBe(true);
    const other = await json<any[]>('/api/exchanges/other');
    expect(other.some((x) => x.name === 'mq.events')).toBe(false);
    const everywhere = await json<any[]>('/api/exchanges');
    expect(everywhere.filter((x) => x.name === 'amq.direct').map((x) => x.vhost).sort()).toEqual(['/', 'other']);
  });

  it('lists declared bindings and the default exchange\'s implicit ones', async () => {
    const bindings = await json<any[]>('/api/bindings/%2F');
    expect(bindings).toContainEqual({
      source: 'mq.events',
      vhost: '/',
      destination: 'mq.orders',
      destination_type: 'queue',
      routing_key: 'order.*',
      arguments: {},
      properties_key: 'order.*',
    });
    expect(bindings).toContainEqual({
      source: '',
      vhost: '/',
      destination: 'mq.orders',
      destination_type: 'queue',
      routing_key: 'mq.orders',
      arguments: {},
      properties_key: 'mq.orders',
    });
    expect((await json<any[]>('/api/bindings')).length).toBe(bindings.length);
  });

  it('lists connections with their user, vhost and peer', async () => {
    const conns = await json<any[]>('/api/connections');
    expect(conns).toHaveLength(1);
    expect(conns[0]).toMatchObject({ protocol: 'AMQP 0-9-1', user: 'guest', vhost: '/', state: 'running', type: 'network' });
    expect(conns[0].peer_host).toMatch(/127\.0\.0\.1|::1/);
    expect(typeof conns[0].connected_at).toBe('number');
    expect(typeof conns[0].name).toBe('string');
  });

  it('lists users and permissions for administrators', async () => {
    const users = await json<any[]>('/api/users');
    expect(users.find((u) => u.name === 'guest')).toMatchObject({ tags: ['administrator'], hashing_algorithm: 'rabbit_password_hashing_sha256', limits: {} });
    expect(typeof users[0].password_hash).toBe('string');
    const perms = await json<any[]>('/api/permissions');
    expect(perms).toContainEqual({ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' });
    expect(perms.some((p) => p.user === 'alice' && p.vhost === 'other')).toBe(false);
  });

  it('shows a management user only its vhosts and its own connections', async () => {
    expect((await json<any[]>('/api/vhosts', ALICE)).map((v) => v.name)).toEqual(['/']);
    expect((await json<any[]>('/api/exchanges', ALICE)).every((x) => x.vhost === '/')).toBe(true);
    expect(await json<any[]>('/api/connections', ALICE)).toEqual([]);
    const refused = await api('/api/queues/other', { auth: ALICE });
    expect(refused.status).toBe(401);
  });

  it('answers 405 with Allow for a method a path does not take', async () => {
    const res = await api('/api/queues/%2F/mq.orders', { method: 'POST' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, PUT, DELETE');
  });
});

describe('purge', () => {
  it('empties a queue with DELETE .../contents', async () => {
    expect(broker.queue('mq.purge').messageCount()).toBe(5);
    const res = await api('/api/queues/%2F/mq.purge/contents', { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(broker.queue('mq.purge').messageCount()).toBe(0);
    expect((await json('/api/queues/%2F/mq.purge')).messages).toBe(0);
  });

  it('answers 404 for a missing queue and 401 without auth', async () => {
    expect((await api('/api/queues/%2F/no-such-queue/contents', { method: 'DELETE' })).status).toBe(404);
    expect((await api('/api/queues/%2F/mq.orders/contents', { method: 'DELETE', auth: null })).status).toBe(401);
    expect(broker.queue('mq.orders').messageCount()).toBe(3);
  });
});

describe('console page', () => {
  it('serves the console at / without credentials (it signs in itself), and the endpoint table to users', async () => {
    const res = await api('/', { auth: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('id="login-form"');
    const js = await api('/console/app.js', { auth: null });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    const info = await json('/api/localmq/endpoints');
    expect(info.endpoints.map((e: { url: string }) => e.url)).toContain(broker.urls.amqp!);
    // both engines' versions on the default (both engines) profile: the ActiveMQ console shows its own
    expect(info.engine_versions).toEqual({ rabbitmq: engineVersionRules('rabbitmq').fullVersion, activemq: engineVersionRules('activemq').fullVersion });
    expect((await api('/api/localmq/endpoints', { auth: null })).status).toBe(401);
  });
});

describe('stop() with an HTTP client still connected', () => {
  it('closes the connection instead of waiting for the client to go', async () => {
    const { connect: netConnect } = await import('node:net');
    const b = await startBroker();
    const port = Number(new URL(b.urls.http!).port);
    const auth = Buffer.from('guest:guest').toString('base64');
    const socket = netConnect(port, '127.0.0.1');
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
    // one whole request and its answer: the server holds the connection
    socket.write(`GET /api/whoami HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\n\r\n`);
    await new Promise<void>((resolve) => socket.once('data', () => resolve()));
    // then a request whose body never comes: no idle timer runs while it is in flight, so a
    // stop() that waited for the client would never return (the test would hang, not pass)
    socket.write(`POST /api/definitions HTTP/1.1\r\nHost: x\r\nAuthorization: Basic ${auth}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{`);
    await b.stop();
    await closed;
    expect(socket.destroyed).toBe(true);
  });
});
