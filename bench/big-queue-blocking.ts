/**
 * Issue 18 part 5: does an operation on a queue of 1 M messages hold the event loop?
 * In-process broker, in memory. For each operation: the time until its answer, the time until
 * the broker has settled everything it set off (a purge's drops, a mass expiry's
 * dead-letters), the longest event-loop stall meanwhile (perf_hooks' delay histogram), and
 * the round trips of another AMQP client that keeps asking queue.declare(passive) all along:
 * how many it got and the slowest one (the goal: no stall over 100 ms; the client is served).
 *   npx tsx bench/big-queue-blocking.ts [--count 1000000] [--held 400000] [--held-sessions 1,4] [--only purge,delete,...] [--data-dir DIR]
 * Operations: a client of each protocol publishing N one-byte messages as fast as its socket
 * takes them (AMQP 0-9-1 amqplib with confirms off, STOMP, MQTT mqtt.js QoS 0, OpenWire the
 * ActiveMQ JMS client's async sends, AMQP 1.0 rhea pre-settled; the answer column gives the
 * client's rate) and an AMQP client consuming N (prefetch 1000, ack per 500), each in a process
 * of its own (bench/lib/amqp-flood.ts, bench/lib/publish-flood.ts, bench/openwire/JmsFlood.java),
 * basic.get from a queue of N, queue.purge, queue.delete, requeue of N unacked on channel close (alone,
 * and while another consumer of the queue keeps acking; basic.get, queue.purge and the management get
 * asked while they come back; a get and a purge asked behind a small requeue before N more come back),
 * nack/ack multiple, peek through the test API (peek(), and the synchronous messages(); peek() with the queue
 * deleted midway, and with removals from the middle midway; peek() of a quorum queue with 4.2's two priority
 * levels), a selector consumer of a quorum queue (`quorum selector (few selected)`: 1 in 100 000 selected, it
 * attaches, then 20 publishes one a turn; `quorum selector (all but the head selected)`: it takes all N - 1
 * behind an unselected head, prefetch 1000), a JMS QueueBrowser over N (bench/openwire/JmsBrowse.java; and
 * while in-process sessions hold --held of them unacked, one session or four),
 * the management API's get of N (by curl, each
 * ackmode), TTL expiry and dead-lettering (as the TTL runs out over the fill, and all at once:
 * every message's own expiration set to one common deadline).
 * With --data-dir (emptied first) it also measures a broker on that dir: queue.delete of a
 * durable queue of persistent messages (the file store drops them) and the restart's recovery.
 * Runs against an older checkout too (the settle wait is skipped where the core lacks it).
 */
import amqplib from 'amqplib';
import { readFileSync } from 'node:fs';
import type { PerformanceEntry } from 'node:perf_hooks';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { startBroker } from '../src/index.js';
import { compileJmsBench } from './lib/jms-bench.js';
import { Selector } from '../src/core/selector/index.js';
import { amqpFlood, floodChild, jmsFloodClasspath, lastSpawn, publishFloods } from './lib/flood-clients.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--count') ?? 1_000_000);
const only = arg('--only')?.split(',');
// every protocol's listener: the publish cases flood through each (AMQP 1.0 on the AMQP port, as RabbitMQ 4)
// no cap on a connection's unacked deliveries: the requeue steps hold all N on one session
const b = await startBroker({ engine: 'all', ports: { amqp: 0, http: 0, stomp: 0, mqtt: 0, openwire: 0 }, limits: { maxUnackedPerConnection: 0 } });
type Core = typeof b.core & { bulkWork?: { pending: number; longestSliceMs: number } };
/** the broker being measured (the data-dir cases switch to their own) */
let core = b.core as Core;
const v = core.vhost('/')!;
const url = b.urls.amqp!.replace('amqp://', 'amqp://guest:guest@');
const conn = await amqplib.connect(url);
const ch = await conn.createChannel();
const pingConn = await amqplib.connect(url);
/** the other client's channel: the broker being measured (the data-dir cases switch to their own) */
let ping = await pingConn.createChannel();
const ping0 = ping;
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
/** Linux: how long the main thread has been runnable but not running (waiting for a core), ms; 0 elsewhere */
const runQueueWaitMs = () => {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return 0;
  }
};
/** CPU time of the whole process (every thread: the main one, GC helpers, libuv), ms */
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
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
  /** every GC meanwhile (perf_hooks: start, duration, kind 1 minor = scavenge, 2 major = mark-compact, ...) */
  const gcList: { start: number; ms: number; kind: number }[] = [];
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMax = Math.max(gcMax, e.duration);
      gcTotal += e.duration;
      gcList.push({ start: e.startTime, ms: e.duration, kind: (e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind ?? 0 });
    }
  });
  // where the longest gap between two timer turns fell (one that holds a flood client's spawn apart),
  // to tell what filled it: GC, work, or
  // waiting for a core (the CPU time the process used meanwhile, all its threads, falls short of
  // the gap; the main thread's run-queue wait says how much of it the scheduler kept it off a core)
  let lastTick = performance.now();
  let lastCpu = cpuMs();
  let lastWait = runQueueWaitMs();
  let gapMs = 0;
  let gapAt = 0;
  let gapCpu = 0;
  let gapWait = 0;
  let spawnGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    const cpu = cpuMs();
    const wait = runQueueWaitMs();
    if (lastSpawn.from >= lastTick && lastSpawn.to <= now) {
      // the gap that holds a flood client's spawn: the bench's, not the broker's
      spawnGap = Math.max(spawnGap, now - lastTick);
    } else if (now - lastTick > gapMs) {
      gapMs = now - lastTick;
      gapAt = lastTick;
      gapCpu = cpu - lastCpu;
      gapWait = wait - lastWait;
    }
    lastTick = now;
    lastCpu = cpu;
    lastWait = wait;
  }, 1);
  gcs.observe({ entryTypes: ['gc'] });
  if (core.bulkWork) core.bulkWork.longestSliceMs = 0;
  // the histogram samples from its first timer turn on: an operation that blocks at once must come after it
  await new Promise((r) => setTimeout(r, 5));
  const t0 = performance.now();
  const result = await op();
  const answered = performance.now() - t0;
  await done();
  const total = performance.now() - t0;
  // a timer turn first: a synchronous block right before this is only sampled once the loop runs again
  await new Promise((r) => setTimeout(r, 2));
  h.disable();
  clearInterval(ticker);
  await turn();
  gcs.disconnect();
  pinging = false;
  await pinger;
  const row = `| ${label} | ${String(result ?? '')} | ${answered.toFixed(0)} | ${total.toFixed(0)} | ${(h.max / 1e6).toFixed(0)} | ${core.bulkWork?.longestSliceMs.toFixed(0) ?? '-'} | ${gcMax.toFixed(0)} (${gcTotal.toFixed(0)}) | ${pings} | ${slowest.toFixed(0)} |`;
  rows.push(row);
  // after the row: the longest gap, and what it was made of (GC kinds: m minor, M major, o other)
  const inGap = gcList.filter((g) => g.start < gapAt + gapMs && g.start + g.ms > gapAt);
  const gcInGap = inGap.reduce((t, g) => t + Math.min(g.start + g.ms, gapAt + gapMs) - Math.max(g.start, gapAt), 0);
  const kinds = inGap.map((g) => `${g.kind === 1 ? 'm' : g.kind === 2 ? 'M' : 'o'}${g.ms.toFixed(0)}`).join(' ');
  console.log(
    `${row} longest gap ${gapMs.toFixed(0)} ms at ${gapAt.toFixed(0)}: GC ${gcInGap.toFixed(0)} ms of it [${kinds}], process CPU ${gapCpu.toFixed(0)} ms, main thread runnable but waiting for a core ${gapWait.toFixed(0)} ms${spawnGap > 0 ? `; the gap of the client's spawn ${spawnGap.toFixed(0)} ms (not counted)` : ''}`,
  );
}

console.log(`big-queue responsiveness: ${N} messages per queue, node ${process.version}`);
console.log('| operation | answer | answered (ms) | settled (ms) | longest event-loop stall (ms) | longest slice of bulk work (ms) | longest GC pause (all GC) (ms) | other client round trips | slowest round trip (ms) |');
console.log('|---|---|---:|---:|---:|---:|---:|---:|---:|');

const wanted = (label: string) => !only || only.some((o) => label.startsWith(o));

/** bench/lib/amqp-flood.ts: `publish` or `consume` n messages of `queue` */
const flood = (mode: 'publish' | 'consume', queue: string, n: number, more: string[] = []) => amqpFlood(url, mode, queue, n, more);
// compiled before any measurement (javac runs synchronously)
const jmsCp = wanted('publish (OpenWire client)') ? jmsFloodClasspath() : undefined;
const publishers = publishFloods(b.urls, b.ports, jmsCp);
for (const p of publishers) {
  if (!wanted(p.label)) continue;
  declare(p.queue);
  if (p.queue === 'pub.mqtt') v.bindQueue('pub.mqtt', 'amq.topic', 'pub.mqtt', {}, null);
  const q = v.getQueue(p.queue)!;
  // another process publishes N one-byte messages as fast as the socket takes them
  await measure(p.label, async () => {
    const done = p.run(N);
    if (done === undefined) return 'skipped';
    const [, ms] = /in (\d+) ms/.exec(await done) ?? [];
    return `${q.messageCount} queued, ${Math.round(N / (Number(ms) / 1000))} msg/s`;
  });
  if (p.queue !== 'pub') {
    v.deleteQueue(p.queue, false, false, null);
    await settled();
    continue;
  }
  if (wanted('consume (AMQP client)')) {
    // and another drains them: prefetch 1000, an ack (multiple) every 500
    await measure('consume (AMQP client)', async () => {
      const done = await flood('consume', 'pub', N);
      while (q.messageCount + q.unackedCount > 0) await turn();
      return done.replace('done', 'consumed');
    });
  }
  v.deleteQueue('pub', false, false, null);
  await settled();
}

if (wanted('basic.get')) {
  // 1000 basic.gets (ack) one after another from the head of a queue of N
  declare('get');
  fill('get');
  await measure('basic.get ×1000 from a queue of N', async () => {
    let got = 0;
    for (let k = 0; k < 1000; k++) {
      const m = await ch.get('get', { noAck: true });
      if (m) got++;
    }
    return `${got} got, ${v.getQueue('get')!.messageCount} left`;
  });
  v.deleteQueue('get', false, false, null);
  await settled();
}

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

/**
 * a consumer in the broker's process that takes every message of `name` (or `prefetch` of them) unacked (its session, the
 * last tag); resolves once it holds them all: the plain dispatch hands a consumer with no window its messages a slice at a
 * time (DispatchSlices, 94e7791), so a case that settles or closes right after the consume would act on part of them only
 */
const takeAll = async (name: string, prefetch = 0) => {
  const ready = v.getQueue(name)!.messageCount;
  const want = prefetch === 0 ? ready : Math.min(prefetch, ready);
  const session = core.openSession(v, {});
  session.consumerPrefetch = prefetch;
  let last = 0;
  session.consume(name, { tag: 'all', noAck: false, exclusive: false, priority: 0, arguments: {} }, {
    deliver: (d) => {
      last = d.tag;
    },
    isWritable: () => true,
    cancelledByBroker: () => undefined,
  });
  while (session.unackedCount < want) await turn();
  return { session, last: () => last };
};

if (wanted('requeue with another consumer active (channel close)')) {
  // a consumer in the broker's process holds N unacked (prefetch N) while an AMQP client in a
  // process of its own (prefetch 100, an ack per message) consumes the M behind them; the first
  // one's channel closes once the other has taken 10 000: its N go back ahead of the rest while
  // the other keeps acking, each ack asking the queue for more. The other then gets them first
  // (RabbitMQ's queue process requeues a closed channel's messages in one go): of its 30 000
  // after the close, all are redelivered ones (when N ≥ 30 000).
  const M = 20_000;
  declare('requeue.busy');
  const body = Buffer.from('m');
  for (let k = 0; k < N + M; k++) b.publish('', 'requeue.busy', body);
  const { session } = await takeAll('requeue.busy', N);
  const q = v.getQueue('requeue.busy')!;
  await measure('requeue with another consumer active (channel close)', async () => {
    const other = flood('consume', 'requeue.busy', 40_000, ['--prefetch', '100', '--ack-every', '1']);
    // the other consumer is under way: it has taken some of the M
    while (q.stats.delivered < N + 10_000) await new Promise((r) => setTimeout(r, 1));
    const closedAt = performance.now();
    session.close();
    // the close's requeue is the only bulk work
    await settled();
    const backMs = performance.now() - closedAt;
    const redeliveredThen = q.stats.redelivered;
    const done = await other;
    return `all back ${backMs.toFixed(0)} ms after the close (${redeliveredThen} redelivered by then); other ${done.replace('done', 'consumed')}, ${q.stats.redelivered} redelivered`;
  });
  v.deleteQueue('requeue.busy', false, false, null);
  await settled();
}

/** the management API's get of `count` from `name` (ackmode as given), by curl in a process of its own: "status bytes" */
const curlGet = async (name: string, count: number, ackmode: string): Promise<string> => {
  const { execFile } = await import('node:child_process');
  const body = JSON.stringify({ count, ackmode, encoding: 'auto' });
  return new Promise<string>((resolve, reject) =>
    execFile('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code} %{size_download}', '-u', 'guest:guest', '-H', 'content-type: application/json', '-d', body, `${b.urls.http}/api/queues/%2F/${name}/get`], (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
};

/**
 * A closed channel's N coming back (an in-process session took them all unacked, then closes),
 * and `ask` one turn after the close: basic.get, queue.purge and the management get wait for
 * them instead of making the queue put them all back at once (133-176 ms at 1M before)
 */
const duringRequeue = async (label: string, name: string, ask: () => Promise<string>) => {
  if (!wanted(label)) return;
  declare(name);
  fill(name);
  const { session } = await takeAll(name);
  const q = v.getQueue(name)! as ReturnType<typeof v.getQueue> & { returnsInFlight?: boolean };
  await measure(label, async () => {
    session.close();
    await turn();
    const inFlight = q!.returnsInFlight;
    const answer = await ask();
    return `${answer}; returns in flight when asked: ${inFlight}`;
  });
  v.deleteQueue(name, false, false, null);
  await settled();
};
await duringRequeue('basic.get during a requeue', 'rq.get', async () => {
  const m = await ch.get('rq.get', { noAck: true });
  return m ? `got one${m.fields.redelivered ? ', redelivered' : ''}, ${m.fields.messageCount} left` : 'got none';
});
await duringRequeue('queue.purge during a requeue', 'rq.purge', async () => `purged ${(await ch.purgeQueue('rq.purge')).messageCount}`);
await duringRequeue('management get during a requeue', 'rq.mget', async () => `got 10: ${await curlGet('rq.mget', 10, 'ack_requeue_false')}`);

if (wanted('get and purge asked before a 1M requeue')) {
  // review-s11-1 F1: a basic.get and a queue.purge wait behind one channel's 600 unacked coming back
  // (held by bulk work queued ahead until both wait), then a channel holding N closes. RabbitMQ serves
  // them in mailbox order, the requeue in one go: get-ok and purge-ok count none of the N, all N are
  // back after. Gives both counts, the later requeue still in flight when the purge was answered, and
  // the stall of the whole (the N coming back in slices).
  const name = 'rq.later';
  declare(name);
  const body = Buffer.from('m');
  for (let k = 0; k < 600 + N; k++) b.publish('', name, body);
  const first = await takeAll(name, 600);
  const later = await takeAll(name, N);
  const q = v.getQueue(name)! as ReturnType<typeof v.getQueue> & { returnsInFlight?: boolean };
  const waiting = () => (q as unknown as { afterReturns: { length: number } }).afterReturns.length;
  const purger = await conn.createChannel();
  await measure('get and purge asked before a 1M requeue', async () => {
    let open = false;
    (core.bulkWork as unknown as { add(t: { step(): boolean }): void }).add({ step: () => open });
    first.session.close();
    const got = ch.get(name, { noAck: true });
    let inFlightAtPurge: boolean | undefined;
    const purged = purger.purgeQueue(name).then((p) => ((inFlightAtPurge = q!.returnsInFlight), p));
    while (waiting() < 2) await turn();
    later.session.close();
    open = true;
    const m = await got;
    const p = await purged;
    await settled();
    return `get-ok ${m ? `${m.fields.redelivered ? 'redelivered, ' : ''}${m.fields.messageCount} left` : 'empty'}; purge-ok ${p.messageCount}; later requeue in flight then: ${inFlightAtPurge}; ${q!.messageCount} back after`;
  });
  await purger.close();
  v.deleteQueue(name, false, false, null);
  await settled();
}

if (wanted('nack multiple to a DLX')) {
  // basic.nack(multiple, requeue=false) of a million unacked: every one dead-lettered
  declare('nack.dlq');
  declare('nack', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'nack.dlq' });
  fill('nack');
  const { session, last } = await takeAll('nack');
  const dlq = v.getQueue('nack.dlq')!;
  await measure('nack multiple to a DLX', async () => {
    session.nack(last(), true, false);
    while (dlq.messageCount < N) await turn();
    return `${dlq.messageCount} dead-lettered`;
  });
  session.close();
  v.deleteQueue('nack', false, false, null);
  v.deleteQueue('nack.dlq', false, false, null);
  await settled();
}
/** a nack multiple with requeue of the deliveries up to `upTo(last)` of a queue of N taken by one session */
async function nackRequeue(label: string, queue: string, upTo: (last: number) => number, back: number): Promise<void> {
  declare(queue);
  fill(queue);
  const { session, last } = await takeAll(queue);
  session.cancel('all');
  const q = v.getQueue(queue)!;
  await measure(label, async () => {
    session.nack(upTo(last()), true, true);
    while (q.messageCount < back) await turn();
    return `${q.messageCount} ready, ${session.unackedCount} unacked`;
  });
  session.close();
  v.deleteQueue(queue, false, false, null);
  await settled();
}
if (wanted('nack multiple, requeue')) await nackRequeue('nack multiple, requeue', 'nackrq', (last) => last, N);
// a multiple settle of all but the newest: the book is split, not emptied
if (wanted('nack multiple up to the last but one, requeue')) {
  await nackRequeue('nack multiple up to the last but one, requeue', 'nackrq2', (last) => last - 1, N - 1);
}
// the older half: the taken side is the one copied, its deliveries' queues read as it is
if (wanted('nack multiple of the older half, requeue')) {
  await nackRequeue('nack multiple of the older half, requeue', 'nackrq3', (last) => Math.floor(last / 2), Math.floor(N / 2));
}
if (wanted('ack multiple')) {
  declare('ackall');
  fill('ackall');
  const { session, last } = await takeAll('ackall');
  const q = v.getQueue('ackall')!;
  await measure('ack multiple', async () => {
    session.ack(last(), true);
    while (q.unackedCount > 0) await turn();
    return `${q.unackedCount} unacked`;
  });
  session.close();
  v.deleteQueue('ackall', false, false, null);
  await settled();
}
if (wanted('requeue of another queue on channel close')) {
  // review-s9-2 #3: a channel took a basic.get from queue B (acked) and holds N unacked of queue A
  // when it closes. An AMQP client in its own process consumes B all along (prefetch 100, an ack
  // per message). A's N go back in slices; B must not wait for them (it did, for the whole
  // requeue, while the get's queue stayed named in the channel's books). The answer gives how many
  // B delivered between the close and A's last one back, and B's longest gap between deliveries then.
  declare('requeue.a');
  declare('requeue.b');
  fill('requeue.a');
  const body = Buffer.from('m');
  for (let k = 0; k < 60_000; k++) b.publish('', 'requeue.b', body);
  const session = core.openSession(v, {});
  const got = session.get('requeue.b', false)!;
  session.ack(got.delivery.tag, false);
  session.consume('requeue.a', { tag: 'all', noAck: false, exclusive: false, priority: 0, arguments: {} }, {
    deliver: () => undefined,
    isWritable: () => true,
    cancelledByBroker: () => undefined,
  });
  const qa = v.getQueue('requeue.a')!;
  const qb = v.getQueue('requeue.b')!;
  let closedAt = Infinity;
  let lastB = 0;
  let gapB = 0;
  const onDelivered = (q: { name: string }) => {
    if (q.name !== 'requeue.b') return;
    const now = performance.now();
    if (now > closedAt) gapB = Math.max(gapB, now - Math.max(lastB, closedAt));
    lastB = now;
  };
  core.on('delivered', onDelivered);
  await measure('requeue of another queue on channel close', async () => {
    const other = flood('consume', 'requeue.b', 50_000, ['--prefetch', '100', '--ack-every', '1']);
    // the other consumer is under way
    while (qb.stats.delivered < 10_000) await new Promise((r) => setTimeout(r, 1));
    const deliveredB = qb.stats.delivered;
    closedAt = performance.now();
    session.close();
    await settled();
    const backMs = performance.now() - closedAt;
    // B's gap up to A's last one back
    gapB = Math.max(gapB, performance.now() - Math.max(lastB, closedAt));
    const duringB = qb.stats.delivered - deliveredB;
    const back = qa.messageCount;
    await other;
    return `A's ${back} back ${backMs.toFixed(0)} ms after the close; B delivered ${duringB} meanwhile, longest gap ${gapB.toFixed(0)} ms`;
  });
  core.off('delivered', onDelivered);
  v.deleteQueue('requeue.a', false, false, null);
  v.deleteQueue('requeue.b', false, false, null);
  await settled();
}

if (wanted('peek (test API)')) {
  declare('peek');
  fill('peek');
  const handle = b.queue('peek') as ReturnType<typeof b.queue> & { peek?: () => Promise<unknown[]> };
  await measure('peek (test API)', async () => `${(handle.peek ? await handle.peek() : handle.messages()).length} peeked`);
  v.deleteQueue('peek', false, false, null);
  await settled();
}
if (wanted('peek with the queue deleted midway')) {
  // the queue is deleted right after the copy's first slice: peek() answers what it had copied
  // (it copied all the rest in that turn before: review-s9-1 #1, 14.9 s at 1M)
  declare('peek.del');
  fill('peek.del');
  const handle = b.queue('peek.del') as ReturnType<typeof b.queue> & { peek?: () => Promise<unknown[]> };
  await measure('peek with the queue deleted midway (test API)', async () => {
    if (!handle.peek) return 'no peek()';
    const peek = handle.peek();
    await turn();
    const n = (await ch.deleteQueue('peek.del')).messageCount;
    return `deleted ${n}, ${(await peek).length} peeked`;
  });
  await settled();
}
if (wanted('peek with removals from the middle')) {
  // between the copy's slices, 20 entries past the middle taken out of the queue one at a time
  // (ReadyList.remove, as a quorum queue's selector consumer takes): it copied all the rest at
  // the first one before (review-s9-1 #1, 4.1 s at 1M); remove() itself walks the list
  declare('peek.rm');
  fill('peek.rm');
  const q = v.getQueue('peek.rm')!;
  const handle = b.queue('peek.rm') as ReturnType<typeof b.queue> & { peek?: () => Promise<unknown[]> };
  const middle = q.ready.toArray().slice(N / 2, N / 2 + 20_000).filter((_, i) => i % 1000 === 0);
  await measure('peek with removals from the middle (ReadyList.remove ×20)', async () => {
    if (!handle.peek) return 'no peek()';
    let done = false;
    const peek = handle.peek().then((all) => {
      done = true;
      return all;
    });
    let removed = 0;
    while (!done && removed < middle.length) {
      await turn();
      q.ready.remove(new Set([middle[removed++]!]));
    }
    return `${removed} removed, ${(await peek).length} peeked`;
  });
  v.deleteQueue('peek.rm', false, false, null);
  await settled();
}
/** a quorum queue (RabbitMQ's; in memory here) of N, message k's header x given by `x(k)` */
const fillQuorum = (name: string, x: (k: number) => number) => {
  v.declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-queue-type': 'quorum' } as never }, null);
  const body = Buffer.from('m');
  const headers = [{ x: 1 }, { x: 2 }];
  for (let k = 0; k < N; k++) b.publish('', name, body, { headers: headers[x(k) - 1] });
  return v.getQueue(name)!;
};
/** an in-process consumer of `name` with a JMS selector (prefetch `prefetch`, 0: none), acking what it got every turn; stop() cancels */
/** an in-process consumer of `name` (a JMS selector unless undefined), acking what it got a turn later; its sink never reports full */
const selectorConsumer = (name: string, selector: string | undefined, prefetch: number) => {
  // the broker being measured (the data-dir cases switch to their own); without a window no cap either
  const session = core.openSession(core.vhost('/')!, {}, prefetch === 0);
  session.consumerPrefetch = prefetch;
  let got = 0;
  let last = 0;
  let acking = false;
  let closed = false;
  session.consume(name, { tag: 'sel', noAck: false, exclusive: false, priority: 0, arguments: {}, ...(selector === undefined ? {} : { selector: new Selector(selector) }) }, {
    deliver: (d) => {
      got++;
      last = d.tag;
      if (acking) return;
      acking = true;
      setImmediate(() => {
        acking = false;
        if (!closed) session.ack(last, true);
      });
    },
    isWritable: () => true,
    cancelledByBroker: () => undefined,
  });
  return {
    got: () => got,
    stop: () => {
      closed = true;
      session.close();
    },
  };
};
/** a peek() of quorum queue `q` (on `broker`) started, then a selector consumer taking all of it but the head (x = 2) */
const selectorDuringPeek = async (broker: typeof b, q: { name: string; messageCount: number }): Promise<string> => {
  const handle = broker.queue(q.name) as ReturnType<typeof b.queue> & { peek?: () => Promise<unknown[]> };
  const peeked = handle.peek ? handle.peek() : Promise.resolve(handle.messages());
  const c = selectorConsumer(q.name, 'x = 2', 1000);
  const n = (await peeked).length;
  while (c.got() < N - 1) await turn();
  c.stop();
  return `${n} peeked, ${c.got()} delivered, ${q.messageCount} ready`;
};
if (wanted('quorum selector (few selected)')) {
  // 1M in a quorum queue, one in 100 000 selected (x = 2): the consumer attaches, then 20 more
  // are published one a turn; each publish dispatches (it walked, and copied, the whole list each time)
  const q = fillQuorum('qsel.few', (k) => (k % 100_000 === 99_999 ? 2 : 1));
  await measure('quorum selector (few selected): a selector consumer attaches to a quorum queue, then 20 publishes one a turn', async () => {
    const c = selectorConsumer('qsel.few', 'x = 2', 100);
    const t = performance.now();
    for (let k = 0; k < 20; k++) {
      b.publish('', 'qsel.few', Buffer.from('m'), { headers: { x: 2 } });
      await turn();
    }
    const ms = performance.now() - t;
    const got = c.got();
    c.stop();
    return `${got} delivered, ${q.messageCount} ready; 20 publishes in ${ms.toFixed(0)} ms`;
  });
  v.deleteQueue('qsel.few', false, false, null);
  await settled();
}
if (wanted('quorum selector (all but the head selected)')) {
  // the reverse: the head is not selected, all N - 1 behind it are; prefetch 1000, acks every turn
  // (each take rewrote the list before: O(N²), hours at 1M; measured at --count 50000 instead)
  const q = fillQuorum('qsel.most', (k) => (k === 0 ? 1 : 2));
  await measure('quorum selector (all but the head selected): a selector consumer of a quorum queue takes all behind the head', async () => {
    const c = selectorConsumer('qsel.most', 'x = 2', 1000);
    while (c.got() < N - 1) await turn();
    c.stop();
    return `${c.got()} delivered, ${q.messageCount} ready`;
  });
  v.deleteQueue('qsel.most', false, false, null);
  await settled();
}
if (wanted('peek of a quorum queue')) {
  // 4.2's two levels (the default engine): one in 3 high priority
  v.declareQueue('qpeek', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-queue-type': 'quorum' } as never }, null);
  const body = Buffer.from('m');
  for (let k = 0; k < N; k++) b.publish('', 'qpeek', body, { priority: k % 3 === 0 ? 9 : 0 });
  const handle = b.queue('qpeek') as ReturnType<typeof b.queue> & { peek?: () => Promise<unknown[]> };
  await measure('peek of a quorum queue (test API)', async () => `${(handle.peek ? await handle.peek() : handle.messages()).length} peeked`);
  v.deleteQueue('qpeek', false, false, null);
  await settled();
}
if (wanted('quorum selector during a peek')) {
  // a peek() copies the quorum queue a slice at a time while a selector consumer takes all but the
  // head out from ahead of the copy's cursor (each take tells the copy: FifoCopy, 2fd5245; it was
  // O(holes) a take, O(N²) here)
  const q = fillQuorum('qsel.peek', (k) => (k === 0 ? 1 : 2));
  await measure('quorum selector during a peek: a peek() of a quorum queue while a selector consumer takes all behind the head', () => selectorDuringPeek(b, q));
  v.deleteQueue('qsel.peek', false, false, null);
  await settled();
}
if (wanted('OpenWire queue browser (JMS QueueBrowser over N)')) {
  // a JMS QueueBrowser (the ActiveMQ client, bench/openwire/JmsBrowse.java) over N
  declare('browse');
  fill('browse');
  const jms = compileJmsBench('JmsBrowse');
  await measure('OpenWire queue browser (JMS QueueBrowser over N)', async () =>
    'skipped' in jms ? `skipped: ${jms.skipped}` : (await floodChild('java', ['-cp', jms.classpath, 'JmsBrowse', `tcp://127.0.0.1:${b.ports['openwire']}`, 'browse'])).replace('done', 'browsed'),
  );
  v.deleteQueue('browse', false, false, null);
  await settled();
}
/**
 * A JMS QueueBrowser over N while in-process sessions hold `--held` of them (400k) delivered and
 * unacked, by one session or split over several (issue 18 point 5, review-s13-2 F1: the browse
 * start walked and sorted every held delivery in one turn: 232 ms at 400k, 3.1 s at 1M). The
 * browser enumerates all N (ActiveMQ 5.17 shows the held ones too); the answer gives its time to
 * the first message (streamed while the held ones are gathered: closing-s17 item 6) and to the end.
 * Then what an open browse keeps: a QueueBrowse of the same queue started in-process (its first
 * message taken) and stepped until all held ones are gathered, heap and RSS after a GC, then cancelled.
 */
const HELD = Number(arg('--held') ?? 400_000);
/**
 * --held-drops D: each holding session then rejects (requeue) its lowest-seq delivery and its highest-seq one in turn,
 * D times each; every one comes back to it (the others have no room), the low one after a higher one: a drop in its
 * consumer's trail (SeqTrail), which HeldWalk.floor() reads for every session not walked yet at every step.
 */
const HELD_DROPS = Number(arg('--held-drops') ?? 0);
const dropsInTrail = async (session: ReturnType<typeof core.openSession>, q: NonNullable<ReturnType<typeof v.getQueue>>, drops: number): Promise<void> => {
  const held = session.unackedCount;
  for (let i = 0; i < 2 * drops; i++) {
    let pick: { tag: number; seq: number } | undefined;
    for (const d of session.unackedDeliveries()) {
      if (d.queue !== q) continue;
      if (pick === undefined || (i % 2 === 0 ? d.entry.seq > pick.seq : d.entry.seq < pick.seq)) pick = { tag: d.tag, seq: d.entry.seq };
    }
    if (pick === undefined) return;
    session.reject(pick.tag, true);
    while (session.unackedCount < held) await turn();
  }
};
const browseHeld = async (sessions: number) => {
  const label = `OpenWire queue browser with ${HELD} held by ${sessions} session${sessions > 1 ? 's' : ''}`;
  if (!wanted(label)) return;
  const name = `browse.held${sessions}`;
  declare(name);
  fill(name);
  const holders = await Promise.all(Array.from({ length: sessions }, (_, k) => takeAll(name, Math.floor(HELD / sessions) + (k < HELD % sessions ? 1 : 0))));
  const q = v.getQueue(name)!;
  while (q.unackedCount < HELD) await turn();
  for (const h of holders) await dropsInTrail(h.session, q, HELD_DROPS);
  if (HELD_DROPS > 0) {
    const trail = (q.consumers[0] as unknown as { trail?: { drops: number } } | undefined)?.trail;
    console.log(`  ${sessions} sessions: drops kept in the first consumer's trail ${trail?.drops ?? '?'}`);
  }
  const jms = compileJmsBench('JmsBrowse');
  await measure(label, async () =>
    'skipped' in jms ? `skipped: ${jms.skipped}` : (await floodChild('java', ['-cp', jms.classpath, 'JmsBrowse', `tcp://127.0.0.1:${b.ports['openwire']}`, name])).replace('done', 'browsed'),
  );
  console.log(`  ${label}: an open browse keeps ${await openBrowseMemory(q)}`);
  for (const h of holders) h.session.close();
  await settled();
  v.deleteQueue(name, false, false, null);
  await settled();
};
/** heap and RSS (after a GC) a QueueBrowse of `q` keeps once it has gathered the held ones, and after it is cancelled */
const openBrowseMemory = async (q: NonNullable<ReturnType<typeof v.getQueue>>): Promise<string> => {
  if (!gc) return '(not measured: run node with --expose-gc)';
  const mb = (n: number) => (n / 2 ** 20).toFixed(1);
  gc();
  const before = process.memoryUsage();
  const browse = q.browseWhenReturned(() => undefined);
  if (browse === undefined) return '(not measured: returns in flight)';
  const t = performance.now();
  while (browse.next(Date.now()) === undefined && !browse.done) {
    browse.step(performance.now() + 8, 1024);
    await turn();
  }
  const firstMs = performance.now() - t;
  // the first message comes while the held ones are still gathered (streamed): what it keeps is measured once all are
  const gathered = (b: typeof browse): boolean => (b as { gathered?: boolean }).gathered ?? true;
  while (!gathered(browse) && !browse.done) {
    browse.step(performance.now() + 8, 1024);
    await turn();
  }
  const gatheredMs = performance.now() - t;
  gc();
  const open = process.memoryUsage();
  browse.cancel();
  gc();
  const after = process.memoryUsage();
  const heap = open.heapUsed - before.heapUsed;
  return `heap +${mb(heap)} MB (${(heap / q.unackedCount).toFixed(0)} B per held delivery), RSS +${mb(open.rss - before.rss)} MB; first message after ${firstMs.toFixed(0)} ms in-process, all held gathered after ${gatheredMs.toFixed(0)} ms; after cancel heap ${mb(after.heapUsed - before.heapUsed)} MB`;
};
// --held-sessions 1,1000: the held split over that many sessions (one consumer each); the walk's floor() looks at
// every session not walked yet at each step (closing-s18 item 6: O(sessions x consumers x drops), not measured then)
for (const sessions of (arg('--held-sessions') ?? '1,4').split(',').map(Number)) await browseHeld(sessions);

if (wanted('messages() (test API, synchronous)')) {
  // the synchronous form: it returns the array, so it holds the loop for the whole copy (documented)
  declare('msgs');
  fill('msgs');
  await measure('messages() (test API, synchronous)', async () => `${b.queue('msgs').messages().length} copied`);
  v.deleteQueue('msgs', false, false, null);
  await settled();
}

/**
 * The management API's get of all of them (POST /api/queues/%2F/{q}/get, count N), asked by
 * curl in a process of its own (an HTTP client in this one would share the broker's loop)
 */
const managementGet = async (ackmode: string) => {
  const label = `management get (${ackmode})`;
  if (!wanted(label)) return;
  const name = `mget.${ackmode}`;
  declare(name);
  fill(name);
  const q = v.getQueue(name)!;
  await measure(label, async () => {
    const [status, bytes] = (await curlGet(name, N, ackmode)).split(' ');
    return `${status}: ${(Number(bytes) / 1e6).toFixed(0)} MB; queue ${q.messageCount}`;
  });
  v.deleteQueue(name, false, false, null);
  await settled();
};
await managementGet('ack_requeue_true');
await managementGet('reject_requeue_true');
await managementGet('ack_requeue_false');

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

// every message's own expiration set to one deadline past the fill: all N expire in the same millisecond
const expiringAtOnce = async (label: string, name: string, args: Record<string, unknown>) => {
  if (!wanted(label)) return;
  declare(name, args);
  const deadline = Date.now() + Math.round((lastFillMs || 3000) * 1.5 + 1000);
  const body = Buffer.from('m');
  for (let k = 0; k < N; k++) b.publish('', name, body, { expiration: String(Math.max(1, deadline - Date.now())) });
  const q = v.getQueue(name)!;
  await measure(label, async () => {
    while (q.messageCount > 0) await new Promise((r) => setTimeout(r, 5));
    return `${q.messageCount} left`;
  });
};
await expiringAtOnce('TTL expiry at once', 'ttl.once', {});
if (wanted('TTL expiry at once + dead-lettering')) {
  declare('dlq.once');
  await expiringAtOnce('TTL expiry at once + dead-lettering', 'ttl.once.dlx', { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'dlq.once' });
  console.log(`  (dlq.once holds ${v.getQueue('dlq.once')!.messageCount})`);
  v.getQueue('dlq.once')!.purge();
  await settled();
}

// a broker on a data dir: persistent messages in a durable queue (the file store's work)
const dataDir = arg('--data-dir');
// no comma in a case's name: --only splits on commas
const fileStoreCases = [
  'queue.delete (file store)',
  'restart recovery',
  'quorum selector (file store; few selected)',
  'quorum selector (file store; all but the head selected)',
  'quorum selector (file store; 9 in 10 selected)',
  'peek of a quorum queue (file store)',
  'quorum selector during a peek (file store)',
  'consume in-process (file store; no window)',
];
if (dataDir && fileStoreCases.some(wanted)) {
  const { mkdirSync, rmSync } = await import('node:fs');
  rmSync(dataDir, { recursive: true, force: true });
  mkdirSync(dataDir, { recursive: true });
  let sb = await startBroker({ dataDir, ports: { amqp: 0 } });
  const sync = (x: typeof sb) => new Promise<void>((resolve, reject) => x.store.sync((err) => (err ? reject(err) : resolve())));
  const fillPersistent = async (x: typeof sb, name: string) => {
    x.core.requireVhost('/').declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
    const body = Buffer.from('m');
    for (let k = 0; k < N; k++) {
      x.publish('', name, body, { deliveryMode: 2 });
      if (k % 20_000 === 19_999) await sync(x);
    }
    await sync(x);
  };
  const connectTo = async (x: typeof sb) => {
    const c = await amqplib.connect(x.urls.amqp!.replace('amqp://', 'amqp://guest:guest@'));
    const p = await c.createChannel();
    await p.assertQueue('ping', { durable: false });
    return { c, p };
  };
  /** the broker's bulk work and the file store's (a deleted queue's messages let go of in slices) are done */
  const storeSettled = async () => {
    await settled();
    await (sb.store as { settled?: () => Promise<void> }).settled?.();
  };
  let side = await connectTo(sb);
  ping = side.p;
  core = sb.core as Core;
  /** a durable quorum queue of N persistent messages (paged out past the journal's threshold), message k's header x given by `x(k)` */
  const fillQuorumPersistent = async (name: string, x: (k: number) => number) => {
    sb.core.requireVhost('/').declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-queue-type': 'quorum' } }, null);
    const body = Buffer.from('m');
    const headers = [{ x: 1 }, { x: 2 }];
    for (let k = 0; k < N; k++) {
      sb.publish('', name, body, { deliveryMode: 2, headers: headers[x(k) - 1] });
      if (k % 20_000 === 19_999) await sync(sb);
    }
    await sync(sb);
    return sb.core.requireVhost('/').getQueue(name)!;
  };
  type JournalStats = { bytesWritten: number; compactedSegments: number; copiedBytes?: number };
  const store = sb.store as { readMessage?: (id: number) => unknown; stats?: JournalStats };
  const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
  /** journal reads (paged-out messages read back) while `op` runs, and what the journal wrote meanwhile (compaction copies among it) */
  const countingReads = async (op: () => Promise<string>): Promise<string> => {
    const read = store.readMessage!;
    let reads = 0;
    store.readMessage = (id) => (reads++, read.call(store, id));
    const before = store.stats;
    try {
      const answer = await op();
      const after = store.stats;
      const written = before && after ? `, journal written ${mb(after.bytesWritten - before.bytesWritten)} MB, ${after.compactedSegments - before.compactedSegments} segments compacted${after.copiedBytes === undefined ? '' : ` (${mb(after.copiedBytes - before.copiedBytes!)} MB copied)`}` : '';
      return `${answer}; ${reads} journal reads${written}`;
    } finally {
      delete store.readMessage;
    }
  };
  const dropQueue = async (name: string) => {
    await side.p.deleteQueue(name);
    await sync(sb);
    await storeSettled();
  };
  if (wanted('quorum selector (file store; few selected)')) {
    // 1 in 100 000 selected; each publish dispatches: the walk passes its window of 400 paged-out
    // messages (it read them all back from the journal at every dispatch: review-s11-2 R4)
    const q = await fillQuorumPersistent('fqsel.few', (k) => (k % 100_000 === 99_999 ? 2 : 1));
    await measure('quorum selector (file store; few selected): a selector consumer attaches to a durable quorum queue, then 20 publishes one a turn', () =>
      countingReads(async () => {
        const c = selectorConsumer('fqsel.few', 'x = 2', 100);
        const t = performance.now();
        for (let k = 0; k < 20; k++) {
          sb.publish('', 'fqsel.few', Buffer.from('m'), { deliveryMode: 2, headers: { x: 2 } });
          await turn();
        }
        const ms = performance.now() - t;
        const got = c.got();
        c.stop();
        return `${got} delivered, ${q.messageCount} ready, ${q.ready.paged} paged; 20 publishes in ${ms.toFixed(0)} ms`;
      }),
    );
    await dropQueue('fqsel.few');
  }
  if (wanted('quorum selector (file store; all but the head selected)')) {
    const q = await fillQuorumPersistent('fqsel.most', (k) => (k === 0 ? 1 : 2));
    await measure('quorum selector (file store; all but the head selected): a selector consumer of a durable quorum queue takes all behind the head', () =>
      countingReads(async () => {
        const c = selectorConsumer('fqsel.most', 'x = 2', 1000);
        while (c.got() < N - 1) await turn();
        c.stop();
        return `${c.got()} delivered, ${q.messageCount} ready`;
      }),
    );
    await dropQueue('fqsel.most');
  }
  if (wanted('quorum selector (file store; 9 in 10 selected)')) {
    // every 10th not selected: the in-memory head's unselected ones fall short of the window of 400, so
    // each dispatch passes on into the paged-out tail (it read those back at every dispatch, review-s11-2
    // R4) until 400 are passed; prefetch 10 acked every turn, then 20 publishes one a turn
    const q = await fillQuorumPersistent('fqsel.nine', (k) => (k % 10 === 9 ? 1 : 2));
    await measure('quorum selector (file store; 9 in 10 selected): a selector consumer of a durable quorum queue takes until its window is full, then 20 publishes one a turn', () =>
      countingReads(async () => {
        const c = selectorConsumer('fqsel.nine', 'x = 2', 10);
        // the 400th unselected one is message 3999: the 3600 selected ones ahead of it are delivered
        while (c.got() < 3600) await turn();
        for (let k = 0; k < 20; k++) {
          sb.publish('', 'fqsel.nine', Buffer.from('m'), { deliveryMode: 2, headers: { x: 2 } });
          await turn();
        }
        c.stop();
        return `${c.got()} delivered, ${q.messageCount} ready`;
      }),
    );
    await dropQueue('fqsel.nine');
  }
  if (wanted('peek of a quorum queue (file store)')) {
    const q = await fillQuorumPersistent('fqpeek', () => 1);
    const handle = sb.queue('fqpeek') as ReturnType<typeof sb.queue> & { peek?: () => Promise<unknown[]> };
    await measure('peek of a quorum queue (file store, test API)', () =>
      countingReads(async () => `${(handle.peek ? await handle.peek() : handle.messages()).length} peeked of ${q.messageCount}, ${q.ready.paged} paged`),
    );
    await dropQueue('fqpeek');
  }
  if (wanted('quorum selector during a peek (file store)')) {
    const q = await fillQuorumPersistent('fqsel.peek', (k) => (k === 0 ? 1 : 2));
    await measure('quorum selector during a peek (file store): a peek() of a durable quorum queue while a selector consumer takes all behind the head', () =>
      countingReads(() => selectorDuringPeek(sb, q)),
    );
    await dropQueue('fqsel.peek');
  }
  if (wanted('consume in-process (file store; no window)')) {
    // the plain dispatch (no selector) to a consumer with no window whose sink never reports full:
    // nothing but the dispatch's own bound (DispatchSlices) stops it reading the whole queue back
    await fillPersistent(sb, 'fplain');
    const q = sb.core.requireVhost('/').getQueue('fplain')!;
    const paged = q.ready.paged;
    await measure('consume in-process (file store; no window): a consumer without a window whose sink never reports full takes all of a durable classic queue', () =>
      countingReads(async () => {
        const c = selectorConsumer('fplain', undefined, 0);
        const first = c.got();
        while (c.got() < N) await turn();
        c.stop();
        return `${c.got()} delivered (${first} in the consume call), ${paged} were paged`;
      }),
    );
    await dropQueue('fplain');
  }
  if (wanted('queue.delete (file store)')) {
    await fillPersistent(sb, 'stored');
    await measure('queue.delete (file store)', async () => {
      const n = (await side.p.deleteQueue('stored')).messageCount;
      await sync(sb);
      return n;
    }, storeSettled);
  }
  if (wanted('restart recovery')) {
    await fillPersistent(sb, 'stored');
    await side.c.close();
    await sb.stop();
    gc?.();
    const t0 = performance.now();
    sb = await startBroker({ dataDir, ports: { amqp: 0 } });
    const ms = performance.now() - t0;
    const rss = process.memoryUsage().rss / 1e6;
    console.log(`| restart recovery (data dir, until listening) | ${sb.queue('stored').messageCount()} back | ${ms.toFixed(0)} | - | (not listening meanwhile, as RabbitMQ) | - | - | - | - |  rss ${rss.toFixed(0)} MB`);
    side = await connectTo(sb);
    ping = side.p;
    core = sb.core as Core;
    await measure('queue.delete (file store, recovered)', async () => {
      const n = (await side.p.deleteQueue('stored')).messageCount;
      await sync(sb);
      return n;
    }, storeSettled);
  }
  await side.c.close();
  await sb.stop();
  ping = ping0;
  core = b.core as Core;
  rmSync(dataDir, { recursive: true, force: true });
}

await ping.close();
await pingConn.close();
await ch.close();
await conn.close();
await b.stop();
process.exit(0);
