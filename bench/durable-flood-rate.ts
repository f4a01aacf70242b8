/**
 * The rate a durable flood is taken at, and how often the journal's credit flow holds its publisher
 * (core/store-flow.ts): `node dist/cli/main.js start` (build first) on a fresh data dir with a 4 GiB
 * watermark (the memory alarm never acts), a durable queue `flood` and no consumer; 1 KiB persistent
 * messages for <seconds> from OpenWire (the ActiveMQ JMS client, bench/openwire/JmsTimedFlood.java,
 * jms.useAsyncSend=true) or AMQP 0-9-1 (amqplib, no confirms, in this process), while RSS is read and
 * the management API's /api/connections polled every 50 ms (how many polls saw each connection state).
 *
 *   npm run build && bash /work/bench-lock.sh nice -n -20 bench/lib/in-own-autogroup.sh \
 *     npx tsx bench/durable-flood-rate.ts <port> <openwire|amqp> <seconds> <label>
 *
 * Uses <port> (AMQP), +1 (HTTP), +4 (OpenWire). Prints one JSON line.
 *
 * `--data-root DIR`: the broker's data dir under DIR instead of the OS temp dir (a tmpfs there: a disk
 * that always keeps up). `--rate N` (amqp only): a publisher at a fixed N msg/s instead of full speed,
 * with publisher confirms, every publish -> confirm timed (`confirmMs` p50/p99/max): the "disk keeps
 * up" case, where the credit flow must cost nothing (no `flow` polls, the rate kept, the same latency).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { compileJmsBench } from './lib/jms-bench.js';
import { rssMiB, startCliBroker } from './lib/cli-broker.js';

const [port, protocol, seconds, label] = [Number(process.argv[2]), process.argv[3]!, Number(process.argv[4]), process.argv[5] ?? ''];
function flag(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}
const rate = Number(flag('rate') ?? 0);
const dir = join(flag('data-root') ?? tmpdir(), `localmq-durable-flood-rate-${port}`);
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
const broker = await startCliBroker(['--data-dir', `${dir}/data`, '--run-dir', dir, '--log-level', 'warn', '--free-ports', '--amqp-port', String(port), '--http-port', String(port + 1), '--openwire-port', String(port + 4), '--memory-high-watermark', '4GiB']);
const conn = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
const ch = await conn.createChannel();
await ch.assertQueue('flood', { durable: true });

const states = new Map<string, number>();
let polls = 0;
let maxRss = 0;
let polling = true;
const auth = { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` };
const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssMiB(broker.pid!))), 50);
const poller = (async () => {
  while (polling) {
    const res = await fetch(`http://127.0.0.1:${port + 1}/api/connections`, { headers: auth }).catch(() => undefined);
    if (res?.ok) {
      polls++;
      for (const c of (await res.json()) as { state: string; protocol: string }[]) {
        const key = `${c.protocol}:${c.state}`;
        states.set(key, (states.get(key) ?? 0) + 1);
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
})();

const started = Date.now();
let published: number;
/** publish -> confirm times of a --rate run, ms */
const confirmMs: number[] = [];
if (rate > 0) published = await fixedRate();
else if (protocol === 'openwire') {
  const jms = compileJmsBench('JmsTimedFlood');
  if (!('classpath' in jms)) throw new Error(jms.skipped);
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn('java', ['-cp', jms.classpath, 'JmsTimedFlood', `tcp://127.0.0.1:${port + 4}?jms.useAsyncSend=true`, 'flood', String(seconds), '1024', 'true'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (d: Buffer) => (text += d.toString()));
    p.once('exit', (code) => (code === 0 ? resolve(text.trim().split('\n').at(-1)!) : reject(new Error(`java exited with ${code}`))));
  });
  published = (JSON.parse(out) as { published: number }).published;
} else {
  const pc = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  const pch = await pc.createChannel();
  const body = Buffer.alloc(1024, 'f');
  const until = Date.now() + seconds * 1000;
  published = 0;
  while (Date.now() < until) {
    if (!pch.publish('', 'flood', body, { persistent: true })) await new Promise<void>((r) => pch.once('drain', () => r()));
    if (++published % 1000 === 0) await new Promise((r) => setImmediate(r));
  }
  await pc.close();
}
/**
 * AMQP 0-9-1 with confirms at `rate` msg/s: every 10 ms, the publishes due by then (so a late tick
 * catches up, as a steady producer would); confirms timed as they are read.
 */
async function fixedRate(): Promise<number> {
  const pc = await amqp.connect(`amqp://guest:guest@127.0.0.1:${port}`);
  const pch = await pc.createConfirmChannel();
  const body = Buffer.alloc(1024, 'f');
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let sent = 0;
  let confirmed = 0;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      const due = Math.min(Math.floor(((now - t0) / 1000) * rate), Math.floor(seconds * rate));
      for (; sent < due; sent++) {
        const at = performance.now();
        pch.publish('', 'flood', body, { persistent: true }, () => {
          confirmMs.push(performance.now() - at);
          if (++confirmed === Math.floor(seconds * rate)) resolve();
        });
      }
      if (now >= until) clearInterval(tick);
    }, 10);
  });
  await pc.close();
  return sent;
}

const floodMs = Date.now() - started;
polling = false;
await poller;
clearInterval(sampler);
const queued = (await ch.checkQueue('flood')).messageCount;
broker.kill('SIGKILL');
rmSync(dir, { recursive: true, force: true });
confirmMs.sort((a, b) => a - b);
const pct = (q: number) => Math.round(confirmMs[Math.min(confirmMs.length - 1, Math.floor(q * confirmMs.length))]! * 10) / 10;
const confirms = confirmMs.length ? { confirmMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) } } : {};
console.log(JSON.stringify({ label, protocol, seconds, ...(rate ? { rate } : {}), floodMs, published, queued, queuedPerSec: Math.round(queued / (floodMs / 1000)), maxRssMiB: Math.round(maxRss * 10) / 10, polls, states: Object.fromEntries(states), ...confirms }));
process.exit(0);
