import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import type { QueueEntry } from '../../src/core/queues/entry.js';
import { PagedEntry, PagedFifo } from '../../src/core/queues/paged-fifo.js';
import { ReadyList } from '../../src/core/queues/ready-list.js';
import { BLOCK_SLOTS, SlotBlocks } from '../../src/core/queues/slot-blocks.js';
import type { TransientPager } from '../../src/store/store.js';

/**
 * Issue 18: a paged queue's tail keeps its columns in fixed-size blocks (slot-blocks.ts), added
 * and freed as it grows and drains, so growing never copies (a doubling ring held two copies
 * at 2^20 slots and pushed a flooded broker tens of MiB past the watermark). Tiny blocks here,
 * so every operation crosses several block boundaries.
 */

/** the journal: persistent messages by id */
const journal = new Map<number, Message>();
const pager = { threshold: 4, read: (id: number) => journal.get(id) };

/** a transient store that counts its records and refuses a second release */
class FakeTransient implements TransientPager {
  readonly threshold = 4;
  private next = 0;
  private readonly records = new Map<number, Message>();
  readonly live = new Set<number>();
  write(message: Message): number {
    const loc = this.next++;
    this.records.set(loc, message);
    this.live.add(loc);
    return loc;
  }
  read(loc: number): Message | undefined {
    return this.records.get(loc);
  }
  release(loc: number): void {
    if (!this.live.delete(loc)) throw new Error(`record ${loc} released twice`);
  }
}

let ids = 0;
let seqs = 0;
function message(body: string): Message {
  return { exchange: '', routingKey: 'q', properties: {}, body: Buffer.from(body), publishedAt: 0 };
}
/** kind: 'p' persistent (journal), 't' transient (transient store), 'o' an object that cannot page (quorum counts) */
function entry(kind: 'p' | 't' | 'o', priority = 0): QueueEntry {
  const id = ++ids;
  const m = message(`m${id}`);
  if (kind !== 't') journal.set(id, m);
  const e: QueueEntry = { id, seq: ++seqs, message: m, expiresAt: 1000 + id, priority, deliveryCount: id % 3, persisted: kind !== 't' };
  if (kind === 'o') e.acquiredCount = 1;
  return e;
}
const body = (e: QueueEntry | undefined) => e!.message.body.toString();
const bodies = (es: (QueueEntry | undefined)[]) => es.map(body);

/** a small deterministic generator (the same sequence every run) */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** shifts `f` to empty: what comes out is what `model` held (emptied too); no block, paged byte or transient record left */
function drainsToEmpty(f: PagedFifo, model: QueueEntry[], meter: { bytes: number }, transient: FakeTransient): void {
  const out: QueueEntry[] = [];
  for (let e = f.shift(); e; e = f.shift()) out.push(e);
  expect(bodies(out)).toEqual(bodies(model.splice(0)));
  expect(f.length).toBe(0);
  expect(f.tailBlocks).toBe(0);
  expect(meter.bytes).toBe(0);
  expect(transient.live.size).toBe(0);
}

/** `f` holds what `model` does, in order, each found by its arrival number; paged counts, bytes and transient records agree */
function matchesModel(f: PagedFifo, model: QueueEntry[], meter: { bytes: number }, transient: FakeTransient): void {
  expect(f.length).toBe(model.length);
  let pagedTransient = 0;
  let paged = 0;
  let pagedBytes = 0;
  for (let i = 0; i < model.length; i++) {
    const e = f.at(i)!;
    expect(e.seq).toBe(model[i]!.seq);
    expect(body(e)).toBe(body(model[i]));
    expect(f.indexOfSeq(e.seq)).toBe(i);
    if (e instanceof PagedEntry) {
      paged++;
      pagedBytes += e.bodyLength;
      if (!e.persisted) pagedTransient++;
    }
  }
  expect(f.at(model.length)).toBeUndefined();
  expect(f.paged).toBe(paged);
  expect(f.pagedBytes).toBe(pagedBytes);
  expect(meter.bytes).toBe(pagedBytes);
  expect(transient.live.size).toBe(pagedTransient);
}

describe('SlotBlocks', () => {
  it('adds a block as it grows and frees one as it drains, keeping slot positions; one spare while not empty', () => {
    const s = new SlotBlocks(4);
    expect(() => new SlotBlocks(6)).toThrow(RangeError);
    for (let i = 0; i < 10; i++) {
      expect(s.push()).toBe(i);
      s.blockOf(i).seqs[s.slotOf(i)] = i;
    }
    expect(s.blockCount).toBe(3);
    for (let k = 0; k < 5; k++) s.shiftSlot();
    expect(s.length).toBe(5);
    expect(Array.from({ length: 5 }, (_, i) => s.blockOf(i).seqs[s.slotOf(i)])).toEqual([5, 6, 7, 8, 9]);
    // blocks [4..7] and [8..9] in use, the first one kept as a spare
    expect(s.blockCount).toBe(3);
    const put = (v: number) => {
      const i = s.push();
      s.blockOf(i).seqs[s.slotOf(i)] = v;
    };
    // 10, 11 fill the block of 8..11; 12 takes the spare; 16 needs a new block
    for (let v = 10; v <= 15; v++) put(v);
    expect(s.blockCount).toBe(3);
    put(16);
    expect(s.blockCount).toBe(4);
    expect(Array.from({ length: s.length }, (_, i) => s.blockOf(i).seqs[s.slotOf(i)])).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    // keep 5, 6: the blocks past them go (one kept as the spare)
    s.truncate(2);
    expect(s.length).toBe(2);
    expect(s.blockCount).toBe(2);
    put(17);
    expect(Array.from({ length: s.length }, (_, i) => s.blockOf(i).seqs[s.slotOf(i)])).toEqual([5, 6, 17]);
    while (s.length) s.shiftSlot();
    expect(s.blockCount).toBe(0);
    expect(s.push()).toBe(0);
    expect(s.blockCount).toBe(1);
  });
});

describe('PagedFifo in blocks', () => {
  it('push, shift, lazy shift, at and remove across many blocks match a plain array; paged counts, bytes and transient records stay right', () => {
    const transient = new FakeTransient();
    const meter = { bytes: 0 };
    // persistent, transient and unpageable entries in one list (a durable queue's mix)
    const f = new PagedFifo(pager, 0, transient, meter, 8);
    const model: QueueEntry[] = [];
    const rnd = random(18);
    const kinds = ['p', 'p', 't', 't', 'o'] as const;
    const check = () => {
      expect(f.length).toBe(model.length);
      expect(f.pagedBytes).toBe(meter.bytes);
      for (let i = 0; i < model.length; i += 1 + Math.floor(rnd() * 7)) {
        const e = f.at(i)!;
        expect(e.seq).toBe(model[i]!.seq);
        expect(e.id).toBe(model[i]!.id);
        expect(e.expiresAt).toBe(model[i]!.expiresAt);
        expect(e.deliveryCount).toBe(model[i]!.deliveryCount);
        expect(body(e)).toBe(body(model[i]));
      }
      // a paged message's record is held exactly while it is paged
      let pagedTransient = 0;
      let pagedBytes = 0;
      for (let i = 0; i < f.length; i++) {
        const e = f.at(i)!;
        if (e instanceof PagedEntry) {
          pagedBytes += e.bodyLength;
          if (!e.persisted) pagedTransient++;
        }
      }
      expect(transient.live.size).toBe(pagedTransient);
      expect(f.pagedBytes).toBe(pagedBytes);
    };
    for (let round = 0; round < 60; round++) {
      // grow by a few blocks, then take some out in every way the queue does
      const grow = Math.floor(rnd() * 40);
      for (let i = 0; i < grow; i++) {
        const e = entry(kinds[Math.floor(rnd() * kinds.length)]!);
        f.push(e);
        model.push(e);
      }
      check();
      const take = Math.floor(rnd() * 30);
      for (let i = 0; i < take && model.length; i++) {
        const lazy = rnd() < 0.3;
        const e = lazy ? f.shiftLazy() : f.shift();
        expect(e!.seq).toBe(model.shift()!.seq);
        if (!lazy) expect(e).not.toBeInstanceOf(PagedEntry);
      }
      if (rnd() < 0.3 && model.length) {
        // a selector consumer's picks: anywhere, across blocks
        const gone = new Set<number>();
        for (const e of model) if (rnd() < 0.25) gone.add(e.seq);
        f.removeSeqs(gone);
        model.splice(0, model.length, ...model.filter((e) => !gone.has(e.seq)));
      }
      check();
      // drain to empty (the tail lets go of every block), then grow again
      if (round % 20 === 19) drainsToEmpty(f, model, meter, transient);
    }
  });

  it('the tail holds blocks for its depth only: one more at each boundary, freed as it drains', () => {
    const f = new PagedFifo(pager, 0, undefined, undefined, 16);
    const all: QueueEntry[] = [];
    for (let i = 0; i < 4 + 16 * 10; i++) {
      const e = entry('p');
      all.push(e);
      f.push(e);
      // 4 in the in-memory head, then the tail: ceil(tail / 16) blocks
      expect(f.tailBlocks).toBe(Math.ceil(Math.max(0, i + 1 - 4) / 16));
    }
    expect(f.paged).toBe(160);
    const out: QueueEntry[] = [];
    let most = f.tailBlocks;
    for (let e = f.shift(); e; e = f.shift()) {
      out.push(e);
      // never more than the blocks of what is left, plus one spare
      expect(f.tailBlocks).toBeLessThanOrEqual(Math.ceil(f.length / 16) + 2);
      most = Math.max(most, f.tailBlocks);
    }
    expect(most).toBe(10);
    expect(f.tailBlocks).toBe(0);
    expect(bodies(out)).toEqual(bodies(all));
  });

  it('clear hands out every entry in order across blocks; drop lets go of every transient record', () => {
    const transient = new FakeTransient();
    const f = new PagedFifo(undefined, 0, transient, undefined, 8);
    const all = Array.from({ length: 70 }, () => entry('t'));
    for (const e of all) f.push(e);
    expect(f.paged).toBe(66);
    f.shift();
    const cleared = f.clear();
    expect(bodies(cleared)).toEqual(bodies(all.slice(1)));
    expect(transient.live.size).toBe(0);
    expect(f.tailBlocks).toBe(0);
    const again = Array.from({ length: 50 }, () => entry('t'));
    for (const e of again) f.push(e);
    expect(transient.live.size).toBe(46);
    f.drop();
    expect(transient.live.size).toBe(0);
    expect(f.length).toBe(0);
  });

  it('recovery places entries by index across blocks (pushIndex), read back in order', () => {
    const f = new PagedFifo(pager, 0, undefined, undefined, 8);
    const head = Array.from({ length: 4 }, () => entry('p'));
    for (const e of head) expect(f.pushIndex(e.id, e.seq, e.expiresAt, e.deliveryCount, e.message.body.length)).toBe(false), f.push(e);
    const rest = Array.from({ length: 45 }, () => entry('p'));
    for (const e of rest) expect(f.pushIndex(e.id, e.seq, e.expiresAt, e.deliveryCount, e.message.body.length)).toBe(true);
    expect(f.paged).toBe(45);
    expect(f.tailBlocks).toBe(6);
    const out: QueueEntry[] = [];
    for (let e = f.shift(); e; e = f.shift()) out.push(e);
    expect(bodies(out)).toEqual(bodies([...head, ...rest]));
    expect(out.map((e) => e.deliveryCount)).toEqual([...head, ...rest].map((e) => e.deliveryCount));
  });
});

describe('ReadyList over blocks of the default size', () => {
  it('requeued entries go back to their place ahead of several blocks of paged ones, by priority; remove and drain work across blocks', () => {
    const n = 3 * BLOCK_SLOTS + 100;
    const r = new ReadyList(1, pager, new FakeTransient());
    const low = Array.from({ length: n }, () => entry('p', 0));
    const high = Array.from({ length: 2 * BLOCK_SLOTS + 7 }, () => entry('t', 1));
    // arrivals interleaved: priority decides, then arrival
    for (let i = 0; i < n; i++) {
      r.push(low[i]!);
      if (i < high.length) r.push(high[i]!);
    }
    expect(r.length).toBe(n + high.length);
    // take 5000 (the high ones first), requeue some of them out of order: they go back where they were
    const taken: QueueEntry[] = [];
    for (let i = 0; i < 5000; i++) taken.push(r.shift()!);
    expect(taken.every((e) => e.priority === 1)).toBe(true);
    for (const i of [4000, 17, 2500, 0, 4999]) {
      taken[i]!.deliveryCount++;
      r.requeue(taken[i]!);
    }
    // and take some low ones from the middle, across blocks (a selector consumer's)
    const picked = new Set([low[5]!, low[BLOCK_SLOTS - 1]!, low[BLOCK_SLOTS]!, low[2 * BLOCK_SLOTS + 3]!, low[n - 1]!]);
    r.remove(picked);
    const expected = [
      ...[0, 17, 2500, 4000, 4999].map((i) => taken[i]!),
      ...high.slice(5000),
      ...low.filter((e) => !picked.has(e)),
    ];
    expect(r.length).toBe(expected.length);
    const out: QueueEntry[] = [];
    for (let e = r.shift(); e; e = r.shift()) out.push(e);
    expect(out.map((e) => e.seq)).toEqual(expected.map((e) => e.seq));
    expect(bodies(out)).toEqual(bodies(expected));
    expect(out.slice(0, 5).every((e) => e.deliveryCount > 0)).toBe(true);
    expect(r.length).toBe(0);
    expect(r.paged).toBe(0);
    expect(r.pagedBytes).toBe(0);
    // and grows again from empty
    const more = Array.from({ length: BLOCK_SLOTS + 10 }, () => entry('p', 0));
    for (const e of more) r.push(e);
    expect(r.paged).toBe(BLOCK_SLOTS + 6);
    expect(bodies(r.toArray())).toEqual(bodies(more));
  });
});

describe('a transient record is read before it is let go of (review-s9-1 #2)', () => {
  /** a transient store that refuses to read a record once released (the real one deletes emptied segments a turn later) */
  class StrictTransient extends FakeTransient {
    override read(loc: number): Message | undefined {
      if (!this.live.has(loc)) throw new Error(`record ${loc} read after its release`);
      return super.read(loc);
    }
  }

  it('a purge settling the detached list lazily while a peek copy runs: the copy takes each paged transient message before the store lets go of it', () => {
    const transient = new StrictTransient();
    const list = new ReadyList(0, undefined, transient);
    const pushed = Array.from({ length: 3 * BLOCK_SLOTS }, () => entry('t'));
    for (const e of pushed) list.push(e);
    expect(list.paged).toBe(pushed.length - transient.threshold);
    const copy = list.copyInSlices(Infinity, (e) => e.message.body.toString());
    copy.step(Infinity, 10);
    // the purge: detached, then its entries settled off the head unread (shift(lazy)), a slice at a time
    const detached = list.detach();
    let dropped = 0;
    while (!copy.step(Infinity, 100)) for (let k = 0; k < 300 && detached.shift(); k++) dropped++;
    while (detached.shift()) dropped++;
    expect(copy.error).toBeUndefined();
    expect(copy.out).toEqual(bodies(pushed));
    expect(dropped).toBe(pushed.length);
    expect(transient.live.size).toBe(0);
  });

  it('shiftLazy: `leaving` sees the entry while its record is readable; without it the record goes at once', () => {
    const transient = new StrictTransient();
    const f = new PagedFifo(undefined, 0, transient);
    const pushed = Array.from({ length: 8 }, () => entry('t'));
    for (const e of pushed) f.push(e);
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) f.shiftLazy((e) => seen.push(body(e)));
    expect(seen).toEqual(bodies(pushed.slice(0, 6)));
    expect(transient.live.size).toBe(2);
    const e = f.shiftLazy()!;
    expect(() => e.message).toThrow(/after its release/);
    expect(transient.live.size).toBe(1);
  });
});

describe('removal from the middle leaves holes (issue 18: O(log n) a removal, not a rewrite of the list)', () => {
  it('removeSeqs and removeAt anywhere, mixed with pushes and shifts: order, content, indexes, paged counts and transient records match a plain array', () => {
    const transient = new FakeTransient();
    const meter = { bytes: 0 };
    // 8-slot blocks and at most 16 holes kept: holes cross the head, the tail and block boundaries, and get closed up
    const f = new PagedFifo(pager, 0, transient, meter, 8, 16);
    const model: QueueEntry[] = [];
    const gone: number[] = [];
    const rnd = random(5);
    const kinds = ['p', 'p', 't', 't', 'o'] as const;
    const check = () => {
      matchesModel(f, model, meter, transient);
      for (const seq of gone.slice(-20)) expect(f.indexOfSeq(seq)).toBe(-1);
    };
    for (let round = 0; round < 300; round++) {
      const grow = Math.floor(rnd() * 30);
      for (let i = 0; i < grow; i++) {
        const e = entry(kinds[Math.floor(rnd() * kinds.length)]!);
        f.push(e);
        model.push(e);
      }
      const r = rnd();
      if (r < 0.35 && model.length) {
        // a selector consumer's picks by arrival number, anywhere (the front too), with numbers not here
        const picked: number[] = [];
        for (const e of model) if (rnd() < 0.2) picked.push(e.seq);
        f.removeSeqs([...picked, ...gone.slice(-3), seqs + 1000]);
        gone.push(...picked);
        const set = new Set(picked);
        model.splice(0, model.length, ...model.filter((e) => !set.has(e.seq)));
      } else if (r < 0.6 && model.length) {
        // a walk taking some as it goes (the quorum queue's selector dispatch)
        for (let i = 0; i < model.length; ) {
          if (rnd() < 0.3) {
            f.removeAt(i);
            gone.push(model.splice(i, 1)[0]!.seq);
          } else {
            // passed over: kept in memory from here on (review-s11-2 R4), the slots before it with it
            if (rnd() < 0.5) f.keepPassed(i, f.at(i)!);
            i += 1 + Math.floor(rnd() * 3);
          }
        }
      } else {
        const take = Math.floor(rnd() * 25);
        for (let i = 0; i < take && model.length; i++) {
          const lazy = rnd() < 0.3;
          const e = lazy ? f.shiftLazy() : f.shift();
          expect(e!.seq).toBe(model.shift()!.seq);
          if (!lazy) expect(body(e)).toBe(`m${e!.id}`);
        }
      }
      check();
      // drain to empty: no hole is handed out, every block and record let go of
      if (round % 50 === 49) drainsToEmpty(f, model, meter, transient);
    }
    expect(() => f.removeAt(f.length)).toThrow(RangeError);
    // clear hands out the live entries only, in order
    const rest = f.clear();
    expect(rest.map((e) => e.seq)).toEqual(model.map((e) => e.seq));
    expect(transient.live.size).toBe(0);
  });

  it('a head nobody takes, and every message behind it taken from the middle: the holes are closed up, memory follows what is live', () => {
    const meter = { bytes: 0 };
    const f = new PagedFifo(pager, 0, undefined, meter, 16, 64);
    const stuck = entry('p');
    f.push(stuck);
    for (let round = 0; round < 2000; round++) {
      const batch = Array.from({ length: 10 }, () => entry('p'));
      for (const e of batch) f.push(e);
      // taken one after another right behind the head, as a selector consumer's dispatch walk does
      for (let i = 0; i < batch.length; i++) f.removeAt(1);
      expect(f.length).toBe(1);
    }
    // 20 000 taken from behind the head: at most 64 holes (+ one batch) kept, so at most a few blocks held
    expect(f.tailBlocks).toBeLessThanOrEqual(Math.ceil((64 + 10) / 16) + 2);
    expect(f.pagedBytes).toBe(0);
    expect(meter.bytes).toBe(0);
    expect(f.shift()!.seq).toBe(stuck.seq);
    expect(f.length).toBe(0);
  });
});

describe('the tail closes up run by run between its holes (Holes.liveRuns, SlotBlocks.moveForward)', () => {
  it('live runs long and short, across 64-slot blocks, of journal, transient and kept entries: order, content, counts and records stay right', () => {
    const transient = new FakeTransient();
    const meter = { bytes: 0 };
    // runs of up to 150 live slots: longer than a block, so each is copied a column at a time in
    // stretches that start and end anywhere in a block; short ones slot by slot
    const f = new PagedFifo(pager, 0, transient, meter, 64, 16);
    const model: QueueEntry[] = [];
    const rnd = random(13);
    const kinds = ['p', 'p', 'p', 't', 't', 'o'] as const;
    let closedUp = 0;
    for (let round = 0; round < 60; round++) {
      const grow = 200 + Math.floor(rnd() * 400);
      for (let i = 0; i < grow; i++) {
        const e = entry(kinds[Math.floor(rnd() * kinds.length)]!);
        f.push(e);
        model.push(e);
      }
      // the first entry stays (the front never reaches the holes); then runs kept and runs taken, alternately
      const blocksBefore = f.tailBlocks;
      let take = false;
      for (let i = 1; i < model.length; take = !take) {
        const run = 1 + Math.floor(rnd() * (rnd() < 0.5 ? 8 : 150));
        if (!take) {
          i += run;
          continue;
        }
        for (let k = 0; k < run && i < model.length; k++) {
          f.removeAt(i);
          model.splice(i, 1);
        }
      }
      if (f.tailBlocks < blocksBefore) closedUp++;
      matchesModel(f, model, meter, transient);
      for (let i = 0; i < model.length; i++) {
        const e = f.at(i)!;
        expect(e.deliveryCount).toBe(model[i]!.deliveryCount);
        expect(e.expiresAt).toBe(model[i]!.expiresAt);
        // a kept object is the entry itself (its quorum counts with it)
        if (model[i]!.acquiredCount !== undefined) expect(e).toBe(model[i]);
      }
      // some off the front now and then: the front moves over closed-up slots
      for (let k = Math.floor(rnd() * 40); k > 0 && model.length; k--) expect(f.shift()!.seq).toBe(model.shift()!.seq);
    }
    // the holes outnumbered the live entries in most rounds: the tail was compacted (fewer blocks) many times
    expect(closedUp).toBeGreaterThan(20);
    drainsToEmpty(f, model, meter, transient);
  });
});

describe('a selector walk keeps what it passed in memory (review-s11-2 R4)', () => {
  it('keepPassed: each passed paged-out message is read once, the next walk reads none; order, holes and kept objects stay in place', () => {
    let reads = 0;
    const counting = { threshold: 4, read: (id: number) => (reads++, journal.get(id)) };
    const meter = { bytes: 0 };
    const f = new PagedFifo(counting, 0, undefined, meter, 8);
    const model = Array.from({ length: 60 }, (_, i) => entry(i % 7 === 3 ? 'o' : 'p'));
    for (const e of model) f.push(e);
    const pagedOut = f.paged;
    expect(pagedOut).toBeGreaterThan(40);
    // the first walk takes every third (a hole in the tail) and passes over the rest, reading each
    for (let i = 0, k = 0; i < f.length; k++) {
      const e = f.at(i)!;
      expect(body(e)).toBe(body(model[i]));
      if (k % 3 === 0) {
        f.removeAt(i);
        model.splice(i, 1);
      } else f.keepPassed(i++, e);
    }
    expect(reads).toBe(pagedOut);
    expect(f.paged).toBe(0);
    expect(meter.bytes).toBe(0);
    // the next walk passes them all again: nothing read
    reads = 0;
    for (let i = 0; i < f.length; i++) f.keepPassed(i, f.at(i)!);
    expect(bodies(Array.from({ length: f.length }, (_, i) => f.at(i)))).toEqual(bodies(model));
    expect(reads).toBe(0);
    drainsToEmpty(f, model, meter, new FakeTransient());
  });
});

describe('a kept entry taken from the middle, then the list dropped (review-s11-2 R1)', () => {
  it('drop() releases no transient record twice: a kept slot in a reused block reads no stale record', () => {
    const transient = new FakeTransient();
    const f = new PagedFifo(pager, 0, transient, { bytes: 0 }, 8);
    for (let i = 0; i < 4 + 600; i++) f.push(entry('t')); // 4 in the head, 600 transient-paged in 75 tail blocks
    // the head, then a page-in batch shifted out of the tail: its emptied blocks go, the last kept as the spare with its records' places
    for (let i = 0; i < 5; i++) f.shift();
    for (let i = 0; i < 8; i++) f.push(entry('o')); // kept as objects, in the reused block
    const at = f.length - 3;
    expect(f.at(at)!.acquiredCount).toBe(1);
    f.removeAt(at); // a quorum selector consumer's take (QuorumReadyList.takeWhere -> PagedFifo.removeAt)
    // before: 'record 509 released twice' - in the real TransientStore a segment emptied early, another queue's message read back empty
    expect(() => f.drop()).not.toThrow();
    expect(transient.live.size).toBe(0);
  });
});
