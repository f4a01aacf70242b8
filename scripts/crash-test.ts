/**
 * The crash test, many times: a broker in a child process takes persistent publishes
 * with confirms (and a consumer's acks) until SIGKILL at a random moment; a new broker
 * on the same data dir must hold every confirmed message, none twice, no durably acked
 * one again, in publish order.
 *
 *   npx tsx scripts/crash-test.ts [--runs 100] [--min-ms 50] [--max-ms 1500] [--body 64] [--seed N]
 *
 * Odd runs use the default 16 MiB segments; even runs 256 KiB ones, so the child rolls
 * segments and compacts acked ones while it is being killed.
 *
 * Exits 1 if any run failed.
 */
import { crashRound, crashRoundFailed } from '../test/helpers/crash-round.js';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const runs = flag('--runs', 100);
const minMs = flag('--min-ms', 50);
const maxMs = flag('--max-ms', 1500);
const bodySize = flag('--body', 64);
let seed = flag('--seed', Date.now() % 2 ** 31);
const firstSeed = seed;

// a small seeded PRNG so a failing run's kill time can be replayed
function random(): number {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed / 2 ** 31;
}

let failed = 0;
let confirmed = 0;
let recovered = 0;
const started = Date.now();
for (let run = 1; run <= runs; run++) {
  const killAfterMs = Math.round(minMs + random() * (maxMs - minMs));
  let line: string;
  try {
    const segmentSize = run % 2 === 0 ? 256 * 1024 : undefined;
    const r = await crashRound({ killAfterMs, bodySize, segmentSize });
    confirmed += r.confirmed;
    recovered += r.recovered;
    const problem = crashRoundFailed(r);
    if (problem) failed++;
    line =
      `run ${run}/${runs} kill@${killAfterMs}ms${segmentSize ? ' small-segments' : ''} published ${r.published} confirmed ${r.confirmed} ` +
      `acked ${r.durablyAcked}+${r.ackedInDoubt} in doubt, held ${r.heldUnacked} (${r.heldDurably} durably) recovered ${r.recovered} ` +
      `(redelivered ${r.recoveredRedelivered}) ${problem ? `FAIL: ${problem}` : 'ok'}`;
    if (problem) for (const l of r.recoveryLog) line += `\n    ${l}`;
  } catch (err) {
    failed++;
    line = `run ${run}/${runs} kill@${killAfterMs}ms ERROR: ${(err as Error).stack ?? String(err)}`;
  }
  console.log(line);
}
console.log(
  `\n${runs - failed}/${runs} runs passed (seed ${firstSeed}); ${confirmed} confirmed messages checked, ` +
    `${recovered} recovered; ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
process.exit(failed ? 1 : 0);
