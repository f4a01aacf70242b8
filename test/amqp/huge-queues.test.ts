import type { Channel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';

// Issue 10: queue.purge / queue.delete on more than ~120k messages answered
// 541 INTERNAL_ERROR - Maximum call stack size exceeded (the ready list was copied with
// push(...all)). Every operation that walks a whole queue is tried on a million messages.

const MILLION = 1_000_000;
const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

let broker: LocalMQ;
let ch: Channel;
let close: () => Promise<void>;

/**
 * One million messages in each of `queues`, published in bulk from the server side: one
 * message object through a fanout exchange to all of them, so filling stays fast.
 */
async function fill(...queues: string[]): Promise<void> {
  const fanout = `fill.${queues.join('.')}`;
  await ch.assertExchange(fanout, 'fanout', { durable: false, autoDelete: false });
  for (const q of queues) {
    await ch.assertQueue(q, { durable: false });
    await ch.bindQueue(q, fanout, '');
  }
  const body = Buffer.from('m');
  for (let i = 0; i < MILLION; i++) broker.publish(fanout, '', body);
  await ch.deleteExchange(fanout);
  for (const q of queues) expect(broker.queue(q).messageCount()).toBe(MILLION);
}

beforeAll(async () => {
  broker = await startBroker();
  const conn = await connect(broker);
  ch = await conn.createChannel();
  close = () => conn.close();
});

afterAll(async () => {
  await close?.();
  await broker?.stop();
});

describe('a queue of one million messages', () => {
  it('peek (test API, management API), basic.get, queue.purge, queue.delete, management purge and delete all work and keep the connection', async () => {
    await fill('huge.peek', 'huge.purge', 'huge.delete', 'huge.mgmt');

    // peek through the test API: the whole queue, and a bounded look at its head
    const peeked = broker.queue('huge.peek').messages();
    expect(peeked.length).toBe(MILLION);
    expect(peeked[MILLION - 1]!.text()).toBe('m');
    expect(broker.queue('huge.peek').messages(3).length).toBe(3);
    expect((await broker.waitFor('huge.peek')).text()).toBe('m');

    // basic.get takes the head and leaves the rest
    const got = await ch.get('huge.peek', { noAck: true });
    expect(got && got.content.toString()).toBe('m');
    expect(got && got.fields.messageCount).toBe(MILLION - 1);

    // queue.purge answers purge-ok with the count
    expect(await ch.purgeQueue('huge.purge')).toEqual({ messageCount: MILLION });
    expect(broker.queue('huge.purge').messageCount()).toBe(0);

    // queue.delete answers delete-ok with the count
    expect(await ch.deleteQueue('huge.delete')).toEqual({ messageCount: MILLION });
    expect(broker.queue('huge.delete').exists()).toBe(false);

    // the management API's purge
    const res = await fetch(`${broker.urls.http}/api/queues/%2F/huge.mgmt/contents`, { method: 'DELETE', headers: { authorization: GUEST } });
    expect(res.status).toBe(204);
    expect(broker.queue('huge.mgmt').messageCount()).toBe(0);

    // the management API's peek (get with requeue) leaves the queue as it was
    const peek = await fetch(`${broker.urls.http}/api/queues/%2F/huge.peek/get`, {
      method: 'POST',
      headers: { authorization: GUEST, 'content-type': 'application/json' },
      body: JSON.stringify({ count: 3, ackmode: 'ack_requeue_true', encoding: 'auto' }),
    });
    expect(peek.status).toBe(200);
    const got3 = (await peek.json()) as { payload: string; message_count: number }[];
    expect(got3.map((m) => m.payload)).toEqual(['m', 'm', 'm']);
    expect(got3[0]!.message_count).toBe(MILLION - 2);

    // the channel (and its connection) is still open
    const q = await ch.checkQueue('huge.peek');
    expect(q.messageCount).toBe(MILLION - 1);

    // the management API's queue delete
    const del = await fetch(`${broker.urls.http}/api/queues/%2F/huge.peek`, { method: 'DELETE', headers: { authorization: GUEST } });
    expect(del.status).toBe(204);
    expect(broker.queue('huge.peek').exists()).toBe(false);
  }, 120_000);
});
