import { describe, expect, it } from 'vitest';
import { ID_BLOCK, IdMap } from '../../src/store/file/id-map.js';

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

describe('IdMap', () => {
  it('matches a Map under a random mix of set, delete, get and has over ids given in order, as a queue takes and settles them', () => {
    const rnd = random(18);
    // blocks from the first entry (smallMax 0): every step crosses blocks
    const map = new IdMap<number>(B, 0);
    const model = new Map<number, number>();
    let next = 1;
    for (let round = 0; round < 80; round++) {
      // a burst of new ids (publishes), then settles from anywhere (acks), sometimes all of them
      const add = Math.floor(rnd() * 3 * B);
      for (let i = 0; i < add; i++) {
        const id = next++;
        map.set(id, id * 2);
        model.set(id, id * 2);
      }
      const held = [...model.keys()];
      const drop = round % 7 === 6 ? held.length : Math.floor(rnd() * held.length);
      for (let i = 0; i < drop; i++) {
        const id = held[Math.floor(rnd() * held.length)]!;
        expect(map.delete(id)).toBe(model.delete(id));
      }
      // a compaction copy sets an id already held again
      if (held.length > 0) {
        const id = held[Math.floor(rnd() * held.length)]!;
        if (model.has(id)) {
          map.set(id, -id);
          model.set(id, -id);
        }
      }
      expect(map.size).toBe(model.size);
      for (let k = 0; k < 50; k++) {
        const id = 1 + Math.floor(rnd() * next);
        expect(map.get(id)).toBe(model.get(id));
        expect(map.has(id)).toBe(model.has(id));
      }
      expect(new Map(map)).toEqual(model);
      expect([...map.keys()].sort((a, b) => a - b)).toEqual([...model.keys()].sort((a, b) => a - b));
      expect([...map.values()].sort((a, b) => a - b)).toEqual([...model.values()].sort((a, b) => a - b));
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
  it('a queue getting one id in 5000 holds one plain Map up to SMALL_MAX, then spreads into blocks with the same entries', () => {
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
});
