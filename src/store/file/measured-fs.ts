import { writeSync } from 'node:fs';
import { nodeFs, type StoreFs } from './fs-layer.js';

/**
 * What the journal did to the disk since start: RabbitMQ's node io_* figures (its file handle
 * cache counts reads, writes, syncs and seeks with their bytes and times). LocalMQ writes at
 * positions (pwrite) and keeps its segment files open, so it never seeks or reopens: those
 * stay 0, which is what happened.
 */
export class IoStats {
  readCount = 0;
  readBytes = 0;
  readMicros = 0;
  writeCount = 0;
  writeBytes = 0;
  writeMicros = 0;
  syncCount = 0;
  syncMicros = 0;
  readonly seekCount = 0;
  readonly reopenCount = 0;

  /** average milliseconds per operation, as RabbitMQ's io_*_avg_time */
  static avgMs(micros: number, count: number): number {
    return count === 0 ? 0 : Math.round(micros / count) / 1000;
  }
}

const micros = (start: bigint) => Number(process.hrtime.bigint() - start) / 1000;

/** `inner` with every read, write and sync (fsync, fdatasync) counted and timed into `stats` */
export function measuredFs(inner: StoreFs, stats: IoStats): StoreFs {
  return {
    ...inner,
    read: async (fd, buf, offset, length, position) => {
      const t = process.hrtime.bigint();
      const n = await inner.read(fd, buf, offset, length, position);
      stats.readCount++;
      stats.readBytes += n;
      stats.readMicros += micros(t);
      return n;
    },
    write: async (fd, buf, offset, length, position) => {
      const t = process.hrtime.bigint();
      const n = await inner.write(fd, buf, offset, length, position);
      stats.writeCount++;
      stats.writeBytes += n;
      stats.writeMicros += micros(t);
      return n;
    },
    // the real file system keeps its inline writes (GroupCommit's small batches), counted too
    writeInline: inner === nodeFs ? inlineWrite(stats) : inner.writeInline ? measuredInline(inner.writeInline.bind(inner), stats) : undefined,
    fsync: async (fd) => {
      const t = process.hrtime.bigint();
      await inner.fsync(fd);
      stats.syncCount++;
      stats.syncMicros += micros(t);
    },
    fdatasync: async (fd) => {
      const t = process.hrtime.bigint();
      await inner.fdatasync(fd);
      stats.syncCount++;
      stats.syncMicros += micros(t);
    },
  };
}

type InlineWrite = NonNullable<StoreFs['writeInline']>;

function inlineWrite(stats: IoStats): InlineWrite {
  return measuredInline((fd, buf, offset, length, position) => writeSync(fd, buf, offset, length, position), stats);
}

function measuredInline(write: InlineWrite, stats: IoStats): InlineWrite {
  return (fd, buf, offset, length, position) => {
    const t = process.hrtime.bigint();
    const n = write(fd, buf, offset, length, position);
    stats.writeCount++;
    stats.writeBytes += n;
    stats.writeMicros += micros(t);
    return n;
  };
}
