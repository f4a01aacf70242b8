/**
 * What the device is written per journal flush of a few small records: the store's own bytes
 * against /proc/self/io write_bytes (what the kernel sent to the block layer for this process).
 * A flush's fdatasync writes every page its records touched; the next flush writes the last,
 * partly filled page again. So a flood of tiny records at one flush per few records writes about
 * a page per flush (session 15: 31-69 MiB of device writes for ~7 MB of records in a 100k x 16 B
 * confirm round). Not timing-sensitive (no lock needed); Linux only.
 *
 * write_bytes is counted when a page cache folio is dirtied, a whole folio at a time: on a kernel
 * whose ext4 caches files in large folios (6.16 on; this VM runs 6.18) one small write into a
 * 256 KiB folio made by the zero-fill counts 256 KiB, while ext4 writes back only the dirty 4 KiB
 * blocks. `--device <name>` also reads /sys/block/<name>/stat (sectors written, the whole
 * device): on a device of its own (a loop device holding `--dir`) that is what reached it.
 *
 * `--consume`: each flush's messages are removed one flush later (a queue consumed as it fills), so
 * segments die and are compacted away: the zero-filling of the segments made meanwhile shows (or,
 * with recycled segment files, does not).
 *
 *   npx tsx bench/flush-bytes.ts [--flushes 5000] [--per-flush 4] [--body 16] [--dir /tmp/flush-bytes] [--device loop0] [--consume]
 */
import { readFileSync, rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { FileStore } from '../src/store/file/file-store.js';

const { values } = parseArgs({
  options: {
    flushes: { type: 'string', default: '5000' },
    'per-flush': { type: 'string', default: '4' },
    body: { type: 'string', default: '16' },
    dir: { type: 'string', default: '/tmp/flush-bytes' },
    device: { type: 'string' },
    consume: { type: 'boolean', default: false },
  },
});
const flushes = Number(values.flushes);
const perFlush = Number(values['per-flush']);
const body = Buffer.alloc(Number(values.body), 0x61);

/** bytes the block device `--device` was written since boot (sectors written x 512), or NaN */
function deviceBytes(): number {
  if (!values.device) return NaN;
  return Number(readFileSync(`/sys/block/${values.device}/stat`, 'utf8').trim().split(/\s+/)[6]) * 512;
}

function writeBytes(): number {
  const m = /^write_bytes: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return m ? Number(m[1]) : NaN;
}

rmSync(values.dir!, { recursive: true, force: true });
const store = new FileStore({ dir: values.dir!, logger: { info: () => {}, warn: () => {} } });
await store.open();
store.putQueue({ vhost: '/', name: 'q', durable: true, autoDelete: false, arguments: {} });
const sync = () => new Promise<void>((resolve, reject) => store.sync((err) => (err ? reject(err) : resolve())));
await sync();
// the head's zero-fill is done (the first flush waited for it): count from here
const s0 = store.stats;
const w0 = writeBytes();
const d0 = deviceBytes();
let id = 0;
const q = { vhost: '/', queue: 'q' };
for (let f = 0; f < flushes; f++) {
  for (let i = 0; i < perFlush; i++) store.addMessage(++id, { exchange: '', routingKey: 'q', properties: { deliveryMode: 2 }, body, publishedAt: Date.now() }, [q]);
  // the flush before this one's messages
  if (values.consume && f > 0) for (let m = id - 2 * perFlush + 1; m <= id - perFlush; m++) store.removeMessage(q, m);
  await sync();
}
const w1 = writeBytes();
const d1 = deviceBytes();
const s1 = store.stats;
await store.close();
rmSync(values.dir!, { recursive: true, force: true });
const records = s1.bytesWritten - s0.bytesWritten;
const device = w1 - w0;
const n = s1.flushes - s0.flushes;
console.log(
  JSON.stringify({
    flushes: n,
    recordsPerFlush: perFlush,
    bodyBytes: body.length,
    consume: values.consume,
    segmentsCompacted: s1.compactedSegments - s0.compactedSegments,
    storeBytes: records,
    storeBytesPerFlush: Math.round(records / n),
    writeBytes: device,
    writeBytesPerFlush: Math.round(device / n),
    writeOverStore: Number((device / records).toFixed(2)),
    ...(values.device ? { device: values.device, deviceBytes: d1 - d0, deviceBytesPerFlush: Math.round((d1 - d0) / n), deviceOverStore: Number(((d1 - d0) / records).toFixed(2)) } : {}),
  }),
);
