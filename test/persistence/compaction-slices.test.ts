import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { FileStore, nodeFs, type FileStoreOptions } from '../../src/store/file/file-store.js';
import { readMessageHead, RecordType } from '../../src/store/file/record-codec.js';
import { scanSegment } from '../../src/store/file/segment.js';
import { queueKey, type QueueRef } from '../../src/store/store.js';
import { turnCounter } from '../helpers/turn-counter.js';

/**
 * Issue 18 point 5: a compaction copied the live records of one 8 MiB read of a segment in one
 * callback (a durable quorum queue of a million being consumed: ~140k small records, the broker's
 * loop held up to 230 ms). It now visits records a slice at a time (scanSegment's sliceMs) and lets
 * the loop turn between slices; the start's replay still reads straight through.
 */

const dirs: string[] = [];
const stores: FileStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function openStore(extra: Partial<FileStoreOptions> & { dir?: string } = {}) {
  const dir = extra.dir ?? mkdtempSync(join(tmpdir(), 'localmq-compact-'));
  if (!extra.dir) dirs.push(dir);
  const store = new FileStore({ dir, logger: { info: () => {}, warn: () => {} }, ...extra });
  stores.push(store);
  const state = await store.open();
  return { dir, store, state };
}

function sync(store: FileStore): Promise<void> {
  return new Promise((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve())));
}

function msg(body: string): Message {
  return { exchange: '', routingKey: 'q1', properties: { deliveryMode: 2 }, body: Buffer.from(body), publishedAt: 1_700_000_000_000 };
}

const q1: QueueRef = { vhost: '/', queue: 'q1' };
const q2: QueueRef = { vhost: '/', queue: 'q2' };
const queueDef = (name: string) => ({ vhost: '/', name, durable: true, autoDelete: false, arguments: {} });

describe('a compaction visits a segment a slice at a time (scanSegment sliceMs)', () => {
  it('with sliceMs the loop turns between the records of one read; without (the replay) it does not', async () => {
    const { dir, store } = await openStore();
    store.putQueue(queueDef('q1'));
    for (let id = 1; id <= 3000; id++) store.addMessage(id, msg(`m${id}`), [q1]);
    await store.close();
    // one segment of ~3000 small records: a single read of the scan holds them all
    const segments = readdirSync(dir).filter((f) => f.endsWith('.jseg'));
    expect(segments).toHaveLength(1);
    const path = join(dir, segments[0]!);

    const scan = async (sliceMs?: number) => {
      const turns = turnCounter();
      /** the loop's turn count at each message record: distinct values = slices */
      const seen = new Set<number>();
      let messages = 0;
      const result = await scanSegment(
        nodeFs,
        path,
        (type, r) => {
          if (type !== RecordType.Message) return;
          readMessageHead(r);
          messages++;
          seen.add(turns.turns);
        },
        sliceMs,
      );
      turns.stop();
      expect(result.problem).toBeUndefined();
      expect(messages).toBe(3000);
      return seen.size;
    };
    // the old scan (and the replay now): every record of the read in one callback
    expect(await scan()).toBe(1);
    // sliceMs 0: a turn after every few hundred records (old code: 1 here too)
    expect(await scan(0)).toBeGreaterThanOrEqual(3000 / 256 - 1);
  });

  it('removes, delivered marks and new messages between the slices of a compaction copying live records: a restart finds exactly them', async () => {
    const segmentSize = 128 * 1024;
    const { dir, store } = await openStore({ segmentSize, compactSliceMs: 0 });
    store.putQueue(queueDef('q1'));
    store.putQueue(queueDef('q2'));
    // q1's small messages between q2's large ones; q2 then goes: the sealed segments are mostly
    // dead, and compacting them copies q1's live records (hundreds a segment) to the head
    const live = new Map<number, { body: string; delivered: boolean }>();
    for (let id = 1; id <= 6000; id++) {
      if (id % 2 === 1) {
        store.addMessage(id, msg(`q1:${id}`), [q1]);
        live.set(id, { body: `q1:${id}`, delivered: false });
      } else store.addMessage(id, msg('y'.repeat(150)), [q2]);
    }
    await sync(store);
    for (let id = 2; id <= 6000; id += 2) store.removeMessage(q2, id);
    await sync(store);

    // while the compaction runs: each turn one q1 message removed, one marked delivered, one added
    let turns = 0;
    let running = true;
    let next = 1;
    let added = 10_000;
    const meanwhile = (): void => {
      // q1's first messages (odd ids) are what the compaction copies first
      if (!running || next + 2 > 6000) return;
      turns++;
      store.removeMessage(q1, next);
      live.delete(next);
      store.markDelivered(q1, next + 2);
      live.get(next + 2)!.delivered = true;
      next += 4;
      store.addMessage(++added, msg(`new:${added}`), [q1]);
      live.set(added, { body: `new:${added}`, delivered: false });
      setImmediate(meanwhile);
    };
    setImmediate(meanwhile);
    await store.compact();
    running = false;
    expect(store.stats.compactedSegments).toBeGreaterThan(0);
    // the compaction's scans let the loop turn between slices (the fs awaits alone give a few turns)
    expect(turns).toBeGreaterThan(10);
    await sync(store);
    await store.close();

    const { state } = await openStore({ dir, segmentSize });
    const ids = [...live.keys()].sort((a, b) => a - b);
    const got = state.messages.get(queueKey('/', 'q1'))!;
    expect(got.map((m) => m.id)).toEqual(ids);
    expect(got.map((m) => m.message.body.toString())).toEqual(ids.map((id) => live.get(id)!.body));
    expect(got.filter((m) => m.delivered).map((m) => m.id)).toEqual(ids.filter((id) => live.get(id)!.delivered));
    expect(state.messages.get(queueKey('/', 'q2')) ?? []).toEqual([]);
  });
});
