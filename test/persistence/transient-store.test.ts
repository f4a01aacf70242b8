import { existsSync, mkdtempSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { TransientStore } from '../../src/store/file/transient-store.js';

/**
 * The transient store (issue 18): where queues page out messages the journal does not hold.
 * Records are read back from the write buffer or the file, segments go once none of their
 * records is held, and a failed write (a full disk) loses nothing: the records stay readable
 * and further messages stay in memory (write answers -1).
 */
const dirs: string[] = [];
const stores: TransientStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const logger = { info: () => undefined, warn: (m: string) => warnings.push(m) };
let warnings: string[] = [];

function make(write?: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number): TransientStore {
  const d = mkdtempSync(join(tmpdir(), 'localmq-transient-'));
  dirs.push(d);
  warnings = [];
  const s = new TransientStore(join(d, 'transient'), 4, logger, 16 * 1024, write);
  stores.push(s);
  return s;
}
function msg(i: number, size = 1000): Message {
  return {
    exchange: 'ex',
    routingKey: `rk${i}`,
    publishedAt: 1_700_000_000_000 + i,
    properties: { deliveryMode: 1, headers: { i, s: 'x'.repeat(i % 7) }, messageId: `m${i}`, priority: i % 3 },
    body: Buffer.from(`b${i}:`.padEnd(size, '.')),
  };
}
const turn = () => new Promise((r) => setImmediate(r));
const files = (s: TransientStore) => readdirSync(s.dir).sort();

describe('TransientStore', () => {
  it('reads records back from the buffer and from the file, in any order', async () => {
    const s = make();
    const locs = Array.from({ length: 100 }, (_, i) => s.write(msg(i)));
    expect(locs.every((l) => l >= 0)).toBe(true);
    // still buffered: read from memory
    expect(s.read(locs[99]!)).toEqual(msg(99));
    await turn();
    // 100 KB in 16 KiB segments
    expect(files(s).length).toBeGreaterThan(5);
    for (const i of [50, 0, 99, 1, 98, 17]) expect(s.read(locs[i]!)).toEqual(msg(i));
    // a record larger than the read-ahead block and than a segment
    const big = s.write(msg(1000, 200_000));
    await turn();
    expect(s.read(big)).toEqual(msg(1000, 200_000));
    expect(s.read(locs[3]!)).toEqual(msg(3));
  });

  it('deletes a segment once none of its records is held, at the end of the turn', async () => {
    const s = make();
    const locs = Array.from({ length: 100 }, (_, i) => s.write(msg(i)));
    await turn();
    const before = files(s).length;
    // every record but the last of each segment released: nothing goes
    const bySeg = new Map<number, number[]>();
    for (const l of locs) {
      const seg = Math.floor(l / 2 ** 28);
      bySeg.set(seg, [...(bySeg.get(seg) ?? []), l]);
    }
    const lasts = [...bySeg.values()].map((ls) => ls[ls.length - 1]!);
    for (const l of locs) if (!lasts.includes(l)) s.release(l);
    await turn();
    expect(files(s).length).toBe(before);
    // the first segment's last one: the segment is still readable in this turn, gone after it
    s.release(lasts[0]!);
    expect(s.read(lasts[0]!)).toEqual(msg(locs.indexOf(lasts[0]!)));
    await turn();
    expect(files(s).length).toBe(before - 1);
    for (const l of lasts.slice(1)) s.release(l);
    await turn();
    // the segment being written stays
    expect(files(s).length).toBe(1);
    s.close();
    expect(existsSync(s.dir)).toBe(false);
  });

  it('a failed write (a full disk) keeps its records readable and pages nothing out after it', async () => {
    let fail = false;
    const s = make((fd, buf, offset, length, position) => {
      if (fail) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return writeSync(fd, buf, offset, length, position);
    });
    const written = Array.from({ length: 5 }, (_, i) => s.write(msg(i)));
    await turn();
    fail = true;
    const stuck = Array.from({ length: 5 }, (_, i) => s.write(msg(10 + i)));
    expect(stuck.every((l) => l >= 0)).toBe(true);
    await turn();
    expect(warnings.some((w) => w.includes('ENOSPC') && w.includes('stay in memory'))).toBe(true);
    // nothing lost: what was written and what failed both read back
    written.forEach((l, i) => expect(s.read(l)).toEqual(msg(i)));
    stuck.forEach((l, i) => expect(s.read(l)).toEqual(msg(10 + i)));
    // from now on messages stay with their queue
    expect(s.write(msg(20))).toBe(-1);
    for (const l of [...written, ...stuck]) s.release(l);
    await turn();
  });
});
