/**
 * The disk's own sync latency, measured beside a confirm-latency run (issue 18 part 3): a gap
 * between confirms that overlaps a slow sync of this probe is the disk's, one that does not is
 * ours. Writes `--bytes` every `--every-ms` to a file of its own and fdatasyncs it, until
 * SIGTERM/SIGINT or `--seconds`; prints every sync over `--slow-ms` as a JSON line
 * `{"probe":mode,"at":epoch ms when the sync began,"ms":duration}`, and a summary line at the end.
 *
 *   npx tsx bench/fsync-probe.ts --mode append --file /tmp/x/probe-append.dat > probe-append.jsonl
 *
 * Two modes, because ext4 syncs in two ways:
 * - `append`: each write extends the file, so fdatasync must also make the new size and block
 *   allocation durable: with a journal (data=ordered) a journal commit, which waits for the commit
 *   under way and for data other writers left dirty before it; without one (this VM's root file
 *   system: /proc/fs/jbd2 is empty, syncs go through ext4_fsync_nojournal) synchronous writes of
 *   the file's metadata buffers (block bitmap, extent blocks: fsync_buffers_list) and its inode's
 *   block. What a journal appending into fresh blocks waits for.
 * - `overwrite`: writes go round a file of `--file-mb` already written with zeros and synced, so
 *   fdatasync has no allocation to make durable: the data, the inode's block when a write changed
 *   the mtime (without a journal; with one the mtime waits for a later commit), and the device's
 *   cache flush. What a journal writing into zero-filled, preallocated blocks waits for
 *   (PostgreSQL's WAL), and what LocalMQ's segments do (bench/confirm-gap-trace.ts shows the stacks).
 *
 * The syncs are synchronous: a stalled disk holds the probe in its sync, so every stretch of
 * slowness is inside some probe sync's [at, at + ms].
 */
import { closeSync, fdatasyncSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
}

const mode = flag('mode', 'append');
if (mode !== 'append' && mode !== 'overwrite') throw new Error('--mode append|overwrite');
const file = flag('file', `/tmp/fsync-probe-${mode}-${process.pid}.dat`);
const bytes = Number(flag('bytes', '6144'));
const everyMs = Number(flag('every-ms', '10'));
const slowMs = Number(flag('slow-ms', '20'));
const seconds = Number(flag('seconds', '0'));
const fileBytes = Number(flag('file-mb', '16')) * 1024 * 1024;

const fd = openSync(file, 'w');
const buf = Buffer.alloc(bytes, 7);
if (mode === 'overwrite') {
  // every block written and synced once: later writes overwrite allocated, initialised blocks
  const zeros = Buffer.alloc(1024 * 1024);
  for (let at = 0; at < fileBytes; at += zeros.length) writeSync(fd, zeros, 0, zeros.length, at);
  fsyncSync(fd);
}

/** sync durations, ms; the slow ones are printed as they happen */
const lat: number[] = [];
let pos = 0;
const end = seconds > 0 ? Date.now() + seconds * 1000 : Infinity;
let timer: NodeJS.Timeout | undefined;

const tick = (): void => {
  if (Date.now() >= end) return stop();
  if (mode === 'overwrite' && pos + bytes > fileBytes) pos = 0;
  writeSync(fd, buf, 0, bytes, pos);
  pos += bytes;
  const at = performance.timeOrigin + performance.now();
  const t = process.hrtime.bigint();
  fdatasyncSync(fd);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  lat.push(ms);
  if (ms > slowMs) console.log(JSON.stringify({ probe: mode, at: Math.round(at * 10) / 10, ms: Math.round(ms * 10) / 10 }));
  timer = setTimeout(tick, everyMs);
};

function stop(): void {
  if (timer) clearTimeout(timer);
  const s = lat.sort((a, b) => a - b);
  const q = (p: number) => (s.length ? Math.round(s[Math.min(s.length - 1, Math.floor(p * s.length))]! * 10) / 10 : 0);
  console.log(JSON.stringify({ probe: mode, summary: true, syncs: s.length, p50: q(0.5), p99: q(0.99), max: q(1), over60: s.filter((x) => x > 60).length, over100: s.filter((x) => x > 100).length }));
  closeSync(fd);
  unlinkSync(file);
  process.exit(0);
}

process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// on stderr: stdout holds only the syncs and the summary
console.error(`fsync-probe ${mode} ready`);
tick();
