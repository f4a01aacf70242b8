/**
 * A LocalMQ on a data dir that records what it was doing, for finding the cause of a gap
 * between confirms (issue 18 part 3): every journal write (inline or through the thread
 * pool) with its size and duration, every fsync and file open, every socket read handled for
 * over 5 ms (its size: one read's parsing and routing), every store sync callback (what
 * releases confirms), every GC pause (perf_hooks) and every event-loop stall over 10 ms. Times are epoch milliseconds (performance.timeOrigin + now), comparable with
 * bench/confirm-latency.ts --trace-out, which records where its longest gap was.
 *
 *   npx tsx bench/lib/traced-broker.ts --data-dir DIR --port 27100 --out trace.json
 *
 * AMQP on --port, STOMP on +1, MQTT on +2. The trace is written on SIGTERM/SIGINT.
 */
import { writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { PerformanceObserver } from 'node:perf_hooks';
import { writeSync } from 'node:fs';
import { startBroker } from '../../src/index.js';
import { nodeFs, type StoreFs } from '../../src/store/file/fs-layer.js';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const dataDir = arg('--data-dir')!;
const port = Number(arg('--port', '27100'));
const out = arg('--out', 'trace.json')!;

const epoch = () => performance.timeOrigin + performance.now();
type Event = [at: number, what: string, ms: number, detail?: number | string];
const events: Event[] = [];
const note = (what: string, startedAt: number, detail?: number | string) => events.push([startedAt, what, epoch() - startedAt, detail]);

const tracedFs: StoreFs = {
  ...nodeFs,
  open: async (path, flags) => {
    const t = epoch();
    const fd = await nodeFs.open(path, flags);
    note('open', t, path);
    return fd;
  },
  write: async (fd, buf, offset, length, position) => {
    const t = epoch();
    const n = await nodeFs.write(fd, buf, offset, length, position);
    note('write', t, length);
    return n;
  },
  writeInline: (fd, buf, offset, length, position) => {
    const t = epoch();
    const n = writeSync(fd, buf, offset, length, position);
    note('writeInline', t, length);
    return n;
  },
  fsync: async (fd) => {
    const t = epoch();
    await nodeFs.fsync(fd);
    note('fsync', t);
  },
  ftruncate: async (fd, length) => {
    const t = epoch();
    await nodeFs.ftruncate(fd, length);
    note('ftruncate', t, length);
  },
};

new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
    // 1 scavenge, 2 minor mark-compact, 4 mark-sweep-compact, 8 incremental, 16 weak callbacks
    events.push([performance.timeOrigin + e.startTime, 'gc', e.duration, kind]);
  }
}).observe({ entryTypes: ['gc'] });

// every socket read handled for over 5 ms: how long the protocol's parsing and routing of one read took, and its size
const emit = Socket.prototype.emit;
Socket.prototype.emit = function (this: Socket, event: string | symbol, ...args: unknown[]): boolean {
  if (event !== 'data') return emit.apply(this, [event, ...args] as unknown as Parameters<typeof emit>);
  const t = epoch();
  const r = emit.apply(this, [event, ...args] as unknown as Parameters<typeof emit>);
  const ms = epoch() - t;
  if (ms > 5) events.push([t, 'read', ms, (args[0] as Buffer).length]);
  return r;
} as typeof emit;

// event-loop stalls: a 5 ms timer that came late
let expected = epoch() + 5;
setInterval(() => {
  const now = epoch();
  if (now - expected > 10) events.push([expected, 'stall', now - expected]);
  expected = now + 5;
}, 5).unref();

const broker = await startBroker({
  dataDir,
  ports: { amqp: port, stomp: port + 1, mqtt: port + 2 },
  journal: { fs: tracedFs },
  logLevel: 'warn',
} as Parameters<typeof startBroker>[0]);

// the store's sync callbacks are what release confirms: record when each batch of them runs
const store = broker.store as { sync(cb: (err?: Error) => void): void };
const sync = store.sync.bind(store);
let pendingSyncs = 0;
store.sync = (cb) => {
  const t = epoch();
  pendingSyncs++;
  sync((err) => {
    pendingSyncs--;
    note('synced', t, pendingSyncs);
    cb(err);
  });
};

console.log(`traced broker on ${port} (amqp), ${port + 1} (stomp), ${port + 2} (mqtt): is running`);
const stop = async () => {
  writeFileSync(out, JSON.stringify(events));
  await broker.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
