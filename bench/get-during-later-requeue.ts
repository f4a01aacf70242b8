/**
 * review-s11-1 F1: a basic.get that waited behind a small requeue is served while a later, large
 * requeue (a channel closing with 300k unacked) is still on its way back. How long is the get's
 * own turn, and is the later requeue still coming back in slices after it? (Before c35fbdd the
 * get put the whole later requeue back at once inside its turn.) Core only, in memory.
 * Run: npx tsx bench/get-during-later-requeue.ts [--count 300000]
 */
import { Broker } from '../src/core/broker.js';
import type { ConsumerSink } from '../src/core/consumer.js';
import { MemoryStore } from '../src/store/memory-store.js';

const i = process.argv.indexOf('--count');
const LATER = i > 0 ? Number(process.argv[i + 1]) : 300_000;
const FIRST = 600;
// no cap on a connection's unacked deliveries: one session holds LATER (300 k) of them
const broker = new Broker(new MemoryStore(), { maxUnackedPerConnection: 0 });
const vhost = broker.addVhost('/');
const q = vhost.declareQueue('q', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
const body = Buffer.from('m');
for (let k = 0; k < FIRST + LATER; k++) vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: {}, body, publishedAt: 0 });
const sink: ConsumerSink = { deliver: () => undefined, isWritable: () => true, cancelledByBroker: () => undefined };
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
/**
 * a session holding n of the queue's messages unacked: its close sends them back in slices. Resolves once it holds
 * all n: the plain dispatch hands a consumer with no socket to fill its messages a slice at a time (DispatchSlices)
 */
const holding = async (n: number, tag: string) => {
  const s = broker.openSession(vhost, {});
  s.setPrefetch(n, false);
  s.consume('q', { tag, noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
  while (s.unackedCount < n) await turn();
  return s;
};
/** bulk work that holds what is queued after it until opened; `reached` once what is before it is done */
const gate = () => {
  let open = false;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  broker.bulkWork.add({ step: () => (reach(), open) });
  return { open: () => (open = true), reached };
};
const first = await holding(FIRST, 'first');
const later = await holding(LATER, 'later');
const held = { first: first.unackedCount, later: later.unackedCount };
const getter = broker.openSession(vhost, {});
const g1 = gate();
first.close();
let turnMs = -1;
let stillInFlight: boolean | undefined;
q.whenReturned(() => {
  const t = performance.now();
  getter.getFrom(q, true);
  turnMs = performance.now() - t;
  stillInFlight = q.returnsInFlight;
});
const g2 = gate();
later.close();
g1.open();
await g2.reached;
await turn();
console.log(JSON.stringify({ later: LATER, held, getTurnMs: Number(turnMs.toFixed(2)), laterRequeueStillInFlight: stillInFlight }));
g2.open();
await broker.bulkWork.idle();
