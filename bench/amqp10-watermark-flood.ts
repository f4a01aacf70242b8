/**
 * Issue 18 point 2g: N AMQP 1.0 publishers flood one durable queue at once under a memory high
 * watermark, the broker's RSS sampled every 50 ms; goal: the peak stays under watermark + 10 %.
 * Each publisher is bench/lib/timed-flood.ts (rhea, pre-settled, durable messages, as fast as its
 * link credit lets it) in a process of its own. Big messages (64 KiB) show what credit granted
 * before the alarm lets in after it: 170 per link in the RabbitMQ profile, 1000 in ActiveMQ's.
 *   npm run build && npx tsx bench/amqp10-watermark-flood.ts <port> <publishers> <seconds> <label> [size]
 *   env ENGINE=all (default: RabbitMQ profile, the engine's default version) | activemq;
 *   ENGINE_VERSION=3.13|4.2|4.3 (RabbitMQ) ; WATERMARK=200MiB (default)
 * Runs the built CLI of the current directory on a fresh data dir under /tmp/localmq-a10flood-<port>
 * (removed after), the HTTP API on <port>+1. Prints one JSON line: the highest RSS (MiB), when RSS
 * first reached the watermark (ms from the publishers' start), what each publisher handed to rhea,
 * and the queue's depth at the end (RabbitMQ profile: read over AMQP 0-9-1; ActiveMQ: null).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import amqp from 'amqplib';
import { rssMiB, startCliBroker } from './lib/cli-broker.js';

const [port, publishers, seconds] = [Number(process.argv[2]), Number(process.argv[3] ?? 4), Number(process.argv[4] ?? 20)];
const label = process.argv[5] ?? '';
const size = Number(process.argv[6] ?? 65536);
const engine = process.env['ENGINE'] ?? 'all';
const watermark = process.env['WATERMARK'] ?? '200MiB';
const watermarkMiB = Number(/^(\d+)MiB$/.exec(watermark)?.[1] ?? NaN);
if (!port || !publishers || !seconds || Number.isNaN(watermarkMiB)) {
  console.error('usage: npx tsx bench/amqp10-watermark-flood.ts <port> <publishers> <seconds> <label> [size]  (WATERMARK as <n>MiB)');
  process.exit(2);
}
const dir = `/tmp/localmq-a10flood-${port}`;
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });

const listeners = engine === 'activemq' ? ['--engine', 'activemq', '--amqp10-port', String(port)] : ['--amqp-port', String(port)];
const version = process.env['ENGINE_VERSION'] ? ['--engine-version', process.env['ENGINE_VERSION']] : [];
const broker = await startCliBroker(['--data-dir', `${dir}/data`, '--run-dir', dir, '--log-level', 'warn', '--free-ports', ...listeners, ...version, '--http-port', String(port + 1), '--memory-high-watermark', watermark]);
// the RabbitMQ profile's queue is declared durable over AMQP 0-9-1 (ActiveMQ's is made by the first send)
const ch = engine === 'activemq' ? undefined : await (await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`)).createChannel();
await ch?.assertQueue('flood', { durable: true });

let maxRss = 0;
let reachedAt = -1;
const t0 = Date.now();
const sampler = setInterval(() => {
  const r = rssMiB(broker.pid!);
  maxRss = Math.max(maxRss, r);
  if (reachedAt < 0 && r >= watermarkMiB) reachedAt = Date.now() - t0;
}, 50);
const flood = () =>
  new Promise<string>((resolve, reject) => {
    const args = ['--import', 'tsx', 'bench/lib/timed-flood.ts', '--protocol', 'amqp10', '--url', `amqp://127.0.0.1:${port}`, '--queue', 'flood'];
    args.push('--seconds', String(seconds), '--size', String(size), '--persistent', 'true');
    execFile(process.execPath, args, { maxBuffer: 1 << 20 }, (err, stdout) => (err ? reject(err) : resolve(stdout.trim().split('\n').at(-1)!)));
  });
const outs = await Promise.all(Array.from({ length: publishers }, flood));
clearInterval(sampler);
const published = outs.map((o) => (JSON.parse(o) as { published: number }).published);
const queued = ch ? (await ch.checkQueue('flood')).messageCount : null;
broker.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
const maxRssMiB = Math.round(maxRss * 10) / 10;
console.log(JSON.stringify({ label, engine, version: process.env['ENGINE_VERSION'] ?? 'default', publishers, seconds, size, watermark, maxRssMiB, reachedWatermarkAtMs: reachedAt, published, queued }));
process.exit(0);
