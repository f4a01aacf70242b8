import { mkdtempSync, readdirSync, rmSync, truncateSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import type { FileStore } from '../../src/store/file/file-store.js';
import { journalBytes } from '../../src/store/file/segment.js';
import { connect } from '../helpers/amqp.js';
import { segmentDataEnd } from '../helpers/segment-data-end.js';

const dirs: string[] = [];
const brokers: LocalMQ[] = [];
const conns: ChannelModel[] = [];

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'localmq-disk-'));
  dirs.push(d);
  return d;
}

async function start(dir: string, segmentSize?: number) {
  const logs: { level: string; msg: string }[] = [];
  const broker = await startBroker({
    dataDir: dir,
    logger: createLogger('warn', (line) => logs.push(JSON.parse(line) as { level: string; msg: string })),
    journal: { segmentSize },
  });
  brokers.push(broker);
  return { broker, logs };
}

async function stop(broker: LocalMQ): Promise<void> {
  await broker.stop();
  brokers.splice(brokers.indexOf(broker), 1);
}

async function confirmChannel(broker: LocalMQ): Promise<ConfirmChannel> {
  const c = await connect(broker);
  c.on('error', () => undefined);
  conns.push(c);
  return c.createConfirmChannel();
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.jseg'))
    .sort();
}

/**
 * disk use of the journal: the bytes allocated, not the files' lengths (a head segment is
 * preallocated sparse to its full length, and so is the next one once it is made ready ahead
 * of the roll: holes that take no disk until written)
 */
function diskBytes(dir: string): number {
  return journalBytes(dir);
}

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('a damaged journal tail', () => {
  async function writeTen(dir: string): Promise<void> {
    const { broker } = await start(dir);
    const ch = await confirmChannel(broker);
    await ch.assertQueue('q', { durable: true });
    for (let i = 1; i <= 10; i++) ch.sendToQueue('q', Buffer.from(`m${i}`.padEnd(200, '.')), { persistent: true });
    await ch.waitForConfirms();
    await stop(broker);
  }

  it('a segment truncated mid-record: every complete record comes back and a warning says what was dropped', async () => {
    const dir = dataDir();
    await writeTen(dir);
    const last = join(dir, segments(dir).at(-1)!);
    const size = await segmentDataEnd(last);
    // cut into the last message record (each is over 200 bytes)
    truncateSync(last, size - 50);

    const { broker, logs } = await start(dir);
    expect(broker.queue('q').messages().map((m) => m.text().replace(/\.+$/, ''))).toEqual(['m1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
    const warn = logs.filter((l) => l.level === 'warn');
    expect(warn).toHaveLength(1);
    expect(warn[0]!.msg).toMatch(new RegExp(`^journal segment ${last}: torn record at the end at offset \\d+; dropped \\d+ bytes after the last complete record$`));
    const dropped = Number(/dropped (\d+) bytes/.exec(warn[0]!.msg)![1]);
    expect(dropped).toBe(size - 50 - Number(/offset (\d+)/.exec(warn[0]!.msg)![1]));
    expect(dropped).toBeGreaterThan(0);

    // the tail was cut off: new writes follow intact records, and the next start is clean
    const ch = await confirmChannel(broker);
    ch.sendToQueue('q', Buffer.from('m11'), { persistent: true });
    await ch.waitForConfirms();
    await stop(broker);
    const again = await start(dir);
    expect(again.logs).toEqual([]);
    expect(again.broker.queue('q').messageCount()).toBe(10);
    expect(again.broker.queue('q').messages().at(-1)!.text()).toBe('m11');
  });

  it('a flipped byte in the last record fails its checksum: it is dropped, the rest kept', async () => {
    const dir = dataDir();
    await writeTen(dir);
    const last = join(dir, segments(dir).at(-1)!);
    const bytes = readFileSync(last);
    bytes[(await segmentDataEnd(last)) - 20] ^= 0xff;
    writeFileSync(last, bytes);

    const { broker, logs } = await start(dir);
    expect(broker.queue('q').messageCount()).toBe(9);
    expect(logs.map((l) => l.msg)).toEqual([expect.stringMatching(/checksum mismatch at offset \d+; dropped \d+ bytes/)]);
  });
});

describe('what is not written', () => {
  it('transient messages, and anything in non-durable queues or exchanges, add nothing to the journal', async () => {
    const { broker } = await start(dataDir());
    const ch = await confirmChannel(broker);
    await ch.assertQueue('durable', { durable: true });
    const store = broker.store as FileStore;
    await new Promise((resolve) => broker.store.sync(resolve));
    const before = store.stats.bytesWritten;

    await ch.assertQueue('temp', { durable: false });
    await ch.assertExchange('temp.x', 'fanout', { durable: false });
    await ch.bindQueue('temp', 'temp.x', '');
    for (let i = 0; i < 100; i++) {
      ch.sendToQueue('durable', Buffer.from(`transient-${i}`), { persistent: false });
      ch.publish('temp.x', '', Buffer.from(`persistent-in-temp-${i}`), { persistent: true });
    }
    await ch.waitForConfirms();
    const got = await ch.get('durable', { noAck: false });
    if (got) ch.ack(got);
    await ch.checkQueue('durable');
    await new Promise((resolve) => broker.store.sync(resolve));
    expect(store.stats.bytesWritten).toBe(before);
    expect(broker.queue('temp').messageCount()).toBe(100);
  });
});

describe('compaction: disk use follows live data', () => {
  it('segments whose messages were all acked go away; the few live messages in them are kept', async () => {
    const dir = dataDir();
    const segmentSize = 1024 * 1024;
    const { broker } = await start(dir, segmentSize);
    const ch = await confirmChannel(broker);
    await ch.assertQueue('keep', { durable: true });
    await ch.assertQueue('bulk', { durable: true });
    // a few messages that stay, written first: they sit in the oldest segment
    for (let i = 0; i < 10; i++) ch.sendToQueue('keep', Buffer.from(`keep-${i}`), { persistent: true });
    const body = Buffer.alloc(1024, 0x61);
    const count = 50_000;
    for (let i = 0; i < count; i++) {
      ch.sendToQueue('bulk', body, { persistent: true });
      if (i % 1000 === 999) await ch.waitForConfirms();
    }
    await ch.waitForConfirms();
    const full = diskBytes(dir);
    expect(full).toBeGreaterThan(count * 1024);
    expect(segments(dir).length).toBeGreaterThan(40);

    // consume and ack everything in 'bulk'
    await ch.prefetch(1000);
    let acked = 0;
    await new Promise<void>((resolve) => {
      void ch.consume('bulk', (m) => {
        if (!m) return;
        acked++;
        if (acked % 100 === 0 || acked === count) ch.ack(m, true);
        if (acked === count) resolve();
      });
    });
    await ch.checkQueue('bulk'); // a round trip: the last ack was handled
    const store = broker.store as FileStore;
    await store.compact();
    const after = diskBytes(dir);
    // the head (holding what was copied forward) and the next segment made ready ahead: both
    // zero-filled in full (allocated blocks), so two segments' worth plus what crossed the head's zeros
    expect(after).toBeLessThan(3 * segmentSize);
    expect(after).toBeLessThan(full / 20);
    expect(store.stats.compactedSegments).toBeGreaterThan(40);

    await stop(broker);
    const again = await start(dir, segmentSize);
    expect(again.broker.queue('bulk').messageCount()).toBe(0);
    expect(again.broker.queue('keep').messages().map((m) => m.text())).toEqual(Array.from({ length: 10 }, (_, i) => `keep-${i}`));
  }, 180_000); // 50 MB through the journal: a busy 2-core machine needs more than the default
});
