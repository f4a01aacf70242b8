import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { FileStore } from '../../src/store/file/file-store.js';
import { RECORD_HEADER } from '../../src/store/file/record-codec.js';
import { journalBytes } from '../../src/store/file/segment.js';
import { queueKey, type QueueRef } from '../../src/store/store.js';

/**
 * Journal segment files are preallocated (sparse, KahaDB's default `preallocationStrategy`):
 * an fsync then never commits a file-size change. Replay takes the zeros after the last record
 * as the end of the data; a torn record before them is dropped as before.
 */
const dirs: string[] = [];
const stores: FileStore[] = [];
const SEGMENT = 1024 * 1024;
const q1: QueueRef = { vhost: '/', queue: 'q1' };

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-prealloc-'));
  dirs.push(dir);
  return dir;
}

async function reopen(dir: string) {
  const warn: string[] = [];
  const store = new FileStore({ dir, segmentSize: SEGMENT, logger: { info: () => {}, warn: (m) => warn.push(m) } });
  stores.push(store);
  const state = await store.open();
  const bodies = (state.messages.get(queueKey(q1.vhost, q1.queue)) ?? []).map((m) => m.message.body.toString());
  return { store, warn, bodies };
}

function msg(body: string): Message {
  return { exchange: '', routingKey: 'q1', properties: { deliveryMode: 2 }, body: Buffer.from(body), publishedAt: 1_700_000_000_000 };
}

function sync(store: FileStore): Promise<void> {
  return new Promise((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve())));
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .map((f) => join(dir, f));
}

const ten = Array.from({ length: 10 }, (_, i) => `message-${i + 1}`);

/** ten messages, synced; the store stays open (its head segment still preallocated) */
async function writeTen(dir: string): Promise<FileStore> {
  const { store } = await reopen(dir);
  store.putQueue({ vhost: '/', name: 'q1', durable: true, autoDelete: false, arguments: {} });
  for (let i = 0; i < 10; i++) store.addMessage(i + 1, msg(ten[i]!), [q1]);
  await sync(store);
  return store;
}

/** what a kill -9 leaves: the synced head segment as it is on disk while the store is open */
async function crashedCopy(): Promise<{ dir: string; seg: string; dataEnd: number }> {
  const live = tempDir();
  const store = await writeTen(live);
  const dataEnd = store.stats.diskBytes;
  const dir = tempDir();
  const [src] = segments(live);
  const seg = join(dir, src!.slice(live.length + 1));
  copyFileSync(src!, seg);
  await store.close();
  return { dir, seg, dataEnd };
}

describe('preallocated journal segments', () => {
  it('a new segment is its full size at once; a clean close cuts it back to its data', async () => {
    const dir = tempDir();
    const store = await writeTen(dir);
    const [seg] = segments(dir);
    expect(statSync(seg!).size).toBe(SEGMENT);
    const dataEnd = store.stats.diskBytes;
    expect(dataEnd).toBeLessThan(SEGMENT);
    // a start estimates its replay work from what is allocated, not from the preallocated length
    expect(journalBytes(dir)).toBeLessThan(SEGMENT);
    await store.close();
    expect(statSync(seg!).size).toBe(dataEnd);

    const again = await reopen(dir);
    expect(again.warn).toEqual([]);
    expect(again.bodies).toEqual(ten);
  });

  it('after a crash the zeros after the last record are the end of the data: all back, no warning, new writes follow', async () => {
    const { dir, seg, dataEnd } = await crashedCopy();
    expect(statSync(seg).size).toBe(SEGMENT);

    const { store, warn, bodies } = await reopen(dir);
    expect(warn).toEqual([]);
    expect(bodies).toEqual(ten);
    // the old head keeps only its data; writing goes on in a new (preallocated) segment
    expect(statSync(seg).size).toBe(dataEnd);
    store.addMessage(11, msg('after'), [q1]);
    await store.close();

    const again = await reopen(dir);
    expect(again.warn).toEqual([]);
    expect(again.bodies).toEqual([...ten, 'after']);
  });

  it('a record torn before the zeros (its last bytes never written) is dropped with a warning, the rest kept', async () => {
    const { dir, seg, dataEnd } = await crashedCopy();
    const bytes = readFileSync(seg);
    bytes.fill(0, dataEnd - 20, dataEnd);
    writeFileSync(seg, bytes);

    const { warn, bodies } = await reopen(dir);
    expect(bodies).toEqual(ten.slice(0, 9));
    expect(warn).toEqual([expect.stringMatching(/checksum mismatch at offset \d+; dropped \d+ bytes/)]);
    expect(statSync(seg).size).toBeLessThan(dataEnd);
  });

  it('data after a zeroed record header (pages of an unsynced flush reached the disk out of order) is dropped with a warning', async () => {
    const { dir, seg, dataEnd } = await crashedCopy();
    const bytes = readFileSync(seg);
    // the last record's header zeroed, its payload still there
    const lastSize = RECORD_HEADER + 1 + 8 + 1 + 1; // at least: header, type, id, slot count, a slot
    let at = dataEnd - lastSize;
    // find the last record's start: the offset whose length field reaches exactly dataEnd
    while (at > 8 && bytes.readUInt32LE(at) + RECORD_HEADER !== dataEnd - at) at--;
    expect(at).toBeGreaterThan(8);
    bytes.fill(0, at, at + RECORD_HEADER);
    writeFileSync(seg, bytes);

    const { warn, bodies } = await reopen(dir);
    expect(bodies).toEqual(ten.slice(0, 9));
    expect(warn).toEqual([expect.stringMatching(/data after a zeroed gap \(torn write\) at offset \d+/)]);
  });

  it('a preallocated segment whose first write never reached the disk is removed without a warning', async () => {
    const { dir, seg } = await crashedCopy();
    const next = seg.replace(/(\d+)\.seg$/, (_, n: string) => `${String(Number(n) + 1).padStart(10, '0')}.seg`);
    writeFileSync(next, Buffer.alloc(0));
    truncateSync(next, SEGMENT);

    const { warn, bodies } = await reopen(dir);
    expect(warn).toEqual([]);
    expect(bodies).toEqual(ten);
    expect(segments(dir)).not.toContain(next);
  });
});
