/**
 * Start-up time, median of N runs:
 * - in process: `startBroker()` until the AMQP port accepts a connection (the first call
 *   in a process, which pays module warm-up, is reported apart);
 * - CLI: spawning `localmq start` (built dist) until `localmq wait` succeeds.
 * Run: npm run build && npx tsx bench/startup.ts [--runs 20]
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
const cli: number[] = [];
for (let i = 0; i < RUNS; i++) cli.push(await cliToWait());
console.log(`startBroker() to first accepted connection: first in process ${first.toFixed(1)} ms, then median ${median(warm).toFixed(1)} ms of ${RUNS}`);
console.log(`CLI spawn to 'localmq wait' succeeding: median ${median(cli).toFixed(0)} ms of ${RUNS} (min ${Math.min(...cli).toFixed(0)}, max ${Math.max(...cli).toFixed(0)})`);
