/**
 * AMQP 1.0 producer → consumer throughput with rhea, against one or more brokers in one run
 * (LocalMQ, RabbitMQ 3.10 with rabbitmq_amqp1_0, ...): `count` messages of `size` bytes
 * through one queue, the receiver attached first, both on their own connection.
 *
 *   settled:   the sender sends pre-settled (snd-settle-mode settled), the broker delivers pre-settled
 *              (rhea still "accepts" them locally, which frees its session window)
 *   unsettled: the sender waits for each outcome (accepted), the receiver accepts each message
 *
 * Producer and consumer each run in a process of their own (rhea is single-threaded). Each broker runs each
 * scenario `rounds` times, alternating the order; the best round counts.
 *
 *   npx tsx bench/amqp10-e2e.ts --url amqp://guest:guest@127.0.0.1:5672 [--url amqp://…:5673]
 *        [--count 100000] [--size 1024] [--rounds 3] [--address /queue/bench-amqp10]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import rhea, { type Connection, type EventContext } from 'rhea';
import { loadConsumer, loadProducer } from './lib/amqp10-load.js';

interface Options {
  urls: string[];
  /** rhea; rhea sending one message encoded once (rhea's send(buffer, tag, format)); or LocalMQ's minimal load generator (bench/lib/amqp10-load.ts) */
  client: 'rhea' | 'rhea-pre' | 'raw';
  count: number;
  size: number;
  rounds: number;
  address: string;
}

function parse(argv: string[]): Options {
  const o: Options = { urls: [], client: 'rhea', count: 100_000, size: 1024, rounds: 3, address: '/queue/bench-amqp10' };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1];
    switch (argv[i]) {
      case '--url':
        o.urls.push(v!);
        i++;
        break;
      case '--count':
        o.count = Number(v);
        i++;
        break;
      case '--size':
        o.size = Number(v);
        i++;
        break;
      case '--client':
        if (v !== 'rhea' && v !== 'rhea-pre' && v !== 'raw') throw new Error('--client rhea|rhea-pre|raw');
        o.client = v;
        i++;
        break;
      case '--rounds':
        o.rounds = Number(v);
        i++;
        break;
      case '--address':
        o.address = v!;
        i++;
        break;
    }
  }
  if (!o.urls.length) throw new Error('usage: amqp10-e2e.ts --url amqp://user:pass@host:port [--url …] [--count N] [--size B] [--rounds R]');
  return o;
}

function open(url: string): Promise<Connection> {
  const u = new URL(url);
  const container = rhea.create_container();
  const conn = container.connect({
    host: u.hostname,
    port: Number(u.port || 5672),
    username: decodeURIComponent(u.username || 'guest'),
    password: decodeURIComponent(u.password || 'guest'),
    reconnect: false,
  });
  return new Promise((resolve, reject) => {
    conn.once('connection_open', () => resolve(conn));
    conn.once('disconnected', (ctx: EventContext) => reject(ctx.error ?? new Error('disconnected')));
  });
}

type Scenario = 'settled' | 'unsettled';
type Role = { role: 'consumer' | 'producer'; client: Options['client']; url: string; address: string; scenario: Scenario; count: number; size: number };

function report(o: Record<string, number | boolean>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/**
 * One side of a run, in its own process: rhea is single-threaded JavaScript, so one
 * process driving both sides would measure the client, not the broker.
 */
async function side(r: Role): Promise<void> {
  const settled = r.scenario === 'settled';
  if (r.client === 'raw') {
    const lo = { url: r.url, address: r.address, settled, count: r.count, size: r.size };
    const now = () => performance.timeOrigin + performance.now();
    if (r.role === 'consumer') await loadConsumer(lo, () => report({ ready: true }), () => report({ done: now() }));
    else await loadProducer(lo, () => report({ start: now() }));
    return;
  }
  const conn = await open(r.url);
  if (r.role === 'consumer') {
    let received = 0;
    // rhea "accepts" pre-settled deliveries locally too, which frees its session window
    const rx = conn.open_receiver({ source: { address: r.address }, credit_window: 1000, autoaccept: true, snd_settle_mode: settled ? 1 : 0 } as never);
    rx.once('receiver_open', () => report({ ready: true }));
    rx.on('message', () => {
      if (++received === r.count) {
        report({ done: performance.timeOrigin + performance.now() });
        conn.close();
      }
    });
    return;
  }
  const body = rhea.message.data_section(Buffer.alloc(r.size, 0x61));
  // rhea-pre: the message encoded once, sent as its bytes (message format 0) — rhea's own way to skip per-send encoding
  const encoded = r.client === 'rhea-pre' ? rhea.message.encode({ body }) : undefined;
  const sender = conn.open_sender({ target: { address: r.address }, snd_settle_mode: settled ? 1 : 0 } as never);
  let sent = 0;
  let started = false;
  sender.on('sendable', () => {
    if (!started) {
      started = true;
      report({ start: performance.timeOrigin + performance.now() });
    }
    while (sent < r.count && sender.sendable()) {
      if (encoded) sender.send(encoded as never, undefined, 0);
      else sender.send({ body });
      sent++;
    }
  });
  let settledCount = 0;
  const finish = () => {
    if (++settledCount === r.count || settled) conn.close();
  };
  if (!settled) sender.on('accepted', finish);
}

/** one side in a child process of its own, reporting on stdout one JSON object a line */
function child(r: Role): ChildProcess & { events: AsyncIterableIterator<Record<string, number | boolean>> } {
  const p = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--side', JSON.stringify(r)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: p.stdout! });
  const events = (async function* () {
    for await (const line of lines) yield JSON.parse(line) as Record<string, number | boolean>;
  })();
  return Object.assign(p, { events });
}

async function next(c: ReturnType<typeof child>, key: string): Promise<number> {
  for (;;) {
    const { value, done } = await c.events.next();
    if (done) throw new Error(`bench side exited before '${key}'`);
    if (value[key] !== undefined) return Number(value[key]);
  }
}

/** messages per second for one run of a scenario: consumer attached first, then the producer */
async function run(url: string, scenario: Scenario, o: Options, round: number): Promise<number> {
  const address = `${o.address}-${scenario}-${round}-${Date.now()}`;
  const base = { url, client: o.client, address, scenario, count: o.count, size: o.size };
  const consumer = child({ ...base, role: 'consumer' });
  await next(consumer, 'ready');
  const done = next(consumer, 'done');
  const producer = child({ ...base, role: 'producer' });
  const start = await next(producer, 'start');
  const end = await done;
  consumer.kill();
  producer.kill();
  return (o.count / (end - start)) * 1000;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  console.log(`AMQP 1.0 (${o.client === 'raw' ? 'minimal load generator, bench/lib/amqp10-load.ts' : o.client === 'rhea-pre' ? 'rhea, message encoded once' : 'rhea'}) producer -> consumer: ${o.count} x ${o.size} B, ${o.rounds} rounds`);
  const best = new Map<string, number>();
  const all = new Map<string, number[]>();
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? o.urls : [...o.urls].reverse();
    for (const scenario of ['settled', 'unsettled'] as const) {
      for (const url of order) {
        const rate = await run(url, scenario, o, round);
        const key = `${scenario} ${url}`;
        best.set(key, Math.max(best.get(key) ?? 0, rate));
        all.set(key, [...(all.get(key) ?? []), rate]);
        console.log(`  round ${round + 1} ${scenario.padEnd(9)} ${new URL(url).host.padEnd(22)} ${Math.round(rate).toLocaleString('en')} msg/s`);
      }
    }
  }
  console.log('best:');
  for (const scenario of ['settled', 'unsettled'] as const) {
    const rates = o.urls.map((u) => best.get(`${scenario} ${u}`)!);
    const line = o.urls.map((u, i) => `${new URL(u).host} ${Math.round(rates[i]!).toLocaleString('en')} msg/s`).join('  |  ');
    const ratio = rates.length > 1 ? `  (first/second ${(rates[0]! / rates[1]!).toFixed(2)}x)` : '';
    console.log(`  ${scenario.padEnd(9)} ${line}${ratio}`);
  }
  console.log('median [min-max]:');
  for (const scenario of ['settled', 'unsettled'] as const) {
    const stats = o.urls.map((u) => {
      const r = [...all.get(`${scenario} ${u}`)!].sort((a, b) => a - b);
      const mid = r.length / 2;
      const median = r.length % 2 ? r[Math.floor(mid)]! : (r[mid - 1]! + r[mid]!) / 2;
      return { median, min: r[0]!, max: r[r.length - 1]! };
    });
    const line = o.urls.map((u, i) => `${new URL(u).host} ${Math.round(stats[i]!.median).toLocaleString('en')} [${Math.round(stats[i]!.min).toLocaleString('en')}-${Math.round(stats[i]!.max).toLocaleString('en')}]`).join('  |  ');
    const ratio = stats.length > 1 ? `  (median ratio ${(stats[0]!.median / stats[1]!.median).toFixed(2)}x)` : '';
    console.log(`  ${scenario.padEnd(9)} ${line}${ratio}`);
  }
  process.exit(0);
}

const sideArg = process.argv.indexOf('--side');
if (sideArg > 0) void side(JSON.parse(process.argv[sideArg + 1]!) as Role);
else void main();
