import { describe, expect, it } from 'vitest';
import type { Consumer, Delivery } from '../../src/core/consumer.js';
import type { Queue } from '../../src/core/queues/queue.js';
import { OutstandingDeliveries } from '../../src/core/outstanding.js';

/** a delivery with just its tag (the book looks at nothing else) */
const d = (tag: number): Delivery => ({ tag }) as Delivery;
const tags = (book: OutstandingDeliveries): number[] => [...book.values()].map((x) => x.tag);

/**
 * Session's book of unsettled deliveries (src/core/outstanding.ts) must behave as the
 * Map<number, Delivery> it replaces: lookups by tag, tag order, and a Map's iteration rules.
 */
describe('OutstandingDeliveries', () => {
  it('finds, deletes and lists by tag, in tag order, with tags missing between (untracked deliveries)', () => {
    const book = new OutstandingDeliveries();
    for (const t of [1, 2, 3, 7, 8, 20, 21, 22]) book.add(d(t));
    expect(book.size).toBe(8);
    expect(book.get(7)?.tag).toBe(7);
    expect(book.get(4)).toBeUndefined();
    expect(book.has(22)).toBe(true);
    expect(book.has(23)).toBe(false);
    expect(book.delete(3)).toBe(true);
    expect(book.delete(3)).toBe(false);
    expect(book.delete(5)).toBe(false);
    expect(book.delete(1)).toBe(true);
    expect(book.firstTag()).toBe(2);
    expect(tags(book)).toEqual([2, 7, 8, 20, 21, 22]);
    expect([...book.entries()].map(([t, x]) => [t, x.tag])).toEqual([[2, 2], [7, 7], [8, 8], [20, 20], [21, 21], [22, 22]]);
    expect(book.get(21)?.tag).toBe(21);
    book.clear();
    expect(book.size).toBe(0);
    expect(book.firstTag()).toBeUndefined();
    expect(tags(book)).toEqual([]);
    book.add(d(30));
    expect(tags(book)).toEqual([30]);
  });

  it('one delivery left unsettled while a million later ones come and go: the arrays stay small, lookups right', () => {
    const book = new OutstandingDeliveries();
    book.add(d(1));
    for (let t = 2; t < 1_000_000; t++) {
      book.add(d(t));
      if (t % 3 !== 0) book.delete(t);
    }
    // every third tag is held, plus the first
    expect(book.size).toBe(1 + Math.floor((1_000_000 - 1) / 3));
    expect(book.get(1)?.tag).toBe(1);
    expect(book.get(999_999)?.tag).toBe(999_999);
    expect(book.get(999_998)).toBeUndefined();
    const internal = book as unknown as { slots: unknown[] };
    expect(internal.slots.length).toBeLessThanOrEqual(2 * book.size + 64);
    let last = 0;
    let ordered = true;
    for (const x of book.values()) {
      if (x.tag <= last) ordered = false;
      last = x.tag;
    }
    expect(ordered).toBe(true);
    // drained: the arrays start again at the front
    for (const x of [...book.values()]) book.delete(x.tag);
    expect(book.size).toBe(0);
    book.add(d(2_000_000));
    expect(book.get(2_000_000)?.tag).toBe(2_000_000);
  });

  it('takeThrough(tag) moves every delivery up to the tag into a book of its own, in order, holes skipped; the rest stays findable', () => {
    const book = new OutstandingDeliveries();
    for (const t of [1, 2, 3, 4, 5, 6, 9, 10, 11, 12]) book.add(d(t));
    book.delete(1);
    book.delete(3);
    book.delete(9);
    // up to 9: 9 itself was settled, so the rest starts at 10
    const taken = book.takeThrough(9);
    expect(tags(taken)).toEqual([2, 4, 5, 6]);
    expect(taken.size).toBe(4);
    expect(taken.get(5)?.tag).toBe(5);
    expect(taken.firstTag()).toBe(2);
    expect(tags(book)).toEqual([10, 11, 12]);
    expect(book.size).toBe(3);
    expect(book.firstTag()).toBe(10);
    expect(book.get(4)).toBeUndefined();
    expect(book.get(11)?.tag).toBe(11);
    // below the first tag: nothing; then everything (the book is empty, takes new ones from the front)
    expect(book.takeThrough(7).size).toBe(0);
    expect(tags(book.takeThrough(100))).toEqual([10, 11, 12]);
    expect(book.size).toBe(0);
    expect(book.firstTag()).toBeUndefined();
    book.add(d(13));
    expect(tags(book)).toEqual([13]);
    // the taken book goes on as a book of its own
    expect(taken.delete(2)).toBe(true);
    expect(tags(taken)).toEqual([4, 5, 6]);
    // fewer taken than kept (the other way of splitting): the same result
    const big = new OutstandingDeliveries();
    for (let t = 1; t <= 10; t++) big.add(d(t));
    big.delete(2);
    const head = big.takeThrough(3);
    expect(tags(head)).toEqual([1, 3]);
    expect(head.size).toBe(2);
    expect(tags(big)).toEqual([4, 5, 6, 7, 8, 9, 10]);
    expect(big.firstTag()).toBe(4);
    expect(big.get(3)).toBeUndefined();
    expect(big.delete(4)).toBe(true);
    expect(big.firstTag()).toBe(5);
  });

  it('takeThrough(tag) counts the side it copies, and only that side: by consumer, and gets by queue (timed-out ones left out)', () => {
    const qa = { name: 'a' } as Queue;
    const qb = { name: 'b' } as Queue;
    const ca = { queue: qa } as Consumer;
    const cb = { queue: qb } as Consumer;
    const from = (tag: number, c: Consumer | null, q: Queue, timedOut = false): Delivery => ({ tag, consumer: c, queue: q, timedOut }) as Delivery;
    const counts = (book: OutstandingDeliveries) => {
      const { side, consumers, gets } = book.counted!;
      return { side, consumers: [...consumers].map(([c, n]) => [c.queue.name, n]), gets: [...gets].map(([q, n]) => [q.name, n]) };
    };
    // fewer taken: the taken ones counted (a get's by its queue; a timed-out delivery's message went back before: left out)
    const book = new OutstandingDeliveries();
    book.add(from(1, null, qb));
    book.add(from(2, ca, qa, true));
    for (let t = 3; t <= 10; t++) book.add(from(t, t === 4 ? cb : ca, t === 4 ? qb : qa));
    expect(counts(book.takeThrough(1))).toEqual({ side: 'taken', consumers: [], gets: [['b', 1]] });
    expect(counts(book.takeThrough(2))).toEqual({ side: 'taken', consumers: [], gets: [] });
    // runs of one consumer's deliveries, interrupted by another's: each consumer once, its total
    const head = book.takeThrough(5);
    expect(counts(head)).toEqual({ side: 'taken', consumers: [['a', 2], ['b', 1]], gets: [] });
    expect(tags(head)).toEqual([3, 4, 5]);
    // fewer kept: the kept ones counted (timed-out ones left out, gets by queue)
    for (let t = 11; t <= 12; t++) book.add(from(t, cb, qb));
    book.add(from(13, cb, qb, true));
    book.add(from(14, null, qa));
    book.add(from(15, null, qa));
    const most = book.takeThrough(11);
    expect(counts(most)).toEqual({ side: 'kept', consumers: [['b', 1]], gets: [['a', 2]] });
    expect(tags(most)).toEqual([6, 7, 8, 9, 10, 11]);
    // nothing taken: nothing counted
    expect(counts(book.takeThrough(3))).toEqual({ side: 'taken', consumers: [], gets: [] });
  });

  it('takeThrough(tag) of all that is left, the later tags acked one by one before: the book is empty and takes new tags (it looped for ever)', () => {
    const book = new OutstandingDeliveries();
    for (let t = 1; t <= 10; t++) book.add(d(t));
    for (let t = 6; t <= 10; t++) book.delete(t);
    const taken = book.takeThrough(5);
    expect(tags(taken)).toEqual([1, 2, 3, 4, 5]);
    expect(book.size).toBe(0);
    expect(book.firstTag()).toBeUndefined();
    book.add(d(11));
    expect(tags(book)).toEqual([11]);
    expect(book.get(11)?.tag).toBe(11);
  });

  it('iterates as a Map does: deleting the entry reached, skipping what was deleted ahead, reaching what was added', () => {
    const book = new OutstandingDeliveries();
    for (let t = 1; t <= 6; t++) book.add(d(t));
    const seen: number[] = [];
    for (const [t] of book) {
      seen.push(t);
      book.delete(t);
      if (t === 2) book.delete(4);
      if (t === 5) book.add(d(10));
    }
    expect(seen).toEqual([1, 2, 3, 5, 6, 10]);
    expect(book.size).toBe(0);
    // the same with a Map, for the record of what is matched
    const map = new Map<number, number>([1, 2, 3, 4, 5, 6].map((t) => [t, t]));
    const mapSeen: number[] = [];
    for (const [t] of map) {
      mapSeen.push(t);
      map.delete(t);
      if (t === 2) map.delete(4);
      if (t === 5) map.set(10, 10);
    }
    expect(seen).toEqual(mapSeen);
  });

  it('an iteration carries on in tag order when the book empties or squeezes its holes under it', () => {
    const book = new OutstandingDeliveries();
    for (let t = 1; t <= 8; t++) book.add(d(t));
    const seen: number[] = [];
    for (const x of book.values()) {
      seen.push(x.tag);
      if (x.tag === 1) {
        // everything settled, then new deliveries: the book starts again at the front
        for (let t = 1; t <= 8; t++) book.delete(t);
        book.add(d(9));
        book.add(d(10));
      }
      if (x.tag === 9) {
        // many more, most settled at once: the book squeezes its holes while we walk it
        for (let t = 11; t <= 200; t++) book.add(d(t));
        for (let t = 11; t <= 190; t++) book.delete(t);
        for (let t = 201; t <= 600; t++) {
          book.add(d(t));
          if (t < 590) book.delete(t);
        }
      }
    }
    const expected = [1, 9, 10];
    for (let t = 191; t <= 200; t++) expected.push(t);
    for (let t = 590; t <= 600; t++) expected.push(t);
    expect(seen).toEqual(expected);
  });
});
