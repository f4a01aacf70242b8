// What a FileStore restart writes and how long it takes, restart after restart on one data dir (review-s18-1 S1,
// closing-s18 item 3). FileStore defaults (16 MiB segments, the head zero-filled in full) unless HZF sets
// headZeroFill. Per run: open() and the first durable sync (timed; bytes written and files made counted through
// measuredFs), then PUB messages of SIZE bytes published and synced; with CONSUME=1 also consumed, synced and
// compacted (spares appear); then a clean close. Prints what was on disk before each open (size/allocated).
//   npx tsx bench/restart-bytes.ts [dir]        RUNS=5 PUB=6000 SIZE=4096 CONSUME=1 (the reviewer's probe)
//   CONSUME=0 PUB=100 npx tsx bench/restart-bytes.ts   (a small broker: its head never passes half a segment)
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Message } from '../src/core/message.js';
import { FileStore } from '../src/store/file/file-store.js';
import { nodeFs, type StoreFs } from '../src/store/file/fs-layer.js';
import { IoStats, measuredFs } from '../src/store/file/measured-fs.js';

const given = process.argv[2];
const dir = given ?? mkdtempSync(join(tmpdir(), 'localmq-restart-bytes-'));
const RUNS = Number(process.env['RUNS'] ?? 5);
const PUB = Number(process.env['PUB'] ?? 6000);
const SIZE = Number(process.env['SIZE'] ?? 4096);
const CONSUME = process.env['CONSUME'] !== '0';
const HZF = process.env['HZF'] === undefined ? undefined : Number(process.env['HZF']);
const quiet = { info: () => {}, warn: () => {} };
const q = { vhost: '/', queue: 'q' };
const MiB = 1024 * 1024;
const sync = (s: FileStore) => new Promise<void>((res, rej) => s.sync((e) => (e ? rej(e) : res())));

function onDisk(): string {
  return readdirSync(dir)
    .filter((f) => /\.(jseg|spare)$/.test(f))
    .sort()
    .map((f) => {
      const st = statSync(join(dir, f));
      return `${f}:${(st.size / MiB).toFixed(1)}/${((st.blocks * 512) / MiB).toFixed(1)}M`;
    })
    .join(' ');
}

/** measuredFs, plus the segment files made new (opened 'w') */
function counted(io: IoStats, made: { files: number }): StoreFs {
  const m = measuredFs(nodeFs, io);
  return { ...m, open: (path, flags) => ((flags === 'w' && path.endsWith('.jseg') && made.files++), m.open(path, flags)) };
}

let id = 0;
console.log(`dir ${dir}; runs ${RUNS}, ${PUB} x ${SIZE} B per run, consume+compact ${CONSUME}, headZeroFill ${HZF ?? 'default (segment)'}`);
for (let run = 0; run < RUNS; run++) {
  const before = onDisk();
  const io = new IoStats();
  const made = { files: 0 };
  const s = new FileStore({ dir, logger: quiet, fs: counted(io, made), ...(HZF === undefined ? {} : { headZeroFill: HZF }) });
  const t0 = performance.now();
  await s.open();
  await sync(s);
  const ms = performance.now() - t0;
  console.log(`run ${run}: open + first sync ${ms.toFixed(1)} ms, wrote ${(io.writeBytes / MiB).toFixed(2)} MiB, segment files made ${made.files}, syncs ${io.syncCount}; before: ${before || '(empty)'}`);
  const body = Buffer.alloc(SIZE, 1);
  const ids: number[] = [];
  for (let i = 0; i < PUB; i++) {
    s.addMessage(++id, { exchange: '', routingKey: 'q', properties: { deliveryMode: 2 }, body, publishedAt: 1 } as Message, [q]);
    ids.push(id);
  }
  await sync(s);
  if (CONSUME) {
    for (const i of ids) s.removeMessage(q, i);
    await sync(s);
    await s.compact();
  }
  await s.close();
}
console.log(`after the last close: ${onDisk()}`);
if (!given) rmSync(dir, { recursive: true, force: true });
