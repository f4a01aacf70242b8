import { describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../src/core/queues/entry.js';
import { ReadyList } from '../../src/core/queues/ready-list.js';

/**
 * A requeued entry goes back to its original place (RabbitMQ's order), also while a consumer
 * takes from the front of the requeued ones between returns — as it does since a queue hands out
 * what is ahead of every message still on its way back. ReadyList.requeue no longer compacts the
 * requeued list before each insert (that copied a million-entry list once per returning slice);
 * it inserts from the first entry not yet taken, or into the freed slot before it. Checked against
 * a model: the ready entries in arrival order.
 */
let seq = 0;
const entry = (): QueueEntry =>
  ({ id: ++seq, seq, message: { body: Buffer.alloc(0), properties: {}, exchange: '', routingKey: 'q', publishedAt: 0 }, expiresAt: Infinity, priority: 0, deliveryCount: 0, persisted: false }) as QueueEntry;

/** a small deterministic generator (mulberry32) so a failing seed can be replayed */
const random = (s: number) => () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

describe('ReadyList.requeue while the front is being taken', () => {
  for (const s of [1, 2, 3, 4, 5, 6, 7, 8]) {
    it(`delivers in arrival order whatever the interleaving of takes and returns (seed ${s})`, () => {
      const rnd = random(s);
      const list = new ReadyList(0);
      const ready = new Map<number, QueueEntry>(); // the model: what is ready, by seq
      const out: QueueEntry[] = []; // delivered, not yet back
      for (let i = 0; i < 3000; i++) {
        const e = entry();
        list.push(e);
        ready.set(e.seq, e);
      }
      const take = () => {
        const e = list.shift();
        const lowest = Math.min(...ready.keys());
        expect(e?.seq).toBe(lowest);
        ready.delete(lowest);
        out.push(e!);
      };
      for (let i = 0; i < 2000; i++) take();
      for (let round = 0; round < 400; round++) {
        const op = rnd();
        if (op < 0.45 && out.length) {
          // a return: in ascending runs (a sliced requeue) or any one of those out
          const e = out.splice(Math.floor(rnd() * out.length), 1)[0]!;
          list.requeue(e);
          ready.set(e.seq, e);
        } else if (op < 0.9 && ready.size) take();
        else {
          const e = entry();
          list.push(e);
          ready.set(e.seq, e);
        }
        expect(list.length).toBe(ready.size);
      }
      // everything back, then all of it out in arrival order
      for (const e of out.splice(0)) {
        list.requeue(e);
        ready.set(e.seq, e);
      }
      const order = list.toArray().map((e) => e.seq);
      expect(order).toEqual([...ready.keys()].sort((a, b) => a - b));
    });
  }

  it('a requeue of ascending slices with takes between keeps order (the shape of a channel closing behind another consumer)', () => {
    const list = new ReadyList(0);
    const held: QueueEntry[] = [];
    for (let i = 0; i < 20_000; i++) list.push(entry());
    for (let i = 0; i < 20_000; i++) held.push(list.shift()!);
    const got: number[] = [];
    for (let at = 0; at < held.length; at += 512) {
      for (const e of held.slice(at, at + 512)) list.requeue(e);
      // the other consumer takes 100 between slices
      for (let i = 0; i < 100 && list.length; i++) got.push(list.shift()!.seq);
    }
    while (list.length) got.push(list.shift()!.seq);
    expect(got).toEqual(held.map((e) => e.seq));
  });

  it("a consumer's unacked going back ahead of a long requeued list, in ascending order: they go first, in order", () => {
    const list = new ReadyList(0);
    const held: QueueEntry[] = [];
    for (let i = 0; i < 20_000; i++) list.push(entry());
    for (let i = 0; i < 20_000; i++) held.push(list.shift()!);
    for (const e of held) list.requeue(e);
    // another consumer takes 100 of the requeued ones, then its channel closes: they go back in tag order
    const taken: QueueEntry[] = [];
    for (let i = 0; i < 100; i++) taken.push(list.shift()!);
    for (const e of taken) list.requeue(e);
    expect(list.toArray().map((e) => e.seq)).toEqual(held.map((e) => e.seq));
  });
});
