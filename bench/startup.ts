/**
 * Start-up time, median of N runs:
 * - in process: `startBroker()` until the AMQP port accepts a connection (the first call
 *   in a process, which pays module warm-up, is reported apart);
 * - in process on a new data dir and on one started before: `startBroker({ dataDir })` until the AMQP port accepts, and
 *   until a first persistent publish to a durable queue is confirmed (the journal's head segment,
 *   zero-filled at open, has to be ready for that: FileStoreOptions.headZeroFill), and the bytes
 *   the process wrote to the disk for a start, that publish and a stop (/proc/self/io write_bytes);
 * - CLI: spawning `localmq start` (built dist) until `localmq wait` succeeds.
 * Run: npm run build && npx tsx bench/startup.ts [--runs 20]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { startBroker } from '../src/index.js';

const runsArg = process.argv.indexOf('--runs');
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 20;
const CLI = join(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

function accepts(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve();
    });
    s.on('error', reject);
  });
}

async function inProcess(): Promise<number> {
  const t0 = performance.now();
  const broker = await startBroker();
  await accepts(Number(new URL(broker.urls.amqp!).port));
  const ms = performance.now() - t0;
  await broker.stop();
  return ms;
}

/** bytes this process caused to be written to the storage device so far (Linux) */
const writeBytes = (): number => Number(/^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? NaN);

/**
 * A data dir, new or (`restart`) started and stopped once before (its TLS certificates made, its
 * journal there): ms to the AMQP port accepting, ms to a first persistent publish confirmed, bytes written in all
 */
async function onDataDir(restart: boolean): Promise<{ accepts: number; confirmed: number; bytes: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'localmq-startup-dir-'));
  if (restart) await (await startBroker({ dataDir })).stop();
  const bytes0 = writeBytes();
  const t0 = performance.now();
  const broker = await startBroker({ dataDir });
  const url = broker.urls.amqp!;
  await accepts(Number(new URL(url).port));
  const acceptsMs = performance.now() - t0;
  const conn = await amqp.connect(url.replace('amqp://', 'amqp://guest:guest@'));
  const ch = await conn.createConfirmChannel();
  await ch.assertQueue('startup', { durable: true });
  await new Promise<void>((resolve, reject) => ch.sendToQueue('startup', Buffer.from('x'), { persistent: true }, (err) => (err ? reject(err) : resolve())));
  const confirmed = performance.now() - t0;
  await conn.close();
  await broker.stop();
  const bytes = writeBytes() - bytes0;
  rmSync(dataDir, { recursive: true, force: true });
  return { accepts: acceptsMs, confirmed, bytes };
}

async function cliToWait(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-startup-'));
  const t0 = performance.now();
  const child = spawn(process.execPath, [CLI, 'start', '--free-ports', '--data-dir', dir, '--log-level', 'error'], { stdio: 'ignore' });
  try {
    for (;;) {
      const r = spawnSync(process.execPath, [CLI, 'wait', '--run-dir', dir, '--timeout', '30'], { stdio: 'ignore' });
      if (r.status === 0) break;
      if (performance.now() - t0 > 30_000) throw new Error('localmq did not become ready in 30 s');
    }
    return performance.now() - t0;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

const first = await inProcess();
const warm: number[] = [];
for (let i = 0; i < RUNS; i++) warm.push(await inProcess());
const dirRuns: { accepts: number; confirmed: number; bytes: number }[] = [];
for (let i = 0; i < RUNS; i++) dirRuns.push(await onDataDir(false));
const restartRuns: { accepts: number; confirmed: number; bytes: number }[] = [];
for (let i = 0; i < RUNS; i++) restartRuns.push(await onDataDir(true));
const cli: number[] = [];
for (let i = 0; i < RUNS; i++) cli.push(await cliToWait());
console.log(`startBroker() to first accepted connection: first in process ${first.toFixed(1)} ms, then median ${median(warm).toFixed(1)} ms of ${RUNS}`);
const mib = (b: number) => (b / 1048576).toFixed(1);
for (const [what, runs] of [
  ['a new dir', dirRuns],
  ['a dir started before', restartRuns],
] as const)
  console.log(
    `startBroker({ dataDir }) on ${what}: to first accepted connection median ${median(runs.map((r) => r.accepts)).toFixed(1)} ms, ` +
      `to a first persistent publish confirmed median ${median(runs.map((r) => r.confirmed)).toFixed(1)} ms (max ${Math.max(...runs.map((r) => r.confirmed)).toFixed(1)}; ` +
      `after the accept: median ${median(runs.map((r) => r.confirmed - r.accepts)).toFixed(1)}, max ${Math.max(...runs.map((r) => r.confirmed - r.accepts)).toFixed(1)}), ` +
      `written per start + publish + stop median ${mib(median(runs.map((r) => r.bytes)))} MiB of ${RUNS}`,
  );
console.log(`CLI spawn to 'localmq wait' succeeding: median ${median(cli).toFixed(0)} ms of ${RUNS} (min ${Math.min(...cli).toFixed(0)}, max ${Math.max(...cli).toFixed(0)})`);
