import { expect, it } from 'vitest';
import type { Queue } from '../../src/core/queues/queue.js';
import { answersWaiting, brokerForHeldRequeues } from '../helpers/requeue-held.js';

// review-s11-1 F1 (what the answer sees): a basic.get and a queue.purge waiting behind one closed
// channel's unacked coming back, then another channel closing with 20,000 unacked. In RabbitMQ the
// get, the purge and that channel's requeue (notify_down) are calls of priority 0 in the queue
// process's mailbox (rabbit_amqqueue_process prioritise_call), served in the order they came, the
// requeue in one go: the get-ok and purge-ok count none of the later channel's messages, and all of
// them are back afterwards. LocalMQ's answers ran after the bulk work's slice that finished the first
// requeue had gone on into the later one: they counted the part of it already back.

const t = brokerForHeldRequeues();

async function untilWaiting(q: Queue, n: number): Promise<void> {
  while (answersWaiting(q) < n) await t.ch.checkExchange('amq.direct');
}

it('AMQP: get-ok and purge-ok asked before another channel closed count none of that channel\'s 20,000 unacked, which are all back after the purge (they counted part of them)', async () => {
  const queue = 'lr.amqp';
  await t.ch.assertQueue(queue, { durable: false });
  for (let i = 0; i < 20_000; i++) t.broker.publish('', queue, Buffer.from(`b${i}`));
  // the later channel holds these 20,000 unacked from before the first requeue
  const later = await t.conn.createChannel();
  await later.prefetch(20_000);
  let taken = 0;
  await new Promise<void>((resolve) => void later.consume(queue, () => ++taken === 20_000 && resolve()));
  // the first requeue: 600 unacked of a closed channel on their way back (held), 5 more ready
  const held = await t.held(queue, 600);
  const getter = await t.conn.createChannel();
  const purger = await t.conn.createChannel();
  const got = getter.get(queue, { noAck: true });
  await untilWaiting(held.queue, 1);
  const purged = purger.purgeQueue(queue);
  await untilWaiting(held.queue, 2);
  // after the get and the purge were asked: its close-ok comes once its requeue has started
  await later.close();
  held.open();
  const m = await got;
  expect(m && [m.content.toString(), m.fields.redelivered, m.fields.messageCount]).toEqual(['0', true, 604]);
  expect(await purged).toEqual({ messageCount: 604 });
  await t.broker.core.bulkWork.idle();
  expect((await t.ch.checkQueue(queue)).messageCount).toBe(20_000);
  await Promise.all([getter.close(), purger.close()]);
  await t.ch.deleteQueue(queue);
});
