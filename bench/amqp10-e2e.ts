/**
 * AMQP 1.0 producer → consumer throughput with rhea, against one or more brokers in one run
 * (LocalMQ, RabbitMQ 3.10 with rabbitmq_amqp1_0, ...): `count` messages of `size` bytes
 * through one queue, the receiver attached first, both on their own connection.
 *
 *   settled:   the sender sends pre-settled (snd-settle-mode settled), the broker delivers pre-settled
 *              (rhea still "accepts" them locally, which frees its session window)
 *   unsettled: the sender waits for each outcome (accepted), the receiver accepts each message
 *
 * `--client amqplib` runs the same scenarios over AMQP 0-9-1 in the same harness, so the
 * protocols compare like with like (bench/lib/amqp091-pair.ts): settled ⇄ no confirms + noAck,
 * unsettled ⇄ publisher confirms + a manual ack per message. `--client rhea,amqplib` runs both,
 * alternating, in every round.
 *
 * Producer and consumer each run in a process of their own (rhea is single-threaded). Each
 * target (url × client) runs each scenario `rounds` times, alternating the order; the median
 * and the spread are printed, with the ratio of the first target to each other one.
 *
 *   npx tsx bench/amqp10-e2e.ts --url amqp://guest:guest@127.0.0.1:5672 [--url amqp://…:5673]
 *        [--client rhea[,amqplib,rhea-pre,raw,raw091]] [--count 100000] [--size 1024] [--rounds 3] [--address /queue/bench-amqp10]
 *        [--scenarios settled,unsettled] [--durable]
 *
 * `--durable` (rhea, rhea-pre): the messages carry durable=true in their header, so a broker answers an
 * unsettled one once its store has it (a durable queue's: give the address of one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import rhea, { type Connection, type EventContext } from 'rhea';
import { raw091Consumer, raw091Producer } from './lib/amqp091-load.js';
import { amqp091Consumer, amqp091Producer } from './lib/amqp091-pair.js';
import { loadConsumer, loadProducer } from './lib/amqp10-load.js';

/**
 * rhea; rhea sending one message encoded once (rhea's send(buffer, tag, format)); LocalMQ's
 * minimal load generator (bench/lib/amqp10-load.ts); amqplib over AMQP 0-9-1; or the minimal
 * AMQP 0-9-1 load generator (bench/lib/amqp091-load.ts), the raw one's twin
 */
type Client = 'rhea' | 'rhea-pre' | 'raw' | 'amqplib' | 'raw091';
const CLIENTS: Client[] = ['rhea', 'rhea-pre', 'raw', 'amqplib', 'raw091'];

interface Options {
  urls: string[];
  clients: Client[];
  count: number;
  size: number;
  rounds: number;
  address: string;
  scenarios: Scenario[];
  durable: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = { urls: [], clients: [], count: 100_000, size: 1024, rounds: 3, address: '/queue/bench-amqp10', scenarios: ['settled', 'unsettled'], durable: false };
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
        for (const c of v!.split(',')) {
          if (!CLIENTS.includes(c as Client)) throw new Error(`--client ${CLIENTS.join('|')} (comma-separated)`);
          o.clients.push(c as Client);
        }
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
      case '--durable':
        o.durable = true;
        break;
      case '--scenarios':
        o.scenarios = v!.split(',') as Scenario[];
        if (o.scenarios.some((x) => x !== 'settled' && x !== 'unsettled')) throw new Error('--scenarios settled,unsettled');
        i++;
        break;
    }
  }
  if (!o.clients.length) o.clients.push('rhea');
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
type Role = { role: 'consumer' | 'producer'; client: Client; url: string; address: string; scenario: Scenario; count: number; size: number; durable?: boolean };

function report(o: Record<string, number | boolean>): void {
  process.stdout.write(`${JSON.stringify(o)}\n`);
}

/**
 * One side of a run, in its own process: rhea is single-threaded JavaScript, so one
 * process driving both sides would measure the client, not the broker.
 */
async function side(r: Role): Promise<void> {
  const settled = r.scenario === 'settled';
  const now = () => performance.timeOrigin + performance.now();
  if (r.client === 'amqplib') {
    const o = { url: r.url, address: r.address, settled, count: r.count, size: r.size, prefetch: 1000, window: 1000 };
    if (r.role === 'consumer') await amqp091Consumer(o, () => report({ ready: true }), () => report({ done: now() }));
    else await amqp091Producer(o, () => report({ start: now() }));
    return;
  }
  if (r.client === 'raw' || r.client === 'raw091') {
    const lo = { url: r.url, address: r.address, settled, count: r.count, size: r.size };
    const [consumer, producer] = r.client === 'raw' ? [loadConsumer, loadProducer] : [raw091Consumer, raw091Producer];
    if (r.role === 'consumer') await consumer(lo, () => report({ ready: true }), () => report({ done: now() }));
    else await producer(lo, () => report({ start: now() }));
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
  const durable = r.durable === true;
  const encoded = r.client === 'rhea-pre' ? rhea.message.encode({ body, durable }) : undefined;
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
      else sender.send({ body, durable });
      sent++;
    }
  });
  // the connection stays open until the harness ends the process, reading its CPU time first
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

/** one broker through one client */
interface Target {
  url: string;
  client: Client;
  label: string;
}

/** messages per second for one run of a scenario: consumer attached first, then the producer */
async function run(t: Target, scenario: Scenario, o: Options, round: number): Promise<Run> {
  const address = `${o.address}-${scenario}-${round}-${t.client}-${Date.now()}`;
  const base = { url: t.url, client: t.client, address, scenario, count: o.count, size: o.size, durable: o.durable };
  const consumer = child({ ...base, role: 'consumer' });
  await next(consumer, 'ready');
  const done = next(consumer, 'done');
  const producer = child({ ...base, role: 'producer' });
  const start = await next(producer, 'start');
  const cpu0 = [cpuSeconds(producer.pid), cpuSeconds(consumer.pid)];
  const end = await done;
  const cpu1 = [cpuSeconds(producer.pid), cpuSeconds(consumer.pid)];
  consumer.kill();
  producer.kill();
  const us = (i: number) => ((cpu1[i]! - cpu0[i]!) / o.count) * 1e6;
  return { rate: (o.count / (end - start)) * 1000, producerUs: us(0), consumerUs: us(1) };
}

interface Run {
  rate: number;
  /** CPU each client process spent per message between the first publish and the last delivery */
  producerUs: number;
  consumerUs: number;
}

const TICKS = 100; // USER_HZ: /proc/<pid>/stat counts CPU time in clock ticks of 1/100 s on Linux

/** a process's CPU time so far (user + system), from /proc; NaN where there is none */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / TICKS;
  } catch {
    return NaN;
  }
}

const CLIENT_NAMES: Record<Client, string> = {
  rhea: 'AMQP 1.0 rhea',
  'rhea-pre': 'AMQP 1.0 rhea, message encoded once',
  raw: 'AMQP 1.0 minimal load generator, bench/lib/amqp10-load.ts',
  amqplib: 'AMQP 0-9-1 amqplib: settled = no confirms + noAck, unsettled = confirms (window 1000) + an ack per message (prefetch 1000)',
  raw091: 'AMQP 0-9-1 minimal load generator, bench/lib/amqp091-load.ts (the raw one\'s twin)',
};

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  const targets: Target[] = o.urls.flatMap((url) => o.clients.map((client) => ({ url, client, label: `${client}@${new URL(url).host}` })));
  console.log(`producer -> consumer, each in a process of its own: ${o.count} x ${o.size} B, ${o.rounds} rounds, alternating`);
  for (const c of o.clients) console.log(`  ${c}: ${CLIENT_NAMES[c]}`);
  const all = new Map<string, number[]>();
  const cpu = new Map<string, { p: number[]; c: number[] }>();
  const width = Math.max(...targets.map((t) => t.label.length)) + 1;
  for (let round = 0; round < o.rounds; round++) {
    const order = round % 2 === 0 ? targets : [...targets].reverse();
    for (const scenario of o.scenarios) {
      for (const t of order) {
        const r = await run(t, scenario, o, round);
        const key = `${scenario} ${t.label}`;
        all.set(key, [...(all.get(key) ?? []), r.rate]);
        const c = cpu.get(key) ?? { p: [], c: [] };
        c.p.push(r.producerUs);
        c.c.push(r.consumerUs);
        cpu.set(key, c);
        console.log(
          `  round ${round + 1} ${scenario.padEnd(9)} ${t.label.padEnd(width)} ${Math.round(r.rate).toLocaleString('en')} msg/s` +
            `  (CPU per message: producer ${r.producerUs.toFixed(1)} us, consumer ${r.consumerUs.toFixed(1)} us)`,
        );
      }
    }
  }
  const fmt = (n: number) => Math.round(n).toLocaleString('en');
  console.log('median [min-max]:');
  for (const scenario of o.scenarios) {
    const stats = targets.map((t) => {
      const r = [...all.get(`${scenario} ${t.label}`)!].sort((a, b) => a - b);
      const mid = r.length / 2;
      const median = r.length % 2 ? r[Math.floor(mid)]! : (r[mid - 1]! + r[mid]!) / 2;
      return { median, min: r[0]!, max: r[r.length - 1]! };
    });
    for (let i = 0; i < targets.length; i++) {
      const s = stats[i]!;
      const ratio = i > 0 ? `  ${targets[0]!.label}/this median ${(stats[0]!.median / s.median).toFixed(2)}x (worst/best ${(stats[0]!.min / s.max).toFixed(2)}x)` : '';
      const c = cpu.get(`${scenario} ${targets[i]!.label}`)!;
      const cpuLine = `  CPU/msg producer ${median(c.p).toFixed(1)} us, consumer ${median(c.c).toFixed(1)} us`;
      console.log(`  ${scenario.padEnd(9)} ${targets[i]!.label.padEnd(width)} ${fmt(s.median)} [${fmt(s.min)}-${fmt(s.max)}]${ratio}${cpuLine}`);
    }
  }
  process.exit(0);
}

function median(xs: number[]): number {
  const r = [...xs].sort((a, b) => a - b);
  const mid = r.length / 2;
  return r.length % 2 ? r[Math.floor(mid)]! : (r[mid - 1]! + r[mid]!) / 2;
}

const sideArg = process.argv.indexOf('--side');
if (sideArg > 0) void side(JSON.parse(process.argv[sideArg + 1]!) as Role);
else void main();
