/**
 * One round of the crash test: a broker in a child process, a publisher with confirms
 * sending persistent messages to a durable queue, a consumer acking most of what it gets,
 * SIGKILL at a chosen moment, then a fresh broker on the same data dir. Used by
 * test/persistence-crash.test.ts (a few rounds) and scripts/crash-test.ts (many).
 */
import { closeSync, mkdtempSync, openSync, readdirSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type ConfirmChannel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { startBroker } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import { SEGMENT_RECYCLED } from '../../src/store/file/segment.js';
import { spawnChildBroker } from './child-broker.js';

export const CRASH_QUEUE = 'crash';
const MARKER_QUEUE = 'crash-acks';

export interface CrashRoundOptions {
  /** SIGKILL this long after the first confirm */
  killAfterMs: number;
  /** bytes per message body (at least 12) */
  bodySize?: number;
  /** the child's journal segment size; small ones make it roll and compact under load */
  segmentSize?: number;
  /** unconfirmed publishes in flight */
  window?: number;
  /** the consumer keeps every this-many-th message unacked (it must come back)... */
  holdEvery?: number;
  /** ...up to this many, then acks everything so it never stalls on its prefetch */
  holdMax?: number;
  /**
   * After killAfterMs, wait until the segment being written is a recycled file (headRecycled),
   * then kill (looked at every few ms, up to 20 s).
   */
  killInRecycledHead?: boolean;
  /**
   * Clean runs of an in-process broker on the data dir before the round (the first declares the
   * queues; each stops cleanly): the killed broker goes on writing in the head segment they left
   * with its zeros (headContinued). Their head is zero-filled over the whole segment, so the
   * round's writes stay in it until the kill.
   */
  cleanRunsBefore?: number;
}

export interface CrashRoundResult {
  killAfterMs: number;
  segmentSize: number | undefined;
  published: number;
  confirmed: number;
  /** acks made durable: a later confirm on the same channel covered them */
  durablyAcked: number;
  /** held by the consumer, unacked, when the broker died */
  heldUnacked: number;
  /** held ones whose delivery a later confirm proved written: they must come back redelivered */
  heldDurably: number;
  /** of those, the ones that came back without the redelivered flag, or not at all */
  heldNotRedelivered: number[];
  recovered: number;
  recoveredRedelivered: number;
  /** acks sent whose durability no confirm proved yet (each may or may not come back) */
  ackedInDoubt: number;
  /** confirmed, never acked, yet not in the queue after restart */
  lost: number[];
  /** in the queue more than once */
  duplicates: number[];
  /** durably acked, yet back in the queue */
  resurrected: number[];
  /** recovered messages not in publish order */
  outOfOrder: number;
  /** the new broker's warn/error log lines */
  recoveryLog: string[];
  /** the segment the killed broker was writing was a recycled file (an earlier segment's: spare-segment.ts) */
  headRecycled: boolean;
  /** cleanRunsBefore: the segment the killed broker was writing was the head the clean runs left (it made no new one) */
  headContinued: boolean;
}

/**
 * Whether the newest journal segment in `dir` with a record in it (one made ahead may have none
 * yet) says it is a recycled file.
 */
function writtenHeadRecycled(dir: string): boolean {
  const head = writtenHead(dir);
  return head !== undefined && head.recycled;
}

/** the newest journal segment in `dir` with a record in it (one made ahead may have none yet): its name, and whether it says it is a recycled file */
function writtenHead(dir: string): { name: string; recycled: boolean } | undefined {
  const head = Buffer.alloc(16);
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.jseg')).sort().reverse()) {
    let n = 0;
    try {
      const fd = openSync(join(dir, name), 'r');
      try {
        n = readSync(fd, head, 0, 16, 0);
      } finally {
        closeSync(fd);
      }
    } catch {
      continue; // compacted away meanwhile
    }
    // a first record's length after the header
    if (n < 16 || head.readUInt32LE(8) === 0) continue;
    return { name, recycled: (head.readUInt32LE(4) & SEGMENT_RECYCLED) !== 0 };
  }
  return undefined;
}

/** `runs` clean starts and stops of a broker on `dir`, the first declaring the round's queues; the head they leave, zero-filled over the whole segment */
async function cleanRuns(dir: string, runs: number, segmentSize: number | undefined): Promise<string | undefined> {
  for (let run = 0; run < runs; run++) {
    const broker = await startBroker({ dataDir: dir, logger: createLogger('warn', () => {}), journal: { segmentSize, headZeroFill: segmentSize ?? 16 * 1024 * 1024 } });
    try {
      if (run === 0) {
        const conn = await amqplib.connect(broker.urls.amqp!);
        const ch = await conn.createChannel();
        await ch.assertQueue(CRASH_QUEUE, { durable: true });
        await ch.assertQueue(MARKER_QUEUE, { durable: true });
        await conn.close();
      }
    } finally {
      await broker.stop();
    }
  }
  return writtenHead(dir)?.name;
}

/** resolves once the segment being written in `dir` is a recycled file; rejects after `ms` */
async function headRecycledWithin(dir: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!writtenHeadRecycled(dir)) {
    if (Date.now() > until) throw new Error(`no recycled segment was written within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function crashRoundFailed(r: CrashRoundResult): string | undefined {
  const problems: string[] = [];
  if (r.lost.length) problems.push(`${r.lost.length} confirmed messages lost (first ${r.lost.slice(0, 5).join(',')})`);
  if (r.duplicates.length) problems.push(`${r.duplicates.length} duplicates (first ${r.duplicates.slice(0, 5).join(',')})`);
  if (r.resurrected.length) problems.push(`${r.resurrected.length} acked messages came back (first ${r.resurrected.slice(0, 5).join(',')})`);
  if (r.heldNotRedelivered.length) problems.push(`${r.heldNotRedelivered.length} delivered, unacked messages did not come back redelivered (first ${r.heldNotRedelivered.slice(0, 5).join(',')})`);
  if (r.outOfOrder) problems.push(`${r.outOfOrder} messages out of order`);
  return problems.length ? problems.join('; ') : undefined;
}

function encodeBody(n: number, size: number): Buffer {
  const b = Buffer.alloc(size, 0x2e);
  b.write(String(n).padStart(12, '0'), 0, 'latin1');
  return b;
}

function decodeBody(b: Buffer): number {
  return Number(b.toString('latin1', 0, 12));
}

export async function crashRound(opts: CrashRoundOptions): Promise<CrashRoundResult> {
  const bodySize = Math.max(12, opts.bodySize ?? 64);
  const window = opts.window ?? 256;
  const holdEvery = opts.holdEvery ?? 7;
  const holdMax = opts.holdMax ?? 100;
  const dir = mkdtempSync(join(tmpdir(), 'localmq-crash-'));
  const confirmed = new Set<number>();
  const durablyAcked = new Set<number>();
  const held = new Set<number>();
  const heldDurably = new Set<number>();
  const ackSent = new Set<number>();
  let published = 0;
  let dead = false;
  const conns: ChannelModel[] = [];

  try {
    const leftHead = opts.cleanRunsBefore ? await cleanRuns(dir, opts.cleanRunsBefore, opts.segmentSize) : undefined;
    const child = await spawnChildBroker(dir, { segmentSize: opts.segmentSize });
    try {
      const pubConn = await amqplib.connect(child.url);
      const subConn = await amqplib.connect(child.url);
      conns.push(pubConn, subConn);
      for (const c of conns) c.on('error', () => undefined);

      const pub = await pubConn.createConfirmChannel();
      pub.on('error', () => undefined);
      await pub.assertQueue(CRASH_QUEUE, { durable: true });
      await pub.assertQueue(MARKER_QUEUE, { durable: true });

      // acks and the marker publish share a channel, so the marker's confirm covers them
      const sub = await subConn.createConfirmChannel();
      sub.on('error', () => undefined);
      await sub.prefetch(500);
      let firstHeldDurable!: () => void;
      const heldDurablyOnce = new Promise<void>((r) => (firstHeldDurable = r));
      const onFirstHeldDurable = (): void => firstHeldDurable();
      startAckingConsumer(sub, { holdEvery, holdMax, held, heldDurably, onFirstHeldDurable, ackSent, durablyAcked }, () => dead);

      let firstConfirm!: () => void;
      const confirmedOnce = new Promise<void>((r) => (firstConfirm = r));
      const publishNext = (): void => {
        if (dead) return;
        const n = ++published;
        try {
          pub.publish('', CRASH_QUEUE, encodeBody(n, bodySize), { persistent: true }, (err) => {
            if (err) return; // nacked, or the channel died with it unconfirmed
            confirmed.add(n);
            if (confirmed.size === 1) firstConfirm();
            publishNext();
          });
        } catch {
          // the channel is gone: the broker died
        }
      };
      for (let i = 0; i < window; i++) publishNext();
      // counted from the first confirm and the first held delivery proven written, so a slow
      // start on a busy machine still gets work done before the kill
      await Promise.all([confirmedOnce, heldDurablyOnce]);
      await new Promise((r) => setTimeout(r, opts.killAfterMs));
      if (opts.killInRecycledHead) await headRecycledWithin(dir, 20_000);
      // publishing and acking go on until the process is gone
      await child.kill();
    } finally {
      dead = true;
      await child.kill();
      for (const c of conns) await c.close().catch(() => undefined);
    }

    const headRecycled = writtenHeadRecycled(dir);
    const headContinued = leftHead !== undefined && writtenHead(dir)?.name === leftHead;
    const logLines: string[] = [];
    const broker = await startBroker({ dataDir: dir, logger: createLogger('warn', (l) => logLines.push(l)) });
    try {
      const messages = broker.queue(CRASH_QUEUE).messages();
      const seen = new Set<number>();
      const duplicates: number[] = [];
      let outOfOrder = 0;
      let last = 0;
      let redelivered = 0;
      const flagged = new Set<number>();
      for (const m of messages) {
        const n = decodeBody(m.body);
        if (seen.has(n)) duplicates.push(n);
        seen.add(n);
        if (n < last) outOfOrder++;
        last = n;
        if (m.redelivered) {
          redelivered++;
          flagged.add(n);
        }
      }
      const lost = [...confirmed].filter((n) => !seen.has(n) && !ackSent.has(n)).sort((a, b) => a - b);
      const heldNotRedelivered = [...heldDurably].filter((n) => !flagged.has(n)).sort((a, b) => a - b);
      const resurrected = [...durablyAcked].filter((n) => seen.has(n)).sort((a, b) => a - b);
      return {
        killAfterMs: opts.killAfterMs,
        segmentSize: opts.segmentSize,
        published,
        confirmed: confirmed.size,
        durablyAcked: durablyAcked.size,
        ackedInDoubt: ackSent.size - durablyAcked.size,
        heldUnacked: held.size,
        heldDurably: heldDurably.size,
        heldNotRedelivered,
        recovered: messages.length,
        recoveredRedelivered: redelivered,
        lost,
        duplicates,
        resurrected,
        outOfOrder,
        recoveryLog: logLines,
        headRecycled,
        headContinued,
      };
    } finally {
      await broker.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ConsumerBook {
  /** keep every this-many-th message unacked... */
  holdEvery: number;
  /** ...up to this many */
  holdMax: number;
  held: Set<number>;
  /** held, and a confirm since proved the delivery was written */
  heldDurably: Set<number>;
  /** called once, when the first held delivery is proven written */
  onFirstHeldDurable: () => void;
  ackSent: Set<number>;
  /** acked, and a confirm since proved the ack was written */
  durablyAcked: Set<number>;
}

/**
 * Acks every message but the held ones; after every 20 acks publishes a marker on the
 * same channel. The broker handled the acks (and wrote the deliveries) before the marker,
 * so once the marker is confirmed, those are on disk.
 */
function startAckingConsumer(ch: ConfirmChannel, book: ConsumerBook, dead: () => boolean): void {
  let acked: number[] = [];
  let held: number[] = [];
  const onMessage = (msg: ConsumeMessage | null) => {
    if (!msg || dead()) return;
    const n = decodeBody(msg.content);
    if (n % book.holdEvery === 0 && book.held.size < book.holdMax) {
      book.held.add(n);
      held.push(n);
      return;
    }
    try {
      ch.ack(msg);
      book.ackSent.add(n);
      acked.push(n);
      if (acked.length >= 20) {
        const ackedBefore = acked;
        const heldBefore = held;
        acked = [];
        held = [];
        ch.publish('', MARKER_QUEUE, Buffer.from('m'), { persistent: true }, (err) => {
          if (err) return;
          for (const a of ackedBefore) book.durablyAcked.add(a);
          for (const h of heldBefore) book.heldDurably.add(h);
          if (book.heldDurably.size > 0) book.onFirstHeldDurable();
        });
      }
    } catch {
      // the channel is gone: the broker died
    }
  };
  void ch.consume(CRASH_QUEUE, onMessage, { noAck: false }).catch(() => undefined);
}
