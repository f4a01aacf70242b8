import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import type { Queue } from '../../src/core/queues/queue.js';
import { declareQueue, keepingConsumer } from './helpers.js';

/**
 * QueueBrowse over a queue whose bodies are paged out to the data dir (16 kept in memory, the
 * rest read back 512 at a time as the head runs dry), while a consumer takes and acks messages
 * ahead of the browse's ready copy, before the copy gets to their places. The in-memory case is
 * queue-browse.test.ts's 'ready ones a consumer takes after the browse started'; this pins the
 * paged one, which the OpenWire test 'QueueBrowser of a paged queue' (browser-held.test.ts)
 * reaches only through a socket: an entry taken and acked ahead of the copy must not be shown
 * (its journal record is gone by the time the copy gets there), nor anything twice.
 * A message is read back into memory before it leaves the ready list (the head pages in as it
 * runs dry; a selector walk keeps what it passed and the one it takes), so the copy is told of
 * a take with the message in memory; what the copy reaches still paged out it reads at once.
 * The rule (ActiveMQ 5.17's browser: every message not acked when the browse gets there, in the
 * queue's order): shown if not acked by then (delivered: *), left out once acked.
 */

const N = 2000;
const text = (body: Buffer): string => body.toString().replace(/\.+$/, '');

describe('QueueBrowse of a paged queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-browse-paged-core-'));
  let broker: LocalMQ;
  beforeAll(async () => {
    broker = await startBroker({ dataDir: dir, journal: { pageThreshold: 16, segmentSize: 64 * 1024 } });
  });
  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * a queue `q` of N persistent messages (m0…, header odd = i % 2), browsed 2 places a step (as a
   * window of 2 would); after the browse's second step a consumer (prefetch 200, `selector`) takes
   * what it can and acks its 21st…150th one at a time; what the browse showed, what the
   * consumer took (all it was given) and acked, and how many were shown before it came
   */
  async function browseWhileConsumed(selector?: string) {
    const vhost = broker.core.vhost('/')!;
    vhost.deleteQueue('q', false, false, null);
    const q = declareQueue(vhost, 'q', {}, true) as Queue;
    for (let i = 0; i < N; i++) {
      const body = Buffer.from(`m${i}`.padEnd(500, '.'));
      vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: { deliveryMode: 2, headers: { odd: i % 2 } }, body, publishedAt: Date.now() });
    }
    // all but the first 16 bodies are on disk
    expect(q.ready.paged).toBe(N - 16);
    const b = q.browseWhenReturned(() => undefined)!;
    const shown: string[] = [];
    let shownBefore = -1;
    let c: ReturnType<typeof keepingConsumer> | undefined;
    const acked = new Set<string>();
    let pagedWhenAcked = 0;
    for (let steps = 0; ; steps++) {
      for (let e = b.next(Date.now()); e !== undefined; e = b.next(Date.now())) shown.push(`${text(e.message.body)}${b.lastDelivered ? '*' : ''}`);
      if (b.done) break;
      if (steps === 2 && c === undefined) {
        shownBefore = shown.length;
        c = keepingConsumer(broker.core, vhost, 'c', 200, selector);
        while (c.got.length < 200 && broker.core.bulkWork.pending > 0) await new Promise((resolve) => setImmediate(resolve));
        expect(c.got).toHaveLength(200);
        for (let i = 20; i < 150; i++) {
          c.session.ack(c.got[i]!.tag, false);
          acked.add(text(c.got[i]!.message.body));
        }
        await broker.core.bulkWork.idle();
        pagedWhenAcked = q.ready.paged;
      }
      if (b.waitingForReturns) b.whenGathered(() => undefined);
      b.step(0, 2);
      if (steps > 10 * N) throw new Error(`the browse did not end: ${shown.length} shown`);
    }
    c!.session.close();
    return { shown, shownBefore, taken: new Set(c!.got.map((d) => text(d.message.body))), acked, pagedWhenAcked };
  }

  /** none twice, none acked before the browse reached it, every other one in the queue's order; delivered ones flagged once the consumer took them */
  function expectShown(r: Awaited<ReturnType<typeof browseWhileConsumed>>): void {
    // the acked ones were all paged out when the browse started (past the first 16)
    expect(r.acked.size).toBe(130);
    for (const m of r.acked) expect(Number(m.slice(1)), m).toBeGreaterThanOrEqual(16);
    const bare = r.shown.map((s) => s.replace('*', ''));
    expect(new Set(bare).size).toBe(bare.length);
    expect(bare).toEqual(Array.from({ length: N }, (_, i) => `m${i}`).filter((m) => !r.acked.has(m)));
    expect(r.shownBefore).toBeGreaterThan(0);
    expect(r.shownBefore).toBeLessThan(10);
    for (const [i, s] of r.shown.entries()) expect(s.endsWith('*'), s).toBe(i >= r.shownBefore && r.taken.has(bare[i]!));
  }

  it('a consumer takes from the head (the paged ones read back as the head runs dry) and acks 130 ahead of the copy: those left out, the rest shown once, in order, and the browse ends', async () => {
    const r = await browseWhileConsumed();
    // its window reopened by the acks: 130 more taken, not acked
    expect(r.taken.size).toBe(330);
    // the copy still had paged-out ones ahead of it
    expect(r.pagedWhenAcked).toBeGreaterThan(0);
    expectShown(r);
  });

  it('a selector consumer (odd = 1) takes ones paged out at the start from the middle of the queue (its walk reads them back) and acks 130 ahead of the copy: those left out, the rest shown once, in order, and the browse ends', async () => {
    const r = await browseWhileConsumed('odd = 1');
    expect(r.taken.size).toBe(330);
    for (const m of r.taken) expect(Number(m.slice(1)) % 2, m).toBe(1);
    expect(r.pagedWhenAcked).toBeGreaterThan(0);
    expectShown(r);
  });
});
