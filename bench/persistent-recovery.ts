/**
 * How long a broker takes to start on a data dir holding many persistent messages:
 * fills a dir through the broker (durable queues, delivery-mode 2), stops it cleanly,
 * then times `startBroker({ dataDir })` until it listens with every message back.
 *
 *   npx tsx bench/persistent-recovery.ts [--messages 1000000] [--size 100] [--queues 4] [--rounds 3] [--keep DIR]
 *
 * Also reports a dir where 90% of the messages were acked before the stop (recovery then
 * replays removals too, unless compaction already dropped them).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, type LocalMQ } from '../src/index.js';
import type { FileStore } from '../src/store/file/file-store.js';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const total = flag('--messages', 1_000_000);
const size = flag('--size', 100);
const queues = flag('--queues', 4);
const rounds = flag('--rounds', 3);

function sync(broker: LocalMQ): Promise<void> {
  return new Promise((resolve, reject) => broker.store.sync((err) => (err ? reject(err) : resolve())));
}

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

async function fill(dir: string, ackFraction: number): Promise<void> {
  const broker = await startBroker({ dataDir: dir, ports: { amqp: false } });
  const vhost = broker.core.requireVhost('/');
  for (let q = 0; q < queues; q++) vhost.declareQueue(`q${q}`, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
  const body = Buffer.alloc(size, 0x61);
  const props = { deliveryMode: 2, contentType: 'application/octet-stream', headers: { seq: 0 } };
  for (let i = 0; i < total; i++) {
    broker.publish('', `q${i % queues}`, body, { ...props, headers: { seq: i } });
    if (i % 20_000 === 19_999) await sync(broker);
  }
  await sync(broker);
  if (ackFraction > 0) {
    const session = broker.core.openSession(vhost, {});
    for (let q = 0; q < queues; q++) {
      const n = Math.floor((total / queues) * ackFraction);
      for (let i = 0; i < n; i++) {
        const got = session.get(`q${q}`, true);
        if (!got) break;
        if (i % 20_000 === 19_999) await sync(broker);
      }
    }
    session.close();
    await sync(broker);
    await (broker.store as FileStore).compact();
  }
  await broker.stop();
}

async function timeRecovery(dir: string): Promise<{ ms: number; messages: number; rssMb: number }> {
  const t0 = process.hrtime.bigint();
  const broker = await startBroker({ dataDir: dir, ports: { amqp: 0 } });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let messages = 0;
  for (const q of broker.queues()) messages += q.messages;
  const rssMb = Math.round(process.memoryUsage().rss / 1e6);
  await broker.stop();
  return { ms, messages, rssMb };
}

async function scenario(label: string, ackFraction: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-recovery-'));
  try {
    const f0 = Date.now();
    await fill(dir, ackFraction);
    const fillS = (Date.now() - f0) / 1000;
    const mb = (dirBytes(dir) / 1e6).toFixed(0);
    const times: number[] = [];
    let last = { ms: 0, messages: 0, rssMb: 0 };
    for (let r = 0; r < rounds; r++) {
      globalThis.gc?.();
      last = await timeRecovery(dir);
      times.push(last.ms);
    }
    times.sort((a, b) => a - b);
    const median = times[Math.floor(times.length / 2)]!;
    console.log(
      `${label}: ${last.messages.toLocaleString()} messages back in ${(median / 1000).toFixed(2)} s ` +
        `(median of ${rounds}; min ${(times[0]! / 1000).toFixed(2)} s), data dir ${mb} MB, rss ${last.rssMb} MB, filled in ${fillS.toFixed(1)} s`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`recovery through startBroker: ${total.toLocaleString()} x ${size} B persistent messages in ${queues} durable queues, node ${process.version}`);
await scenario('all live', 0);
await scenario('90% acked, compacted', 0.9);
process.exit(0);
