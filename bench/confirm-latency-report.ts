/**
 * The report of bench/confirm-latency.sh: per protocol and round, LocalMQ's p50/p99/max, RabbitMQ's p99 in
 * the same round and the ratio, the longest gap without a confirm, and for every gap over 100 ms what
 * overlapped it on the disk: the slowest sync of each bench/fsync-probe.ts run beside it. Then the medians
 * over the rounds, as before.
 *
 *   npx tsx bench/confirm-latency-report.ts results.jsonl [probe-append.jsonl probe-overwrite.jsonl ...]
 *
 * A gap is put down to the disk when a probe sync of at least DISK_MS overlaps it (the disk held a
 * sync of a file nothing else writes that long, so it would have held ours); otherwise it is ours.
 */
import { existsSync, readFileSync } from 'node:fs';

/** a probe sync at least this long overlapping a gap makes the gap the disk's */
const DISK_MS = 50;

interface Row {
  round: number;
  label: string;
  protocol: string;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  maxGapMs: number;
  maxGapAtMs: number;
  emptyWindows: number;
  gapsOver100?: [number, number][];
  startEpochMs: number;
}

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

/** the slowest sync of each probe mode overlapping [from, to] (epoch ms) */
function overlapping(from: number, to: number): Map<string, ProbeSync> {
  const worst = new Map<string, ProbeSync>();
  for (const s of syncs) {
    if (s.at >= to || s.at + s.ms <= from) continue;
    const w = worst.get(s.probe);
    if (!w || s.ms > w.ms) worst.set(s.probe, s);
  }
  return worst;
}

function attribution(row: Row, atMs: number, ms: number): string {
  if (probeModes.length === 0) return 'no probe ran';
  const from = row.startEpochMs + atMs;
  const worst = overlapping(from, from + ms);
  const parts = probeModes.map((m) => `${m} ${worst.get(m)?.ms.toFixed(1) ?? '<20'} ms`);
  const disk = [...worst.values()].some((s) => s.ms >= DISK_MS);
  return `${disk ? 'DISK' : 'OURS'} (slowest overlapping probe sync: ${parts.join(', ')})`;
}

const f = (x: number, d = 1) => x.toFixed(d);
const rounds = [...new Set(rows.map((r) => r.round))].sort((a, b) => a - b);
const protocols = [...new Set(rows.map((r) => r.protocol))];
const labels = [...new Set(rows.map((r) => r.label))].filter((l) => l !== 'rabbitmq-3.10');
const tally = { over100: 0, disk: 0, ours: 0, protocolRounds: 0, ratioMet: 0 };

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
      const notes = gaps.map(([at, ms]) => `${f(ms)} ms at ${f(at, 0)}: ${attribution(r, at, ms)}`);
      if (label === 'localmq') {
        tally.protocolRounds++;
        if (ratio <= 0.5) tally.ratioMet++;
        for (const n of notes) {
          tally.over100++;
          if (n.includes('DISK')) tally.disk++;
          else tally.ours++;
        }
      }
      console.log(
        `${p.padEnd(16)}${label.padEnd(16)}${String(round).padStart(5)}  ${f(r.p50Ms).padStart(6)}  ${f(r.p99Ms).padStart(6)}  ${f(r.maxMs).padStart(6)}  ${q ? f(q.p99Ms).padStart(10) : '         -'}  ${Number.isNaN(ratio) ? '    -' : f(ratio, 3)}  ${`${f(r.maxGapMs)} (${f(r.maxGapAtMs, 0)})`.padEnd(19)}  ${notes.join('; ') || '-'}`,
      );
    }
console.log(
  `localmq: p99 <= 0.5 x RabbitMQ's in ${tally.ratioMet} of ${tally.protocolRounds} protocol-rounds; gaps over 100 ms: ${tally.over100} (disk ${tally.disk}, ours ${tally.ours}; disk = a probe sync >= ${DISK_MS} ms overlaps it)`,
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
  const q = med(rows.filter((r) => r.protocol === p && r.label === 'rabbitmq-3.10').map((r) => r.p99Ms));
  console.log(`${p}: LocalMQ p99 / RabbitMQ p99 = ${f(l / q, 2)} (goal <= 0.5)`);
}
