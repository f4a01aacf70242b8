import { expect, it } from 'vitest';
import type { Delivery } from '../../src/core/consumer.js';
import type { Queue } from '../../src/core/queues/queue.js';
import { SlicedWork } from '../../src/core/sliced-work.js';
import { Collector, coreBroker, declareQueue, deliveredTo, publish } from './helpers.js';

// issue 18 (closing-s17 item 4): two channels holding 500k each of one queue, interleaved, closing
// 5 ms apart: the bulk work ran the first one's requeue to its end before the second one's began,
// and a third consumer may take nothing past the second one's lowest message still on its way back
// (Queue.heldFrom), so it waited 91-109 ms for a delivery (bench/interleaved-requeues.ts). Tasks
// that only put messages back now take turns a slice each (SlicedTask.sharesSlices); every other
// task keeps its place in the order.

const opts = (tag: string) => ({ tag, noAck: false, exclusive: false, priority: 0, arguments: {} });

/** a task of `steps` slices, each step logged as `name` */
function task(log: string[], name: string, steps: number, shares: boolean) {
  let left = steps;
  return {
    step: () => {
      log.push(name);
      return --left === 0;
    },
    sharesSlices: () => shares,
  };
}

it('requeue tasks queued one after another take turns a slice each; a task of another kind keeps its place (after those queued before it, before those after)', async () => {
  const work = new SlicedWork();
  const log: string[] = [];
  work.add(task(log, 'r1', 3, true));
  work.add(task(log, 'r2', 2, true));
  work.add(task(log, 'purge', 2, false));
  work.add(task(log, 'r3', 2, true));
  work.add(task(log, 'r4', 2, true));
  await work.idle();
  expect(log).toEqual(['r1', 'r2', 'r1', 'r2', 'r1', 'purge', 'purge', 'r3', 'r4', 'r3', 'r4']);
});

it('a requeue task that stops sharing (its session\'s next batch is not a requeue) runs to its end before the others take their turns again', async () => {
  const work = new SlicedWork();
  const log: string[] = [];
  let shares = true;
  let left = 4;
  work.add({
    step: () => {
      log.push('a');
      // after its second slice it is on other work
      if (log.length >= 3) shares = false;
      return --left === 0;
    },
    sharesSlices: () => shares,
  });
  work.add(task(log, 'b', 3, true));
  await work.idle();
  expect(log).toEqual(['a', 'b', 'a', 'a', 'a', 'b', 'b']);
});

it('a consumer gets messages while the first of two channels\' interleaved unacked are still on their way back (it waited for all of them before)', async () => {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q') as Queue;
  // more than one slice puts back (CHUNKS_PER_SLICE x LEAVE_CHUNK = 16,384), whatever the machine's speed
  const N = 40_000;
  const a = broker.openSession(vhost, {});
  const b = broker.openSession(vhost, {});
  a.setPrefetch(N, false);
  b.setPrefetch(N, false);
  const heldA = new Collector();
  const heldB = new Collector();
  a.consume('q', opts('a'), heldA);
  b.consume('q', opts('b'), heldB);
  // round robin: a holds the even ones, b the odd ones
  for (let i = 0; i < 2 * N + 100; i++) publish(vhost, '', 'q', String(i));
  await deliveredTo(broker, heldA, N);
  await deliveredTo(broker, heldB, N);
  expect([heldA.deliveries.length, heldB.deliveries.length]).toEqual([N, N]);
  expect(heldB.texts[0]).toBe('1');

  const c = broker.openSession(vhost, {});
  // at each delivery, how many messages were back in the queue (the one taken included)
  const got: { i: number; back: number }[] = [];
  c.consume('q', opts('c'), {
    deliver: (d: Delivery) => {
      got.push({ i: Number(d.message.body.toString()), back: q.messageCount + 1 });
    },
    isWritable: () => true,
    cancelledByBroker: () => undefined,
  });
  // the 100 ready behind the held ones went at once
  expect(got.map((g) => g.i)).toEqual(Array.from({ length: 100 }, (_, k) => 2 * N + k));
  got.length = 0;

  // a closes, then b in the same turn
  a.close();
  b.close();
  while (broker.bulkWork.pending > 0) await new Promise((resolve) => setImmediate(resolve));

  // all of them, in queue order (none overtook one on its way back)
  expect(got.map((g) => g.i)).toEqual(Array.from({ length: 2 * N }, (_, k) => k));
  // and those behind b's lowest (1) came while a's were still coming back: fewer than its N were
  // back (a's and b's together; a slice puts back 16,384 at most). Before, only 0 came until a's N
  // were all back, then b's first slice: 41,023 back when 1 and 2 came.
  expect(got[2]!.back).toBeLessThan(N);
  expect(q.messageCount).toBe(0);
});
