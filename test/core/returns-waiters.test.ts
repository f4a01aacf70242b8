import { expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.js';
import type { Queue } from '../../src/core/queues/queue.js';
import type { VHost } from '../../src/core/vhost.js';
import { Collector, coreBroker, declareQueue, deliveredTo, publish } from './helpers.js';

// Found in the session 10 review (issue 18, review finding #1): an answer waiting for a queue's
// messages on their way back (Queue.whenReturned: basic.get, a purge, the management get) was
// served only once no requeue at all was in flight, so a requeue that started before its turn came
// pushed it back, and a steady stream of them kept it waiting for ever. It waits for the requeues
// in flight when it asked, no later one; answers are served in the order asked.

const opts = (tag: string) => ({ tag, noAck: false, exclusive: false, priority: 0, arguments: {} });

/** bulk work queued here holds everything queued after it until opened; `reached` once the work before it is done */
function gate(broker: Broker): { open(): void; reached: Promise<void> } {
  let open = false;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  broker.bulkWork.add({
    step: () => {
      reach();
      return open;
    },
  });
  return { open: () => (open = true), reached };
}

/** a session holding `n` of `q`'s messages unacked (closing it sends them back in slices) */
async function holding(broker: Broker, vhost: VHost, q: string, n: number, tag: string) {
  const s = broker.openSession(vhost, {});
  s.setPrefetch(n, false);
  const sink = new Collector();
  s.consume(q, opts(tag), sink);
  await deliveredTo(broker, sink, n);
  expect(sink.deliveries).toHaveLength(n);
  return { s, sink };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

it('an answer waits for the requeues in flight when it asked, not for one that started after: served while the later one is still coming back', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  for (let i = 0; i < 6000; i++) publish(vhost, '', 'q', `m${i}`);
  const first = await holding(broker, vhost, 'q', 3000, 'a');
  const second = await holding(broker, vhost, 'q', 3000, 'b');
  const g1 = gate(broker);
  // the first channel's 3000 on their way back (behind g1)
  first.s.close();
  const served: string[] = [];
  q.whenReturned(() => served.push(`first answer, ${q.messageCount} back`));
  // then another requeue starts, held behind g2: it must not hold the answer asked before it
  const g2 = gate(broker);
  second.s.close();
  q.whenReturned(() => served.push(`second answer, ${q.messageCount} back`));
  expect(served).toEqual([]);
  g1.open();
  await g2.reached;
  // the first requeue is done; the waiting answer's turn (scheduled as it finished) comes before the next slice
  await turn();
  expect(q.returnsInFlight).toBe(true);
  expect(served).toEqual(['first answer, 3000 back']);
  g2.open();
  await broker.bulkWork.idle();
  await turn();
  expect(served).toEqual(['first answer, 3000 back', 'second answer, 6000 back']);
});

it('one channel\'s requeues one after the other (nack multiple with requeue, again and again): an answer waits for the batches sent before it only', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  const n = 40_000;
  for (let i = 0; i < n; i++) publish(vhost, '', 'q', `m${i}`);
  const { s, sink } = await holding(broker, vhost, 'q', n, 'a');
  // cancelled: what comes back stays in the queue (its deliveries stay unacked until nacked)
  s.cancel('a');
  const g = gate(broker);
  // a small batch, then an answer, then a batch larger than one slice of the bulk work
  s.nack(sink.deliveries[599]!.tag, true, true);
  let served = -1;
  q.whenReturned(() => (served = q.messageCount));
  s.nack(sink.deliveries[n - 1]!.tag, true, true);
  g.open();
  // the answer is served once the 600 are back, before the rest: it waited for the 39,400 after it before;
  // and it sees none of the later batch (it saw the part of it the same slice had put back: review-s11-1 F1)
  while (served < 0 && q.returnsInFlight) await turn();
  expect(served).toBe(600);
  await broker.bulkWork.idle();
  expect(q.messageCount).toBe(n);
});

/**
 * q with 21,000 messages: session a's 1000 on their way back (closed, held behind g1), session b
 * (`later`) holding the other 20,000; a basic.get waits, `seen.get` its message, redelivered flag,
 * message count and whether returns are still in flight as it was answered
 */
async function firstClosedGetWaiting(broker: Broker, vhost: VHost) {
  const q = declareQueue(vhost, 'q') as Queue;
  for (let i = 0; i < 21_000; i++) publish(vhost, '', 'q', `m${i}`);
  const first = await holding(broker, vhost, 'q', 1000, 'a');
  const later = await holding(broker, vhost, 'q', 20_000, 'b');
  const getter = broker.openSession(vhost, {});
  const g1 = gate(broker);
  first.s.close();
  const seen: Record<string, unknown> = {};
  q.whenReturned(() => {
    const got = getter.getFrom(q, true);
    seen['get'] = [got?.delivery.message.body.toString(), got?.delivery.redelivered, got?.messageCount, q.returnsInFlight];
  });
  return { q, later, g1, seen };
}

// Found in the session 11 review (review-s11-1 F1): an answer served while a later requeue is in
// flight took from the queue through Queue.get / purge / copyReady, which put every message still
// on its way back in place at once (the later requeue's too: one turn of ~80 ms per 300k)
it('answers served while a later requeue is in flight (a basic.get, a purge, a peek\'s copy) leave it coming back in slices: they do not put it back at once', async () => {
  const { broker, vhost } = coreBroker();
  const { q, later, g1, seen } = await firstClosedGetWaiting(broker, vhost);
  q.whenReturned(() => {
    const copy = q.copyReady(Infinity, (e) => e.message.body.toString());
    seen['copy'] = [copy.out.length, q.returnsInFlight];
  });
  q.whenReturned(() => {
    seen['purge'] = [vhost.purgeQueue(q, null), q.returnsInFlight];
  });
  // the later requeue: 20,000 unacked held behind g2 until the answers are in
  const g2 = gate(broker);
  later.s.close();
  g1.open();
  await g2.reached;
  await turn();
  // each saw the first requeue's 1000 back (m0 first, redelivered) and the later one still in flight
  expect(seen).toEqual({ get: ['m0', true, 999, true], copy: [999, true], purge: [999, true] });
  g2.open();
  await broker.bulkWork.idle();
  // the later requeue's 20,000 came back after the purge, in slices
  expect(q.messageCount).toBe(20_000);
});

// Found in the session 11 review (review-s11-1 F3): a bulk settle finished outside the broker's bulk
// work (the test API's synchronous messages() puts every return back at once) left its entry queued
// there while it said it was not: the session's next bulk settle ran through that old entry, ahead of
// the work queued in between
it('a bulk settle finished at once by a synchronous read of the queue: the session\'s next one waits behind the work queued before it', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  const q2 = declareQueue(vhost, 'q2') as Queue;
  for (let i = 0; i < 3000; i++) publish(vhost, '', 'q', `a${i}`);
  for (let i = 0; i < 2000; i++) publish(vhost, '', 'q2', `b${i}`);
  const s = broker.openSession(vhost, {});
  const a = new Collector();
  const b = new Collector();
  s.consume('q', opts('a'), a);
  await deliveredTo(broker, a, 3000);
  s.consume('q2', opts('b'), b);
  await deliveredTo(broker, b, 2000);
  s.cancel('a');
  s.cancel('b');
  const g1 = gate(broker);
  // q's 3000 on their way back (behind g1), then put back at once by a synchronous read
  s.nack(a.deliveries.at(-1)!.tag, true, true);
  expect(q.peekMessages()).toHaveLength(3000);
  // work queued now, then the session's next bulk settle: it must come after that work
  const g3 = gate(broker);
  s.nack(b.deliveries.at(-1)!.tag, true, true);
  g1.open();
  await g3.reached;
  expect({ q2Back: q2.messageCount, inFlight: q2.returnsInFlight }).toEqual({ q2Back: 0, inFlight: true });
  g3.open();
  await broker.bulkWork.idle();
  expect(q2.messageCount).toBe(2000);
});

// review-s11-1 F1, what the answer sees: a requeue that started after the answer asked must be
// wholly out of it. RabbitMQ's queue process serves a basic.get / queue.purge and a closed
// channel's requeue (notify_down) in the order they reached its mailbox (all calls of priority 0:
// rabbit_amqqueue_process prioritise_call), the requeue in one go: the answer sees none of a
// requeue that came after it, never a part. The answer here was served after the bulk work's slice
// that finished the requeue it waited for went on into the later one: it counted part of it.
it('an answer sees none of a requeue that started after it asked, though the slice that brought back what it waited for went on into that one (it counted part of it)', async () => {
  const { broker, vhost } = coreBroker();
  const { q, later, g1, seen } = await firstClosedGetWaiting(broker, vhost);
  q.whenReturned(() => {
    seen['purge'] = [vhost.purgeQueue(q, null), q.returnsInFlight];
  });
  // the later requeue, not held: its bulk settle runs right after the first one's
  later.s.close();
  g1.open();
  while (!('purge' in seen)) await turn();
  // the first requeue's 1000, m0 first (999 left), then the purge of those 999; the later 20,000 still coming
  expect(seen).toEqual({ get: ['m0', true, 999, true], purge: [999, true] });
  await broker.bulkWork.idle();
  expect(q.messageCount).toBe(20_000);
  expect(q.peekMessages(1)[0]!.message.body.toString()).toBe('m1000');
});

/**
 * Session x holding q2's `others` (tags 1..others, acked in bulk work by ackOthers) and q's first 100
 * (nacked with requeue by nackTheHundred), and session `a` holding the next 1000 of q
 */
async function xAndA(broker: Broker, vhost: VHost, others: number) {
  const q = declareQueue(vhost, 'q') as Queue;
  declareQueue(vhost, 'q2');
  for (let i = 0; i < 100; i++) publish(vhost, '', 'q', `m${i}`);
  for (let i = 0; i < others; i++) publish(vhost, '', 'q2', `o${i}`);
  const x = broker.openSession(vhost, {});
  x.setPrefetch(others + 100, false);
  const xq = new Collector();
  const xq2 = new Collector();
  x.consume('q2', opts('xq2'), xq2);
  await deliveredTo(broker, xq2, others);
  x.cancel('xq2');
  x.consume('q', opts('xq'), xq);
  await deliveredTo(broker, xq, 100);
  x.cancel('xq');
  expect([xq.deliveries.length, xq2.deliveries.length]).toEqual([100, others]);
  for (let i = 100; i < 1100; i++) publish(vhost, '', 'q', `m${i}`);
  const a = await holding(broker, vhost, 'q', 1000, 'a');
  return {
    q,
    a,
    ackOthers: () => x.ack(xq2.deliveries[others - 1]!.tag, true),
    nackTheHundred: () => x.nack(xq.deliveries[99]!.tag, true, true),
  };
}

it('an answer sees none of a requeue that started after it asked, even when that requeue\'s session had bulk work queued ahead of the requeue the answer waits for (it saw all of it)', async () => {
  const { broker, vhost } = coreBroker();
  const { q, a, ackOthers, nackTheHundred } = await xAndA(broker, vhost, 3000);
  const g1 = gate(broker);
  // x's ack of its 3000 (bulk work, queued first), then a's requeue (queued behind it)
  ackOthers();
  a.s.close();
  let purged = -1;
  q.whenReturned(() => (purged = vhost.purgeQueue(q, null)));
  // then x's nack of its 100 with requeue: after the purge was asked, but in x's bulk settle, ahead of a's requeue
  nackTheHundred();
  g1.open();
  while (purged < 0) await turn();
  await broker.bulkWork.idle();
  // the purge took a's 1000; x's 100 came back after it
  expect([purged, q.messageCount]).toEqual([1000, 100]);
});

// The requeue held behind an answer leaves the bulk work meanwhile (SlicedWork.park) so that the work
// behind it (here the requeue the answer waits for) goes on; the broker stopping still finishes it.
it('a requeue held behind a waiting answer is set aside, not lost: the broker stopping (SlicedWork.finish) puts it back with the rest', async () => {
  const { broker, vhost } = coreBroker();
  const { q, a, ackOthers, nackTheHundred } = await xAndA(broker, vhost, 600);
  const g0 = gate(broker);
  // x's bulk work first (an ack of 600), then g1 and a's requeue behind it
  ackOthers();
  const g1 = gate(broker);
  a.s.close();
  let served = -1;
  q.whenReturned(() => (served = q.messageCount));
  // asked after the answer: held, and x's task leaves the bulk work (a's requeue, behind g1, is not done)
  nackTheHundred();
  g0.open();
  await g1.reached;
  expect([q.messageCount, q.returnsInFlight, broker.bulkWork.pending]).toEqual([0, true, 3]);
  g1.open();
  broker.bulkWork.finish();
  expect([q.messageCount, q.returnsInFlight, broker.bulkWork.pending, served]).toEqual([1100, false, 0, -1]);
  await turn();
  expect(served).toBe(1100);
});

/** a broker with q1 (21,000 messages), q2 (2000) and q3 (`inQ3`) */
function threeQueues(inQ3: number) {
  const { broker, vhost } = coreBroker();
  const [q1, q2, q3] = ['q1', 'q2', 'q3'].map((name) => declareQueue(vhost, name) as Queue) as [Queue, Queue, Queue];
  for (let i = 0; i < 21_000; i++) publish(vhost, '', 'q1', `a${i}`);
  for (let i = 0; i < 2000; i++) publish(vhost, '', 'q2', `b${i}`);
  for (let i = 0; i < inQ3; i++) publish(vhost, '', 'q3', `c${i}`);
  return { broker, vhost, q1, q2, q3 };
}

// review-s13-2 F3: the requeue held behind an answer came back at the TAIL of the bulk work, so the
// rest of its batch (its return to another queue, which no answer holds) waited for every bulk task
// queued while it was held. In RabbitMQ each queue process requeues its own: q2's does not wait for q1.
it('a requeue held behind an answer on one queue goes on ahead of the bulk work queued meanwhile: its return to another queue does not wait for that (it did)', async () => {
  const { broker, vhost, q1, q2, q3 } = threeQueues(90_000);
  const a = await holding(broker, vhost, 'q1', 20_000, 'a');
  // b holds 1000 of q1 and 2000 of q2, x 90,000 of q3
  const b = await holding(broker, vhost, 'q1', 1000, 'b1');
  b.s.setPrefetch(3000, false);
  const b2 = new Collector();
  b.s.consume('q2', opts('b2'), b2);
  await deliveredTo(broker, b2, 2000);
  const x = await holding(broker, vhost, 'q3', 90_000, 'x');
  const g = gate(broker);
  // a's 20,000 back to q1 in slices; a get on q1 waits for them
  a.s.close();
  q1.whenReturned(() => undefined);
  // b's requeue (q1 and q2), then x's ack of 90,000 queued after it
  b.s.close();
  x.s.ack(x.sink.deliveries.at(-1)!.tag, true);
  g.open();
  // the turns at which q2 had its 2000 back and x's acks were all done
  let q2Back = -1;
  let xAcked = -1;
  for (let k = 0; q2Back < 0 || xAcked < 0; k++) {
    await turn();
    if (q2Back < 0 && q2.messageCount === 2000) q2Back = k;
    if (xAcked < 0 && q3.unackedCount === 0) xAcked = k;
  }
  expect(q2Back).toBeLessThan(xAcked);
  await broker.bulkWork.idle();
  expect([q1.messageCount, q2.messageCount, q3.messageCount]).toEqual([21_000, 2000, 0]);
});

// issue 18 point 5 (closing-s15 item 5, s13-mends F3's limit): a requeue held on one queue (an answer
// there waits for an earlier requeue, and must see none of this one) held its whole batch: its returns
// to other queues (and their consumers) waited until the requeue that answer waited for was done. In
// RabbitMQ each queue process requeues its own: q2's return does not wait for a get on q1.
it('a requeue held on one queue by an answer waiting there brings its other queues\' messages back without waiting for that answer (they waited for the requeue the answer waited for)', async () => {
  const { broker, vhost, q1, q2, q3 } = threeQueues(3000);
  // b holds 3000 of q3, then the first 1000 of q1, then 2000 of q2 (its consumers cancelled, the deliveries kept)
  const b = await holding(broker, vhost, 'q3', 3000, 'b3');
  b.s.cancel('b3');
  for (const [name, n] of [['q1', 1000], ['q2', 2000]] as const) {
    // a consumer's prefetch
    b.s.setPrefetch(n, false);
    const sink = new Collector();
    b.s.consume(name, opts(`b-${name}`), sink);
    await deliveredTo(broker, sink, n);
    b.s.cancel(`b-${name}`);
  }
  const a = await holding(broker, vhost, 'q1', 20_000, 'a');
  const g = gate(broker);
  // b's ack of its q3 ones (bulk work, queued first), then a's 20,000 back to q1 (queued behind it)
  b.s.ack(3000, true);
  a.s.close();
  // a get on q1 waits for a's
  let answeredAt = -1;
  let answerSaw = -1;
  let k = 0;
  q1.whenReturned(() => {
    answeredAt = k;
    answerSaw = q1.messageCount;
  });
  // b closes: its requeue (q1 and q2) goes in its bulk work, ahead of a's; q1's part waits for the get
  b.s.close();
  g.open();
  let q2Back = -1;
  for (; q2Back < 0 || answeredAt < 0; k++) {
    await turn();
    if (q2Back < 0 && q2.messageCount === 2000) q2Back = k;
  }
  // q2's back before the get on q1 was answered (old code: after it, once a's 20,000 were back)
  expect(q2Back).toBeLessThan(answeredAt);
  // the get saw a's 20,000 back and none of b's 1000
  expect(answerSaw).toBe(20_000);
  await broker.bulkWork.idle();
  expect([q1.messageCount, q2.messageCount, q3.messageCount]).toEqual([21_000, 2000, 0]);
  // each back in its place: b's 1000 (set aside, then settled) ahead of a's 20,000
  const c = await holding(broker, vhost, 'q1', 21_000, 'c');
  expect(c.sink.texts).toEqual(Array.from({ length: 21_000 }, (_, i) => `a${i}`));
});

// 64bcf64's wait when only held queues are left parked on the queue of the delivery just set aside,
// which may be one whose answers had already run (none left to resume it) while the head of those set
// aside was another queue still held: the batch stayed parked for ever. It waits for the head's queue.
it('a requeue to two queues each held by a waiting get, the one held first freed last: it waits for that one, then brings both back in order (it waited for ever)', async () => {
  const { broker, vhost, q1, q2, q3 } = threeQueues(20_100);
  // b holds 2000 of q2 (to ack), then 100 of q3, then 1000 of q1 (its consumers cancelled, the deliveries kept)
  const b = broker.openSession(vhost, {});
  for (const [name, n] of [['q2', 2000], ['q3', 100], ['q1', 1000]] as const) {
    b.setPrefetch(n, false);
    const sink = new Collector();
    b.consume(name, opts(`b-${name}`), sink);
    await deliveredTo(broker, sink, n);
    b.cancel(`b-${name}`);
  }
  const a1 = await holding(broker, vhost, 'q1', 20_000, 'a1');
  const a3 = await holding(broker, vhost, 'q3', 20_000, 'a3');
  const g = gate(broker);
  // b's ack (bulk work queued first), then a1's and a3's requeues behind it, a get waiting on each queue
  b.ack(2000, true);
  a1.s.close();
  // a task of another kind between them: a1's requeue ends before a3's starts (requeues queued next
  // to each other take turns a slice each: SlicedWork's round), so q1 is freed first
  broker.bulkWork.add({ step: () => true });
  a3.s.close();
  const answered: string[] = [];
  q1.whenReturned(() => answered.push(`q1 ${q1.messageCount}`));
  q3.whenReturned(() => answered.push(`q3 ${q3.messageCount}`));
  // b closes: its q3 and q1 parts are both held; q1's get is answered first (a1's requeue is ahead of a3's)
  b.close();
  g.open();
  await broker.bulkWork.idle();
  expect(answered).toEqual(['q1 20000', 'q3 20000']);
  expect([q1.messageCount, q2.messageCount, q3.messageCount]).toEqual([21_000, 0, 20_100]);
  const c1 = await holding(broker, vhost, 'q1', 21_000, 'c1');
  expect(c1.sink.texts).toEqual(Array.from({ length: 21_000 }, (_, i) => `a${i}`));
  const c3 = await holding(broker, vhost, 'q3', 20_100, 'c3');
  expect(c3.sink.texts).toEqual(Array.from({ length: 20_100 }, (_, i) => `c${i}`));
});
