import { describe, expect, it } from 'vitest';
import type { QueueEntry } from '../../src/core/queues/entry.js';
import { ReadyList } from '../../src/core/queues/ready-list.js';

/**
 * ReadyList.removePresent: what a QueueBrowser found expired leaves the ready list (Queue.expireFound),
 * those that left meanwhile (delivered, or expired at the head) are passed over and not counted again.
 */
let seq = 0;
const entry = (priority = 0): QueueEntry =>
  ({ id: ++seq, seq, message: { body: Buffer.from('xx'), properties: {}, exchange: '', routingKey: 'q', publishedAt: 0 }, expiresAt: Infinity, priority, deliveryCount: 0, persisted: false }) as QueueEntry;

describe('ReadyList.removePresent', () => {
  it('takes out the entries still there, from the FIFO and the requeued ones of any level; the rest are passed over', () => {
    const list = new ReadyList(2);
    const all = Array.from({ length: 20 }, (_, i) => entry(i % 4 === 0 ? 2 : 0));
    for (const e of all) list.push(e);
    // the first two of level 2 delivered and one back (requeued), one of level 0 delivered for good
    const a = list.shift()!;
    const b = list.shift()!;
    list.requeue(a);
    const gone = all.find((e) => e.priority === 0)!;
    const order = list.toArray();
    expect(order).not.toContain(b);
    list.remove(new Set([gone]));
    const asked = [a, b, gone, all[5]!, all[8]!, all[19]!];
    const removed = list.removePresent(asked);
    expect(removed.map((e) => e.seq).sort((x, y) => x - y)).toEqual([a, all[5]!, all[8]!, all[19]!].map((e) => e.seq).sort((x, y) => x - y));
    const left = list.toArray();
    for (const e of removed) expect(left).not.toContain(e);
    expect(list.length).toBe(left.length);
    expect(list.bytes).toBe(left.length * 2);
    expect(left).toEqual(order.filter((e) => e !== gone && !removed.includes(e)));
  });

  it('a requeued entry behind the front of its level is taken out too (within its SeqBlocks block: no splice of the whole requeued list, review-s13-2 F2)', () => {
    const list = new ReadyList(0);
    const all = Array.from({ length: 5 }, () => entry());
    for (const e of all) list.push(e);
    const taken = [list.shift()!, list.shift()!, list.shift()!];
    for (const e of taken) list.requeue(e);
    expect(list.removePresent([all[1]!, all[4]!])).toEqual([all[1]!, all[4]!]);
    expect(list.toArray()).toEqual([all[0]!, all[2]!, all[3]!]);
    expect(list.length).toBe(3);
  });
});
