import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Channel, ChannelModel } from 'amqplib';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { channelClosed, connect } from '../helpers/amqp.js';

const dirs: string[] = [];
const brokers: LocalMQ[] = [];
const conns: ChannelModel[] = [];
function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'localmq-restart-'));
  dirs.push(d);
  return d;
}
async function start(dir: string): Promise<LocalMQ> {
  const b = await startBroker({ dataDir: dir });
  brokers.push(b);
  return b;
}
/** stop `broker` (clients see it go) and start a new one on the same dir */
async function restart(broker: LocalMQ): Promise<LocalMQ> {
  await broker.stop();
  brokers.splice(brokers.indexOf(broker), 1);
  return start(broker.options.dataDir!);
}
async function open(broker: LocalMQ, opts: Parameters<typeof connect>[1] = {}): Promise<ChannelModel> {
  const c = await connect(broker, opts);
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}
async function channel(broker: LocalMQ, opts: Parameters<typeof connect>[1] = {}): Promise<Channel> {
  const ch = await (await open(broker, opts)).createChannel();
  ch.on('error', () => undefined);
  return ch;
}
afterEach(async () => {
  vi.useRealTimers();
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('restart on the same data dir', () => {
  it('keeps durable entities and persistent messages; drops transient ones; unacked come back redelivered', async () => {
    const dir = dataDir();
    let broker = await start(dir);
    let conn = await open(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('orders.x', 'topic', { durable: true });
    // priorities: a classic queue's (x-max-priority is refused on quorum, RabbitMQ 4's default)
    await ch.assertQueue('orders', { durable: true, arguments: { 'x-queue-type': 'classic', 'x-max-priority': 5 } });
    // a transient queue (RabbitMQ 4.3 refuses transient non-exclusive ones: then an exclusive one)
    await ch.assertQueue('scratch', { durable: false, exclusive: !broker.core.engineRules.transientNonExclusiveQueues });
    await ch.bindQueue('orders', 'orders.x', 'order.*');
    ch.publish('orders.x', 'order.a', Buffer.from('p1'), { persistent: true, headers: { n: 1 }, contentType: 'text/plain' });
    ch.publish('orders.x', 'order.b', Buffer.from('t1'), { persistent: false });
    ch.publish('orders.x', 'order.c', Buffer.from('p2'), { persistent: true, messageId: 'm-2' });
    ch.publish('orders.x', 'order.d', Buffer.from('p3'), { persistent: true });
    await ch.waitForConfirms();
    // take p1 without acking it, ack nothing: it must come back flagged redelivered
    const first = await ch.get('orders', { noAck: false });
    expect(first && first.content.toString()).toBe('p1');
    broker = await restart(broker);

    conn = await open(broker);
    const ch2 = await conn.createChannel();
    await ch2.checkExchange('orders.x');
    await expect(ch2.checkQueue('orders')).resolves.toMatchObject({ messageCount: 3 });
    const got: { body: string; redelivered: boolean; headers: unknown; messageId?: string }[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch2.get('orders', { noAck: true });
      if (!m) throw new Error('expected a message');
      got.push({ body: m.content.toString(), redelivered: m.fields.redelivered, headers: m.properties.headers, messageId: m.properties.messageId });
    }
    expect(got.map((g) => g.body)).toEqual(['p1', 'p2', 'p3']);
    expect(got.map((g) => g.redelivered)).toEqual([true, false, false]);
    expect(got[0]!.headers).toEqual({ n: 1 });
    expect(got[1]!.messageId).toBe('m-2');
    // the binding survived
    ch2.publish('orders.x', 'order.z', Buffer.from('after'), { persistent: true });
    const after = await broker.waitFor('orders');
    expect(after.text()).toBe('after');
    // the non-durable queue did not
    const ch3 = await conn.createChannel();
    ch3.on('error', () => undefined);
    await expect(ch3.checkQueue('scratch')).rejects.toThrow(/404/);
  });

  it('a second broker on a data dir in use fails at once naming the dir and the pid', async () => {
    const dir = dataDir();
    await start(dir);
    await expect(startBroker({ dataDir: dir })).rejects.toThrow(new RegExp(`${dir}.*in use by pid ${process.pid}`));
  });
});

describe('restart: vhosts, users and permissions', () => {
  it('a vhost, a user added at runtime (password hash) and its permissions come back; deleted ones stay deleted', async () => {
    let broker = await start(dataDir());
    broker.core.addVhost('billing');
    broker.core.addVhost('doomed');
    broker.users.addUser('alice', 's3cret', ['monitoring']);
    broker.users.setPermission({ user: 'alice', vhost: 'billing', configure: '^alice\\.', write: '.*', read: '.*' });
    broker.users.addUser('bob', 'gone', []);
    broker.users.deleteUser('bob');
    broker.core.deleteVhost('doomed');
    broker.users.forgetVhost('doomed');
    broker = await restart(broker);

    expect(broker.core.vhost('billing')).toBeDefined();
    expect(broker.core.vhost('doomed')).toBeUndefined();
    expect(broker.users.getUser('bob')).toBeUndefined();
    expect(broker.users.getUser('alice')?.tags).toEqual(['monitoring']);
    // the hash came back: the right password works, a wrong one does not
    await expect(connect(broker, { vhost: 'billing', user: 'alice', password: 'wrong' })).rejects.toThrow(/ACCESS_REFUSED|403/);
    const ch = await channel(broker, { vhost: 'billing', user: 'alice', password: 's3cret' });
    await ch.assertQueue('alice.jobs', { durable: true });
    // and the permission's configure pattern still applies
    const closed = channelClosed(ch);
    ch.assertQueue('not-alice', { durable: true }).catch(() => undefined);
    expect((await closed).code).toBe(403);
    // alice has no permission on '/'
    await expect(connect(broker, { vhost: '/', user: 'alice', password: 's3cret' })).rejects.toThrow();
    // guest keeps working on '/'
    await (await channel(broker)).checkExchange('amq.direct');
  });
});

describe('restart: exchanges, queues and bindings with their arguments', () => {
  it('alternate-exchange, exchange-to-exchange and headers bindings still route', async () => {
    let broker = await start(dataDir());
    let ch = await channel(broker);
    await ch.assertExchange('ae.fallback', 'fanout', { durable: true });
    await ch.assertExchange('ae.main', 'direct', { durable: true, alternateExchange: 'ae.fallback' });
    await ch.assertQueue('ae.unrouted', { durable: true });
    await ch.bindQueue('ae.unrouted', 'ae.fallback', '');
    await ch.assertExchange('e2e.src', 'topic', { durable: true });
    await ch.assertExchange('e2e.dst', 'fanout', { durable: true });
    await ch.bindExchange('e2e.dst', 'e2e.src', 'a.#');
    await ch.assertQueue('e2e.q', { durable: true });
    await ch.bindQueue('e2e.q', 'e2e.dst', '');
    await ch.assertExchange('hdr', 'headers', { durable: true });
    await ch.assertQueue('hdr.invoices', { durable: true });
    await ch.bindQueue('hdr.invoices', 'hdr', '', { 'x-match': 'all', kind: 'invoice', region: 'eu' });
    await ch.assertExchange('temp.x', 'fanout', { durable: false });
    // a binding from a durable exchange to a transient queue is not kept
    await ch.assertQueue('temp.q', { durable: false, exclusive: !broker.core.engineRules.transientNonExclusiveQueues });
    await ch.bindQueue('temp.q', 'e2e.dst', '');
    broker = await restart(broker);

    ch = await channel(broker);
    ch.publish('ae.main', 'no-such-key', Buffer.from('to-ae'), { persistent: true });
    expect((await broker.waitFor('ae.unrouted')).text()).toBe('to-ae');
    ch.publish('e2e.src', 'a.b.c', Buffer.from('via-e2e'));
    expect((await broker.waitFor('e2e.q')).text()).toBe('via-e2e');
    ch.publish('hdr', '', Buffer.from('other'), { headers: { kind: 'invoice', region: 'us' } });
    ch.publish('hdr', '', Buffer.from('inv'), { headers: { kind: 'invoice', region: 'eu' } });
    expect((await broker.waitFor('hdr.invoices')).text()).toBe('inv');
    expect(broker.queue('hdr.invoices').messageCount()).toBe(1);
    expect(broker.core.vhost('/')!.getExchange('ae.main')!.options.arguments).toEqual({ 'alternate-exchange': 'ae.fallback' });
    expect(broker.core.vhost('/')!.getExchange('temp.x')).toBeUndefined();
    expect(broker.queue('temp.q').exists()).toBe(false);
  });

  it('queue arguments (TTL, DLX, max-length, priority) come back and still act; exclusive queues do not come back', async () => {
    let broker = await start(dataDir());
    let conn = await open(broker);
    let ch = await conn.createChannel();
    ch.on('error', () => undefined);
    const args = { 'x-queue-type': 'classic', 'x-message-ttl': 600_000, 'x-dead-letter-exchange': 'dlx', 'x-max-length': 3, 'x-max-priority': 5 };
    await ch.assertExchange('dlx', 'fanout', { durable: true });
    await ch.assertQueue('dlq', { durable: true });
    await ch.bindQueue('dlq', 'dlx', '');
    await ch.assertQueue('jobs', { durable: true, arguments: args });
    await ch.assertQueue('mine', { durable: true, exclusive: true });
    broker = await restart(broker);

    expect(broker.queue('jobs').info()!.arguments).toEqual(args);
    expect(broker.queue('mine').exists()).toBe(false);
    conn = await open(broker);
    ch = await conn.createConfirmChannel();
    // re-declaring with the same arguments is fine, with other ones it is 406
    await ch.assertQueue('jobs', { durable: true, arguments: args });
    const waitForConfirms = () => (ch as unknown as { waitForConfirms(): Promise<void> }).waitForConfirms();
    for (const [p, body] of [[1, 'low-1'], [5, 'high'], [1, 'low-2']] as const) {
      ch.publish('', 'jobs', Buffer.from(body), { persistent: true, priority: p });
    }
    await waitForConfirms();
    // x-max-priority: the high one jumps the line
    const first = await ch.get('jobs', { noAck: true });
    expect(first && first.content.toString()).toBe('high');
    // x-max-length 3 (drop-head) with x-dead-letter-exchange: the oldest goes to the DLX
    for (const body of ['low-3', 'low-4']) ch.publish('', 'jobs', Buffer.from(body), { persistent: true, priority: 1 });
    await waitForConfirms();
    expect((await broker.waitFor('dlq')).text()).toBe('low-1');
    expect(broker.queue('jobs').messageCount()).toBe(3);
    // x-message-ttl: the queue gave its messages an expiry from the argument
    const head = broker.core.vhost('/')!.getQueue('jobs')!.peekMessages()[0]!;
    expect(head.expiresAt - head.message.publishedAt).toBe(600_000);
    const other = await conn.createChannel();
    const closed = channelClosed(other);
    other.assertQueue('jobs', { durable: true, arguments: { ...args, 'x-max-length': 4 } }).catch(() => undefined);
    expect((await closed).code).toBe(406);
  });
});

describe('restart: messages', () => {
  it('acked messages and transient ones do not come back; the rest keep their order and properties', async () => {
    let broker = await start(dataDir());
    let ch = await channel(broker);
    await ch.assertQueue('q', { durable: true });
    for (let i = 1; i <= 6; i++) {
      ch.sendToQueue('q', Buffer.from(`m${i}`), { persistent: i !== 4, correlationId: `c${i}`, priority: 1, timestamp: 1700000000 + i, type: 't', appId: 'app' });
    }
    await broker.waitFor('q', (m) => m.text() === 'm6');
    // ack m1 and m3; m2 delivered and unacked; a consumer got nothing else
    const take = async () => {
      const m = await ch.get('q', { noAck: false });
      if (!m) throw new Error('expected a message');
      return m;
    };
    const m1 = await take();
    const m2 = await take();
    const m3 = await take();
    expect([m1, m2, m3].map((m) => m.content.toString())).toEqual(['m1', 'm2', 'm3']);
    ch.ack(m1);
    ch.ack(m3);
    await ch.checkQueue('q'); // a round trip: the acks were handled
    broker = await restart(broker);

    ch = await channel(broker);
    const got = [];
    for (let m = await ch.get('q', { noAck: true }); m; m = await ch.get('q', { noAck: true })) got.push(m);
    expect(got.map((m) => [m.content.toString(), m.fields.redelivered])).toEqual([
      ['m2', true],
      ['m5', false],
      ['m6', false],
    ]);
    expect(got[1]!.properties).toMatchObject({ correlationId: 'c5', priority: 1, timestamp: 1700000005, type: 't', appId: 'app', deliveryMode: 2 });
  });

  it('a message dead-lettered into a durable queue survives with its x-death; a purged or deleted queue stays empty', async () => {
    let broker = await start(dataDir());
    let ch = await channel(broker);
    await ch.assertExchange('dlx', 'fanout', { durable: true });
    await ch.assertQueue('dead', { durable: true });
    await ch.bindQueue('dead', 'dlx', '');
    await ch.assertQueue('work', { durable: true, deadLetterExchange: 'dlx' });
    await ch.assertQueue('purged', { durable: true });
    await ch.assertQueue('deleted', { durable: true });
    ch.sendToQueue('work', Buffer.from('bad'), { persistent: true });
    ch.sendToQueue('purged', Buffer.from('x'), { persistent: true });
    ch.sendToQueue('deleted', Buffer.from('y'), { persistent: true });
    const bad = await broker.waitFor('work').then(() => ch.get('work', { noAck: false }));
    ch.nack(bad as never, false, false);
    await broker.waitFor('dead');
    await ch.purgeQueue('purged');
    await ch.deleteQueue('deleted');
    await ch.assertQueue('deleted', { durable: true });
    broker = await restart(broker);

    ch = await channel(broker);
    expect(broker.queue('work').messageCount()).toBe(0);
    expect(broker.queue('purged').messageCount()).toBe(0);
    expect(broker.queue('deleted').messageCount()).toBe(0);
    const dead = await ch.get('dead', { noAck: true });
    expect(dead && dead.content.toString()).toBe('bad');
    const death = (dead as { properties: { headers: Record<string, unknown> } }).properties.headers['x-death'] as Record<string, unknown>[];
    expect(death[0]).toMatchObject({ queue: 'work', reason: 'rejected', count: 1, exchange: '' });
  });

  it('a purge of many persistent messages, settled in slices after purge-ok, is all on disk after a clean stop', async () => {
    let broker = await start(dataDir());
    const ch = await channel(broker);
    await ch.assertQueue('bulk', { durable: true });
    const n = 20_000;
    for (let i = 0; i < n; i++) broker.publish('', 'bulk', Buffer.from('p'), { deliveryMode: 2 });
    expect(broker.queue('bulk').purge()).toBe(n);
    // the store still has most of them to drop: the broker's stop finishes that first
    expect(broker.core.vhost('/')!.getQueue('bulk')!.settling).toBeGreaterThan(0);
    ch.sendToQueue('bulk', Buffer.from('kept'), { persistent: true });
    await broker.waitFor('bulk', (m) => m.text() === 'kept');
    broker = await restart(broker);
    expect(broker.queue('bulk').messages().map((m) => m.text())).toEqual(['kept']);
  });

  it('TTLs keep counting from the original publish time across a restart; an expired message is gone', async () => {
    const t0 = Date.UTC(2030, 0, 1);
    // only Date is faked (frozen, moved by hand): sockets and timers run for real
    vi.useFakeTimers({ toFake: ['Date'], now: t0 });
    let broker = await start(dataDir());
    let ch = await channel(broker);
    await ch.assertQueue('ttl', { durable: true, arguments: { 'x-message-ttl': 2000 } });
    await ch.assertQueue('per-msg', { durable: true });
    await ch.assertExchange('expired.dlx', 'fanout', { durable: true });
    await ch.assertQueue('expired.dlq', { durable: true });
    await ch.bindQueue('expired.dlq', 'expired.dlx', '');
    await ch.assertQueue('ttl-dlx', { durable: true, arguments: { 'x-message-ttl': 1000, 'x-dead-letter-exchange': 'expired.dlx' } });
    ch.sendToQueue('ttl-dlx', Buffer.from('to-dlq'), { persistent: true });
    ch.sendToQueue('ttl', Buffer.from('queue-ttl'), { persistent: true });
    ch.sendToQueue('per-msg', Buffer.from('short'), { persistent: true, expiration: '1000' });
    ch.sendToQueue('per-msg', Buffer.from('long'), { persistent: true, expiration: '60000' });
    await broker.waitFor('per-msg', (m) => m.text() === 'long');
    await broker.waitFor('ttl');

    vi.setSystemTime(t0 + 1500);
    broker = await restart(broker);
    ch = await channel(broker);
    // 'short' (1 s) ran out while the broker was down; 'long' did not
    const survivor = await ch.get('per-msg', { noAck: true });
    expect(survivor && survivor.content.toString()).toBe('long');
    expect(await ch.get('per-msg', { noAck: true })).toBe(false);
    // one that expired while the broker was down is dead-lettered like any expired message
    expect(await ch.get('ttl-dlx', { noAck: true })).toBe(false);
    const dead = await ch.get('expired.dlq', { noAck: true });
    expect(dead && dead.content.toString()).toBe('to-dlq');
    expect((dead as { properties: { headers: Record<string, { reason: string }[]> } }).properties.headers['x-death']![0]!.reason).toBe('expired');
    // a message published now, after the restart, gets the full 2 s
    ch.sendToQueue('ttl', Buffer.from('fresh'), { persistent: true });
    await broker.waitFor('ttl', (m) => m.text() === 'fresh');
    expect(broker.queue('ttl').messageCount()).toBe(2);

    // 2.5 s after the first publish: 2 s from publishing (not from the restart) have passed
    vi.setSystemTime(t0 + 2500);
    const next = await ch.get('ttl', { noAck: true });
    expect(next && next.content.toString()).toBe('fresh');
    broker = await restart(broker);
    // the expiry was written: neither the expired message nor the consumed one come back
    expect(broker.queue('ttl').messageCount()).toBe(0);
    expect(broker.queue('per-msg').messageCount()).toBe(0);
  });
});
