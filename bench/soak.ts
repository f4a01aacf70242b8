/**
 * The soak (issue 18): a LocalMQ on a data dir, in a process of its own, under mixed traffic
 * over every protocol for a while (10 minutes by default), restarted halfway:
 *
 *   npx tsx bench/soak.ts [--duration 10m] [--rate 100] [--window 200] [--port 26100]
 *     [--data-dir DIR] [--sample-s 5] [--drain-s 120] [--no-restart] [--json] [--dist dist]
 *
 * `--dist DIR` runs the built broker (`npm run build`: DIR/index.js) rather than the sources.
 *
 * Lanes (bench/lib/soak-lanes.ts): AMQP 0-9-1 (publisher confirms, persistent; acks, nack
 * with requeue, nack to the dead-letter queue, a TTL queue that expires into it and
 * per-message TTLs), STOMP (receipts; ACK, NACK requeue, NACK requeue:false to the DLQ), MQTT
 * (QoS 1 into a persistent session), AMQP 1.0 (accepted outcomes; accept, release, reject to
 * the DLQ), OpenWire (Responses; individual and poison acks to ActiveMQ.DLQ), a dead-letter
 * reader, and connect/disconnect churn over all five. Each publisher sends `rate` msg/s.
 *
 * At the end every confirmed message must have been consumed or dead-lettered (none lost);
 * a message delivered again must carry its protocol's redelivery mark (MQTT QoS 1 excepted:
 * at least once without one); the broker's RSS and open file descriptors, sampled from /proc,
 * must be flat after warm-up in each half. Prints the tables; exit code 1 if any of it fails.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Books } from './lib/soak-ledger.js';
import { Amqp10Lane, AmqpLane, ChurnLane, DeadLetterReader, MqttLane, OpenWireLane, StompLane, type Lane, type LaneOptions } from './lib/soak-lanes.js';

interface Args {
  durationS: number;
  rate: number;
  window: number;
  port: number;
  dataDir: string | undefined;
  sampleS: number;
  drainS: number;
  restart: boolean;
  json: boolean;
  dist: string | undefined;
}

function seconds(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(v);
  if (!m) throw new Error(`not a duration: ${v}`);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : m[2] === 'h' ? n * 3600 : n;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { durationS: 600, rate: 100, window: 200, port: 26100, dataDir: undefined, sampleS: 5, drainS: 120, restart: true, json: false, dist: undefined };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = () => argv[++i] ?? '';
    if (k === '--duration') a.durationS = seconds(v());
    else if (k === '--rate') a.rate = Number(v());
    else if (k === '--window') a.window = Number(v());
    else if (k === '--port') a.port = Number(v());
    else if (k === '--data-dir') a.dataDir = v();
    else if (k === '--sample-s') a.sampleS = Number(v());
    else if (k === '--drain-s') a.drainS = Number(v());
    else if (k === '--no-restart') a.restart = false;
    else if (k === '--json') a.json = true;
    else if (k === '--dist') a.dist = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

class BrokerProcess {
  child: ChildProcess | undefined;
  errors: string[] = [];
  warnings = 0;
  constructor(
    private readonly dataDir: string,
    private readonly port: number,
    private readonly dist: string | undefined,
  ) {}

  async start(): Promise<void> {
    const script = new URL('./lib/soak-broker.ts', import.meta.url).pathname;
    const child = spawn(process.execPath, ['--import', 'tsx', script, '--data-dir', this.dataDir, '--port', String(this.port), ...(this.dist ? ['--dist', this.dist] : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let tail = '';
    child.stderr!.on('data', (d: Buffer) => {
      tail += d.toString();
      let nl: number;
      while ((nl = tail.indexOf('\n')) >= 0) {
        const line = tail.slice(0, nl);
        tail = tail.slice(nl + 1);
        if (/"level":"error"|\berror\b.*\bat\b|Error:/.test(line)) this.errors.push(line.slice(0, 300));
        else if (line.trim()) this.warnings++;
      }
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`broker exited with ${code} before it was ready`)));
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(30_000)]);
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** RSS in MB and open file descriptors, from /proc */
  sample(): { rssMb: number; fds: number } | undefined {
    const pid = this.child?.pid;
    if (!pid || this.child!.exitCode !== null) return undefined;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
      return { rssMb: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
    } catch {
      return undefined;
    }
  }
}

interface Sample {
  t: number;
  phase: number;
  rssMb: number;
  fds: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/**
 * per phase: samples after warm-up (the first 20%, at least 60 s: a fresh broker's heap grows
 * for its first minute), first third against last third; undefined when too few remain
 */
function flatness(samples: Sample[], phase: number) {
  const own = samples.filter((s) => s.phase === phase);
  if (own.length < 2) return undefined;
  const t0 = own[0]!.t;
  const span = own[own.length - 1]!.t - t0;
  const warm = own.filter((s) => s.t - t0 >= Math.max(span * 0.2, 60));
  if (warm.length < 6) return { phase, samples: warm.length, rssFirst: NaN, rssLast: NaN, rssMax: NaN, fdFirst: NaN, fdLast: NaN, flat: undefined };
  const third = Math.max(1, Math.floor(warm.length / 3));
  const first = warm.slice(0, third);
  const last = warm.slice(-third);
  const rssFirst = median(first.map((s) => s.rssMb));
  const rssLast = median(last.map((s) => s.rssMb));
  const fdFirst = median(first.map((s) => s.fds));
  const fdLast = median(last.map((s) => s.fds));
  const rssMax = Math.max(...warm.map((s) => s.rssMb));
  // flat: RSS grew by less than 10% (or 16 MB, GC noise on a small heap) and fds by fewer than churn's few in flight
  const flat = rssLast - rssFirst <= Math.max(16, rssFirst * 0.1) && fdLast - fdFirst <= 10;
  return { phase, samples: warm.length, rssFirst, rssLast, rssMax, fdFirst, fdLast, flat };
}

const args = parseArgs(process.argv.slice(2));
const dataDir = args.dataDir ?? mkdtempSync(join(tmpdir(), 'localmq-soak-'));
const broker = new BrokerProcess(dataDir, args.port, args.dist);
const books = new Books();
const log = (m: string) => {
  if (!args.json) process.stderr.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${m}\n`);
};
const target = { host: '127.0.0.1', base: args.port };
const o: LaneOptions = { target, books, rate: args.rate, window: args.window, log };

await broker.start();
await AmqpLane.declare(target);
const churn = new ChurnLane({ ...o, rate: 10 });
const lanes: Lane[] = [new AmqpLane(o), new StompLane(o), new MqttLane(o), new Amqp10Lane(o), new OpenWireLane(o), new DeadLetterReader(o), churn];
const running = lanes.map((l) => l.run());
log(`broker pid ${broker.child!.pid} (${args.dist ? `built: ${args.dist}` : 'sources'}) on ${args.port}..${args.port + 3}, data dir ${dataDir}; ${args.durationS}s, ${args.rate} msg/s per lane`);

const samples: Sample[] = [];
let phase = 1;
const started = Date.now();
const sampler = setInterval(() => {
  const s = broker.sample();
  if (s) samples.push({ t: (Date.now() - started) / 1000, phase, ...s });
}, args.sampleS * 1000);

let restartMs = 0;
let stopMs = 0;
const progress = setInterval(() => {
  const pub = [...books.ledgers.values()].map((l) => `${l.lane} ${l.published}`).join(', ');
  const last = samples[samples.length - 1];
  log(`${Math.round((Date.now() - started) / 1000)}s: published ${pub}; RSS ${last?.rssMb.toFixed(0)} MB, fds ${last?.fds}`);
}, 30_000);

await sleep((args.durationS * 1000) / (args.restart ? 2 : 1));
if (args.restart) {
  log('restarting the broker on its data dir');
  const t = Date.now();
  await broker.stop();
  stopMs = Date.now() - t;
  phase = 2;
  await broker.start();
  restartMs = Date.now() - t;
  log(`restarted in ${restartMs} ms (stop ${stopMs} ms; the rest is a new node process loading tsx and recovering the data dir)`);
  await sleep((args.durationS * 1000) / 2);
}

// stop publishing, let confirms and consumers catch up
for (const l of lanes) l.publishing = false;
const drainStart = Date.now();
const settled = () => [...books.ledgers.values()].every((l) => l.unconfirmed === 0 && l.missing().length === 0);
while (!settled() && Date.now() - drainStart < args.drainS * 1000) await sleep(500);
const drainMs = Date.now() - drainStart;
clearInterval(sampler);
clearInterval(progress);
for (const l of lanes) await l.close();
await Promise.race([Promise.all(running), sleep(10_000)]);
await broker.stop();
if (!args.dataDir) rmSync(dataDir, { recursive: true, force: true });

const rows = [...books.ledgers.values()].map((l) => ({
  lane: l.lane,
  published: l.published,
  confirmed: l.confirmed.size,
  inDoubt: l.inDoubt.size,
  inDoubtDelivered: l.inDoubtDelivered(),
  refused: l.refused,
  consumed: l.consumed.size,
  deadLettered: l.deadLettered.size,
  lost: l.missing().length,
  lostSample: l.missing().slice(0, 8),
  duplicatesFlagged: l.duplicatesFlagged,
  duplicatesUnflagged: l.duplicatesUnflagged,
  unflaggedAllowed: l.duplicatesAllowedUnflagged,
  reconnects: lanes.find((x) => x.name === l.lane)?.connects ?? 0,
}));
const resources = [1, 2].map((p) => flatness(samples, p)).filter((x) => x !== undefined);
const laneErrors = Object.fromEntries(lanes.map((l) => [l.name, l.errors.length]));
const ok =
  rows.every((r) => r.lost === 0 && (r.unflaggedAllowed || r.duplicatesUnflagged === 0) && r.confirmed > 0) &&
  resources.every((r) => r!.flat !== false) &&
  broker.errors.length === 0;

if (args.json) {
  console.log(JSON.stringify({ args, rows, resources, churn: churn.cycles, churnFailures: churn.failures, restartMs, stopMs, drainMs, laneErrors, brokerErrors: broker.errors, samples, ok }, null, 2));
} else {
  console.log(`\nsoak: ${args.durationS}s at ${args.rate} msg/s per lane${args.restart ? `, broker restarted on its data dir halfway (${restartMs} ms, of which stopping ${stopMs} ms)` : ''}; drained in ${(drainMs / 1000).toFixed(1)} s`);
  console.log('| lane | published | confirmed | in doubt (delivered) | refused | consumed | dead-lettered | lost | duplicates marked | duplicates unmarked | sessions |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) if (r.lost) console.log(`${r.lane}: lost seqs (first 8) ${r.lostSample.join(', ')}`);
  for (const r of rows) {
    console.log(`| ${r.lane} | ${r.published} | ${r.confirmed} | ${r.inDoubt} (${r.inDoubtDelivered}) | ${r.refused} | ${r.consumed} | ${r.deadLettered} | ${r.lost} | ${r.duplicatesFlagged} | ${r.duplicatesUnflagged}${r.unflaggedAllowed ? ' (QoS 1 allows)' : ''} | ${r.reconnects} |`);
  }
  console.log(`\nconnect/disconnect churn: ${Object.entries(churn.cycles).map(([k, v]) => `${k} ${v}`).join(', ')}; failed cycles ${churn.failures} (the restart's downtime included)`);
  console.log('\n| broker half | samples after warm-up | RSS first third (MB) | RSS last third (MB) | RSS max (MB) | fds first third | fds last third | flat |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---|');
  for (const r of resources) console.log(`| ${r!.phase === 1 ? 'before restart' : 'after restart'} | ${r!.samples} | ${r!.rssFirst.toFixed(1)} | ${r!.rssLast.toFixed(1)} | ${r!.rssMax.toFixed(1)} | ${r!.fdFirst} | ${r!.fdLast} | ${r!.flat === undefined ? 'n/a: run too short to judge' : r!.flat ? 'yes' : 'NO'} |`);
  console.log(`\nlane session errors (reconnects around the restart are expected): ${JSON.stringify(laneErrors)}`);
  console.log(`broker errors logged: ${broker.errors.length}${broker.errors.length ? `\n  ${broker.errors.slice(0, 10).join('\n  ')}` : ''}`);
  console.log(`verdict: ${ok ? 'PASS' : 'FAIL'}`);
}
process.exit(ok ? 0 : 1);
