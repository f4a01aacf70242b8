import { expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.js';
import type { Queue } from '../../src/core/queues/queue.js';
import type { VHost } from '../../src/core/vhost.js';
import { Collector, coreBroker, declareQueue, publish } from './helpers.js';

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
function holding(broker: Broker, vhost: VHost, q: string, n: number, tag: string) {
  const s = broker.openSession(vhost, {});
  s.setPrefetch(n, false);
  const sink = new Collector();
  s.consume(q, opts(tag), sink);
  expect(sink.deliveries).toHaveLength(n);
  return { s, sink };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

it('an answer waits for the requeues in flight when it asked, not for one that started after: served while the later one is still coming back', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  for (let i = 0; i < 6000; i++) publish(vhost, '', 'q', `m${i}`);
  const first = holding(broker, vhost, 'q', 3000, 'a');
  const second = holding(broker, vhost, 'q', 3000, 'b');
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
  const { s, sink } = holding(broker, vhost, 'q', n, 'a');
  // cancelled: what comes back stays in the queue (its deliveries stay unacked until nacked)
  s.cancel('a');
  const g = gate(broker);
  // a small batch, then an answer, then a batch larger than one slice of the bulk work
  s.nack(sink.deliveries[599]!.tag, true, true);
  let served = -1;
  q.whenReturned(() => (served = q.messageCount));
  s.nack(sink.deliveries[n - 1]!.tag, true, true);
  g.open();
  // the answer is served once the 600 are back, before the rest: it waited for the 39,400 after it before
  while (served < 0 && q.returnsInFlight) await turn();
  expect(served).toBeGreaterThanOrEqual(600);
  expect(served).toBeLessThan(n);
  await broker.bulkWork.idle();
  expect(q.messageCount).toBe(n);
});

// Found in the session 11 review (review-s11-1 F1): an answer served while a later requeue is in
// flight took from the queue through Queue.get / purge / copyReady, which put every message still
// on its way back in place at once (the later requeue's too: one turn of ~80 ms per 300k)
it('answers served while a later requeue is in flight (a basic.get, a purge, a peek\'s copy) leave it coming back in slices: they do not put it back at once', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  for (let i = 0; i < 21_000; i++) publish(vhost, '', 'q', `m${i}`);
  const first = holding(broker, vhost, 'q', 1000, 'a');
  const later = holding(broker, vhost, 'q', 20_000, 'b');
  const getter = broker.openSession(vhost, {});
  const g1 = gate(broker);
  first.s.close();
  const seen: Record<string, unknown> = {};
  q.whenReturned(() => {
    const got = getter.getFrom(q, true);
    seen['get'] = [got?.delivery.message.body.toString(), got?.delivery.redelivered, q.returnsInFlight];
  });
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
  expect(seen).toEqual({ get: ['m0', true, true], copy: [999, true], purge: [999, true] });
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
  s.consume('q2', opts('b'), b);
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
