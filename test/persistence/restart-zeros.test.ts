// What a restart writes before the broker takes its first message (review-s18-1 S1, closing-s18 item 3): the
// head's file has to be zero-filled (headZeroFill, FileStore's default the whole segment) unless it reuses blocks
// already there (a spare kept at a clean close or by a compaction).
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { FileStore, nodeFs, type StoreFs } from '../../src/store/file/file-store.js';
import { queueKey, type QueueRef } from '../../src/store/store.js';
import { segmentDataEnd } from '../helpers/segment-data-end.js';

const SEG = 1024 * 1024;
const q1: QueueRef = { vhost: '/', queue: 'q1' };
const dirs: string[] = [];
const stores: FileStore[] = [];

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** bytes written (and of those, zero-fill) and segment files made since the last reset */
function countingFs() {
  const count = { bytes: 0, zeros: 0, created: 0 };
  const fs: StoreFs = {
    ...nodeFs,
    open: (path, flags) => {
      if (flags === 'w' && path.endsWith('.jseg')) count.created++;
      return nodeFs.open(path, flags);
    },
    write: (fd, buf, offset, length, position) => {
      count.bytes += length;
      // a zero-fill (records and headers are never all zeros)
      if (length > 64 && buf.subarray(offset, offset + length).every((b) => b === 0)) count.zeros += length;
      return nodeFs.write(fd, buf, offset, length, position);
    },
  };
  const reset = () => Object.assign(count, { bytes: 0, zeros: 0, created: 0 });
  return { fs, count, reset };
}

const msg = (id: number): Message => ({ exchange: '', routingKey: 'q1', properties: { deliveryMode: 2 }, body: Buffer.alloc(1000, 97 + (id % 26)), publishedAt: 1 });
const sync = (s: FileStore) => new Promise<void>((res, rej) => s.sync((e) => (e ? rej(e) : res())));

function files(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jseg') || f.endsWith('.spare'))
    .sort()
    .map((f) => `${f}:${statSync(join(dir, f)).size}`)
    .join(' ');
}

/** one run on `dir`: open (what it and the first sync write counted), then `publish` messages published, synced, and (if consume) removed and compacted, then a clean close */
async function run(dir: string, c: ReturnType<typeof countingFs>, from: number, publish: number, consume: boolean) {
  c.reset();
  const store = new FileStore({ dir, segmentSize: SEG, headZeroFill: SEG, fs: c.fs, logger: { info: () => {}, warn: () => {} } });
  stores.push(store);
  const state = await store.open();
  await sync(store);
  const atOpen = { ...c.count };
  const held = (state.messages.get(queueKey('/', 'q1')) ?? []).length;
  if (from === 0) store.putQueue({ vhost: '/', name: 'q1', durable: true, autoDelete: false, arguments: {} });
  for (let i = 1; i <= publish; i++) store.addMessage(from + i, msg(from + i), [q1]);
  await sync(store);
  if (consume) {
    for (let i = 1; i <= publish; i++) store.removeMessage(q1, from + i);
    await sync(store);
    await store.compact();
  }
  await store.close();
  stores.splice(stores.indexOf(store), 1);
  return { atOpen, held };
}

describe('bytes a restart writes', () => {
  it('after a compaction a restart takes the fullest spare for its head: no zeros written (fails on the old code: the trimmed head, compacted away, was taken and zero-filled to the segment)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-restart-zeros-'));
    dirs.push(dir);
    const c = countingFs();
    const seen: string[] = [];
    // each run: 1.5 segments' worth published and consumed, compacted, a clean close
    for (let r = 0; r < 5; r++) {
      const before = files(dir);
      const { atOpen } = await run(dir, c, r * 10_000, 1500, true);
      seen.push(`run ${r}: ${before} -> wrote ${atOpen.bytes} (zeros ${atOpen.zeros}), made ${atOpen.created}`);
      if (r >= 1) expect(atOpen.zeros, seen.join('\n')).toBe(0);
      // its head was a spare's file: cut back to its data at the close (the old use's bytes after it go), not continued
      const head = join(dir, readdirSync(dir).filter((f) => f.endsWith('.jseg')).sort().at(-1)!);
      if (r >= 1) expect(statSync(head).size, seen.join('\n')).toBe(await segmentDataEnd(head));
    }
  });

  it('a small broker\'s restart goes on writing in the head its clean close left with its zeros: no file made, no zeros written, every message back (fails on the old code: a new head zero-filled over the whole segment at every start)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-restart-zeros-'));
    dirs.push(dir);
    const c = countingFs();
    const seen: string[] = [];
    // each run: 100 x 1000 B published and kept (the head never passes half a segment: nothing made ahead, no spare)
    for (let r = 0; r < 4; r++) {
      const before = files(dir);
      const { atOpen, held } = await run(dir, c, r * 100, 100, false);
      seen.push(`run ${r}: ${before} -> wrote ${atOpen.bytes} (zeros ${atOpen.zeros}), made ${atOpen.created}, ${held} held`);
      expect(held, seen.join('\n')).toBe(r * 100);
      if (r === 0) continue;
      expect(atOpen.created, seen.join('\n')).toBe(0);
      expect(atOpen.zeros, seen.join('\n')).toBe(0);
      // its first flush: the id mark, a record of a few dozen bytes
      expect(atOpen.bytes, seen.join('\n')).toBeLessThan(100);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.jseg'))).toEqual(['0000000001.jseg']);
  });
});
