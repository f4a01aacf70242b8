import { expect, it } from 'vitest';
import type { Queue } from '../../src/core/queues/queue.js';
import { call } from '../helpers/management.js';
import { answersWaiting, brokerForHeldRequeues } from '../helpers/requeue-held.js';

// issue 18 point 5 (session 11 mends #2 caveat): a basic.get or a purge waiting behind a closed
// channel's unacked coming back (Queue.whenReturned) was overtaken by a queue.delete asked after
// it, which deleted at once: the get and the purge answered 404 NOT_FOUND. In RabbitMQ they are
// calls in the queue process's mailbox, all of priority 0 (rabbit_amqqueue_process
// prioritise_call: only info, consumers, stat and consume/cancel are raised), served in the
// order they came: the get and the purge are answered from the queue, with the requeued messages
// back, and the delete after them counts what is left. queue.delete now waits its turn.

const t = brokerForHeldRequeues();

/**
 * round trips on the AMQP connection until `n` answers wait for `q`'s returns (each gives the
 * broker turns to read the requests), or `q` is gone (a delete that did not wait: the old code)
 */
async function untilWaiting(q: Queue, n: number): Promise<void> {
  while (answersWaiting(q) < n && !q.deleted) await t.ch.checkExchange('amq.direct');
}

it('AMQP: a basic.get and a queue.purge waiting behind a requeue are answered before a queue.delete asked after them (they were 404 NOT_FOUND); the delete-ok counts what the purge left', async () => {
  // 2000 unacked of a closed channel on their way back (held), 5 more ready
  const held = await t.held('dt.amqp', 2000);
  const getter = await t.conn.createChannel();
  const purger = await t.conn.createChannel();
  const deleter = await t.conn.createChannel();
  // the old code closed the getter's and purger's channels (404): their errors are in the answers awaited below
  for (const c of [getter, purger, deleter]) c.on('error', () => undefined);
  const got = getter.get('dt.amqp', { noAck: true });
  await untilWaiting(held.queue, 1);
  const purged = purger.purgeQueue('dt.amqp');
  await untilWaiting(held.queue, 2);
  const deleted = deleter.deleteQueue('dt.amqp');
  await untilWaiting(held.queue, 3);
  held.open();
  const m = await got;
  // the first of the requeued ones, back in its place, then the purge of the other 2004
  expect(m && [m.content.toString(), m.fields.redelivered, m.fields.messageCount]).toEqual(['0', true, 2004]);
  expect(await purged).toEqual({ messageCount: 2004 });
  expect(await deleted).toEqual({ messageCount: 0 });
  expect(t.broker.core.vhost('/')!.getQueue('dt.amqp')).toBeUndefined();
  await Promise.all([getter.close(), purger.close(), deleter.close()]);
});

it('AMQP: queue.delete if-empty asked while a requeue is on its way back sees the requeued messages: 406 PRECONDITION_FAILED (it deleted the queue at once, counting 0)', async () => {
  // none ready: all the queue holds is on its way back
  const held = await t.held('dt.ifempty', 2000, 0);
  const deleter = await t.conn.createChannel();
  const closed = new Promise<Error>((resolve) => deleter.once('error', resolve));
  const deleted = deleter.deleteQueue('dt.ifempty', { ifEmpty: true }).then(
    (ok) => ok,
    (err: Error) => err,
  );
  await untilWaiting(held.queue, 1);
  held.open();
  const answer = await deleted;
  expect(String(answer)).toContain('406 (PRECONDITION-FAILED)');
  expect(String(await closed)).toContain("queue 'dt.ifempty' in vhost '/' not empty");
  expect(t.broker.core.vhost('/')!.getQueue('dt.ifempty')?.messageCount).toBe(2000);
  await t.ch.deleteQueue('dt.ifempty');
});

it('management API: a purge and a get waiting behind a requeue are answered before a DELETE of the queue asked after them (they were 404)', async () => {
  const held = await t.held('dt.http', 2000);
  const got = call(t.broker, 'POST', '/api/queues/%2F/dt.http/get', { body: { count: 2, ackmode: 'ack_requeue_false', encoding: 'auto' } });
  await untilWaiting(held.queue, 1);
  const purged = call(t.broker, 'DELETE', '/api/queues/%2F/dt.http/contents');
  await untilWaiting(held.queue, 2);
  const deleted = call(t.broker, 'DELETE', '/api/queues/%2F/dt.http');
  await untilWaiting(held.queue, 3);
  held.open();
  const g = await got;
  expect([g.status, ((await g.json()) as { payload: string }[]).map((m) => m.payload)]).toEqual([200, ['0', '1']]);
  expect((await purged).status).toBe(204);
  expect((await deleted).status).toBe(204);
  expect(t.broker.core.vhost('/')!.getQueue('dt.http')).toBeUndefined();
});
