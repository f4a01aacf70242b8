/**
 * A busy disk on demand (issue 18 point 3d): another process on the same file system writing
 * `--mb-per-s` MiB a second and fdatasync-ing every `--sync-every-ms`, as a database or another
 * engineer's test suite beside the broker does. The confirm gaps session 17 traced (our fdatasync
 * asleep 57-136 ms in blkdev_issue_flush) came only while the machine's disk was busy with others'
 * work, which no run can order; with this load a round can be run "quiet" or "busy" at will
 * (confirm-latency.sh DISK_LOAD=...).
 *
 *   node --import tsx bench/lib/disk-load.ts --file /tmp/x/load.dat --mb-per-s 32 --sync-every-ms 50
 *
 * Writes go round a file of `--file-mb` zero-filled and synced first, `--chunk-kb` at a time: no block
 * allocation, so each fdatasync carries the load's data, its inode block (mtime) and the device's
 * cache flush, the same kinds of work as LocalMQ's syncs into its zero-filled segments. Each period
 * writes its share (rate x period) and then syncs; a period that overruns starts the next at once
 * (the load does not catch up). Until SIGTERM/SIGINT or `--seconds`; at the end one JSON line: what
 * it wrote and how long its own syncs took (p50/p99/max), so a run states the load it was under.
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';

function flag(name: string, dflt: string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}
const num = (name: string, dflt: number): number => {
  const v = Number(flag(name, String(dflt)));
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} wants a number >= 0`);
  return v;
};

const file = String(flag('file', `/tmp/disk-load-${process.pid}.dat`));
const mbPerS = num('mb-per-s', 32);
const syncEveryMs = num('sync-every-ms', 50);
const chunk = num('chunk-kb', 256) * 1024;
const fileBytes = num('file-mb', 256) * 1024 * 1024;
const seconds = num('seconds', 0);
// --sync 0: no fdatasync of its own, the kernel's writeback sends the data (dirty pages pile up to
// the dirty limits: a writer that never syncs, the other kind of neighbour)
const sync = num('sync', 1) !== 0;
const perPeriod = Math.round((mbPerS * 1024 * 1024 * syncEveryMs) / 1000);

// --churn 1: each period writes a new file of its share instead (`<file>.<n>`), syncs it and deletes the one
// before: block allocation and freeing each time, and with the `discard` mount option (this VM's /) a discard of
// the freed blocks sent to the device: what test suites creating and removing data dirs and 16 MiB segments do
const churn = num('churn', 0) !== 0;
let fd = openSync(churn ? `${file}.0` : file, 'w');
let files = 0;
if (!churn) {
  // every block allocated, written and synced once before the load starts
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < fileBytes; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
  fsyncSync(fd);
}
// not zeros (a device or host that elides zero writes would make the load lighter than stated)
const buf = Buffer.alloc(chunk, 0x5a);
console.error('ready');

const syncMs: number[] = [];
let written = 0;
let pos = 0;
const t0 = performance.now();
const end = seconds > 0 ? t0 + seconds * 1000 : Infinity;
let timer: NodeJS.Timeout | undefined;

const period = (): void => {
  const start = performance.now();
  if (start >= end) return stop();
  if (churn && written > 0) {
    closeSync(fd);
    unlinkSync(`${file}.${files}`);
    fd = openSync(`${file}.${++files}`, 'w');
    pos = 0;
  }
  for (let left = perPeriod; left > 0; ) {
    const n = Math.min(left, chunk);
    if (!churn && pos + n > fileBytes) pos = 0;
    writeSync(fd, buf, 0, n, pos);
    pos += n;
    left -= n;
    written += n;
  }
  if (sync) {
    const s = process.hrtime.bigint();
    fdatasyncSync(fd);
    syncMs.push(Number(process.hrtime.bigint() - s) / 1e6);
  }
  timer = setTimeout(period, Math.max(0, syncEveryMs - (performance.now() - start)));
};

function stop(): void {
  if (timer) clearTimeout(timer);
  const secs = (performance.now() - t0) / 1000;
  const s = syncMs.sort((a, b) => a - b);
  const q = (p: number) => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10 : 0);
  console.log(JSON.stringify({
    load: { mbPerS, syncEveryMs, sync, churn, chunkKb: chunk / 1024, fileMb: churn ? undefined : fileBytes / 1024 / 1024 },
    filesMade: churn ? files + 1 : undefined,
    seconds: Math.round(secs * 10) / 10,
    mibWritten: Math.round((written / 1024 / 1024) * 10) / 10,
    mibPerSDone: Math.round((written / 1024 / 1024 / secs) * 10) / 10,
    syncs: s.length, p50: q(0.5), p99: q(0.99), max: q(1),
    over60: s.filter((x) => x > 60).length, over100: s.filter((x) => x > 100).length,
  }));
  closeSync(fd);
  unlinkSync(churn ? `${file}.${files}` : file);
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
period();
