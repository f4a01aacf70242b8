import amqplib, { type Channel, type ConfirmChannel, type GetMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { getJson } from '../helpers/management.js';

/**
 * A quorum queue's delivery order, per RabbitMQ version (rabbit_fifo at each tag):
 * - 3.13: no priorities: one FIFO (rabbit_fifo v3 has one `messages` queue).
 * - 4.0-4.2: two levels (rabbit_fifo_q, 4.2.9): priority > 4 is high (priority_tag/1), the rest
 *   normal; with both waiting, each dequeue turn counts 0, 1, 2: turns 0 and 1 take high, turn 2
 *   takes normal unless the high head is the older (next/1, ?WEIGHT 2).
 * - 4.3: strict priorities 0..31 (rabbit_fifo_pq, 4.3.5; release notes 4.3.0 "strict priority
 *   queues"), a message without priority at 4 (?DEFAULT_PRIORITY), above 31 at 31 (msg_priority/1).
 * - every version: a returned message (nack/reject with requeue) waits in `returns`, in the order
 *   it came back, ahead of everything else (take_next_msg/1); a classic queue puts it back in its
 *   original place instead.
 */

async function withChannel(engineVersion: string, body: (ch: ConfirmChannel, broker: LocalMQ) => Promise<void>): Promise<void> {
  const broker = await startBroker({ engineVersion });
  const conn = await amqplib.connect(broker.urls.amqp!);
  try {
    const ch = await conn.createConfirmChannel();
    await body(ch, broker);
  } finally {
    await conn.close().catch(() => undefined);
    await broker.stop();
  }
}

/** publish each [body, priority] to a fresh queue of `type`, confirmed, then read them back one basic.get at a time */
async function orderOf(ch: ConfirmChannel, queue: string, type: 'quorum' | 'classic', messages: [string, number | undefined][]): Promise<string[]> {
  await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': type } });
  for (const [body, priority] of messages) ch.sendToQueue(queue, Buffer.from(body), priority === undefined ? {} : { priority });
  await ch.waitForConfirms();
  return drain(ch, queue);
}

async function drain(ch: Channel, queue: string): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (!m) return out;
    out.push(m.content.toString());
  }
}

describe('quorum queue priorities per version', () => {
  it('/api/queues counts ready messages as rabbit_quorum_queue does: 4.2 high/normal/returned, 4.3 messages_by_priority', async () => {
    for (const engineVersion of ['4.2', '4.3']) {
      await withChannel(engineVersion, async (ch, broker) => {
        await ch.assertQueue('counted', { durable: true });
        for (const priority of [undefined, 9, 9, 1]) ch.sendToQueue('counted', Buffer.from('x'), priority === undefined ? {} : { priority });
        await ch.waitForConfirms();
        const m = (await ch.get('counted')) as GetMessage;
        ch.nack(m, false, true); // one returned
        await ch.checkQueue('counted');
        const q = await getJson(broker, '/api/queues/%2F/counted');
        if (engineVersion === '4.2') expect(q).toMatchObject({ messages_ready: 4, messages_ready_high: 1, messages_ready_normal: 2, messages_ready_returned: 1 });
        else expect(q).toMatchObject({ messages_ready: 4, messages_ready_returned: 1, messages_by_priority: { '4': 1, '9': 1, '1': 1 } });
      });
    }
  });

  it('3.13: the priority property is ignored (FIFO)', async () => {
    await withChannel('3.13', async (ch) => {
      expect(await orderOf(ch, 'q313', 'quorum', [['a', 0], ['b', 9], ['c', undefined], ['d', 5]])).toEqual(['a', 'b', 'c', 'd']);
    });
  });

  it('4.2: two levels, high (> 4) and normal, two high for each normal while both wait', async () => {
    await withChannel('4.2', async (ch) => {
      const normalFirst = await orderOf(ch, 'q42a', 'quorum', [
        ['n1', 1], ['n2', undefined], ['n3', 4],
        ['h1', 9], ['h2', 5], ['h3', 255], ['h4', 9], ['h5', 9], ['h6', 9],
      ]);
      expect(normalFirst).toEqual(['h1', 'h2', 'n1', 'h3', 'h4', 'n2', 'h5', 'h6', 'n3']);
      // the third turn takes the high message when it is the older one
      const highFirst = await orderOf(ch, 'q42b', 'quorum', [['h1', 9], ['h2', 9], ['h3', 9], ['n1', 0], ['n2', 0]]);
      expect(highFirst).toEqual(['h1', 'h2', 'h3', 'n1', 'n2']);
    });
  });

  it('4.3: strict priorities 0..31, none counts as 4, above 31 as 31', async () => {
    await withChannel('4.3', async (ch) => {
      const order = await orderOf(ch, 'q43', 'quorum', [['a', undefined], ['b', 1], ['c', 9], ['d', 40], ['e', 5], ['f', 4], ['g', 31]]);
      expect(order).toEqual(['d', 'g', 'c', 'e', 'a', 'f', 'b']);
    });
  });

  it('returned messages go out first, in the order they came back (a classic queue restores the original order)', async () => {
    await withChannel('4.2', async (ch) => {
      for (const type of ['quorum', 'classic'] as const) {
        const queue = `returns-${type}`;
        await ch.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': type } });
        for (const body of ['m1', 'm2', 'm3']) ch.sendToQueue(queue, Buffer.from(body));
        await ch.waitForConfirms();
        const m1 = (await ch.get(queue)) as GetMessage;
        const m2 = (await ch.get(queue)) as GetMessage;
        ch.nack(m2, false, true);
        ch.nack(m1, false, true);
        const order = await drain(ch, queue);
        expect(order).toEqual(type === 'quorum' ? ['m2', 'm1', 'm3'] : ['m1', 'm2', 'm3']);
      }
    });
  });

  it('a peek (test helpers, management get) follows the same order', async () => {
    await withChannel('4.2', async (ch, broker) => {
      await ch.assertQueue('peek42', { durable: true });
      for (const [body, priority] of [['n1', 0], ['h1', 9], ['h2', 9], ['h3', 9]] as const) ch.sendToQueue('peek42', Buffer.from(body), { priority });
      await ch.waitForConfirms();
      const peeked = broker.queue('peek42').messages(10).map((m) => m.body.toString());
      expect(peeked).toEqual(['h1', 'h2', 'n1', 'h3']); // the third turn: the normal one is older
      expect(await drain(ch, 'peek42')).toEqual(peeked);
    });
  });

  it('a purge empties a quorum queue (returns and every priority), which goes on working', async () => {
    await withChannel('4.3', async (ch, broker) => {
      await ch.assertQueue('purged', { durable: true });
      for (const priority of [undefined, 9, 1, 31]) ch.sendToQueue('purged', Buffer.from('x'), priority === undefined ? { persistent: true } : { persistent: true, priority });
      await ch.waitForConfirms();
      const m = (await ch.get('purged')) as GetMessage;
      ch.nack(m, false, true); // one in returns
      expect((await ch.purgeQueue('purged')).messageCount).toBe(4);
      expect(broker.queue('purged').messageCount()).toBe(0);
      ch.sendToQueue('purged', Buffer.from('after'), { priority: 2 });
      await ch.waitForConfirms();
      expect(await drain(ch, 'purged')).toEqual(['after']);
    });
  });
});
