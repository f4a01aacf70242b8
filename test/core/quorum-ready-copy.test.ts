import { describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../src/core/queues/entry.js';
import { QuorumReadyList, quorumBucket, type QuorumPriorities } from '../../src/core/queues/quorum-ready-list.js';

/**
 * peek() of a quorum queue (issue 18 point 5, item 3): its ready list is copied a slice at a
 * time like a classic queue's (QuorumReadyList.copyInSlices: returns at once, each bucket a
 * slice at a time, 4.0-4.2's two levels merged in delivery order), where it copied the whole
 * list in one turn. The copy must be the list as it was when it started, whatever happens
 * between slices: deliveries off the head, publishes, returns, selector takes from the middle.
 */
let seq = 0;
const entry = (scheme: QuorumPriorities, priority: number | undefined): QueueEntry =>
  ({
    id: ++seq,
    seq,
    message: { body: Buffer.from(String(seq)), properties: {}, exchange: '', routingKey: 'q', publishedAt: 0 },
    expiresAt: Infinity,
    priority: quorumBucket(scheme, priority),
    deliveryCount: 0,
    persisted: false,
  }) as QueueEntry;
/** what a copy keeps of an entry: its arrival number and whether it had been delivered */
const snap = (e: QueueEntry): string => `${e.seq}${e.deliveryCount > 0 ? 'r' : ''}`;
const priorities = [undefined, 0, 3, 5, 9, 31, 7, undefined, 6];
/** `n` taken off the head as deliveries are (flagged delivered) into `into` */
function deliver(list: QuorumReadyList, n: number, into: QueueEntry[]): void {
  for (let k = 0; k < n; k++) {
    const e = list.shift()!;
    e.deliveryCount++;
    into.push(e);
  }
}

describe('QuorumReadyList.copyInSlices', () => {
  for (const scheme of ['none', 'two-level', 'strict'] as const) {
    it(`${scheme}: a copy taken in slices while deliveries, publishes, returns and selector takes go on is the list as it was, in delivery order`, () => {
      const list = new QuorumReadyList(scheme);
      const delivered: QueueEntry[] = [];
      for (let i = 0; i < 5000; i++) list.push(entry(scheme, priorities[i % priorities.length]));
      // some delivered and returned: they go out first
      deliver(list, 40, delivered);
      for (const e of delivered.splice(0, 20)) list.requeue(e);
      const before = list.toArray().map(snap);
      const copy = list.copyInSlices(Infinity, snap);
      let slices = 0;
      while (!copy.step(Infinity, 100)) {
        slices++;
        deliver(list, 5, delivered);
        list.push(entry(scheme, priorities[slices % priorities.length]));
        if (slices % 3 === 0) list.requeue(delivered.shift()!);
        // a selector consumer takes every 97th of the first thousand, from the middle
        let walked = 0;
        list.takeWhere(
          () => (++walked > 1000 ? 'stop' : walked % 97 === 0 ? 'take' : 'pass'),
          (e) => delivered.push(e),
        );
      }
      expect(slices).toBeGreaterThan(20);
      expect(copy.error).toBeUndefined();
      expect(copy.out).toEqual(before);
    });
  }

  it('two-level: the first `limit` only; deleted midway (the list dropped), the answer is a prefix of the list as it was', () => {
    const list = new QuorumReadyList('two-level');
    for (let i = 0; i < 3000; i++) list.push(entry('two-level', priorities[i % priorities.length]));
    const before = list.toArray().map(snap);
    const limited = list.copyInSlices(700, snap);
    while (!limited.step(Infinity, 50)) list.shift();
    expect(limited.out).toEqual(before.slice(0, 700));
    // past one slice of peek's in the high bucket (END_FINISH_MAX): a drop ends its copy with what it has
    for (let i = 0; i < 40_000; i++) list.push(entry('two-level', priorities[i % priorities.length]));
    const all = list.toArray().map(snap);
    const copy = list.copyInSlices(Infinity, snap);
    // the normal bucket copied whole, the high one partly
    expect(copy.step(Infinity, 22_000)).toBe(false);
    list.detach().drop();
    while (!copy.step(Infinity, 100));
    expect(copy.error).toBeUndefined();
    expect(copy.out.length).toBeGreaterThan(1000);
    expect(copy.out.length).toBeLessThan(all.length);
    expect(copy.out).toEqual(all.slice(0, copy.out.length));
  });
});

describe('a selector consumer takes ahead of a copy not stepped yet (review-s11-2 R2)', () => {
  it('20,000 takes from the middle, then every step: the copy is the list as it was, in order', () => {
    // as peek() / a QueueBrowser makes its copy and steps it later on the bulk work, while
    // Queue.dispatchSelectiveInPlace passes the head nobody selects and takes the rest; each take
    // ahead of the copy's cursor is a hole it steps over (found by binary search and appended, not
    // walked and merged per take: 40k takes went from 19 s to 29 ms in the review's repro)
    const list = new QuorumReadyList('none');
    const all: QueueEntry[] = [];
    for (let i = 0; i < 20_001; i++) {
      const e = entry('none', undefined);
      all.push(e);
      list.push(e);
    }
    const copy = list.copyInSlices(Infinity, snap);
    const taken: QueueEntry[] = [];
    list.takeWhere((e) => (e === all[0] ? 'pass' : 'take'), (e) => taken.push(e));
    expect(taken.length).toBe(20_000);
    while (!copy.step(Infinity)) {}
    expect(copy.out).toEqual(all.map(snap));
    expect(list.length).toBe(1);
  });
});
