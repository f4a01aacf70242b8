import { expect, it } from 'vitest';
import type { QueueEntry } from '../../src/core/queues/entry.js';
import { SeqBlocks } from '../../src/core/queues/seq-blocks.js';

// A priority level's requeued entries, sorted by arrival in blocks (s13 mends: in one flat array two
// closed channels' interleaved unacked came back quadratically, 400k in 9.3 s). Checked against a
// model (a sorted array) under random mixes of the ways they arrive and leave.

const entry = (seq: number): QueueEntry => ({ seq }) as QueueEntry;

/** a small deterministic generator (mulberry32) so a failing seed can be replayed */
const random = (s: number) => () => {
  s = (s + 0x6d2b79f5) | 0;
  let t = Math.imul(s ^ (s >>> 15), 1 | s);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]) {
  it(`keeps arrival order through interleaved runs, single returns, takes from the front and removals (seed ${seed})`, () => {
    const rnd = random(seed);
    const list = new SeqBlocks();
    let model: number[] = [];
    // seqs not in the list, to be returned: two "channels" holding interleaved halves, and strays
    const free = Array.from({ length: 6000 }, (_, i) => i + 1);
    const check = () => {
      expect(list.length).toBe(model.length);
      expect(list.peek()?.seq).toBe(model[0]);
      if (rnd() < 0.05) expect(list.toArray().map((e) => e.seq)).toEqual(model);
    };
    const put = (seq: number) => {
      list.insert(entry(seq));
      const at = model.findIndex((s) => s > seq);
      if (at < 0) model.push(seq);
      else model.splice(at, 0, seq);
    };
    for (let round = 0; round < 40; round++) {
      const r = rnd();
      if (r < 0.3 && free.length) {
        // a channel's run: every other free seq from a random start, ascending (interleaved with what is there)
        const from = Math.floor(rnd() * free.length);
        const run = free.filter((_, i) => i >= from && (i - from) % 2 === 0).slice(0, 1500);
        for (const s of run) put(s);
        const taken = new Set(run);
        for (let i = free.length - 1; i >= 0; i--) if (taken.has(free[i]!)) free.splice(i, 1);
      } else if (r < 0.5 && free.length) {
        // single returns in random order
        for (let k = 0; k < 200 && free.length; k++) put(free.splice(Math.floor(rnd() * free.length), 1)[0]!);
      } else if (r < 0.8) {
        // takes from the front (a consumer)
        const n = Math.floor(rnd() * 1200);
        for (let k = 0; k < n && model.length; k++) {
          const e = list.shift();
          expect(e?.seq).toBe(model.shift());
          free.push(e!.seq);
        }
      } else if (model.length) {
        // removals anywhere, by seq (a selector consumer / expiry), some not present
        const seqs = Array.from({ length: 100 }, () => (rnd() < 0.9 ? model[Math.floor(rnd() * model.length)]! : -1));
        // half through remove() one at a time (true only for one still there), half through removeSeqs
        const present = new Set(model);
        const half = seqs.length >> 1;
        for (const s of seqs.slice(0, half)) expect(list.remove(s)).toBe(present.delete(s));
        list.removeSeqs(seqs.slice(half));
        const gone = new Set(seqs);
        for (const s of gone) if (s > 0) free.push(s);
        model = model.filter((s) => !gone.has(s));
      }
      check();
    }
    expect([...list].map((e) => e.seq)).toEqual(model);
    const out: QueueEntry[] = new Array(model.length + 3);
    expect(list.copyTo(out, 3)).toBe(model.length + 3);
    expect(out.slice(3).map((e) => e.seq)).toEqual(model);
    while (list.length) expect(list.shift()!.seq).toBe(model.shift());
    expect([list.peek(), list.shift()]).toEqual([undefined, undefined]);
  });
}

it('interleaved halves of 200,000 come back in linear time: no block holds more than twice the block size, so an insert moves at most that', () => {
  const list = new SeqBlocks();
  for (let s = 2; s <= 200_000; s += 2) list.insert(entry(s));
  for (let s = 1; s <= 200_000; s += 2) list.insert(entry(s));
  const blocks = (list as unknown as { blocks: QueueEntry[][] }).blocks;
  expect(Math.max(...blocks.map((b) => b.length))).toBeLessThanOrEqual(1024);
  let next = 1;
  for (const e of list) expect(e.seq).toBe(next++);
  expect(next).toBe(200_001);
});
