/**
 * Issue 18 part 5: does an operation on a queue of 1 M messages hold the event loop?
 * In-process broker, in memory. For each operation: the time until its answer, the time until
 * the broker has settled everything it set off (a purge's drops, a mass expiry's
 * dead-letters), the longest event-loop stall meanwhile (perf_hooks' delay histogram), and
 * the round trips of another AMQP client that keeps asking queue.declare(passive) all along:
 * how many it got and the slowest one (the goal: no stall over 100 ms; the client is served).
 *   npx tsx bench/big-queue-blocking.ts [--count 1000000] [--only purge,delete,...]
 * Runs against an older checkout too (the settle wait is skipped where the core lacks it).
 */
import amqplib from 'amqplib';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { startBroker } from '../src/index.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--count') ?? 1_000_000);
const only = arg('--only')?.split(',');
const b = await startBroker({ ports: { amqp: 0 } });
const core = b.core as typeof b.core & { bulkWork?: { pending: number; longestSliceMs: number } };
const v = core.vhost('/')!;
const url = b.urls.amqp!.replace('amqp://', 'amqp://guest:guest@');
const conn = await amqplib.connect(url);
const ch = await conn.createChannel();
const pingConn = await amqplib.connect(url);
const ping = await pingConn.createChannel();
await ping.assertQueue('ping', { durable: false });

const declare = (name: string, args: Record<string, unknown> = {}) =>
  v.declareQueue(name, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: args as never }, null);
let lastFillMs = 0;
const fill = (name: string) => {
  const body = Buffer.from('m');
  const t = performance.now();
  for (let k = 0; k < N; k++) b.publish('', name, body);
  lastFillMs = performance.now() - t;
};
const turn = () => new Promise<void>((r) => setImmediate(r));
const settled = async () => {
  while ((core.bulkWork?.pending ?? 0) > 0) await turn();
};
const gc = (globalThis as { gc?: () => void }).gc;

const rows: string[] = [];
/** run `op` (resolves when answered) while the pinger goes round; wait until the broker settled it all */
async function measure(label: string, op: () => Promise<unknown>, done: () => Promise<void> = settled): Promise<void> {
  gc?.();
  await new Promise((r) => setTimeout(r, 50));
  let pinging = true;
  let pings = 0;
  let slowest = 0;
  const pinger = (async () => {
    while (pinging) {
      const t = performance.now();
      await ping.checkQueue('ping');
      slowest = Math.max(slowest, performance.now() - t);
      pings++;
    }
  })();
  await turn();
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  let gcMax = 0;
  let gcTotal = 0;
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMax = Math.max(gcMax, e.duration);
      gcTotal += e.duration;
    }
  });
  gcs.observe({ entryTypes: ['gc'] });
  if (core.bulkWork) core.bulkWork.longestSliceMs = 0;
  const t0 = performance.now();
  const result = await op();
  const answered = performance.now() - t0;
  await done();
  const total = performance.now() - t0;
  h.disable();
  await turn();
  gcs.disconnect();
  pinging = false;
  await pinger;
  const row = `| ${label} | ${String(result ?? '')} | ${answered.toFixed(0)} | ${total.toFixed(0)} | ${(h.max / 1e6).toFixed(0)} | ${core.bulkWork?.longestSliceMs.toFixed(0) ?? '-'} | ${gcMax.toFixed(0)} (${gcTotal.toFixed(0)}) | ${pings} | ${slowest.toFixed(0)} |`;
  rows.push(row);
  console.log(row);
}

console.log(`big-queue responsiveness: ${N} messages per queue, node ${process.version}`);
console.log('| operation | answer | answered (ms) | settled (ms) | longest event-loop stall (ms) | longest slice of bulk work (ms) | longest GC pause (all GC) (ms) | other client round trips | slowest round trip (ms) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');

const wanted = (label: string) => !only || only.some((o) => label.startsWith(o));

if (wanted('queue.purge')) {
  declare('purge');
  fill('purge');
  await measure('queue.purge', async () => (await ch.purgeQueue('purge')).messageCount);
}
if (wanted('queue.delete')) {
  declare('delete');
  fill('delete');
  await measure('queue.delete', async () => (await ch.deleteQueue('delete')).messageCount);
}

if (wanted('requeue on channel close')) {
  // a consumer in the broker's process takes every message unacked, then its channel closes
  declare('requeue');
  fill('requeue');
  const session = core.openSession(v, {});
  session.consume('requeue', { tag: 'all', noAck: false, exclusive: false, priority: 0, arguments: {} }, {
    deliver: () => undefined,
    isWritable: () => true,
    cancelledByBroker: () => undefined,
  });
  const q = v.getQueue('requeue')!;
  await measure('requeue on channel close', async () => {
    session.close();
    while (q.messageCount < N) await turn();
    return `${q.messageCount} ready`;
  });
  v.deleteQueue('requeue', false, false, null);
}

// every message expires at once, after the measuring started: the queue's expiry timer drops them
const expiring = async (label: string, name: string, args: Record<string, unknown>) => {
  if (!wanted(label)) return;
  declare(name, { 'x-message-ttl': Math.round((lastFillMs || 3000) * 1.5 + 500), ...args });
  fill(name);
  await measure(label, async () => {
    while (v.getQueue(name)!.messageCount > 0) await new Promise((r) => setTimeout(r, 5));
    return `${v.getQueue(name)!.messageCount} left`;
  });
};
await expiring('TTL expiry', 'ttl', {});
if (wanted('TTL expiry + dead-lettering')) {
  declare('dlq');
  await expiring('TTL expiry + dead-lettering', 'ttl.dlx', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq' });
  console.log(`  (dlq holds ${v.getQueue('dlq')!.messageCount})`);
  v.getQueue('dlq')!.purge();
  await settled();
}

await ping.close();
await pingConn.close();
await ch.close();
await conn.close();
await b.stop();
process.exit(0);
