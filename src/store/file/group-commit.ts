import { ByteWriter } from './binary.js';
import type { StoreFs } from './fs-layer.js';
import { segmentPath, writeSegmentHeader, SEGMENT_HEADER } from './segment.js';

/** A run of bytes bound for one segment file at one offset. */
interface Batch {
  seg: number;
  buf: Buffer;
  start: number;
  end: number;
  fileOffset: number;
}

/** where, in the current buffer, bytes for a segment begin */
interface Mark {
  seg: number;
  start: number;
  fileOffset: number;
}

export interface GroupCommitStats {
  flushes: number;
  writes: number;
  fsyncs: number;
  bytesWritten: number;
}

export interface GroupCommitOptions {
  fs: StoreFs;
  dir: string;
  /** the segment the first bytes go to (a new, empty file) */
  headSegment: number;
  /** 0: flush at the end of the current event-loop turn */
  syncDelayMs: number;
  /** after a failed write, try again this long after even if nothing new arrives */
  retryDelayMs: number;
  /** told about a failure (an Error) and about the first success after one (null) */
  onStatus: (err: Error | null) => void;
  /** after each successful flush */
  onFlushed: () => void;
}

const MAX_SPARE_BUFFER = 8 * 1024 * 1024;

type SyncCallback = (err?: Error) => void;

/**
 * Appends records to an in-memory buffer and writes + fsyncs everything that arrived
 * in one go: one write per segment touched and one fsync per file, per flush. While a
 * flush is in flight, new records and sync requests wait for the next one. A failed
 * flush keeps its bytes and rewrites them at the same offsets next time, so nothing
 * is skipped and nothing is reported durable before it is.
 */
export class GroupCommit {
  /** records are encoded straight into this; read it anew after any call that may flush */
  writer = new ByteWriter(256 * 1024);
  private spare: ByteWriter | undefined = new ByteWriter(256 * 1024);
  private marks: Mark[];
  private headSeg: number;

  private waiting: SyncCallback[] = [];
  private inflightCbs: SyncCallback[] | undefined;
  private failed: Batch[] = [];
  private scheduled = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private error: Error | null = null;
  private fds = new Map<number, number>();
  private closed = false;

  readonly stats: GroupCommitStats = { flushes: 0, writes: 0, fsyncs: 0, bytesWritten: 0 };

  constructor(private readonly opts: GroupCommitOptions) {
    this.headSeg = opts.headSegment;
    this.marks = [{ seg: this.headSeg, start: 0, fileOffset: 0 }];
    this.writer.ensure(SEGMENT_HEADER);
    writeSegmentHeader(this.writer.buf, 0);
    this.writer.pos = SEGMENT_HEADER;
  }

  get headSegment(): number {
    return this.headSeg;
  }

  /** bytes in the head segment, written or not */
  get headSize(): number {
    const m = this.marks[this.marks.length - 1]!;
    return m.fileOffset + this.writer.pos - m.start;
  }

  get failing(): Error | null {
    return this.error;
  }

  /** start a new segment file; later records go there. Returns the sealed segment's size. */
  roll(): number {
    const sealedSize = this.headSize;
    this.headSeg++;
    this.marks.push({ seg: this.headSeg, start: this.writer.pos, fileOffset: 0 });
    this.writer.ensure(SEGMENT_HEADER);
    writeSegmentHeader(this.writer.buf, this.writer.pos);
    this.writer.pos += SEGMENT_HEADER;
    return sealedSize;
  }

  /** records were appended: get them to disk soon */
  appended(): void {
    this.schedule();
  }

  sync(cb: SyncCallback): void {
    if (this.closed) {
      process.nextTick(cb, new Error('store is closed'));
      return;
    }
    if (this.hasUnflushed()) {
      this.waiting.push(cb);
      this.schedule();
    } else if (this.inflightCbs) {
      this.inflightCbs.push(cb);
    } else {
      process.nextTick(cb);
    }
  }

  syncPromise(): Promise<void> {
    return new Promise((resolve, reject) => this.sync((err) => (err ? reject(err) : resolve())));
  }

  /** flush everything, close the files. Rejects with the write error if the last flush failed. */
  async close(): Promise<void> {
    let err: unknown;
    try {
      if (!this.closed) await this.syncPromise();
    } catch (e) {
      err = e;
    }
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    for (const fd of this.fds.values()) await this.opts.fs.close(fd).catch(() => {});
    this.fds.clear();
    if (err) throw err;
  }

  private hasUnflushed(): boolean {
    return this.failed.length > 0 || this.writer.pos > 0;
  }

  private schedule(): void {
    if (this.scheduled || this.inflightCbs || this.closed) return;
    this.scheduled = true;
    if (this.opts.syncDelayMs > 0) setTimeout(this.run, this.opts.syncDelayMs);
    else setImmediate(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    if (this.inflightCbs || this.closed) return;
    if (!this.hasUnflushed()) {
      this.finish(this.takeWaiting(), undefined);
      return;
    }
    void this.flush();
  };

  private takeWaiting(): SyncCallback[] {
    const cbs = this.waiting;
    this.waiting = [];
    return cbs;
  }

  /** detach the buffered bytes as batches and give the writer a fresh buffer */
  private takeBatches(): { batches: Batch[]; writer: ByteWriter | undefined } {
    const w = this.writer;
    const batches: Batch[] = this.failed;
    this.failed = [];
    const marks = this.marks;
    for (let i = 0; i < marks.length; i++) {
      const m = marks[i]!;
      const end = i + 1 < marks.length ? marks[i + 1]!.start : w.pos;
      if (end > m.start) batches.push({ seg: m.seg, buf: w.buf, start: m.start, end, fileOffset: m.fileOffset });
    }
    const headOffset = this.headSize;
    const taken = w.pos > 0 ? w : undefined;
    if (taken) {
      this.writer = this.spare ?? new ByteWriter(256 * 1024);
      this.spare = undefined;
      this.writer.pos = 0;
    }
    this.marks = [{ seg: this.headSeg, start: 0, fileOffset: headOffset }];
    return { batches, writer: taken };
  }

  private async flush(): Promise<void> {
    const cbs = this.takeWaiting();
    this.inflightCbs = cbs;
    const { batches, writer } = this.takeBatches();
    const fs = this.opts.fs;
    let err: Error | undefined;
    try {
      const touched: number[] = [];
      for (const b of batches) {
        const fd = await this.fdFor(b.seg, b.fileOffset);
        let off = b.start;
        let pos = b.fileOffset;
        while (off < b.end) {
          const n = await fs.write(fd, b.buf, off, b.end - off, pos);
          if (n <= 0) throw new Error(`write to segment ${b.seg} made no progress`);
          this.stats.writes++;
          this.stats.bytesWritten += n;
          off += n;
          pos += n;
        }
        if (!touched.includes(b.seg)) touched.push(b.seg);
      }
      for (const seg of touched) {
        await fs.fsync(this.fds.get(seg)!);
        this.stats.fsyncs++;
        // sealed segments get no more writes
        if (seg < this.headSeg) {
          const fd = this.fds.get(seg)!;
          this.fds.delete(seg);
          await fs.close(fd);
        }
      }
      this.stats.flushes++;
    } catch (e) {
      err = e instanceof Error ? e : new Error(String(e));
    }
    if (err) {
      // keep the bytes for the retry; their buffer is not handed out again
      this.failed = batches;
    } else if (writer && !this.spare && writer.buf.length <= MAX_SPARE_BUFFER) {
      // a buffer grown by one huge message is let go rather than kept forever
      this.spare = writer;
    }
    this.finish(cbs, err);
  }

  /** `cbs` includes callbacks that joined the flush while it ran: it covers them too */
  private finish(cbs: SyncCallback[], err: Error | undefined): void {
    this.inflightCbs = undefined;
    if (err) {
      const first = this.error === null;
      this.error = err;
      if (first) this.opts.onStatus(err);
      for (const cb of cbs) cb(err);
      this.scheduleRetry();
    } else {
      if (this.error !== null) {
        this.error = null;
        this.opts.onStatus(null);
      }
      for (const cb of cbs) cb();
      this.opts.onFlushed();
    }
    // more arrived during the flush; after a failure only new data retries at once, else the timer does
    if (!this.closed && (this.waiting.length > 0 || this.writer.pos > 0)) this.schedule();
  }

  private scheduleRetry(): void {
    if (this.retryTimer || this.closed) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.failed.length > 0) this.schedule();
    }, this.opts.retryDelayMs);
    this.retryTimer.unref();
  }

  private async fdFor(seg: number, fileOffset: number): Promise<number> {
    const open = this.fds.get(seg);
    if (open !== undefined) return open;
    const fs = this.opts.fs;
    const fresh = fileOffset === 0;
    const fd = await fs.open(segmentPath(this.opts.dir, seg), fresh ? 'w' : 'r+');
    this.fds.set(seg, fd);
    // Windows cannot open a directory to fsync it; NTFS makes the entry durable with the file
    if (fresh && process.platform !== 'win32') {
      // make the new file's directory entry durable along with its contents
      const dirFd = await fs.open(this.opts.dir, 'r');
      try {
        await fs.fsync(dirFd);
        this.stats.fsyncs++;
      } finally {
        await fs.close(dirFd);
      }
    }
    return fd;
  }
}
