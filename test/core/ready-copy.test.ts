import { describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../src/core/queues/entry.js';
import { ReadyList } from '../../src/core/queues/ready-list.js';

/**
 * peek() of a million copies a queue's ready list a slice at a time while the queue goes on
 * (src/core/queues/ready-list.ts ReadyCopy): the copy must be the list as it was when it
 * started, whatever happens between slices — deliveries off the head, publishes at the back,
 * returns, expiry, a purge settling the detached list — with nothing copied whole at once.
 */
let seq = 0;
const entry = (priority = 0): QueueEntry =>
  ({ id: ++seq, seq, message: { body: Buffer.from(String(seq)), properties: {}, exchange: '', routingKey: 'q', publishedAt: 0 }, expiresAt: Infinity, priority, deliveryCount: 0, persisted: false }) as QueueEntry;
/** what a copy keeps of an entry: its arrival number and whether it had been delivered (peek's redelivered) */
const snap = (e: QueueEntry): string => `${e.seq}${e.deliveryCount > 0 ? 'r' : ''}`;

describe('ReadyList.copyInSlices', () => {
  it('a copy taken in slices while deliveries take the head, publishes and returns arrive: the list as it was at the start, in delivery order', () => {
    const list = new ReadyList(2);
    const delivered: QueueEntry[] = [];
    for (let i = 0; i < 3000; i++) list.push(entry(i % 3 === 0 ? 2 : 0));
    // two delivered and back: requeued entries ahead of the FIFO of their level
    for (let i = 0; i < 2; i++) delivered.push(list.shift()!);
    for (const e of delivered.splice(0)) {
      e.deliveryCount++;
      list.requeue(e);
    }
    const before = list.toArray().map(snap);
    const copy = list.copyInSlices(Infinity, snap);
    let slices = 0;
    while (!copy.step(Infinity, 100)) {
      slices++;
      // between slices: a few delivered off the head (flagged as a delivery does), one published, one returned
      for (let k = 0; k < 7; k++) {
        const e = list.shift()!;
        e.deliveryCount++;
        delivered.push(e);
      }
      list.push(entry(slices % 2 === 0 ? 2 : 0));
      if (slices % 3 === 0) list.requeue(delivered.shift()!);
    }
    expect(slices).toBeGreaterThan(20);
    expect(copy.error).toBeUndefined();
    expect(copy.out).toEqual(before);
  });

  it('the first `limit` only; a copy of an empty list is done at once', () => {
    const list = new ReadyList(0);
    for (let i = 0; i < 1000; i++) list.push(entry());
    const before = list.toArray(300).map(snap);
    const copy = list.copyInSlices(300, snap);
    while (!copy.step(Infinity, 50)) list.shift();
    expect(copy.out).toEqual(before);
    const empty = new ReadyList(0).copyInSlices(Infinity, snap);
    expect(empty.out).toEqual([]);
    expect(empty.step(Infinity)).toBe(true);
  });

  it('a purge detaching the list midway, then settling it off the head lazily: the copy still holds every entry', () => {
    const list = new ReadyList(0);
    for (let i = 0; i < 2000; i++) list.push(entry());
    const before = list.toArray().map(snap);
    const copy = list.copyInSlices(Infinity, snap);
    copy.step(Infinity, 500);
    const detached = list.detach();
    list.push(entry());
    // a purge's settling takes them off the detached list's head before the copy's next slice
    for (let i = 0; i < 1200; i++) detached.shift();
    while (!copy.step(Infinity, 100)) detached.shift();
    expect(copy.out).toEqual(before);
  });

  it('a drop (the queue deleted) or a removal from the middle finishes the copy at once; a copy that throws ends it with the error', () => {
    const list = new ReadyList(0);
    for (let i = 0; i < 1000; i++) list.push(entry());
    const before = list.toArray().map(snap);
    const copy = list.copyInSlices(Infinity, snap);
    copy.step(Infinity, 10);
    list.detach().drop();
    expect(copy.step(Infinity, 1)).toBe(true);
    expect(copy.out).toEqual(before);

    for (let i = 0; i < 1000; i++) list.push(entry());
    const all = list.toArray();
    const copy2 = list.copyInSlices(Infinity, snap);
    list.remove(new Set([all[500]!]));
    expect(copy2.step(Infinity, 1)).toBe(true);
    expect(copy2.out).toEqual(all.map(snap));

    const copy3 = list.copyInSlices(Infinity, (e) => {
      if (e.seq === all[700]!.seq) throw new Error('unreadable');
      return snap(e);
    });
    while (!copy3.step(Infinity, 100));
    expect((copy3.error as Error).message).toBe('unreadable');
    // a failed copy no longer follows the list
    expect(list.shift()).toBe(all[0]);
  });
});
