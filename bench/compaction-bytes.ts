/**
 * What the journal compaction writes and copies, FileStore alone (no broker), in three patterns. The
 * figures are byte counts (and disk / live ratios), not times: run it unlocked, under `nice -n 19`.
 *
 *   npx tsx bench/compaction-bytes.ts [--tree DIR] [--only front|mix|lag|behind] [--messages 1000000]
 *
 * --tree: the source tree whose src/store/file/file-store.ts to measure (another checkout: before/after).
 *
 * - front: 1M one-byte messages in one queue (16 MiB segments), then removed in order, 1000 a flush; and
 *   again with a delivered mark before each remove (a quorum queue's journal). Written while consuming,
 *   copied, most disk (s13-quorum §8.1, s14-dispatch).
 * - mix: 400 rounds of 500 x 200-byte messages, 15 % to a queue nobody consumes, the rest removed at once
 *   (320 KiB segments, a flush and compaction a round): disk / live once the backlog spans many segments
 *   (review-s14-2 D1: 2x wanted, 4x with the 3x bound alone). lag: the same, the other queue's messages
 *   acked 1 s after they were published, 1200 rounds of ~5 ms or more: segments consumed from after they were written.
 * - behind: review-s14-1 D3's pattern in real time: a segment of backlog nobody consumes, a 10-segment
 *   queue A consumed from the front (10 every 100 ms for 1.1 s), 30 segments of churn behind; how much of
 *   A is copied while its consumer takes it (main 94e7791: all of it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Message } from '../src/core/message.js';
import type { FileStore as FileStoreClass, FileStoreOptions } from '../src/store/file/file-store.js';
import type { QueueRef } from '../src/store/store.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const tree = resolve(arg('--tree') ?? join(import.meta.dirname, '..'));
const only = arg('--only');
const messages = Number(arg('--messages') ?? 1_000_000);
const { FileStore } = (await import(join(tree, 'src/store/file/file-store.ts'))) as { FileStore: new (o: FileStoreOptions) => FileStoreClass };

const quiet = { info: () => {}, warn: () => {} };
const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
const queueDef = (name: string) => ({ vhost: '/', name, durable: true, autoDelete: false, arguments: {} });
const msg = (body: Buffer): Message => ({ exchange: '', routingKey: 'q', properties: { deliveryMode: 2 }, body, publishedAt: 1_700_000_000_000 });
const sync = (s: FileStoreClass) => new Promise<void>((res, rej) => s.sync((e) => (e ? rej(e) : res())));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withStore<T>(opts: Partial<FileStoreOptions>, run: (s: FileStoreClass) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-compaction-bytes-'));
  const store = new FileStore({ dir, logger: quiet, ...opts });
  await store.open();
  try {
    return await run(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function front(marks: boolean): Promise<void> {
  await withStore({}, async (store) => {
    const q: QueueRef = { vhost: '/', queue: 'q' };
    store.putQueue(queueDef('q'));
    const m = msg(Buffer.from('m'));
    for (let id = 1; id <= messages; id++) {
      store.addMessage(id, m, [q]);
      if (id % 20_000 === 0) await sync(store);
    }
    await sync(store);
    const filled = store.stats;
    let most = 0;
    for (let id = 1; id <= messages; id++) {
      if (marks) store.markDelivered(q, id);
      store.removeMessage(q, id);
      if (id % 1000 === 0) {
        await sync(store);
        await new Promise((r) => setImmediate(r));
        most = Math.max(most, store.stats.diskBytes);
      }
    }
    await sync(store);
    await store.compact();
    const s = store.stats;
    console.log(
      `front ${marks ? 'marks+removes' : 'removes'} ${messages}: filled ${mb(filled.diskBytes)}; written while consuming ${mb(s.bytesWritten - filled.bytesWritten)}, ` +
        `copied ${mb(s.copiedBytes)}, compacted segments ${s.compactedSegments}, most disk ${mb(most)}, end disk ${mb(s.diskBytes)}`,
    );
  });
}

async function mix(lagMs: number, rounds: number): Promise<void> {
  await withStore({ segmentSize: 320 * 1024 }, async (store) => {
    const keep: QueueRef = { vhost: '/', queue: 'keep' };
    const churn: QueueRef = { vhost: '/', queue: 'churn' };
    store.putQueue(queueDef('keep'));
    store.putQueue(queueDef('churn'));
    const m = msg(Buffer.alloc(200, 0x63));
    let id = 0;
    let most = 0;
    let sum = 0;
    let counted = 0;
    const unacked: { at: number; first: number; last: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      const first = id + 1;
      for (let k = 0; k < 500; k++) store.addMessage(++id, m, [k < 75 ? keep : churn]);
      unacked.push({ at: performance.now(), first: first + 75, last: id });
      // the other queue's consumer acks what was published lagMs ago or earlier
      while (unacked.length > 0 && performance.now() - unacked[0]!.at >= lagMs) {
        const r = unacked.shift()!;
        for (let c = r.first; c <= r.last; c++) store.removeMessage(churn, c);
      }
      await sync(store);
      if (lagMs > 0) await sleep(5);
      await store.compact();
      if (round >= 100) {
        const ratio = store.stats.diskBytes / store.stats.liveBytes;
        most = Math.max(most, ratio);
        sum += ratio;
        counted++;
      }
    }
    const s = store.stats;
    console.log(`mix 15 % backlog + churn acked ${lagMs} ms later: disk/live after round 100 most ${most.toFixed(2)} mean ${(sum / counted).toFixed(2)}; end disk ${mb(s.diskBytes)} for ${mb(s.liveBytes)} live; written ${mb(s.bytesWritten)}, copied ${mb(s.copiedBytes)}`);
  });
}

async function behind(): Promise<void> {
  await withStore({ segmentSize: 320 * 1024 }, async (store) => {
    const b: QueueRef = { vhost: '/', queue: 'b' };
    const a: QueueRef = { vhost: '/', queue: 'a' };
    const c: QueueRef = { vhost: '/', queue: 'c' };
    for (const name of ['b', 'a', 'c']) store.putQueue(queueDef(name));
    const m = msg(Buffer.alloc(200, 0x78));
    let id = 0;
    while (store.stats.segments < 2) store.addMessage(++id, m, [b]);
    const aIds: number[] = [];
    const a0 = store.stats.segments;
    while (store.stats.segments < a0 + 10) {
      store.addMessage(++id, m, [a]);
      aIds.push(id);
    }
    const c0 = store.stats.segments;
    while (store.stats.segments < c0 + 30) {
      const first = id + 1;
      for (let k = 0; k < 200; k++) store.addMessage(++id, m, [c]);
      for (let x = first; x <= id; x++) store.removeMessage(c, x);
    }
    await sync(store);
    for (const x of aIds.slice(0, 100)) store.removeMessage(a, x);
    await sync(store);
    await store.compact();
    let next = 100;
    for (let t = 0; t < 11; t++) {
      await sleep(100);
      for (const x of aIds.slice(next, next + 10)) store.removeMessage(a, x);
      next += 10;
      await sync(store);
      await store.compact();
    }
    const s = store.stats;
    console.log(`behind: A ${aIds.length} messages (${mb(aIds.length * 200)} of bodies) consumed from the front behind a still backlog segment: copied ${s.copiedBytes} B, compacted segments ${s.compactedSegments}, disk ${mb(s.diskBytes)} for ${mb(s.liveBytes)} live`);
  });
}

console.log(`tree ${tree}`);
if (!only || only === 'behind') await behind();
if (!only || only === 'mix') await mix(0, 400);
if (!only || only === 'lag') await mix(1000, 1200);
if (!only || only === 'front') {
  await front(false);
  await front(true);
}
