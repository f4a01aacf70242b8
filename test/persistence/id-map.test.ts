import { describe, expect, it } from 'vitest';
import { ID_BLOCK, IdMap, SMALL_MAX } from '../../src/store/file/id-map.js';

/** a small deterministic generator (the same sequence every run) */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Issue 18: the journal's index of stored messages and each queue's messages grow a block of ids
 * at a time (src/store/file/id-map.ts) instead of one Map rehashing a million entries at once.
 */
/** ids per block here: small, so every step crosses blocks */
const B = 16;

/** settle `drop` ids picked from `held` (some twice: the second delete finds nothing), in both */
/** a burst of `count` new ids from `next` on (publishes), each set to id x `factor` in both; the next id after them */
function publish(map: IdMap<number>, model: Map<number, number>, next: number, count: number, factor: number): number {
  for (let i = 0; i < count; i++, next++) {
    map.set(next, next * factor);
    model.set(next, next * factor);
  }
  return next;
}

function settle(map: IdMap<number>, model: Map<number, number>, rnd: () => number, held: number[], drop: number): void {
  for (let i = 0; i < drop; i++) {
    const id = held[Math.floor(rnd() * held.length)]!;
    expect(map.delete(id)).toBe(model.delete(id));
  }
}

/** the map holds what the model holds: size, random lookups up to `next`, iteration */
function expectLikeMap(map: IdMap<number>, model: Map<number, number>, rnd: () => number, next: number): void {
  expect(map.size).toBe(model.size);
  for (let k = 0; k < 50; k++) {
    const id = Math.floor(rnd() * (next + 2));
    expect(map.get(id)).toBe(model.get(id));
    expect(map.has(id)).toBe(model.has(id));
  }
  expect(new Map(map)).toEqual(model);
  expect([...map.keys()].sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
  expect([...map.values()].sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
}

describe('IdMap', () => {
  it('matches a Map under a random mix of set, delete, get and has over ids given in order, as a queue takes and settles them', () => {
    const rnd = random(18);
    // blocks from the first entry (smallMax 0): every step crosses blocks
    const map = new IdMap<number>(B, 0);
    const model = new Map<number, number>();
    let next = 1;
    for (let round = 0; round < 80; round++) {
      // a burst of new ids (publishes), then settles from anywhere (acks), sometimes all of them
      next = publish(map, model, next, Math.floor(rnd() * 3 * B), 2);
      const held = [...model.keys()];
      settle(map, model, rnd, held, round % 7 === 6 ? held.length : Math.floor(rnd() * held.length));
      // a compaction copy sets an id already held again
      if (held.length > 0) {
        const id = held[Math.floor(rnd() * held.length)]!;
        if (model.has(id)) {
          map.set(id, -id);
          model.set(id, -id);
        }
      }
      expectLikeMap(map, model, rnd, next);
      // blocks follow what is held: the blocks its ids are in, and at most the newest one emptied
      const blocks = new Set([...model.keys()].map((id) => Math.floor(id / B)));
      expect(map.blockCount).toBeGreaterThanOrEqual(blocks.size);
      expect(map.blockCount).toBeLessThanOrEqual(blocks.size + 1);
    }
  });

  it('ids in order fill one block after another (in-order iteration); emptied blocks go, but the newest stays for the next ids', () => {
    const map = new IdMap<boolean>(ID_BLOCK, 0);
    expect(ID_BLOCK).toBe(4096);
    const n = 3 * ID_BLOCK + 5;
    for (let id = 1; id <= n; id++) map.set(id, id % 2 === 0);
    expect(map.blockCount).toBe(4);
    expect([...map.keys()]).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    for (let id = 1; id <= n; id++) map.delete(id);
    expect(map.size).toBe(0);
    expect(map.blockCount).toBe(1);
    // a steady depth of one in the newest block: no block made and dropped each time
    for (let id = n + 1; id < n + 100; id++) {
      map.set(id, false);
      map.delete(id);
      expect(map.blockCount).toBe(1);
    }
    expect(map.get(n + 1)).toBeUndefined();
    expect(map.delete(n + 1)).toBe(false);
  });

  // review-s10-3 #2: ids are store-wide, so a queue among thousands published to in turn gets one
  // id in thousands, and held a block (a Map) per message
  it('a queue getting one id in 5000 holds one plain Map up to SMALL_MAX, then puts later ids into blocks with the same entries', () => {
    const q = new IdMap<boolean>();
    for (let i = 0; i < 200; i++) q.set(1 + i * 5000, i % 2 === 0);
    expect(q.size).toBe(200);
    expect(q.blockCount).toBe(0);
    const model = new Map<number, number>();
    const m = new IdMap<number>(B, 40);
    for (let id = 1; id <= 100; id++) {
      m.set(id * 3, id);
      model.set(id * 3, id);
      if (id % 4 === 0) {
        m.delete(id * 3 - 6);
        model.delete(id * 3 - 6);
      }
      expect(m.size).toBe(model.size);
    }
    expect(m.blockCount).toBeGreaterThan(0);
    expect(new Map(m)).toEqual(model);
    for (let id = 0; id <= 310; id++) expect(m.get(id)).toBe(model.get(id));
  });

  // session 18: the set() that crossed SMALL_MAX moved all 32,768 entries into blocks at once, a 27-37 ms stall of a
  // fresh broker's event loop in every flood (the journal's index and the flooded queue's Map cross on the same message)
  it('crossing SMALL_MAX moves nothing: the held ids stay in the plain Map, the next id takes one block', () => {
    const map = new IdMap<number>();
    for (let id = 1; id <= SMALL_MAX; id++) map.set(id, id);
    expect(map.blockCount).toBe(0);
    map.set(SMALL_MAX + 1, -1);
    // moved into blocks, the 32,769 ids would be in 9 blocks of 4096
    expect(map.blockCount).toBe(1);
    expect(map.size).toBe(SMALL_MAX + 1);
    expect([...map.keys()]).toEqual(Array.from({ length: SMALL_MAX + 1 }, (_, i) => i + 1));
    expect(map.get(1)).toBe(1);
    expect(map.get(SMALL_MAX + 1)).toBe(-1);
    // a held id set again (a compaction's copy) stays where it is; a settled one set again goes into its block
    map.set(7, 70);
    expect(map.get(7)).toBe(70);
    expect(map.blockCount).toBe(1);
    expect(map.delete(8)).toBe(true);
    map.set(8, 80);
    expect(map.blockCount).toBe(2);
    expect(map.get(8)).toBe(80);
    expect(map.size).toBe(SMALL_MAX + 1);
    // drained, the plain Map takes nothing more: later ids, low or high, go into blocks
    for (let id = 1; id <= SMALL_MAX; id++) map.delete(id);
    expect(map.size).toBe(1);
    expect([...map]).toEqual([[SMALL_MAX + 1, -1]]);
    map.set(3, 3);
    expect(map.blockCount).toBe(2);
    expect(map.has(3)).toBe(true);
    expect(map.has(4)).toBe(false);
  });

  it('matches a Map under a random mix of set, delete, get and has as it fills its plain Map and spills into blocks', () => {
    const rnd = random(1818);
    const small = 3 * B;
    const map = new IdMap<number>(B, small);
    const model = new Map<number, number>();
    let next = 1;
    for (let round = 0; round < 120; round++) {
      next = publish(map, model, next, Math.floor(rnd() * 2 * B), 1);
      const held = [...model.keys()];
      settle(map, model, rnd, held, round % 9 === 8 ? held.length : Math.floor(rnd() * held.length * 0.6));
      // held ids set again, and settled ids given back (a requeue keeps its message's id)
      for (let i = 0; i < 3; i++) {
        const id = held[Math.floor(rnd() * held.length)];
        if (id === undefined) break;
        map.set(id, -id);
        model.set(id, -id);
      }
      expectLikeMap(map, model, rnd, next);
    }
    expect(map.blockCount).toBeGreaterThan(0);
  });
});
