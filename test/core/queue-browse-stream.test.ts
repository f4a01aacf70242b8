import { expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.js';
import type { Delivery } from '../../src/core/consumer.js';
import type { QueueBrowse } from '../../src/core/queues/queue-browse.js';
import type { Queue } from '../../src/core/queues/queue.js';
import { coreBroker, declareQueue, keepingConsumer, publish } from './helpers.js';

// issue 18 (closing-s17 item 6): a QueueBrowser of a queue whose consumers hold many messages got
// its first message only once every held one was gathered from the sessions' books (400k held:
// 0.25-0.33 s). The browse now shows what comes before every held one not gathered yet (the walk
// bounds those by the consumers' trails, SeqTrail), as it gathers: the queue's order still holds.

async function settled(broker: Broker): Promise<void> {
  await broker.bulkWork.idle();
}

/** a queue of `n` + 10 messages m0, m1, …: a consumer in a session of its own holds the first `n` */
async function firstHeld(n: number) {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  for (let i = 0; i < n + 10; i++) publish(vhost, '', 'q', `m${i}`);
  const c = keepingConsumer(broker, vhost, 'c', n);
  await settled(broker);
  expect(c.got).toHaveLength(n);
  return { broker, vhost, q, c };
}

/** what next() gives now, as `m<i>` (`*`: delivered to a consumer) */
function shownNow(b: QueueBrowse): string[] {
  const shown: string[] = [];
  for (let e = b.next(Date.now()); e !== undefined; e = b.next(Date.now())) shown.push(`${e.message.body.toString()}${b.lastDelivered ? '*' : ''}`);
  return shown;
}

/** steps with no time left (each walks 1024 deliveries) until the gathering is done: what each step let through */
function stepped(b: QueueBrowse): string[][] {
  const steps: string[][] = [];
  for (let gathered = false; !gathered; ) {
    gathered = b.step(0, Infinity);
    steps.push(shownNow(b));
  }
  return steps;
}

const names = (from: number, to: number, mark = '') => Array.from({ length: to - from }, (_, k) => `m${from + k}${mark}`);

it('a browse of a queue whose consumer holds 5000 shows its first messages after the first slice of the gathering, before it is over, in the queue\'s order', async () => {
  const { q } = await firstHeld(5000);
  const b = q.browseWhenReturned(() => undefined)!;
  // 1024 walked at the first step: the last of them (m1023) bounds the rest, so m0..m1022 go
  b.step(0, Infinity);
  expect(b.gathered).toBe(false);
  const first = shownNow(b);
  expect(first).toEqual(names(0, 1023, '*'));
  const steps = [first, ...stepped(b)];
  expect(steps.length).toBeGreaterThan(2);
  expect([...steps.flat(), ...shownNow(b)]).toEqual([...names(0, 5000, '*'), ...names(5000, 5010)]);
  expect(b.done).toBe(true);
});

it('a message redelivered to the consumer (later in its book, earlier in the queue) holds the browse back until it is gathered', async () => {
  const { broker, q, c } = await firstHeld(3000);
  // m0..m4 back to the queue and delivered again: the book holds m5..m2999, then m0..m4
  for (let i = 0; i < 5; i++) c.session.reject(c.got[i]!.tag, true);
  await settled(broker);
  expect(c.bodies().slice(-5)).toEqual(names(0, 5));
  const b = q.browseWhenReturned(() => undefined)!;
  const steps = stepped(b);
  // the first steps walk m5.. and show nothing: the consumer's trail says a lower one is further on
  expect(steps[0]).toEqual([]);
  expect([...steps.flat(), ...shownNow(b)]).toEqual([...names(0, 3000, '*'), ...names(3000, 3010)]);
});

it('a session holding basic.gets of the queue (their order is not kept) holds the browse back until its book is walked', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  for (let i = 0; i < 3010; i++) publish(vhost, '', 'q', `m${i}`);
  // the consumer's session is walked first (a session joins the walk's order as it first takes a
  // message); the other takes m0..m2 by basic.get once the consumer gave them back
  const consumerSession = broker.openSession(vhost, {});
  consumerSession.consumerPrefetch = 3000;
  const got: Delivery[] = [];
  consumerSession.consume('q', { tag: 'c', noAck: false, exclusive: false, priority: 0, arguments: {} }, { deliver: (d) => void got.push(d), isWritable: () => true, cancelledByBroker: () => undefined });
  await settled(broker);
  expect(got).toHaveLength(3000);
  consumerSession.cancel('c');
  for (let i = 0; i < 3; i++) consumerSession.reject(got[i]!.tag, true);
  const getter = broker.openSession(vhost, {});
  expect([0, 1, 2].map(() => getter.get('q', false)?.delivery.message.body.toString())).toEqual(names(0, 3));
  const b = q.browseWhenReturned(() => undefined)!;
  const steps = stepped(b);
  expect(steps.length).toBeGreaterThan(2);
  expect(steps.slice(0, -1).flat()).toEqual([]);
  expect([...steps.flat(), ...shownNow(b)]).toEqual([...names(0, 3000, '*'), ...names(3000, 3010)]);
});
