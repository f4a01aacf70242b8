/**
 * The ready list's common paths, measured before/after a change to its FIFOs (issue 18: holes
 * left by removals from the middle must not slow push and shift): a steady queue (push one,
 * shift one at a depth of 10 000), a fill then a drain of 100 000, an index walk of 100 000 (a
 * peek's copy), 100 removals from the middle of 100 000 (ReadyList.remove), a reject loop at the
 * head and 100 000 requeued in order then drained (the requeued entries' SeqBlocks). In memory, no
 * paging (the broker without a data dir: every entry in the in-memory head).
 * Run: npx tsx bench/ready-list.bench.ts
 */
import { Bench } from 'tinybench';
import type { QueueEntry } from '../src/core/queues/entry.js';
import type { Message } from '../src/core/message.js';
import { ReadyList } from '../src/core/queues/ready-list.js';

const message: Message = { exchange: '', routingKey: 'q', properties: {}, body: Buffer.from('m'), publishedAt: 0 };
let seq = 0;
const entry = (): QueueEntry => ({ id: seq, seq: seq++, message, expiresAt: Infinity, priority: 0, deliveryCount: 0, persisted: false });

const N = 100_000;
const steady = new ReadyList(0);
for (let i = 0; i < 10_000; i++) steady.push(entry());
const walked = new ReadyList(0);
for (let i = 0; i < N; i++) walked.push(entry());

const bench = new Bench({ time: 2000 });
bench
  .add('steady: push one, shift one (depth 10 000), ×1000', () => {
    for (let i = 0; i < 1000; i++) {
      steady.push(entry());
      steady.shift();
    }
  })
  .add(`fill ${N} then drain`, () => {
    const r = new ReadyList(0);
    for (let i = 0; i < N; i++) r.push(entry());
    while (r.shift() !== undefined);
  })
  .add(`toArray of ${N} (an index walk, as a peek's copy)`, () => {
    walked.toArray();
  })
  .add(`100 removals from the middle of ${N}`, () => {
    const r = new ReadyList(0);
    const all: QueueEntry[] = [];
    for (let i = 0; i < N; i++) {
      const e = entry();
      all.push(e);
      r.push(e);
    }
    for (let k = 0; k < 100; k++) r.remove(new Set([all[N / 2 + k * 7]!]));
  });

// requeues (SeqBlocks): a reject loop at the head, and a closed channel's N back in order then drained
const rejecting = new ReadyList(0);
for (let i = 0; i < 10_000; i++) rejecting.push(entry());
const held: QueueEntry[] = [];
bench
  .add('reject loop: shift one, requeue it (depth 10 000), ×1000', () => {
    for (let i = 0; i < 1000; i++) rejecting.requeue(rejecting.shift()!);
  })
  .add(`${N} requeued in order, then drained`, () => {
    const r = new ReadyList(0);
    if (held.length === 0) for (let i = 0; i < N; i++) held.push(entry());
    for (const e of held) r.requeue(e);
    while (r.shift() !== undefined);
  });

await bench.run();
console.table(bench.table());
