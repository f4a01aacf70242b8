import { describe, expect, it } from 'vitest';
import { SortedRuns } from '../../src/core/queues/sorted-runs.js';

/** a small deterministic generator (the numbers of a run must not depend on the machine) */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
}

describe('SortedRuns', () => {
  it('gives back what was added smallest first, across runs sealed by size, late additions between takes and a peek that seals', () => {
    for (const seed of [1, 2, 3]) {
      const rnd = lcg(seed);
      const runs = new SortedRuns(64);
      const model: number[] = [];
      const taken: number[] = [];
      const expected: number[] = [];
      // 1000 added (15 full runs and a loose rest), then takes mixed with additions of a few at a time
      for (let i = 0; i < 1000; i++) {
        const n = rnd() % 100_000;
        runs.add(n);
        model.push(n);
      }
      model.sort((a, b) => a - b);
      for (let step = 0; step < 3000; step++) {
        if (rnd() % 4 === 0) {
          for (let k = rnd() % 5; k >= 0; k--) {
            const n = rnd() % 100_000;
            runs.add(n);
            model.push(n);
          }
          model.sort((a, b) => a - b);
        }
        const top = runs.peek();
        expect(top).toBe(model[0]);
        if (top === undefined) break;
        runs.take();
        taken.push(top);
        expected.push(model.shift()!);
      }
      expect(taken).toEqual(expected);
    }
  });

  it('is empty after everything is taken, and after clear()', () => {
    const runs = new SortedRuns(2);
    for (const n of [5, 1, 4, 2, 3]) runs.add(n);
    const out: number[] = [];
    for (let n = runs.peek(); n !== undefined; n = runs.peek()) {
      out.push(n);
      runs.take();
    }
    expect(out).toEqual([1, 2, 3, 4, 5]);
    runs.add(7);
    expect(runs.peek()).toBe(7);
    runs.clear();
    expect(runs.peek()).toBeUndefined();
  });
});
