import { copyFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { FileStore, nodeFs, type StoreFs } from '../../src/store/file/file-store.js';
import { RECORD_HEADER } from '../../src/store/file/record-codec.js';
import { SEGMENT_RECYCLED } from '../../src/store/file/segment.js';
import { queueKey, type QueueRef } from '../../src/store/store.js';
import { segmentDataEnd } from '../helpers/segment-data-end.js';

/**
 * A compacted-away segment's file is kept (one spare) and becomes a later segment's file instead
 * of being unlinked and a new one zero-filled (src/store/file/spare-segment.ts): the zeros that
 * make a confirm's fdatasync an overwrite (no ext4 journal commit) are written once per file.
 * The old records stay behind the new ones: the new segment's records carry its number's checksum
 * seed, every flush ends its data with a zero record header, and the file's header says recycled.
 */
const dirs: string[] = [];
const stores: FileStore[] = [];
const SEGMENT = 64 * 1024;
const q1: QueueRef = { vhost: '/', queue: 'q1' };
const kept: QueueRef = { vhost: '/', queue: 'kept' };

afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-recycle-'));
  dirs.push(dir);
  return dir;
}

/** what the store does to segment files: new ones made, spares renamed in, zeros written */
interface FileLog {
  created: string[];
  renamed: [string, string][];
  zeroBytes: number;
}

function loggedFs(): { fs: StoreFs; log: FileLog } {
  const log: FileLog = { created: [], renamed: [], zeroBytes: 0 };
  const fs: StoreFs = {
    ...nodeFs,
    open: (path, flags) => {
      if (flags === 'w' && path.endsWith('.jseg')) log.created.push(path.slice(path.lastIndexOf('/') + 1));
      return nodeFs.open(path, flags);
    },
    rename: (from, to) => {
      log.renamed.push([from.slice(from.lastIndexOf('/') + 1), to.slice(to.lastIndexOf('/') + 1)]);
      return nodeFs.rename(from, to);
    },
    write: (fd, buf, offset, length, position) => {
      // a zero-fill (records and headers are never all zeros)
      if (length > 64 && buf.subarray(offset, offset + length).every((b) => b === 0)) log.zeroBytes += length;
      return nodeFs.write(fd, buf, offset, length, position);
    },
  };
  return { fs, log };
}

async function open(dir: string, fs?: StoreFs) {
  const warn: string[] = [];
  // every segment zero-filled in full, as FileStore's default
  const store = new FileStore({ dir, segmentSize: SEGMENT, headZeroFill: SEGMENT, fs, logger: { info: () => {}, warn: (m) => warn.push(m) } });
  stores.push(store);
  const state = await store.open();
  const held = (q: QueueRef) => state.messages.get(queueKey(q.vhost, q.queue)) ?? [];
  const bodies = (q: QueueRef) => held(q).map((m) => m.message.body.toString());
  return { store, warn, bodies, held };
}

function msg(body: string): Message {
  return { exchange: '', routingKey: 'q1', properties: { deliveryMode: 2 }, body: Buffer.from(body), publishedAt: 1_700_000_000_000 };
}

function sync(store: FileStore): Promise<void> {
  return new Promise((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve())));
}

const queueDef = (name: string) => ({ vhost: '/', name, durable: true, autoDelete: false, arguments: {} });

/**
 * `rounds` times: ~50 KiB of messages to q1, synced, all consumed, compacted; every 5th round one
 * message to `kept` too (never consumed) unless `keep` is false. Segments fill, die and are
 * compacted away one by one. Returns the bodies put in `kept`.
 */
async function churn(store: FileStore, rounds: number, from = 0, keep = true): Promise<string[]> {
  const body = 'x'.repeat(1000);
  const keptBodies: string[] = [];
  let id = from;
  for (let r = 0; r < rounds; r++) {
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) {
      store.addMessage(++id, msg(`${id}:${body}`), [q1]);
      ids.push(id);
    }
    if (keep && r % 5 === 0) {
      store.addMessage(++id, msg(`kept-${id}`), [kept]);
      keptBodies.push(`kept-${id}`);
    }
    await sync(store);
    for (const i of ids) store.removeMessage(q1, i);
    await sync(store);
    await store.compact();
  }
  return keptBodies;
}

function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jseg'))
    .sort();
}

/** the first whole record of a q1 message in a segment file's bytes (its records walked from the header) */
function q1Record(file: Buffer): Buffer | undefined {
  for (let at = 8; at + RECORD_HEADER < file.length; ) {
    const len = file.readUInt32LE(at);
    if (len === 0 || at + RECORD_HEADER + len > file.length) return undefined;
    const record = file.subarray(at, at + RECORD_HEADER + len);
    if (record[RECORD_HEADER] === 2 && record.includes('xxxxxxxxxx')) return record;
    at += RECORD_HEADER + len;
  }
  return undefined;
}

function recycledHeader(path: string): boolean {
  return (readFileSync(path).readUInt32LE(4) & SEGMENT_RECYCLED) !== 0;
}

/** what a kill -9 leaves of an open store whose writes are synced: its segment and spare files as they are */
function crashImage(dir: string): string {
  const copy = tempDir();
  for (const f of readdirSync(dir)) if (f.endsWith('.jseg') || f.endsWith('.spare')) copyFileSync(join(dir, f), join(copy, f));
  return copy;
}

async function setUp(keep = true) {
  const dir = tempDir();
  const { fs, log } = loggedFs();
  const { store } = await open(dir, fs);
  store.putQueue(queueDef('q1'));
  store.putQueue(queueDef('kept'));
  const keptBodies = await churn(store, 1, 0, keep);
  // a q1 message's record as segment 1 holds it (its file may be a spare already)
  const first = readdirSync(dir).find((f) => f === '0000000001.jseg' || f === '0000000001.spare')!;
  const segmentOneRecord = q1Record(readFileSync(join(dir, first)))!;
  keptBodies.push(...(await churn(store, 29, 100_000, keep)));
  return { dir, store, log, keptBodies, segmentOneRecord };
}

describe('recycled journal segment files', () => {
  it('a compacted-away segment file becomes a later segment: renamed in, not created, its zeros not written again (fails on the old code: every segment a new file)', async () => {
    // nothing kept: every segment but the head dies and is compacted away
    const { store, log } = await setUp(false);
    const made = store.stats.compactedSegments;
    // ~1.5 MB through 64 KiB segments
    expect(made).toBeGreaterThan(15);
    const recycled = log.renamed.filter(([, to]) => to.endsWith('.jseg'));
    // new files only until the first compaction left a spare (the head at open, the one made ahead of it, maybe one more)
    expect(log.created.length).toBeLessThanOrEqual(3);
    expect(recycled.length).toBeGreaterThan(made - 3);
    // each new file zero-filled once; the recycled ones not at all
    expect(log.zeroBytes).toBeLessThanOrEqual(log.created.length * SEGMENT);
  });

  it('a restart after recycling finds exactly the live messages, without a warning', async () => {
    const { dir, store, keptBodies } = await setUp();
    await store.close();
    const again = await open(dir);
    expect(again.warn).toEqual([]);
    expect(again.bodies(q1)).toEqual([]);
    expect(again.bodies(kept)).toEqual(keptBodies);
    // and it goes on recycling: the spare the clean close kept is the new head's file
    const more = await churn(again.store, 10, 10_000_000);
    await again.store.close();
    const third = await open(dir);
    expect(third.warn).toEqual([]);
    expect(third.bodies(kept)).toEqual([...keptBodies, ...more]);
  });

  it('after a kill -9 the data of a recycled head ends at its last flush: no old record read, no warning', async () => {
    const { dir, store, keptBodies } = await setUp();
    const head = segmentFiles(dir).at(-1)!;
    expect(recycledHeader(join(dir, head))).toBe(true);
    const image = crashImage(dir);
    const after = await open(image);
    expect(after.warn).toEqual([]);
    expect(after.bodies(q1)).toEqual([]);
    expect(after.bodies(kept)).toEqual(keptBodies);
  });

  it('a record torn over old data (its header written, its payload not) is dropped with a warning, the rest kept', async () => {
    const { dir, keptBodies } = await setUp();
    const head = segmentFiles(dir).at(-1)!;
    const image = crashImage(dir);
    const path = join(image, head);
    const end = await segmentDataEnd(path);
    expect(recycledHeader(path)).toBe(true);
    const bytes = readFileSync(path);
    // the terminator at the data end overwritten by the header of a 200-byte record whose payload never came
    bytes.writeUInt32LE(200, end);
    bytes.writeUInt32LE(0x12345678, end + 4);
    writeFileSync(path, bytes);
    const after = await open(image);
    expect(after.warn).toEqual([expect.stringMatching(/checksum mismatch at offset \d+; dropped \d+ bytes/)]);
    expect(after.bodies(kept)).toEqual(keptBodies);
    expect(after.bodies(q1)).toEqual([]);
  });

  it('an old record right where the data ends (a page boundary on an old record boundary) is not read: it carries its own segment number (fails with plain CRCs: the consumed message comes back)', async () => {
    const { dir, segmentOneRecord: record } = await setUp();
    const head = segmentFiles(dir).at(-1)!;
    expect(head).not.toBe('0000000001.jseg');
    const image = crashImage(dir);
    // a whole record of segment 1 (a consumed q1 message) placed at the head's data end, as if the
    // file's earlier use had one starting there
    const path = join(image, head);
    const end = await segmentDataEnd(path);
    const bytes = readFileSync(path);
    record.copy(bytes, end);
    writeFileSync(path, bytes);
    const after = await open(image);
    expect(after.bodies(q1)).toEqual([]);
    expect(after.warn).toEqual([expect.stringMatching(/checksum mismatch at offset \d+/)]);
  });

  it('a format 1 segment (plain CRCs, an older journal) is read, and once compacted away its file is recycled without its old records reading as the new segment', async () => {
    // test/fixtures/openwire-journal-v1: 20 messages in queue ow.v1, journaled by main d3c5129 (format 1)
    const dir = tempDir();
    cpSync(new URL('../fixtures/openwire-journal-v1/', import.meta.url), dir, { recursive: true });
    const { fs, log } = loggedFs();
    const first = await open(dir, fs);
    const v1: QueueRef = { vhost: '/', queue: 'ow.v1' };
    expect(first.warn).toEqual([]);
    expect(first.bodies(v1)).toHaveLength(20);
    const store = first.store;
    // the 20 consumed; churn rolls past segment 1, which is then compacted away and recycled
    for (const m of first.held(v1)) store.removeMessage(v1, m.id);
    // segment 1 compacted away while the head's data is dead too (more than a segment's worth dead) and
    // before any other segment is: the only spare when the next file is made (a claim takes the spare
    // with the most blocks, and segment 1 is small)
    store.putQueue(queueDef('q1'));
    for (let i = 1; i <= 55; i++) store.addMessage(500 + i, msg('x'.repeat(1000)), [q1]);
    await sync(store);
    for (let i = 1; i <= 55; i++) store.removeMessage(q1, 500 + i);
    await sync(store);
    await store.compact();
    expect(readdirSync(dir)).toContain('0000000001.spare');
    store.putQueue(queueDef('kept'));
    const keptBodies = await churn(store, 10, 1000);
    expect(log.renamed.some(([from, to]) => from === '0000000001.spare' && to.endsWith('.jseg'))).toBe(true);
    const image = crashImage(dir);
    const after = await open(image);
    expect(after.warn).toEqual([]);
    expect(after.bodies(v1)).toEqual([]);
    expect(after.bodies(kept)).toEqual(keptBodies);
  });
});

describe('journal format 2 beside older LocalMQs (review-s16-1 U2)', () => {
  it('segments are named <n>.jseg: an older LocalMQ lists only <n>.seg, and removed format 2 ones as damaged (fails on the old code: .seg)', async () => {
    const dir = tempDir();
    const { store } = await open(dir);
    store.putQueue(queueDef('q1'));
    store.addMessage(1, msg('one'), [q1]);
    await sync(store);
    expect(readdirSync(dir).filter((f) => /^\d{10}\.seg$/.test(f))).toEqual([]);
    expect(segmentFiles(dir)).toEqual(['0000000001.jseg']);
  });

  it('an older LocalMQ\'s journal (<n>.seg, format 1) is renamed at open and read as it is', async () => {
    const dir = tempDir();
    cpSync(new URL('../fixtures/openwire-journal-v1/', import.meta.url), dir, { recursive: true });
    const { warn, bodies } = await open(dir);
    expect(warn).toEqual([]);
    expect(bodies({ vhost: '/', queue: 'ow.v1' })).toHaveLength(20);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg'))).toEqual([]);
    expect(segmentFiles(dir)).toContain('0000000001.jseg');
  });

  it('<n>.seg files beside a .jseg journal (an older LocalMQ ran here after a newer one) are left alone, with a warning', async () => {
    const dir = tempDir();
    const first = await open(dir);
    first.store.putQueue(queueDef('q1'));
    first.store.addMessage(1, msg('one'), [q1]);
    await first.store.close();
    copyFileSync(join(dir, '0000000001.jseg'), join(dir, '0000000001.seg'));
    const again = await open(dir);
    expect(again.warn).toEqual([expect.stringMatching(/1 segment files of an older LocalMQ \(\*\.seg\) beside this journal's \(\*\.jseg\) are not read/)]);
    expect(again.bodies(q1)).toEqual(['one']);
    expect(readdirSync(dir)).toContain('0000000001.seg');
  });

  it('an adoption cut short (a kill -9 part way through the renames) is finished at the next open: every message back (review-s16-1 U4: the renamed half was taken for this journal, the rest left unread)', async () => {
    const dir = tempDir();
    const first = await open(dir);
    first.store.putQueue(queueDef('kept'));
    // ~200 KB nobody consumes: a few segments
    const keptBodies = Array.from({ length: 200 }, (_, i) => `kept-${i}:${'k'.repeat(1000)}`);
    keptBodies.forEach((body, i) => first.store.addMessage(i + 1, msg(body), [kept]));
    await first.store.close();
    const names = segmentFiles(dir);
    expect(names.length).toBeGreaterThan(2);
    // as an older LocalMQ names them, then the first of them renamed by an adoption that was cut short
    for (const n of names) renameSync(join(dir, n), join(dir, n.replace('.jseg', '.seg')));
    writeFileSync(join(dir, 'journal-adopting'), '');
    renameSync(join(dir, names[0]!.replace('.jseg', '.seg')), join(dir, names[0]!));
    const again = await open(dir);
    expect(again.warn).toEqual([]);
    expect(again.bodies(kept)).toEqual(keptBodies);
    expect(readdirSync(dir).filter((f) => f.endsWith('.seg') || f === 'journal-adopting')).toEqual([]);
  });

  it('a segment of a later format (its magic, an unknown version) stops the start instead of being removed as damaged', async () => {
    const dir = tempDir();
    const first = await open(dir);
    first.store.putQueue(queueDef('q1'));
    await first.store.close();
    const path = join(dir, '0000000001.jseg');
    const bytes = readFileSync(path);
    bytes.writeUInt32LE(9, 4);
    writeFileSync(path, bytes);
    const store = new FileStore({ dir, segmentSize: SEGMENT, logger: { info: () => {}, warn: () => {} } });
    await expect(store.open()).rejects.toThrow(/unknown format, version 9: written by a newer LocalMQ/);
    expect(readFileSync(path)).toEqual(bytes);
  });
});
