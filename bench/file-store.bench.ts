/**
 * FileStore throughput and recovery time.
 *   npx tsx bench/file-store.bench.ts [messages=100000] [recoverMessages=1000000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../src/core/message.js';
import { FileStore } from '../src/store/file/file-store.js';
import type { QueueRef } from '../src/store/store.js';

const quiet = { info: () => {}, warn: (m: string) => console.warn(m) };
const queue: QueueRef = { vhost: '/', queue: 'bench' };

function message(i: number): Message {
  const body = Buffer.alloc(16);
  body.writeUInt32LE(i, 0);
  return { exchange: '', routingKey: 'bench', properties: { deliveryMode: 2 }, body, publishedAt: Date.now() };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** publishes `count` messages, 100 per event-loop turn, each 100 followed by a sync (as confirms would) */
async function publish(store: FileStore, count: number, firstId: number): Promise<void> {
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i += 100) {
    for (let j = i; j < Math.min(i + 100, count); j++) store.addMessage(firstId + j, message(j), [queue]);
    pending.push(new Promise((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve()))));
    await nextTurn();
  }
  await Promise.all(pending);
}

async function benchAdd(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-bench-'));
  try {
    const store = new FileStore({ dir, logger: quiet });
    await store.open();
    store.putQueue({ vhost: '/', name: 'bench', durable: true, autoDelete: false, arguments: {} });
    const t0 = performance.now();
    await publish(store, count, 1);
    const secs = (performance.now() - t0) / 1000;
    const { fsyncs, flushes } = store.stats;
    console.log(
      `addMessage ${count} x 16 B, sync every 100: ${Math.round(count / secs)} msgs/s ` +
        `(${secs.toFixed(2)} s, ${flushes} flushes, ${fsyncs} fsyncs)`,
    );
    await store.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function benchRecovery(count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-bench-'));
  try {
    const writer = new FileStore({ dir, logger: quiet });
    await writer.open();
    writer.putQueue({ vhost: '/', name: 'bench', durable: true, autoDelete: false, arguments: {} });
    const t0 = performance.now();
    const chunk = 10_000;
    for (let i = 0; i < count; i += chunk) {
      for (let j = i; j < Math.min(i + chunk, count); j++) writer.addMessage(j + 1, message(j), [queue]);
      await nextTurn();
    }
    await writer.close();
    const { diskBytes, segments } = writer.stats;
    console.log(
      `wrote ${count} messages in ${((performance.now() - t0) / 1000).toFixed(2)} s ` +
        `(${(diskBytes / 1048576).toFixed(1)} MiB in ${segments} segments)`,
    );

    const reader = new FileStore({ dir, logger: quiet });
    const t1 = performance.now();
    const state = await reader.open();
    const secs = (performance.now() - t1) / 1000;
    const recovered = state.messages.get('/\u0000bench')?.length ?? 0;
    console.log(`recovered ${recovered} messages in ${secs.toFixed(2)} s (${Math.round(recovered / secs)} msgs/s)`);
    await reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const count = Number(process.argv[2] ?? 100_000);
const recoverCount = Number(process.argv[3] ?? 1_000_000);
await benchAdd(count);
await benchRecovery(recoverCount);
