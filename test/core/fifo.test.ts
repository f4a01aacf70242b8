import { describe, expect, it } from 'vitest';
import { Fifo, FIFO_BLOCK } from '../../src/core/fifo.js';

/**
 * Issue 18: the FIFO under every queue's in-memory head (and the requeue/return lists) grows
 * as a ring up to FIFO_BLOCK slots, then as fixed-size blocks added and freed at either end:
 * a deep FIFO never copies itself. Checked against a plain array across several blocks.
 */

/** a small deterministic generator (the same sequence every run) */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe('Fifo', () => {
  it('push, shift, unshift, peek and at match a plain array across many blocks, draining to empty and growing again', () => {
    const f = new Fifo<number>();
    const model: number[] = [];
    const rnd = random(18);
    let next = 0;
    let low = 0;
    const check = () => {
      expect(f.length).toBe(model.length);
      expect(f.peek()).toBe(model[0]);
      for (let i = 0; i < model.length; i += 1 + Math.floor(rnd() * 997)) expect(f.at(i)).toBe(model[i]);
      expect(f.at(model.length - 1)).toBe(model[model.length - 1]);
      expect(f.at(model.length)).toBeUndefined();
      expect(f.at(-1)).toBeUndefined();
    };
    for (let round = 0; round < 40; round++) {
      // grow by up to ~2 blocks, with requeues at the front now and then, then take up to ~1.5 blocks
      const grow = Math.floor(rnd() * 2 * FIFO_BLOCK);
      const front: number[] = [];
      for (let i = 0; i < grow; i++) {
        if (rnd() < 0.1) {
          f.unshift(--low);
          front.push(low);
        } else {
          f.push(++next);
          model.push(next);
        }
      }
      model.unshift(...front.reverse());
      check();
      const take = Math.min(model.length, Math.floor(rnd() * 1.5 * FIFO_BLOCK));
      const got: (number | undefined)[] = [];
      for (let i = 0; i < take; i++) got.push(f.shift());
      expect(got).toEqual(model.splice(0, take));
      check();
      if (round % 10 === 9) {
        expect(f.toArray()).toEqual(model);
        const rest: (number | undefined)[] = [];
        while (f.length) rest.push(f.shift());
        expect(rest).toEqual(model.splice(0));
        expect(f.shift()).toBeUndefined();
        expect(f.length).toBe(0);
      }
    }
  });

  it('unshift across block boundaries on an empty and a deep FIFO; filterInPlace and clear keep order', () => {
    const f = new Fifo<number>();
    const n = 3 * FIFO_BLOCK + 5;
    for (let i = 0; i < n; i++) f.unshift(i);
    expect(f.length).toBe(n);
    expect(f.peek()).toBe(n - 1);
    expect(f.at(n - 1)).toBe(0);
    for (let i = 0; i < n; i++) f.push(n + i);
    const removed = f.filterInPlace((x) => x % 3 !== 0);
    const all = [...Array.from({ length: n }, (_, i) => n - 1 - i), ...Array.from({ length: n }, (_, i) => n + i)];
    expect(removed).toEqual(all.filter((x) => x % 3 === 0));
    const kept = all.filter((x) => x % 3 !== 0);
    expect(f.length).toBe(kept.length);
    expect(f.at(FIFO_BLOCK + 1)).toBe(kept[FIFO_BLOCK + 1]);
    f.unshift(-1);
    expect(f.clear()).toEqual([-1, ...kept]);
    expect(f.length).toBe(0);
    // a small one stays a ring: wraps around its end
    for (let i = 0; i < 10; i++) f.push(i);
    for (let i = 0; i < 8; i++) f.shift();
    for (let i = 10; i < 20; i++) f.push(i);
    f.unshift(7);
    expect(f.toArray()).toEqual([7, 8, 9, ...Array.from({ length: 10 }, (_, i) => 10 + i)]);
  });

  it('set and removeAt, in a small ring and across blocks, keep the others in order', () => {
    for (const n of [10, 2 * FIFO_BLOCK + 7]) {
      const f = new Fifo<number>();
      const model: number[] = [];
      // wrapped around (a ring) or starting mid-block (blocks)
      for (let i = 0; i < 5; i++) f.push(-1);
      for (let i = 0; i < 5; i++) f.shift();
      for (let i = 0; i < n; i++) {
        f.push(i);
        model.push(i);
      }
      f.set(3, 300);
      model[3] = 300;
      for (const at of [0, 2, model.length - 1, Math.floor(model.length / 2)]) {
        expect(f.removeAt(at)).toBe(model.splice(at, 1)[0]);
      }
      expect(f.removeAt(model.length)).toBeUndefined();
      expect(() => f.set(model.length, 0)).toThrow(RangeError);
      expect(f.toArray()).toEqual(model);
    }
  });

  it('retain keeps the accepted items in order, in place, in a ring and across blocks; emptied, it is one ring again', () => {
    for (const n of [12, 3 * FIFO_BLOCK + 9]) {
      const f = new Fifo<number>();
      for (let i = 0; i < 7; i++) f.push(-1);
      for (let i = 0; i < 7; i++) f.shift();
      for (let i = 0; i < n; i++) f.push(i);
      f.retain((x) => x % 3 !== 1);
      const kept = Array.from({ length: n }, (_, i) => i).filter((x) => x % 3 !== 1);
      expect(f.length).toBe(kept.length);
      expect(f.toArray()).toEqual(kept);
      // still a FIFO past the cut: pushes and shifts go on
      f.push(-5);
      expect(f.shift()).toBe(0);
      expect(f.at(f.length - 1)).toBe(-5);
      f.retain(() => false);
      expect(f.length).toBe(0);
      f.push(1);
      expect(f.toArray()).toEqual([1]);
    }
  });
});
