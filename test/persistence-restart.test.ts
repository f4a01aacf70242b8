import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../src/index.js';
import { connect } from './helpers/amqp.js';

const dirs: string[] = [];
const brokers: LocalMQ[] = [];
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
afterEach(async () => {
  for (const b of brokers.splice(0)) await b.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('restart on the same data dir', () => {
  it('keeps durable entities and persistent messages; drops transient ones; unacked come back redelivered', async () => {
    const dir = dataDir();
    let broker = await start(dir);
    let conn = await connect(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertExchange('orders.x', 'topic', { durable: true });
    await ch.assertQueue('orders', { durable: true, arguments: { 'x-max-priority': 5 } });
    await ch.assertQueue('scratch', { durable: false });
    await ch.bindQueue('orders', 'orders.x', 'order.*');
    ch.publish('orders.x', 'order.a', Buffer.from('p1'), { persistent: true, headers: { n: 1 }, contentType: 'text/plain' });
    ch.publish('orders.x', 'order.b', Buffer.from('t1'), { persistent: false });
    ch.publish('orders.x', 'order.c', Buffer.from('p2'), { persistent: true, messageId: 'm-2' });
    ch.publish('orders.x', 'order.d', Buffer.from('p3'), { persistent: true });
    await ch.waitForConfirms();
    // take p1 without acking it, ack nothing: it must come back flagged redelivered
    const first = await ch.get('orders', { noAck: false });
    expect(first && first.content.toString()).toBe('p1');
    await broker.stop();
    await conn.close().catch(() => undefined);
    brokers.pop();

    broker = await start(dir);
    conn = await connect(broker);
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
    await conn.close();
  });

  it('a second broker on a data dir in use fails at once naming the dir and the pid', async () => {
    const dir = dataDir();
    await start(dir);
    await expect(startBroker({ dataDir: dir })).rejects.toThrow(new RegExp(`${dir}.*in use by pid ${process.pid}`));
  });
});
