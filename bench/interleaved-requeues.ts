/**
 * s12 mends' limit ("requeue FIFO bulk work holds consumers behind an interleaved later requeue"):
 * two channels A and B hold N/2 unacked each, interleaved in queue order (round-robin: A every
 * other message, B the rest); another consumer C (prefetch 100, acking each a turn later, as a
 * client does) takes the M ready behind them. A closes, then B closes `--gap` ms later while A's
 * are still coming back. The bulk work runs A's requeue to its end before B's starts, and C may
 * only take what is ahead of every message still on its way back (Queue.heldFrom), B's lowest
 * included: how long does C get nothing? Core only, in memory, one process.
 * With --alone there is no C (a connection of two such channels closing): the time until all are back.
 * Before SeqBlocks (s13 mends) the second channel's entries each moved every requeued entry after
 * its place: quadratic (400k: 9.3 s).
 *   npx tsx bench/interleaved-requeues.ts [--count 1000000] [--gap 20] [--alone]
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Broker } from '../src/core/broker.js';
import type { ConsumerSink, Delivery } from '../src/core/consumer.js';
import { MemoryStore } from '../src/store/memory-store.js';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const N = arg('--count', 1_000_000);
const GAP = arg('--gap', 20);
const M = 50_000;
const alone = process.argv.includes('--alone');
const broker = new Broker(new MemoryStore(), { maxUnackedPerConnection: 0 });
const vhost = broker.addVhost('/');
const q = vhost.declareQueue('q', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
const body = Buffer.from('m');
const publish = () => vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: {}, body, publishedAt: 0 });
const idle: ConsumerSink = { deliver: () => undefined, isWritable: () => true, cancelledByBroker: () => undefined };
const opts = (tag: string) => ({ tag, noAck: false, exclusive: false, priority: 0, arguments: {} });
const a = broker.openSession(vhost, {});
const b = broker.openSession(vhost, {});
a.setPrefetch(N / 2, false);
b.setPrefetch(N / 2, false);
a.consume('q', opts('a'), idle);
b.consume('q', opts('b'), idle);
for (let k = 0; k < N + M; k++) publish();
const c = broker.openSession(vhost, {});
c.setPrefetch(100, false);
const at: number[] = [];
let redelivered = 0;
if (!alone) c.consume('q', opts('c'), {
  deliver: (d: Delivery) => {
    at.push(performance.now());
    if (d.redelivered) redelivered++;
    setImmediate(() => c.ack(d.tag, false));
  },
  isWritable: () => true,
  cancelledByBroker: () => undefined,
});
const turn = () => new Promise<void>((r) => setImmediate(r));
// C under way on the ready ones
while (!alone && at.length < 5000) await turn();
const h = monitorEventLoopDelay({ resolution: 1 });
h.enable();
const aClosed = performance.now();
a.close();
const fromA = at.length;
await new Promise((r) => setTimeout(r, GAP));
const bClosed = performance.now();
const beforeB = at.length;
b.close();
while (broker.bulkWork.pending > 0) await turn();
const allBack = performance.now();
h.disable();
// C's longest wait between two deliveries from A's close until all are back
let longest = 0;
let longestAt = 0;
let prev = aClosed;
for (const t of at) {
  if (t < aClosed) continue;
  if (t > allBack) break;
  if (t - prev > longest) {
    longest = t - prev;
    longestAt = prev - aClosed;
  }
  prev = t;
}
if (allBack - prev > longest) {
  longest = allBack - prev;
  longestAt = prev - aClosed;
}
console.log(JSON.stringify({
  count: N,
  alone,
  gapMs: GAP,
  bClosedAfterMs: Math.round(bClosed - aClosed),
  allBackAfterMs: Math.round(allBack - aClosed),
  cGotBetweenCloses: beforeB - fromA,
  cGotWhileReturning: at.filter((t) => t >= aClosed && t <= allBack).length,
  cLongestWaitMs: Math.round(longest),
  cLongestWaitStartsAfterMs: Math.round(longestAt),
  redeliveredToC: redelivered,
  loopStallMaxMs: Math.round(h.max / 1e6),
  longestSliceMs: Math.round(broker.bulkWork.longestSliceMs),
}));
process.exit(0);
