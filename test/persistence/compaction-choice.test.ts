import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { FileStore, type FileStoreOptions } from '../../src/store/file/file-store.js';
import { queueKey, type QueueRef } from '../../src/store/store.js';

/**
 * Which segment a compaction copies (s13-quorum §8.1; src/store/file/compaction-choice.ts). A queue consumed
 * from the front leaves its oldest segment partly consumed, the live records in it next in line; the
 * compaction copied them to the head as soon as the store as a whole was more dead than live, and the
 * consumer took them right after: at 1M one-byte messages ~18 MB of copies for 34 MB of messages. A partly
 * live segment is now copied only when it is at least 7/8 dead itself, when its live bytes stay put for
 * 1 s (a backlog: the segments written with it go with it), or when the dead bytes it holds on disk behind
 * it grow past three times the live data (only the oldest segment can go). Segments a consumer is reading,
 * or is about to read, are not taken for part of a backlog (review-s14-1 D3, review-s14-2 D1b).
 */

const dirs: string[] = [];
const stores: FileStore[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of stores.splice(0)) await s.close().catch(() => {});
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const segmentSize = 320 * 1024;

async function openStore(extra: Partial<FileStoreOptions> & { dir?: string } = {}) {
  const dir = extra.dir ?? mkdtempSync(join(tmpdir(), 'localmq-compact-choice-'));
  if (!extra.dir) dirs.push(dir);
  const store = new FileStore({ dir, segmentSize, logger: { info: () => {}, warn: () => {} }, ...extra });
  stores.push(store);
  const state = await store.open();
  return { dir, store, state };
}

function sync(store: FileStore): Promise<void> {
  return new Promise((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve())));
}

const msg = (body: string): Message => ({ exchange: '', routingKey: 'q', properties: { deliveryMode: 2 }, body: Buffer.from(body), publishedAt: 1_700_000_000_000 });
const q: QueueRef = { vhost: '/', queue: 'q' };
const churn: QueueRef = { vhost: '/', queue: 'churn' };

/** messages of `body` to `ref`, ids from `after + 1` on, until the store has `segments` segments: their ids */
function fillTo(store: FileStore, ref: QueueRef, body: string, segments: number, after = 0): number[] {
  const ids: number[] = [];
  let id = after;
  while (store.stats.segments < segments) {
    store.addMessage(++id, msg(body), [ref]);
    ids.push(id);
  }
  return ids;
}
const queueDef = (name: string) => ({ vhost: '/', name, durable: true, autoDelete: false, arguments: {} });

/**
 * queue q (200-byte messages, 21 segments) with 15 segments of other traffic behind it, published and removed at
 * once; `churnRound(n)` adds n more such messages, then a sync and a compaction (a flush of the other traffic)
 */
async function queueBehindChurn(): Promise<{ dir: string; store: FileStore; ids: number[]; churnRound: (n: number) => Promise<void> }> {
  const { dir, store } = await openStore();
  for (const name of ['q', 'churn']) store.putQueue(queueDef(name));
  const body = 'x'.repeat(200);
  const ids = fillTo(store, q, body, 21);
  let id = ids.length;
  const churnRound = async (n: number) => {
    const first = id + 1;
    for (let k = 0; k < n; k++) store.addMessage(++id, msg(body), [churn]);
    for (let c = first; c <= id; c++) store.removeMessage(churn, c);
    await sync(store);
    await store.compact();
  };
  while (store.stats.segments < 36) await churnRound(200);
  return { dir, store, ids, churnRound };
}

/** the clock the store reads, moved on by the test only (`later(ms)`): the verdicts do not depend on the machine's speed */
function steppedClock(): { later(ms: number): void } {
  let now = performance.now();
  vi.spyOn(performance, 'now').mockImplementation(() => now);
  return { later: (ms) => void (now += ms) };
}

describe('a compaction copies the live records of a segment only when they are few, or when they hold too much dead data on disk', () => {
  it('a queue consumed from the front (delivered marks, then removes, a batch a flush), segments a third of it as at 1M: copies of a ninth of the messages instead of all of them (fails on the old code: journal written 1.94x the messages)', async () => {
    const { dir, store } = await openStore();
    store.putQueue(queueDef('q'));
    const n = 20_000;
    for (let id = 1; id <= n; id++) {
      store.addMessage(id, msg(`m${id}`), [q]);
      if (id % 1000 === 0) await sync(store);
    }
    await sync(store);
    const filled = store.stats;
    expect(filled.segments).toBeGreaterThanOrEqual(3);
    const messageBytes = filled.diskBytes;
    // the consumer takes them in order (a durable quorum queue's marks and removes), a batch per flush, keeping the last 100
    for (let id = 1; id <= n - 100; id++) {
      store.markDelivered(q, id);
      store.removeMessage(q, id);
      if (id % 500 === 0) {
        await sync(store);
        // the compaction a flush set off, done before the consumer goes on (the same choices every run)
        await store.compact();
      }
    }
    await sync(store);
    await store.compact();
    const consumed = store.stats;
    expect(consumed.compactedSegments).toBeGreaterThan(1);
    // copied only from segments at least 7/8 dead: 86,740 of 769,073 bytes here (the old rule: ~770,000, every
    // message about once: a segment copied while a third of the queue is still ahead in it, then its copies again)
    expect(consumed.copiedBytes).toBeLessThan(messageBytes / 5);
    // the journal written while consuming: marks and removes (~716,000), and the copies (old rule: 1,490,576)
    expect(consumed.bytesWritten - filled.bytesWritten).toBeLessThan(1.25 * messageBytes);
    await store.close();
    const { state } = await openStore({ dir });
    expect(state.messages.get(queueKey('/', 'q'))!.map((m) => m.id)).toEqual(Array.from({ length: 100 }, (_, i) => n - 99 + i));
  });

  it('a segment that stays mostly live (a queue nobody consumes) is still copied once the dead data behind it is three times the live: disk use stays bounded, the messages intact across a restart', async () => {
    const { dir, store } = await openStore();
    store.putQueue(queueDef('q'));
    store.putQueue(queueDef('churn'));
    // a segment's worth of messages nobody takes, then churn: published and consumed at once
    let id = 0;
    const kept: number[] = [];
    while (store.stats.segments < 2) {
      store.addMessage(++id, msg(`keep${id}`), [q]);
      kept.push(id);
    }
    await sync(store);
    const body = 'c'.repeat(200);
    let maxDisk = 0;
    for (let round = 0; round < 60; round++) {
      const first = id + 1;
      for (let k = 0; k < 500; k++) store.addMessage(++id, msg(body), [churn]);
      for (let c = first; c <= id; c++) store.removeMessage(churn, c);
      await sync(store);
      await store.compact();
      maxDisk = Math.max(maxDisk, store.stats.diskBytes);
    }
    const { liveBytes, compactedSegments, copiedBytes } = store.stats;
    // ~30 segments of churn went through; the kept segment was copied (its live records) so that they could go
    expect(compactedSegments).toBeGreaterThan(10);
    expect(copiedBytes).toBeGreaterThan(0);
    // never more than the live data, three times it dead, and the head and a sealed segment
    expect(maxDisk).toBeLessThan(4 * Math.max(liveBytes, segmentSize) + 2 * segmentSize);
    await store.close();
    const { state } = await openStore({ dir });
    expect(state.messages.get(queueKey('/', 'q'))!.map((m) => m.id)).toEqual(kept);
    expect(state.messages.get(queueKey('/', 'churn')) ?? []).toEqual([]);
  });

  /**
   * 400 rounds of 500 messages, 75 to a queue nobody consumes, the rest to one consumed `ackRounds(round)` rounds
   * later (0: at once), a flush and compaction a round: disk / live from round `from` on (most and mean), once
   * the backlog spans many segments, and the kept messages intact across a restart. `setUp` runs on the open
   * store first (what it leaves is checked after the restart by `check`), `round` at the start of each round.
   */
  async function backlogAndTraffic(
    ackRounds: (round: number) => number,
    opts: { round?: () => void; from?: number; setUp?: (store: FileStore) => Promise<{ lastId: number; check(state: Awaited<ReturnType<FileStore['open']>>): void }> } = {},
  ): Promise<{ most: number; mean: number }> {
    const { dir, store } = await openStore();
    store.putQueue(queueDef('q'));
    store.putQueue(queueDef('churn'));
    const before = await opts.setUp?.(store);
    const body = 'c'.repeat(200);
    let id = before?.lastId ?? 0;
    const kept: number[] = [];
    const unacked: number[][] = [];
    let most = 0;
    let sum = 0;
    let n = 0;
    for (let r = 0; r < 400; r++) {
      opts.round?.();
      const churned: number[] = [];
      for (let k = 0; k < 500; k++) {
        store.addMessage(++id, msg(body), [k < 75 ? q : churn]);
        (k < 75 ? kept : churned).push(id);
      }
      unacked.push(churned);
      while (unacked.length > ackRounds(r)) for (const c of unacked.shift()!) store.removeMessage(churn, c);
      await sync(store);
      await store.compact();
      if (r >= (opts.from ?? 100)) {
        const ratio = store.stats.diskBytes / store.stats.liveBytes;
        most = Math.max(most, ratio);
        sum += ratio;
        n++;
      }
    }
    await store.close();
    const { state } = await openStore({ dir });
    expect(state.messages.get(queueKey('/', 'q'))!.map((m) => m.id)).toEqual(kept);
    before?.check(state);
    return { most, mean: sum / n };
  }

  it('a backlog nobody consumes taking 15 % of every segment while another queue churns: the journal holds about 2x its live data, as RabbitMQ\'s message store (review-s14-2 D1: 4x with the 3x bound alone)', async () => {
    expect((await backlogAndTraffic(() => 0)).most).toBeLessThan(2.5);
  }, 60_000);

  it('the same backlog while the other queue\'s messages are consumed 1 s after they are published (segments consumed from after they were written): still about 2x (b18ca73 took them for a consumer\'s next ones: 4x)', async () => {
    const clock = steppedClock();
    // a round every 50 ms, the other queue's consumer 20 rounds behind
    expect((await backlogAndTraffic(() => 20, { round: () => clock.later(50) })).most).toBeLessThan(2.5);
  }, 60_000);

  it('a backlog sharing segments with a queue acked 800 ms after publishing: once the backlog\'s first segment is still, the segments the late consumer has left go with it (eaed1a4 took them for segments a consumer reads in: each waited until its own last ack was 1 s old)', async () => {
    const clock = steppedClock();
    const { store } = await openStore();
    store.putQueue(queueDef('q'));
    store.putQueue(queueDef('churn'));
    const body = 'c'.repeat(200);
    let id = 0;
    // six segments of backlog only, then five written 100 ms apart: 15 % backlog, the rest acked 800 ms later
    while (store.stats.segments < 7) store.addMessage(++id, msg(body), [q]);
    const late: { at: number; ids: number[] }[] = [];
    let now = 0;
    for (let seg = 0; seg < 5; seg++) {
      const ids: number[] = [];
      const before = store.stats.segments;
      for (let k = 0; store.stats.segments === before; k++) {
        store.addMessage(++id, msg(body), [k % 20 < 3 ? q : churn]);
        if (k % 20 >= 3) ids.push(id);
      }
      late.push({ at: now + 800, ids });
      await sync(store);
      clock.later(100);
      now += 100;
    }
    // the late consumer acks each 800 ms after it was published, then goes on with newer traffic (10 segments of churn acked at once)
    for (const batch of late) {
      clock.later(Math.max(0, batch.at - now));
      now = Math.max(now, batch.at);
      for (const c of batch.ids) store.removeMessage(churn, c);
      await sync(store);
    }
    const target = store.stats.segments + 10;
    while (store.stats.segments < target) {
      const first = id + 1;
      for (let k = 0; k < 200; k++) store.addMessage(++id, msg(body), [churn]);
      for (let c = first; c <= id; c++) store.removeMessage(churn, c);
    }
    await sync(store);
    // 1.25 s after the open the backlog's segments are still; the others' last acks were 50-450 ms ago; 300 ms later
    clock.later(50);
    await store.compact();
    clock.later(300);
    await store.compact();
    // the backlog's segments, the five that share it and the churn behind them went (eaed1a4: 7 went: each waits until its own last ack is 1 s old)
    expect(store.stats.compactedSegments).toBeGreaterThan(15);
  });

  it('a consumer that stopped 40 % through its queue for good (the queue stays), then the 15 % backlog with churn: still about 2x (eaed1a4 kept taking every later segment for that consumer\'s next one: 4.00 for good; review-s15-1 K1b)', async () => {
    const clock = steppedClock();
    const a: QueueRef = { vhost: '/', queue: 'a' };
    let left: number[] = [];
    const { most } = await backlogAndTraffic(() => 0, {
      round: () => clock.later(100),
      from: 150,
      setUp: async (store) => {
        store.putQueue(queueDef('a'));
        const body = 'c'.repeat(200);
        const aIds = fillTo(store, a, body, 7);
        const id = aIds.length;
        await sync(store);
        // its consumer takes 100 every 100 ms until 40 % is gone, then goes away
        let taken = 0;
        while (taken < aIds.length * 0.4) {
          for (const t of aIds.slice(taken, taken + 100)) store.removeMessage(a, t);
          taken += 100;
          clock.later(100);
          await sync(store);
          await store.compact();
        }
        left = aIds.slice(taken);
        return { lastId: id, check: (state) => expect(state.messages.get(queueKey('/', 'a'))!.map((m) => m.id)).toEqual(left) };
      },
    });
    expect(most).toBeLessThan(2.5);
  }, 60_000);

  it('the other queue consumed 1 s behind its publisher for 10 s, then at once (its consumer caught up): about 2x afterwards (eaed1a4 kept taking every later segment for the late consumer\'s next one: 4.00; review-s15-1 K1b)', async () => {
    const clock = steppedClock();
    const { most } = await backlogAndTraffic((r) => (r < 100 ? 10 : 0), { round: () => clock.later(100), from: 150 });
    expect(most).toBeLessThan(2.5);
  }, 60_000);

  /**
   * three segments of a backlog nobody consumes (b), then ten of a queue (a) its consumer takes from as `take`
   * says, a step every 100 ms for 2 s (starting `startMs` after the writes), then 30 segments of churn behind
   * them (`burst`: instead, twenty segments of a's messages taking 15 % of each, churn between them); the bytes
   * copied against the backlog's
   */
  async function behindBacklog(take: (aIds: number[], step: number) => number[], { startMs = 300, burst = false } = {}) {
    const clock = steppedClock();
    const { dir, store } = await openStore();
    for (const name of ['b', 'a', 'churn']) store.putQueue(queueDef(name));
    const b: QueueRef = { vhost: '/', queue: 'b' };
    const a: QueueRef = { vhost: '/', queue: 'a' };
    const body = 'x'.repeat(200);
    const bIds = fillTo(store, b, body, 4);
    let id = bIds.length;
    const aIds: number[] = [];
    const backlogBytes = store.stats.liveBytes;
    while (burst && store.stats.segments < 24) {
      const churned: number[] = [];
      for (let k = 0; k < 100; k++) {
        store.addMessage(++id, msg(body), [k < 15 ? a : churn]);
        (k < 15 ? aIds : churned).push(id);
      }
      for (const c of churned) store.removeMessage(churn, c);
    }
    while (!burst && store.stats.segments < 14) {
      store.addMessage(++id, msg(body), [a]);
      aIds.push(id);
    }
    while (!burst && store.stats.segments < 44) {
      const first = id + 1;
      for (let k = 0; k < 200; k++) store.addMessage(++id, msg(body), [churn]);
      for (let c = first; c <= id; c++) store.removeMessage(churn, c);
    }
    await sync(store);
    clock.later(startMs);
    const taken = new Set<number>();
    for (let step = 0; step < 21; step++) {
      if (step > 0) clock.later(100);
      for (const t of take(aIds, step)) {
        store.removeMessage(a, t);
        taken.add(t);
      }
      await sync(store);
      await store.compact();
    }
    const { copiedBytes } = store.stats;
    await store.close();
    const { state } = await openStore({ dir });
    expect(state.messages.get(queueKey('/', 'b'))!.map((m) => m.id)).toEqual(bIds);
    expect(state.messages.get(queueKey('/', 'a'))!.map((m) => m.id)).toEqual(aIds.filter((t) => !taken.has(t)));
    return { copiedBytes, backlogBytes };
  }

  it('a queue consumed from the front right behind a backlog nobody consumes: the backlog is copied once it stays put for 1 s, the consumed queue not at all (review-s14-1 D3: its whole backlog was copied, 3.6 MB in the reviewer\'s repro)', async () => {
    // its first 100, then 10 a step
    const { copiedBytes, backlogBytes } = await behindBacklog((aIds, step) => (step === 0 ? aIds.slice(0, 100) : aIds.slice(90 + 10 * step, 100 + 10 * step)));
    // b's segments went (copied: it stayed put), and the churn behind them could go
    expect(copiedBytes).toBeGreaterThan(0.9 * backlogBytes);
    // nothing of a: only b's records (old code: a's ten segments too, 4.2 MB copied for 0.98 MB of b)
    expect(copiedBytes).toBeLessThan(1.1 * backlogBytes);
  });

  it('a queue consumed in priority order (from its front and from half way, in turns) right behind a backlog: nothing of it is copied, though its last removal is now here, now there (d1537de: the segments up to half way, 1.6 MB)', async () => {
    const { copiedBytes, backlogBytes } = await behindBacklog((aIds, step) => {
      const middle = aIds.length >> 1;
      return [...aIds.slice(5 * step, 5 * step + 5), ...aIds.slice(middle + 5 * step, middle + 5 * step + 5)];
    });
    expect(copiedBytes).toBeLessThan(1.1 * backlogBytes);
  });

  it('a queue whose consumer starts after the store was idle 2 s (15 % of a burst of 20 segments, the rest churn), behind a backlog: the backlog is copied, the queue being consumed not (eaed1a4 dated its first removals in the look before the idle spell and copied all of it: 1.68x the backlog, 1.10x now; review-s15-1 K2)', async () => {
    // b stayed put 1.5 s since the open, then 2 s with nothing written; a's consumer starts: 100, then 20 a step
    const { copiedBytes, backlogBytes } = await behindBacklog((aIds, step) => (step === 0 ? aIds.slice(0, 100) : aIds.slice(80 + 20 * step, 100 + 20 * step)), { startMs: 1500 + 2000, burst: true });
    expect(copiedBytes).toBeLessThan(1.2 * backlogBytes);
  });

  it('a consumer that pauses for 3 s half way through a queue (other traffic going on): nothing of its queue is copied while it stays away, neither the segment it was reading in nor the ones it reads next (s16: the one it was reading in, 306,540 B; s15: one a second, 634,373 B; review-s14-2 D1b: the rest of the queue at once)', async () => {
    const clock = steppedClock();
    // other traffic: 15 segments published and consumed at once, dead behind the queue
    const { dir, store, ids, churnRound: churnBy } = await queueBehindChurn();
    const churnRound = () => churnBy(200);
    clock.later(1000);
    let taken = 0;
    let copiedAtPause = 0;
    while (taken < ids.length - 100) {
      const next = Math.min(taken + 300, ids.length - 100);
      for (const t of ids.slice(taken, next)) store.removeMessage(q, t);
      taken = next;
      clock.later(50);
      await churnRound();
      if (copiedAtPause === 0 && taken >= ids.length / 2) {
        copiedAtPause = store.stats.copiedBytes + 1;
        // the consumer stays away for 3 s; the other traffic goes on
        for (let step = 0; step < 12; step++) {
          clock.later(250);
          await churnRound();
        }
        // nothing copied meanwhile: the segment it was reading in waits 5 s from its last removal as its next
        // ones do (s16: copied once its last removal was 1 s old, 306,539 B; s15: also two of those it reads
        // next, one a second; older code: all ten, 3.3 MB)
        expect(store.stats.copiedBytes + 1 - copiedAtPause).toBe(0);
      }
    }
    await store.close();
    const { state } = await openStore({ dir });
    expect(state.messages.get(queueKey('/', 'q'))!.map((m) => m.id)).toEqual(ids.slice(taken));
  });
  it('a slow consumer (3.5 s in its segment) that pauses for 3 s while other traffic flushes every 50 ms or 250 ms: nothing of its segment is copied during the pause (review-s17-1 M1: LookClock kept 16 look ends, 1.6 s at a flush per 50 ms, so the last fall read as never: 120,510 B copied 1.65 s into the pause)', async () => {
    for (const pauseStepMs of [250, 50]) {
      const clock = steppedClock();
      const { store, ids, churnRound } = await queueBehindChurn();
      clock.later(1000);
      // the oldest segment's number (the one the consumer reads in while it is half way or more)
      const oldest = () => Math.min(...(store as unknown as { state: { segments: Map<number, unknown> } }).state.segments.keys());
      let taken = 0;
      let seg = oldest();
      let inSegMs = 0;
      // 15 messages a 50 ms step (a segment in ~7 s), other traffic flushing each step, until it is past half
      // way and has been reading in its segment for 3.5 s
      while (taken < ids.length / 2 || inSegMs < 3500) {
        if (oldest() !== seg) {
          seg = oldest();
          inSegMs = 0;
        }
        for (const t of ids.slice(taken, taken + 15)) store.removeMessage(q, t);
        taken += 15;
        clock.later(50);
        inSegMs += 50;
        await churnRound(10);
      }
      const before = store.stats.copiedBytes;
      for (let t = 0; t < 3000; t += pauseStepMs) {
        clock.later(pauseStepMs);
        await churnRound(10);
      }
      expect(store.stats.copiedBytes - before, `copied during the pause, a flush every ${pauseStepMs} ms`).toBe(0);
      vi.restoreAllMocks();
    }
  });

  it('durable queues that get a message now and then, consumed at once (MQTT sessions, RPC queues), beside a backlog nobody consumes and churn: disk stays near twice the live data (review-s15-1 K3: an emptied queue kept a place in the segment of its last message, so the backlog waited: max 3.81 on d5ff194)', async () => {
    const clock = steppedClock();
    const { dir, store } = await openStore();
    store.putQueue(queueDef('q'));
    store.putQueue(queueDef('churn'));
    const body = 'c'.repeat(200);
    let id = 0;
    const kept: number[] = [];
    let most = 0;
    let sum = 0;
    let n = 0;
    for (let round = 0; round < 400; round++) {
      // 15 % of every segment kept (a backlog), the rest churn removed in the same round
      const churned: number[] = [];
      for (let k = 0; k < 500; k++) {
        id++;
        if (k < 75) {
          store.addMessage(id, msg(body), [q]);
          kept.push(id);
        } else {
          store.addMessage(id, msg(body), [churn]);
          churned.push(id);
        }
      }
      // every 5 rounds a new durable queue gets one message, consumed at once, then stays idle
      if (round % 5 === 0) {
        const idle: QueueRef = { vhost: '/', queue: `rpc-${round}` };
        store.putQueue(queueDef(idle.queue));
        store.addMessage(++id, msg(body), [idle]);
        store.removeMessage(idle, id);
      }
      for (const c of churned) store.removeMessage(churn, c);
      clock.later(100);
      await sync(store);
      await store.compact();
      if (round >= 100) {
        const r = store.stats.diskBytes / store.stats.liveBytes;
        most = Math.max(most, r);
        sum += r;
        n++;
      }
    }
    await store.close();
    const { state } = await openStore({ dir });
    expect(state.messages.get(queueKey('/', 'q'))!.map((m) => m.id)).toEqual(kept);
    expect(most).toBeLessThan(2.5);
    expect(sum / n).toBeLessThan(2.2);
  });
});
