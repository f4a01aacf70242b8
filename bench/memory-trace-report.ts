/**
 * What a flood's RSS is made of, from the runs of `bench/memory-goals.ts --steps flood --flood-trace DIR`
 * (their result lines, which memory-goals prints to stderr, and the broker's bench/lib/memory-trace.mjs samples):
 *   npx tsx bench/memory-trace-report.ts <memory-goals stderr log>...
 * Per run, process.memoryUsage() at the flood's start, at the last sample before the management API showed the
 * alarm, and at the highest RSS: heap (V8's committed heap: new space, old space, large objects, the rest), external
 * (array buffers: socket reads, bodies), and the rest of RSS (native: code, malloc'd memory of node and V8 outside
 * the heap, thread stacks). Then the rise from the alarm to the peak (what overshoots the watermark), split the same
 * way, with the GCs in it; and every RSS rise of 2 MiB or more within 100 ms (the steps), split the same way.
 */
import { readFileSync } from 'node:fs';

type Sample = { at: number; rss: number; heap: number; used: number; external: number; buffers: number; newSpace: number; oldSpace: number; large: number };
type Gc = { at: number; kind: number; ms: number };
const MiB = 1024 * 1024;
const f = (bytes: number) => (bytes / MiB).toFixed(1);
const KINDS: Record<number, string> = { 1: 'scavenge', 2: 'minor-mc', 4: 'mark-compact', 8: 'incremental', 16: 'weak-cb' };

function load(trace: string): { samples: Sample[]; gcs: Gc[] } {
  const samples: Sample[] = [];
  const gcs: Gc[] = [];
  for (const line of readFileSync(`${trace}.mem`, 'utf8').split('\n')) {
    const p = line.split(' ');
    if (p[0] === 'm') {
      const [at, rss, heap, used, external, buffers, newSpace, oldSpace, large] = p.slice(1).map(Number) as number[];
      samples.push({ at: at!, rss: rss!, heap: heap!, used: used!, external: external!, buffers: buffers!, newSpace: newSpace!, oldSpace: oldSpace!, large: large! });
    } else if (p[0] === 'g') gcs.push({ at: Number(p[1]), kind: Number(p[2]), ms: Number(p[3]) });
  }
  return { samples, gcs };
}

/** one sample's make-up: rss = heap + external + native */
const parts = (s: Sample) => `rss ${f(s.rss)} = heap ${f(s.heap)} (new ${f(s.newSpace)}, old ${f(s.oldSpace)}, large ${f(s.large)}; used ${f(s.used)}) + external ${f(s.external)} (array buffers ${f(s.buffers)}) + native ${f(s.rss - s.heap - s.external)}`;
const delta = (a: Sample, b: Sample) =>
  `rss ${sign(b.rss - a.rss)} = heap ${sign(b.heap - a.heap)} (new ${sign(b.newSpace - a.newSpace)}, old ${sign(b.oldSpace - a.oldSpace)}, large ${sign(b.large - a.large)}; used ${sign(b.used - a.used)}) + external ${sign(b.external - a.external)} + native ${sign(b.rss - b.heap - b.external - (a.rss - a.heap - a.external))}`;
const sign = (bytes: number) => (bytes >= 0 ? '+' : '') + f(bytes);
const gcsIn = (gcs: Gc[], from: number, to: number) => {
  const inside = gcs.filter((g) => g.at >= from && g.at <= to);
  const by = new Map<string, [number, number]>();
  for (const g of inside) {
    const k = KINDS[g.kind] ?? String(g.kind);
    const [n, ms] = by.get(k) ?? [0, 0];
    by.set(k, [n + 1, ms + g.ms]);
  }
  return [...by].map(([k, [n, ms]]) => `${n} ${k} ${ms.toFixed(0)} ms`).join(', ') || 'no GC';
};

for (const log of process.argv.slice(2)) {
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line.startsWith('{"protocol"')) continue;
    const run = JSON.parse(line) as { protocol: string; trace?: string; startedEpoch?: number; alarmAt?: { ms: number }; maxRssMiB: number; watermarkMiB: number };
    if (!run.trace) continue;
    const { samples, gcs } = load(run.trace);
    const start = samples.find((s) => s.at >= run.startedEpoch!) ?? samples[0]!;
    const peak = samples.reduce((m, s) => (s.rss > m.rss ? s : m), samples[0]!);
    const alarmEpoch = run.alarmAt ? run.startedEpoch! + run.alarmAt.ms : undefined;
    const beforeAlarm = alarmEpoch === undefined ? undefined : samples.filter((s) => s.at <= alarmEpoch).at(-1);
    console.log(`## ${run.trace} (${run.protocol}, watermark ${run.watermarkMiB} MiB, highest RSS the bench read ${run.maxRssMiB} MiB)`);
    console.log(`  start: ${parts(start)}`);
    if (beforeAlarm) console.log(`  alarm: ${parts(beforeAlarm)}  (last sample before the API showed it, +${((beforeAlarm.at - start.at) / 1000).toFixed(1)} s)`);
    console.log(`  peak:  ${parts(peak)}  (+${((peak.at - start.at) / 1000).toFixed(1)} s)`);
    if (beforeAlarm && peak.at > beforeAlarm.at) console.log(`  alarm -> peak: ${delta(beforeAlarm, peak)}; ${gcsIn(gcs, beforeAlarm.at, peak.at)}`);
    // steps: a rise of 2 MiB or more within 100 ms
    for (let i = 0; i < samples.length; i++) {
      const a = samples[i]!;
      if (a.at < start.at) continue;
      let j = i;
      while (j + 1 < samples.length && samples[j + 1]!.at <= a.at + 100) j++;
      const b = samples[j]!;
      if (b.rss - a.rss >= 2 * MiB) {
        console.log(`  step +${((a.at - start.at) / 1000).toFixed(2)}..${((b.at - start.at) / 1000).toFixed(2)} s: ${delta(a, b)}; ${gcsIn(gcs, a.at, b.at)}`);
        i = j;
      }
    }
  }
}
