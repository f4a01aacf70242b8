/**
 * What the kernel did during each confirm gap of a `TRACE=1 bench/confirm-latency.sh` run (issue 18 part 3):
 * for every LocalMQ gap over `--over` ms (default 100), the broker's file syscalls that overlapped it (from its
 * strace: thread, start relative to the gap, duration) and every uninterruptible sleep on the machine that began in
 * it (from `perf record` of sched_switch with prev_state D, of the broker, ext4's jbd2 threads and the fsync probes:
 * who slept, and the kernel functions it slept in).
 * A gap the fsync probes cannot explain, or one they put down to ext4's journal (FS-COMMIT), is then named: which
 * call of ours stalled (the inline pwrite in the event loop, an fdatasync on the thread pool, a rename, ...) and
 * on what (a jbd2 commit, a handle waiting for one, the block device).
 *
 *   npx tsx bench/confirm-gap-trace.ts WORK [--over 100]
 *
 * Also the broker's own GC pauses and event-loop stalls (bench/lib/broker-pauses.ts): a main thread that made no call
 * and did not sleep in the kernel was running JavaScript, collecting garbage, or waiting for a CPU.
 *
 * WORK is the run's WORK directory: results.jsonl, the brokers' strace.txt, perf.txt and pauses.jsonl (FRESH: in
 * <lmq|before>/r<round>-<protocol>/; else strace.txt in lmq/ and before/, perf.txt in trace/), trace/mono-offset-ns
 * (all written by confirm-latency.sh) and probe/pids.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Result } from './confirm-latency.js';

const work = process.argv[2];
if (!work) throw new Error('usage: confirm-gap-trace.ts WORK [--over MS]');
const overAt = process.argv.indexOf('--over');
const overMs = overAt > 0 ? Number(process.argv[overAt + 1]) : 100;

type Row = Result & { round: number; fresh?: boolean };

interface Call {
  tid: number;
  /** epoch ms when it was entered, and how long it took */
  at: number;
  ms: number;
  text: string;
}

interface Sleep {
  comm: string;
  pid: number;
  tid: number;
  /** epoch ms */
  at: number;
  /** kernel functions, innermost first, scheduler frames left out */
  stack: string[];
}

const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');

/** epoch ms of a strace -tt time of day (local time), on the day of `near` */
function epochOf(timeOfDay: string, near: number): number {
  const [h, m, s] = timeOfDay.split(':');
  const day = new Date(near);
  day.setHours(Number(h), Number(m), 0, 0);
  const t = day.getTime() + Number(s) * 1000;
  // a round that crossed midnight
  return t - near > 12 * 3600e3 ? t - 86400e3 : near - t > 12 * 3600e3 ? t + 86400e3 : t;
}

/** strace -f -tt -T lines: complete calls, and `<unfinished ...>` / `<... resumed>` pairs joined */
function straceCalls(path: string, near: number): Call[] {
  const calls: Call[] = [];
  const open = new Map<number, { at: number; text: string }>();
  for (const line of read(path).split('\n')) {
    const m = /^(\d+)\s+(\d\d:\d\d:\d\d\.\d+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const tid = Number(m[1]);
    const t = epochOf(m[2]!, near);
    const rest = m[3]!;
    if (rest.endsWith('<unfinished ...>')) {
      open.set(tid, { at: t, text: rest.replace(/\s*<unfinished \.\.\.>$/, '') });
      continue;
    }
    const dur = /<(\d+\.\d+)>$/.exec(rest);
    if (!dur) continue;
    const ms = Number(dur[1]) * 1000;
    if (rest.startsWith('<...')) {
      const began = open.get(tid);
      open.delete(tid);
      const result = rest.replace(/^<\.\.\. \w+ resumed>/, '');
      calls.push({ tid, at: t - ms, ms, text: `${began?.text ?? rest.slice(0, 40)}${result}` });
    } else calls.push({ tid, at: t, ms, text: rest });
  }
  return calls;
}

/** perf script -F comm,pid,tid,time,trace,ip,sym --ns of sched_switch (prev_state D) records */
function perfSleeps(path: string, offsetNs: bigint): Sleep[] {
  const sleeps: Sleep[] = [];
  let cur: Sleep | undefined;
  for (const line of read(path).split('\n')) {
    const head = /^\s*(.+?)\s+(\d+)\/(\d+)\s+(\d+)\.(\d+):/.exec(line);
    if (head && !line.startsWith('\t')) {
      const ns = BigInt(head[4]!) * 1_000_000_000n + BigInt(head[5]!.padEnd(9, '0'));
      cur = { comm: head[1]!, pid: Number(head[2]), tid: Number(head[3]), at: Number((ns + offsetNs) / 1000n) / 1000, stack: [] };
      sleeps.push(cur);
      continue;
    }
    const frame = /^\s+ffffffff[0-9a-f]+\s+(\S+)/.exec(line);
    if (frame && cur && !/^(__schedule|schedule|schedule_timeout|io_schedule|io_schedule_timeout|schedule_preempt_disabled)$/.test(frame[1]!)) cur.stack.push(frame[1]!);
  }
  return sleeps;
}

const rows = read(join(work, 'results.jsonl'))
  .split('\n')
  .filter((l) => l.trim().startsWith('{'))
  .map((l) => JSON.parse(l) as Row);
const offsetText = read(join(work, 'trace', 'mono-offset-ns')).trim();
const offsetNs = offsetText ? BigInt(offsetText) : undefined;
/** the sleeps recorded over the whole run (without FRESH), read once */
const runSleeps = offsetNs === undefined ? [] : perfSleeps(join(work, 'trace', 'perf.txt'), offsetNs);
const probeOf = new Map(
  read(join(work, 'probe', 'pids'))
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pid, mode] = l.split(' ');
      return [Number(pid), `probe-${mode}`] as const;
    }),
);
const f = (x: number) => x.toFixed(1);

/**
 * What an fdatasync's time went to, by the kernel function its thread slept in: the data pages' writeback, the
 * file's metadata buffers (its inode-table block: the mtime every write changes; bitmaps and extent blocks when it
 * allocated), the device's cache flush, or anything else. A sleep lasts until the thread's next sleep or the call's end.
 */
type Phase = 'data' | 'metadata' | 'flush' | 'other';
const phaseOf = (stack: string[]): Phase =>
  stack.includes('blkdev_issue_flush')
    ? 'flush'
    : stack.some((fn) => /write_inode|fsync_buffers_list|sync_dirty_buffer|lock_buffer/.test(fn))
      ? 'metadata'
      : stack.some((fn) => /writeback|fdatawait/.test(fn))
        ? 'data'
        : 'other';
const phaseMs: Record<Phase, number[]> = { data: [], metadata: [], flush: [], other: [] };
let syncsSeen = 0;

type Pause = [at: number, what: string, ms: number, detail?: number | string];
/** a broker's GC pauses and event-loop stalls over 10 ms (bench/lib/broker-pauses.ts), if it was logged */
const pausesOf = (dir: string): Pause[] =>
  read(join(dir, 'pauses.jsonl'))
    .split('\n')
    .filter((l) => l.startsWith('['))
    .map((l) => JSON.parse(l) as Pause);
/** per protocol-round, the broker's pauses of at least PAUSE_MS while its publisher ran (listed after the gaps) */
const PAUSE_MS = 30;
const roundPauses: string[] = [];

function notePhases(calls: Call[], sleeps: Sleep[], brokerPid: number): void {
  for (const c of calls) {
    if (!c.text.startsWith('fdatasync')) continue;
    syncsSeen++;
    const inCall = sleeps.filter((s) => s.pid === brokerPid && s.tid === c.tid && s.at >= c.at && s.at <= c.at + c.ms);
    const sum: Record<Phase, number> = { data: 0, metadata: 0, flush: 0, other: 0 };
    for (const [i, s] of inCall.entries()) sum[phaseOf(s.stack)] += (inCall[i + 1]?.at ?? c.at + c.ms) - s.at;
    for (const p of Object.keys(sum) as Phase[]) if (sum[p] > 0) phaseMs[p].push(sum[p]);
  }
}

for (const r of rows) {
  if (r.label === 'rabbitmq-3.10') continue;
  const who = r.label === 'localmq' ? 'lmq' : 'before';
  const protocol = r.protocol.split(' ')[0]!.toLowerCase();
  const dir = r.fresh ? join(work, who, `r${r.round}-${protocol}`) : join(work, who);
  const calls = straceCalls(join(dir, 'strace.txt'), r.startEpochMs);
  const sleeps = r.fresh && offsetNs !== undefined ? perfSleeps(join(dir, 'perf.txt'), offsetNs) : runSleeps;
  const brokerPid = Number(read(join(dir, 'out.log')).match(/is running, pid (\d+)/)?.[1] ?? 0);
  // without FRESH one broker serves every round: its syncs are counted once, with the last row
  if (r.fresh || r === rows.filter((x) => x.label === r.label).at(-1)) notePhases(calls, sleeps, brokerPid);
  const logged = pausesOf(dir);
  if (logged.length) {
    // from the first publish (the gap clock's 0) to the last confirm: pauses before it (module loading at the first
    // connections, start-up) cannot hold a confirm back
    const end = r.startEpochMs + r.seconds * 1000;
    const long = logged.filter(([at, , ms]) => ms >= PAUSE_MS && at + ms > r.startEpochMs && at < end);
    const text = long.map(([at, what, ms, detail]) => `${what}${detail === undefined ? '' : ` ${detail}`} ${f(ms)} ms at ${f(at - r.startEpochMs)}`);
    roundPauses.push(`  ${r.label} ${protocol} r${r.round}: ${text.length ? text.join(', ') : 'none'} (longest gap ${f(r.maxGapMs)} ms at ${f(r.maxGapAtMs)})`);
  }
  const gaps = r.gapsOver100.filter(([, ms]) => ms > overMs);
  if (r.maxGapMs > overMs && !gaps.some(([at]) => at === r.maxGapAtMs)) gaps.push([r.maxGapAtMs, r.maxGapMs]);
  for (const [atMs, ms] of gaps) {
    const from = r.startEpochMs + atMs;
    const to = from + ms;
    console.log(`\n== ${r.label} ${r.protocol} round ${r.round}: gap ${f(ms)} ms at ${f(atMs)} ms (${new Date(from).toISOString()})${calls.length ? '' : ' - no strace'}`);
    // the calls under way at any time in [from - 20, to], and the slow ones before (what the gap may wait behind)
    const near = calls.filter((c) => c.at < to && c.at + c.ms > from - 20);
    for (const c of near)
      console.log(
        `  ${c.tid === brokerPid ? 'main' : `t${c.tid}`}  ${(c.at - from >= 0 ? '+' : '') + f(c.at - from)} ms  ${f(c.ms).padStart(7)} ms  ${c.text.slice(0, 110)}`,
      );
    // the broker's sleeps, each with how long it lasted at most: until the same thread's next sleep, or the end of
    // the traced call it slept in (an fdatasync's phases: its data, the inode's block, the device's cache flush)
    const brokerSleeps = sleeps.filter((s) => s.pid === brokerPid && s.at < to);
    if (sleeps.length) console.log('  the broker\'s uninterruptible sleeps in the gap (ms from its start; lasted at most):');
    for (const [i, s] of brokerSleeps.entries()) {
      const call = calls.find((c) => c.tid === s.tid && c.at <= s.at && c.at + c.ms >= s.at);
      const next = brokerSleeps.slice(i + 1).find((n) => n.tid === s.tid);
      const until = Math.min(next?.at ?? Infinity, call ? call.at + call.ms : Infinity);
      if (until <= from) continue;
      const lasted = Number.isFinite(until) ? f(until - s.at) : '?';
      console.log(`  ${(s.at - from >= 0 ? '+' : '') + f(s.at - from)}  ${lasted.padStart(6)}  ${s.tid === brokerPid ? 'main' : `t${s.tid}`} ${s.stack.slice(0, 6).join('<')}`);
    }
    const pauses = pausesOf(dir).filter(([at, , ms]) => at < to && at + ms > from - 20);
    console.log(`  the broker's GC pauses and event-loop stalls over 10 ms in the gap: ${pauses.length ? '' : 'none'}`);
    for (const [at, what, ms, detail] of pauses) console.log(`  ${(at - from >= 0 ? '+' : '') + f(at - from)}  ${f(ms).padStart(6)}  ${what}${detail === undefined ? '' : ` ${detail}`}`);
    // the others (ext4's journal threads, the probes): one line per sleeper and stack, how often, the first one's time
    const inGap = sleeps.filter((s) => s.pid !== brokerPid && s.at >= from - 20 && s.at < to);
    const seen = new Map<string, { first: number; n: number }>();
    for (const s of inGap) {
      const key = `${probeOf.get(s.pid) ?? `${s.comm}[${s.pid}]`} ${s.stack.slice(0, 6).join('<')}`;
      const e = seen.get(key);
      if (e) e.n++;
      else seen.set(key, { first: s.at, n: 1 });
    }
    if (sleeps.length) console.log(`  others' uninterruptible sleeps from 20 ms before the gap to its end: ${inGap.length}`);
    for (const [key, e] of [...seen].sort((a, b) => a[1].first - b[1].first)) console.log(`  ${(e.first - from >= 0 ? '+' : '') + f(e.first - from)} ms  x${e.n}  ${key}`);
  }
}

if (roundPauses.length) {
  console.log(`\nthe brokers' GC pauses and event-loop stalls of ${PAUSE_MS} ms or more while the publisher ran (ms from its first publish):`);
  for (const line of roundPauses) console.log(line);
}

// every traced fdatasync of the brokers, not only those in gaps: how long each part of it slept
const dist = (xs: number[]): string => {
  if (!xs.length) return 'none';
  const o = [...xs].sort((a, b) => a - b);
  const q = (p: number) => f(o[Math.min(o.length - 1, Math.floor(p * o.length))]!);
  return `${o.length} syncs slept there: p50 ${q(0.5)}, p99 ${q(0.99)}, max ${f(o.at(-1)!)} ms; over 20 ms: ${o.filter((x) => x > 20).length}`;
};
if (syncsSeen) {
  console.log(`\nall ${syncsSeen} traced fdatasyncs of the brokers, time asleep per part (perf sleeps inside each call):`);
  for (const p of Object.keys(phaseMs) as Phase[]) console.log(`  ${p.padEnd(9)} ${dist(phaseMs[p])}`);
}
