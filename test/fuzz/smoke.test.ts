import { describe, expect, it } from 'vitest';
import { runTarget } from '../../bench/fuzz/harness.js';
import { fuzzSockets } from '../../bench/fuzz/socket.js';
import { TARGETS } from '../../bench/fuzz/targets/index.js';

/**
 * The fuzzers' smoke run (issue 18): ~10k seeded inputs per decoder, the same every run,
 * each of them required to end in the decoder's own error or none, within bounded time and
 * without an allocation past the declared limit; then a sample through a broker's sockets.
 * The million-input runs are `npx tsx bench/fuzz/run.ts` (bench/README.md).
 */
const SEED = 18;
const INPUTS = 10_000;

describe('decoder fuzzing, smoke run (fixed seed)', () => {
  for (const target of Object.values(TARGETS)) {
    it(`${target.name}: ${INPUTS} mutated frames, no crash, no hang, nothing allocated past the limit`, () => {
      // shrink: a failure throws fast-check's report with the smallest failing input and the seed
      const r = runTarget(target, { inputs: INPUTS, seed: SEED, corpusSize: 300, shrink: true, slowMs: 5000 });
      expect(r.inputs).toBe(INPUTS);
      expect(r.failures).toEqual([]);
    });
  }

  it("a sample through the real connection layer: every protocol keeps serving, no internal error logged, another client's messages all delivered", async () => {
    const { rows, errors } = await fuzzSockets({ inputsPerProtocol: 60, seed: SEED, quietMs: 50 });
    expect(errors).toEqual([]);
    expect(rows.map((r) => [r.protocol, r.inputs, r.serving])).toEqual(Object.keys(TARGETS).map((p) => [p, 60, true]));
    // the well-behaved client beside each protocol's inputs: at least its first message (confirmed before the inputs begin)
    for (const r of rows) {
      expect(r.bystander.confirmed, r.protocol).toBeGreaterThan(0);
      expect([r.protocol, r.bystander.lost, r.bystander.duplicates, r.bystander.errors]).toEqual([r.protocol, 0, 0, []]);
    }
  });
});
