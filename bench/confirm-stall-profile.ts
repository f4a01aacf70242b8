/**
 * What a LocalMQ broker's event loop was running during each of its long stalls in a `FRESH=1 PROFILE=1
 * bench/confirm-latency.sh` run (issue 18 part 3d): PROFILE=1 runs every fresh broker under `node --cpu-prof` beside the
 * pause log; for each stall or GC pause of at least `--min` ms (default 25) while the round's publisher ran, this prints
 * the profile's samples inside it: the functions they were in (self) and the last four frames of their stacks.
 * A stall with few samples for its length is the process not running (the CPU elsewhere), not JavaScript.
 *
 *   npx tsx bench/confirm-stall-profile.ts WORK [--min 25]
 *
 * Session 18 found this way the IdMap spread (a 27-37 ms stall ~0.45 s into every fresh flood, mended in 3dff8d7).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from './confirm-latency.js';

const work = process.argv[2];
if (!work) throw new Error('usage: confirm-stall-profile.ts WORK [--min MS]');
const minAt = process.argv.indexOf('--min');
const minMs = minAt > 0 ? Number(process.argv[minAt + 1]) : 25;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}
type Pause = [at: number, what: string, ms: number, detail?: number | string];

// the profile's clock is CLOCK_MONOTONIC in µs; confirm-latency.sh writes epoch ns - monotonic ns
const offsetMs = Number(BigInt(readFileSync(join(work, 'trace', 'mono-offset-ns'), 'utf8').trim()) / 1000n) / 1000;
const f = (x: number) => x.toFixed(1);
const frame = (n: ProfileNode) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${n.callFrame.lineNumber}`;

const rows = readFileSync(join(work, 'results.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim().startsWith('{'))
  .map((l) => JSON.parse(l) as Result & { round: number; fresh?: boolean })
  .filter((r) => r.fresh && r.label !== 'rabbitmq-3.10');

for (const r of rows) {
  const protocol = r.protocol.split(' ')[0]!.toLowerCase();
  const dir = join(work, r.label === 'localmq' ? 'lmq' : 'before', `r${r.round}-${protocol}`);
  // the main thread's profile: thread id 0 in Node's file name (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile)
  const file = existsSync(dir) ? readdirSync(dir).find((n) => /\.0\.\d+\.cpuprofile$/.test(n)) : undefined;
  if (!file || !existsSync(join(dir, 'pauses.jsonl'))) continue;
  const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  let t = p.startTime;
  const at = p.timeDeltas.map((d) => (t += d) / 1000 + offsetMs);
  const end = r.startEpochMs + r.seconds * 1000;
  const pauses = readFileSync(join(dir, 'pauses.jsonl'), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => JSON.parse(l) as Pause)
    .filter(([from, , ms]) => ms >= minMs && from + ms > r.startEpochMs && from < end);
  console.log(`\n== ${r.label} ${r.protocol} round ${r.round}: longest gap ${f(r.maxGapMs)} ms at ${f(r.maxGapAtMs)}; ${pauses.length} pause(s) of ${minMs} ms or more`);
  for (const [from, what, ms, detail] of pauses) {
    const self = new Map<string, number>();
    const tails = new Map<string, number>();
    let n = 0;
    for (let i = 0; i < at.length; i++) {
      if (at[i]! < from - 2 || at[i]! > from + ms) continue;
      n++;
      const leaf = byId.get(p.samples[i]!)!;
      self.set(frame(leaf), (self.get(frame(leaf)) ?? 0) + 1);
      const stack: ProfileNode[] = [];
      for (let id: number | undefined = leaf.id; id !== undefined; id = parent.get(id)) stack.unshift(byId.get(id)!);
      const tail = stack.filter((s) => s.callFrame.url).slice(-4).map(frame).join(' < ');
      tails.set(tail, (tails.get(tail) ?? 0) + 1);
    }
    console.log(`  ${what}${detail === undefined ? '' : ` ${detail}`} ${f(ms)} ms at ${f(from - r.startEpochMs)} ms from the first publish: ${n} samples`);
    for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`    self ${String(v).padStart(4)}  ${k}`);
    for (const [k, v] of [...tails].sort((a, b) => b[1] - a[1]).slice(0, 3)) console.log(`    stack ${String(v).padStart(3)}  ${k}`);
  }
}
