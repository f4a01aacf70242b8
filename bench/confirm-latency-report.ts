/**
 * The report of bench/confirm-latency.sh: per protocol and round, LocalMQ's p50/p99/max, RabbitMQ's p99 in
 * the same round and the ratio, the longest gap without a confirm, and for every gap over 100 ms what
 * overlapped it on the disk: the syncs of each bench/fsync-probe.ts run beside it. Then the medians over
 * the rounds, as before.
 *
 *   npx tsx bench/confirm-latency-report.ts results.jsonl [probe-append.jsonl probe-overwrite.jsonl ...]
 *
 * A gap is put down to the disk only when the slow probe syncs (those the probe logs, over 20 ms) cover
 * all of it but less than 100 ms: the stretch left over is what no disk stall explains, and the goal is
 * no 100 ms without a confirm. Which probe covers it says what was slow:
 * - DEVICE: the overwrite probe's syncs cover it (a sync with no allocation to make durable was slow:
 *   the device, or the host behind it);
 * - FS-COMMIT: only the append probe's do (syncs that make a block allocation durable were slow, the
 *   others were not: with an ext4 journal its commits; on this VM's journal-less ext4 the synchronous
 *   writes of the block bitmap and extent blocks, see fsync-probe.ts. LocalMQ's overwrites make no
 *   allocation: such a gap is not explained by what our syncs do, and TRACE=1 with
 *   bench/confirm-gap-trace.ts shows what they waited on);
 * - OURS: neither covers it.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Result } from './confirm-latency.js';

/** a gap is the disk's when slow probe syncs cover all of it but less than this */
const UNEXPLAINED_MS = 100;

/**
 * a line of the results file: confirm-latency.ts's Result and the round confirm-latency.sh adds;
 * gapsOver100 is missing in results written before session 14 (their longest gap stands in for it)
 */
type Row = Omit<Result, 'gapsOver100'> & {
  round: number;
  gapsOver100?: Result['gapsOver100'];
  fresh?: boolean;
  /** FRESH rounds: what the broker process wrote to the device during the round (/proc/<pid>/io write_bytes) */
  brokerWriteBytes?: number;
};

interface ProbeSync {
  probe: string;
  at: number;
  ms: number;
}

const lines = (path: string): unknown[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l.trim().startsWith('{'))
        .map((l) => JSON.parse(l) as unknown)
    : [];

const [resultsPath, ...probePaths] = process.argv.slice(2);
if (!resultsPath) throw new Error('usage: confirm-latency-report.ts results.jsonl [probe.jsonl ...]');
const rows = lines(resultsPath) as Row[];
const probeLines = probePaths.flatMap((p) => lines(p)) as (ProbeSync & { summary?: boolean })[];
const syncs = probeLines.filter((s) => !s.summary);
const probeModes = [...new Set(probeLines.map((s) => s.probe))];

/** ms of [from, to] (epoch ms) covered by the union of the given modes' slow syncs, and the slowest of them */
function coverage(from: number, to: number, modes: string[]): { covered: number; slowest: number } {
  const spans = syncs
    .filter((s) => modes.includes(s.probe) && s.at < to && s.at + s.ms > from)
    .map((s) => [Math.max(from, s.at), Math.min(to, s.at + s.ms), s.ms] as const)
    .sort((a, b) => a[0] - b[0]);
  let covered = 0;
  let end = from;
  let slowest = 0;
  for (const [a, b, ms] of spans) {
    slowest = Math.max(slowest, ms);
    if (b <= end) continue;
    covered += b - Math.max(a, end);
    end = b;
  }
  return { covered, slowest };
}

/** DEVICE / FS-COMMIT / OURS (see the head comment), with what each probe covered */
function attribution(row: Row, atMs: number, ms: number): { verdict: string; text: string } {
  if (probeModes.length === 0) return { verdict: 'NO-PROBE', text: 'no probe ran' };
  const from = row.startEpochMs + atMs;
  const to = from + ms;
  const device = coverage(from, to, ['overwrite']);
  const all = coverage(from, to, probeModes);
  const verdict = ms - device.covered < UNEXPLAINED_MS ? 'DEVICE' : ms - all.covered < UNEXPLAINED_MS ? 'FS-COMMIT' : 'OURS';
  const parts = probeModes.map((m) => {
    const c = coverage(from, to, [m]);
    return `${m} ${c.covered.toFixed(0)} ms covered (slowest ${c.slowest ? c.slowest.toFixed(1) : '<20'})`;
  });
  return { verdict, text: `${verdict}: ${parts.join(', ')}; unexplained ${(ms - all.covered).toFixed(0)} ms` };
}

const f = (x: number, d = 1) => x.toFixed(d);
const rounds = [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b);
const protocols = [...new Set(rows.map((r) => r.protocol))];
const labels = [...new Set(rows.map((r) => r.label))].filter((l) => l !== 'rabbitmq-3.10');
/** per LocalMQ build (localmq, localmq-before): protocol-rounds, ratio goal met, gaps over 100 ms by verdict */
const tallies = new Map(labels.map((l) => [l, { over100: 0, DEVICE: 0, 'FS-COMMIT': 0, OURS: 0, 'NO-PROBE': 0, protocolRounds: 0, ratioMet: 0, roundsWithGap: 0 } as Record<string, number>]));

if (rows.some((r) => r.fresh)) console.log('FRESH: each LocalMQ protocol-round ran on a broker of its own, started on a new data dir for it (its first round)');
console.log('per protocol-round (ratio = p99 / RabbitMQ 3.10.8 p99 in the same round; goal <= 0.5, no gap > 100 ms)');
console.log('protocol        broker          round  p50 ms  p99 ms  max ms  rabbit p99  ratio  longest gap ms (at)  gaps > 100 ms: what overlapped');
for (const p of protocols)
  for (const label of labels)
    for (const round of rounds) {
      const r = rows.find((x) => x.protocol === p && x.label === label && x.round === round);
      if (!r) continue;
      const q = rows.find((x) => x.protocol === p && x.label === 'rabbitmq-3.10' && x.round === round);
      const ratio = q ? r.p99Ms / q.p99Ms : NaN;
      const gaps = r.gapsOver100 ?? (r.maxGapMs > 100 ? [[r.maxGapAtMs, r.maxGapMs] as [number, number]] : []);
      const found = gaps.map(([at, ms]) => ({ at, ms, ...attribution(r, at, ms) }));
      const notes = found.map((g) => `${f(g.ms)} ms at ${f(g.at, 0)}: ${g.text}`);
      if (r.brokerWriteBytes !== undefined) notes.unshift(`broker wrote ${f(r.brokerWriteBytes / 1048576)} MiB`);
      const tally = tallies.get(label)!;
      tally.protocolRounds!++;
      if (ratio <= 0.5) tally.ratioMet!++;
      if (found.length) tally.roundsWithGap!++;
      for (const g of found) {
        tally.over100!++;
        tally[g.verdict]!++;
      }
      console.log(
        `${p.padEnd(16)}${label.padEnd(16)}${String(round).padStart(5)}  ${f(r.p50Ms).padStart(6)}  ${f(r.p99Ms).padStart(6)}  ${f(r.maxMs).padStart(6)}  ${q ? f(q.p99Ms).padStart(10) : '         -'}  ${Number.isNaN(ratio) ? '    -' : f(ratio, 3)}  ${`${f(r.maxGapMs)} (${f(r.maxGapAtMs, 0)})`.padEnd(19)}  ${notes.join('; ') || '-'}`,
      );
    }
for (const [label, tally] of tallies)
  console.log(
    `${label}: ${rows.some((r) => r.label === 'rabbitmq-3.10') ? `p99 <= 0.5 x RabbitMQ's in ${tally.ratioMet} of` : 'no RabbitMQ in this run,'} ${tally.protocolRounds} protocol-rounds; protocol-rounds with a gap over 100 ms: ${tally.roundsWithGap}; gaps over 100 ms: ${tally.over100} ` +
      `(DEVICE ${tally.DEVICE}, FS-COMMIT ${tally['FS-COMMIT']}, OURS ${tally.OURS}${tally['NO-PROBE'] ? `, no probe ${tally['NO-PROBE']}` : ''}; ` +
      `a gap is DEVICE / FS-COMMIT when the overwrite / any probe's slow syncs leave < ${UNEXPLAINED_MS} ms of it unexplained)`,
  );
for (const s of probeLines.filter((x) => x.summary)) console.log(`probe ${JSON.stringify(s)}`);

// the medians over the rounds (the table earlier sessions recorded)
const med = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
console.log('\nprotocol        broker          p50 ms   p99 ms (min..max)      max ms   max gap ms  empty 100ms windows');
for (const p of protocols)
  for (const b of ['localmq', 'localmq-before', 'rabbitmq-3.10']) {
    const rs = rows.filter((r) => r.protocol === p && r.label === b);
    if (!rs.length) continue;
    const p99 = rs.map((r) => r.p99Ms);
    console.log(
      `${p.padEnd(16)}${b.padEnd(16)}${f(med(rs.map((r) => r.p50Ms))).padStart(7)}  ${f(med(p99)).padStart(7)} (${f(Math.min(...p99), 0)}..${f(Math.max(...p99), 0)})`.padEnd(60) +
        `${f(med(rs.map((r) => r.maxMs)), 0).padStart(7)}  ${f(Math.max(...rs.map((r) => r.maxGapMs)), 0).padStart(10)}  ${rs.map((r) => r.emptyWindows).join(',')}`,
    );
  }
for (const p of protocols) {
  const l = med(rows.filter((r) => r.protocol === p && r.label === 'localmq').map((r) => r.p99Ms));
  const rabbit = rows.filter((r) => r.protocol === p && r.label === 'rabbitmq-3.10');
  // RABBITMQ=0 runs: no ratio to give
  if (!rabbit.length) continue;
  const q = med(rabbit.map((r) => r.p99Ms));
  console.log(`${p}: LocalMQ p99 / RabbitMQ p99 = ${f(l / q, 2)} (goal <= 0.5)`);
}
