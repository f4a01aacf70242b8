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
import { writeSync } from 'node:fs';
import { startBroker } from '../../src/index.js';
import { nodeFs, type StoreFs } from '../../src/store/file/fs-layer.js';
import { epoch, traceLoop, type TraceEvent } from './loop-trace.js';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const dataDir = arg('--data-dir')!;
const port = Number(arg('--port', '27100'));
const out = arg('--out', 'trace.json')!;

const events: TraceEvent[] = [];
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

traceLoop(events);

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
const broker = await startBroker({
  dataDir,
  ports: { amqp: port, stomp: port + 1, mqtt: port + 2 },
  journal: { fs: tracedFs },
  logLevel: 'warn',
} as Parameters<typeof startBroker>[0]);

// the store's sync callbacks are what release confirms: record when each batch of them runs
// ('synced': a wait for everything written; 'syncedTo': a wait for a sync point, detail = how
// many flushes further the store's point was when asked: > 0, a sync then would have waited longer)
type SyncCb = (err?: Error) => void;
const store = broker.store as { sync(cb: SyncCb): void; syncTo?(point: number, cb: SyncCb): void; syncPoint?(): number };
const sync = store.sync.bind(store);
store.sync = (cb) => {
  const t = epoch();
  sync((err) => {
    note('synced', t);
    cb(err);
  });
};
const syncTo = store.syncTo?.bind(store);
if (syncTo) {
  store.syncTo = (point, cb) => {
    const t = epoch();
    const further = store.syncPoint!() - point;
    syncTo(point, (err) => {
      note('syncedTo', t, further);
      cb(err);
    });
  };
}

console.log(`traced broker on ${port} (amqp), ${port + 1} (stomp), ${port + 2} (mqtt): is running`);
const stop = async () => {
  writeFileSync(out, JSON.stringify(events));
  await broker.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
