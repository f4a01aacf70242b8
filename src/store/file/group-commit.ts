import { ByteWriter } from './binary.js';
import { segmentSeed } from './checksum.js';
import { syncDirectory, type StoreFs } from './fs-layer.js';
import { segmentPath, writeSegmentHeader, SEGMENT_END, SEGMENT_HEADER } from './segment.js';
import type { SegmentSpare } from './spare-segment.js';

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
  /** the segment the first bytes go to (a new, empty file, unless `continueHead`) */
  headSegment: number;
  /**
   * headSegment's file exists: its data ends at `offset` (a zero record header, only zeros after
   * it: recovery's AppendableSegment) and its first `allocated` bytes have blocks. Records go on
   * there instead of in a new file that would have to be zero-filled first (a small broker's
   * every restart wrote a whole segment of zeros: closing-s18 item 3).
   */
  continueHead?: { offset: number; allocated: number };
  /** 0: flush at the end of the current event-loop turn */
  syncDelayMs: number;
  /** after a failed write, try again this long after even if nothing new arrives */
  retryDelayMs: number;
  /** told about a failure (an Error) and about the first success after one (null) */
  onStatus: (err: Error | null) => void;
  /** after each successful flush */
  onFlushed: () => void;
  /**
   * A synchronous write for small batches (the real file system's): a write into the page
   * cache costs less than the thread-pool round trip it saves, which on a busy machine is two
   * thread switches per flush, paid by every client waiting on its sync. Unset (an injected
   * layer in tests): every write goes through `fs.write`.
   */
  writeInline?: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number;
  /**
   * A new segment file is made this long at once (sparse, as KahaDB's default
   * `preallocationStrategy=sparse_file`): an fsync then never has to commit a file-size change,
   * which on ext4 costs a journal commit per sync (measured here: p50 ~180 µs into a preallocated
   * file, ~290 µs into a growing one). Replay takes the zeros after the last record as the end of
   * data; a clean close cuts a recycled head back to its data (one on a new file keeps its zeros:
   * the next start continues it). 0: files grow as written.
   */
  preallocate?: number;
  /**
   * Once the head segment holds this many bytes, the next segment's file is made ready in the
   * background (created, preallocated, its directory entry synced), so that the roll costs
   * the flush that first writes there nothing: measured here, open + ftruncate + directory
   * fsync of a new segment took ~30 ms, serial in the flush path, and every confirm waiting on
   * that flush waited for it too. An unused ready file is all zeros: replay removes it like a
   * segment whose first write never reached the disk, and a clean close removes it.
   * Unset: the next segment is made when the first flush writes to it.
   */
  preopenAt?: number;
  /**
   * A segment made in the flush path (the head at open, or one whose making ahead failed) gets
   * this many bytes written with zeros and synced before its first records; one made ahead
   * (preopenAt) four times as many as the head it follows, up to all of `preallocate`. Records written into such blocks overwrite: their
   * fdatasync has no ext4 journal commit to make (no block allocation, no size change), so it
   * does not wait behind the commit under way, nor for the data other writers left dirty before
   * it, nor for the discards of files deleted meanwhile (this disk is mounted `discard`). Traced
   * on this VM's disk (session 14, bench/fsync-probe.ts beside confirm-latency.sh): appending
   * syncs of 57-261 ms while overwriting ones took under 22 ms, and each confirm gap over
   * 100 ms sat on such an appending sync. PostgreSQL's WAL does the same (zero-filled segments).
   * The head is sealed early, at the end of its zero-filled part, once the next file is ready.
   * 0 (default): sparse files only, every sync commits the block allocation.
   */
  headZeroFill?: number;
  /**
   * The journal's backlog bound (RabbitMQ's credit flow between publishers and the message
   * store): once the bytes appended and not yet durable pass it, `onBacklog(true)`; once they
   * fall to half of it, `onBacklog(false)`. 0 or unset: no bound.
   */
  backlogBytes?: number;
  onBacklog?: (behind: boolean) => void;
  /**
   * Where a new segment's file comes from when one is kept: a compacted-away segment's, whose
   * blocks are written already (only what it lacks of its zeros is zero-filled). A segment made
   * on such a file says so in its header (SEGMENT_RECYCLED). Unset: every segment is a new file.
   */
  spare?: SegmentSpare;
}

/** zeros written per write while a segment file is zero-filled */
const ZERO_CHUNK = 256 * 1024;
/** bytes read per read while a recycled file's pages are brought into the cache */
const CACHE_READ = 1024 * 1024;
/**
 * The head is sealed this far before the end of its zero-filled part (when the next file is
 * ready; a sixteenth of it in small test segments): a record that crossed it would allocate a
 * block, and that flush's sync commit it.
 */
const ROLL_MARGIN = 64 * 1024;

/** the largest batch written inline (a few hundred microseconds into the page cache at most) */
const INLINE_WRITE_MAX = 256 * 1024;

const MAX_SPARE_BUFFER = 8 * 1024 * 1024;
/**
 * A writer holding this many bytes is set aside whole, before the next record, for the next
 * flush, and records go on in a fresh writer. While two flushes are under way on a slow sync a
 * flood's records pile up here; in one growing buffer each doubling allocated twice the pile and
 * copied it in one call: traced in session 15 (verify), an OpenWire durable flood's 32 -> 64 MiB
 * doubling added ~61 MiB of ArrayBuffer memory within one 55 ms turn, between two readings of
 * the memory monitor, and RSS reached 225 MiB against a 200 MiB watermark. Set aside in chunks,
 * the pile grows only as fast as records arrive, and the monitor sees it grow.
 */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** a writer is set aside once this close to CHUNK_BYTES, so that most records still fit without doubling it */
const CHUNK_SLACK = 256 * 1024;
/** flushes under way at once: one writing while the one before it syncs */
const PIPELINE_DEPTH = 2;
/**
 * Records nobody waits for (a queue's acks and delivered marks) ride along with the next
 * flush; this long at the most if none comes (KahaDB writes such acks without a sync too).
 */
const LAZY_FLUSH_MS = 100;

type SyncCallback = (err?: Error) => void;

/** One group commit: its bytes, the callbacks its sync releases, and how it ended. */
interface Flush {
  /** the n-th flush started has seq n: a sync point names the flush that makes it durable */
  seq: number;
  cbs: SyncCallback[];
  batches: Batch[];
  /** the buffers its batches are in, handed out again once it is durable */
  writers: ByteWriter[];
  /** segments it wrote to */
  touched: number[];
  writing: boolean;
  /** resolves with the error that stopped it, or undefined once it is durable */
  done: Promise<Error | undefined>;
}

/**
 * Appends records to an in-memory buffer and writes + fsyncs everything that arrived
 * in one go: one write per segment touched and one fsync per file, per flush. Flushes
 * overlap: once one's writes are done and its fsync runs, the next one writes what came
 * meanwhile, then syncs after it (so a flood never waits for a whole write + fsync before
 * its bytes even start going out, and callbacks are released as each sync ends, in order).
 * A failed flush keeps its bytes, and so does every later one (they were written after
 * it): all are rewritten at the same offsets next time, so nothing is skipped and nothing
 * is reported durable before it is.
 */
export class GroupCommit {
  /** records are encoded straight into this; read it anew after any call that may flush */
  writer = new ByteWriter(256 * 1024);
  private spares: ByteWriter[] = [new ByteWriter(256 * 1024)];
  private marks: Mark[];
  private headSeg: number;
  /** records of writers set aside whole (CHUNK_BYTES) for the next flush, and those writers */
  private setAside: Batch[] = [];
  private setAsideWriters: ByteWriter[] = [];
  /**
   * bytes of batches cut from writers and not yet durable: set aside, in flushes under way,
   * failed (added per batch as cut, subtracted per batch once durable); with `writer.pos`, the
   * journal's backlog (kept as a sum: read on every append)
   */
  private detached = 0;
  /** the backlog passed backlogBytes and has not yet fallen to half of it */
  private behind = false;
  private readonly backlogHigh: number;

  private waiting: SyncCallback[] = [];
  /** flushes under way, oldest first */
  private inflight: Flush[] = [];
  /** flushes started so far (the newest one's seq) */
  private started = 0;
  /** the seq of the newest flush that succeeded: everything appended before it started is durable */
  private durableSeq = 0;
  private failed: Batch[] = [];
  private scheduled = false;
  /** bytes appended that want a flush of their own (not only lazy ones) */
  private eager = false;
  private lazyTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private error: Error | null = null;
  private fds = new Map<number, number>();
  /**
   * the next segment's file, being made ready ahead of the roll (preopenAt); its fd, or undefined
   * if that failed; `done` once that is known
   */
  private next: { seg: number; ready: Promise<number | undefined>; done: boolean; fd: number | undefined; zeros: number } | undefined;
  /** segment -> bytes at its start written with zeros and synced (headZeroFill), or written by a recycled file's earlier use */
  private zeroed = new Map<number, number>();
  /** segment -> the spare claimed for its file (SegmentSpare.claim), until the file is made */
  private recycled = new Map<number, number>();
  private closed = false;

  readonly stats: GroupCommitStats = { flushes: 0, writes: 0, fsyncs: 0, bytesWritten: 0 };

  constructor(private readonly opts: GroupCommitOptions) {
    this.headSeg = opts.headSegment;
    this.backlogHigh = opts.backlogBytes && opts.backlogBytes > 0 ? opts.backlogBytes : Infinity;
    const cont = opts.continueHead;
    this.marks = [{ seg: this.headSeg, start: 0, fileOffset: cont?.offset ?? 0 }];
    if (cont) {
      // records overwrite what has blocks as they would zeros made for them (rollDue, maybePreopen)
      this.zeroed.set(this.headSeg, Math.min(cont.allocated, opts.preallocate ?? 0));
    } else {
      this.writer.ensure(SEGMENT_HEADER);
      writeSegmentHeader(this.writer.buf, 0, this.claimSpare(this.headSeg));
      this.writer.pos = SEGMENT_HEADER;
    }
    this.writer.checksumSeed = segmentSeed(this.headSeg);
  }

  /** the spare's file, if one is kept, is to be segment `seg`'s (SegmentSpare.claim); whether it is */
  private claimSpare(seg: number): boolean {
    if (this.recycled.has(seg)) return true;
    const written = this.opts.spare?.claim(seg);
    if (written === undefined) return false;
    this.recycled.set(seg, written);
    return true;
  }

  get headSegment(): number {
    return this.headSeg;
  }

  /** bytes in the head segment, written or not */
  get headSize(): number {
    const m = this.marks[this.marks.length - 1]!;
    return m.fileOffset + this.writer.pos - m.start;
  }

  /**
   * The head should be sealed before its zero-filled part runs out (headZeroFill): the next
   * segment's file is ready, zero-filled in full, so records go on overwriting zeros there.
   */
  get rollDue(): boolean {
    const zeroed = this.zeroed.get(this.headSeg) ?? 0;
    return zeroed > 0 && this.headSize >= zeroed - Math.min(ROLL_MARGIN, zeroed >>> 4) && this.next?.done === true && this.next.fd !== undefined;
  }

  /** bytes of the buffers that hold records not yet durable (their size, not their fill; `FileStoreStats.bufferBytes`) */
  get bufferBytes(): number {
    const bufs = new Set<Buffer>([this.writer.buf]);
    for (const b of this.setAside) bufs.add(b.buf);
    for (const f of this.inflight) for (const b of f.batches) bufs.add(b.buf);
    for (const b of this.failed) bufs.add(b.buf);
    let n = 0;
    for (const b of bufs) n += b.length;
    return n;
  }

  /** bytes appended and not yet durable (buffered, in flushes under way, failed) */
  get backlog(): number {
    return this.detached + this.writer.pos;
  }

  get failing(): Error | null {
    return this.error;
  }

  /**
   * The bytes at `offset` of segment `seg` while they are not (or not surely) in the file
   * yet: in the buffer being filled, in a flush under way, or in a failed flush kept for
   * its retry. undefined: read the file. A view, valid until the next flush starts.
   */
  buffered(seg: number, offset: number, size: number): Buffer | undefined {
    const w = this.writer;
    const marks = this.marks;
    for (let i = 0; i < marks.length; i++) {
      const m = marks[i]!;
      if (m.seg !== seg) continue;
      const end = i + 1 < marks.length ? marks[i + 1]!.start : w.pos;
      const hit = slice(w.buf, m.start, end, m.fileOffset, offset, size);
      if (hit) return hit;
    }
    for (const b of this.setAside) if (b.seg === seg) {
      const hit = slice(b.buf, b.start, b.end, b.fileOffset, offset, size);
      if (hit) return hit;
    }
    for (const f of this.inflight) {
      for (const b of f.batches) if (b.seg === seg) {
        const hit = slice(b.buf, b.start, b.end, b.fileOffset, offset, size);
        if (hit) return hit;
      }
    }
    for (const b of this.failed) if (b.seg === seg) {
      const hit = slice(b.buf, b.start, b.end, b.fileOffset, offset, size);
      if (hit) return hit;
    }
    return undefined;
  }

  /**
   * A record is about to be written (records never straddle two writers): a writer close to
   * CHUNK_BYTES is set aside whole for the next flush and a fresh one takes the records from here.
   */
  nextRecord(): void {
    if (this.writer.pos < CHUNK_BYTES - CHUNK_SLACK) return;
    const headOffset = this.headSize;
    this.cutBatches(this.setAside);
    this.setAsideWriters.push(this.writer);
    // a flood is on: the next writer starts at the chunk's size rather than doubling up to it
    this.writer = this.spares.pop() ?? new ByteWriter(CHUNK_BYTES);
    this.writer.pos = 0;
    this.writer.checksumSeed = segmentSeed(this.headSeg);
    this.marks = [{ seg: this.headSeg, start: 0, fileOffset: headOffset }];
  }

  /** start a new segment file; later records go there. Returns the sealed segment's size. */
  roll(): number {
    const sealedSize = this.headSize;
    const w = this.writer;
    // the sealed segment's data ends in a zero record header, written with its last records
    w.ensure(SEGMENT_END + SEGMENT_HEADER);
    w.buf.fill(0, w.pos, w.pos + SEGMENT_END);
    w.pos += SEGMENT_END;
    this.headSeg++;
    // a segment made ahead claimed its file then; one made at its first flush claims it now
    const recycled = this.next?.seg === this.headSeg ? this.recycled.has(this.headSeg) : this.claimSpare(this.headSeg);
    this.marks.push({ seg: this.headSeg, start: w.pos, fileOffset: 0 });
    writeSegmentHeader(w.buf, w.pos, recycled);
    w.pos += SEGMENT_HEADER;
    w.checksumSeed = segmentSeed(this.headSeg);
    return sealedSize;
  }

  /**
   * Records were appended: get them to disk soon. `lazy`: nothing waits for them (a consumer's
   * ack): they go with the next flush that something else needs, or after LAZY_FLUSH_MS, so
   * that a producer waiting on its own sync does not wait behind a flush of acks too.
   */
  appended(lazy = false): void {
    if (!this.behind && this.detached + this.writer.pos > this.backlogHigh) {
      this.behind = true;
      this.opts.onBacklog?.(true);
    }
    if (!lazy) {
      this.eager = true;
      this.schedule();
    } else if (!this.eager && !this.lazyTimer) {
      this.lazyTimer = setTimeout(this.lazyDue, LAZY_FLUSH_MS);
      this.lazyTimer.unref();
    }
  }

  private readonly lazyDue = (): void => {
    this.lazyTimer = undefined;
    if (!this.hasBuffered()) return;
    this.eager = true;
    this.schedule();
  };

  sync(cb: SyncCallback): void {
    if (this.closed) {
      process.nextTick(cb, new Error('store is closed'));
      return;
    }
    if (this.hasUnflushed()) {
      this.waiting.push(cb);
      this.schedule();
    } else if (this.inflight.length) {
      // everything written is in a flush under way: the newest one's sync covers it
      this.inflight[this.inflight.length - 1]!.cbs.push(cb);
    } else {
      process.nextTick(cb);
    }
  }

  /**
   * Where everything appended so far will be durable: the seq of the flush that takes it (the
   * next one to start while bytes wait in the buffer). Cheap, for a caller to note after each
   * write and wait on later with `syncTo`.
   */
  syncPoint(): number {
    return this.hasUnflushed() ? this.started + 1 : this.started;
  }

  /**
   * `cb` once everything appended before `syncPoint()` returned `point` is durable. Unlike a
   * `sync` asked for later, it does not also wait for what was appended since: a client's
   * confirms, asked for at the end of the turn its publishes were read in, are released by
   * the flush that wrote those publishes, not by the one after it that takes what other reads
   * added meanwhile (with two flushes under way and a slow disk, one more fsync: ~50 ms here).
   */
  syncTo(point: number, cb: SyncCallback): void {
    if (this.closed || point > this.started) return this.sync(cb);
    if (point <= this.durableSeq) {
      process.nextTick(cb);
      return;
    }
    for (const f of this.inflight) {
      if (f.seq !== point) continue;
      f.cbs.push(cb);
      return;
    }
    // that flush failed: its bytes wait for the retry, which the next flush makes
    this.sync(cb);
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
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.inflight.length) await this.inflight[this.inflight.length - 1]!.done;
    if (!err) await this.trimHead();
    await this.dropNext();
    for (const fd of this.fds.values()) await this.opts.fs.close(fd).catch(() => {});
    this.fds.clear();
    if (err) throw err;
  }

  /**
   * A ready next segment nothing was written to: closed, and kept as the spare (the next start's
   * head then has its zeros) or removed (replay would remove it too).
   */
  private async dropNext(): Promise<void> {
    const next = this.next;
    this.next = undefined;
    if (!next) return;
    const fd = await next.ready;
    if (fd === undefined) return;
    await this.opts.fs.close(fd).catch(() => {});
    const path = segmentPath(this.opts.dir, next.seg);
    const spare = this.opts.spare;
    // its records (if any: a recycled file's) were written for the number its spare had
    if (spare) await spare.keep(path, this.recycled.get(next.seg) ?? 0).catch(() => {});
    else await this.opts.fs.unlink(path).catch(() => {});
  }

  /**
   * A clean close leaves a recycled head as long as its data: the old use's bytes after it go. A
   * head on a new file keeps its zeros (or holes): the next start goes on writing there
   * (ScanResult.appendable) instead of zero-filling a new head; an older LocalMQ's replay cuts them.
   */
  private async trimHead(): Promise<void> {
    if (!this.opts.preallocate || this.failed.length > 0 || !this.recycled.has(this.headSeg)) return;
    const fd = this.fds.get(this.headSeg);
    if (fd === undefined) return;
    try {
      // not synced: should the cut be lost in a crash, replay takes the zeros as the end of data
      await this.opts.fs.ftruncate(fd, this.headSize);
    } catch {
      // the zeros stay: replay takes them as the end of data
    }
  }

  private hasUnflushed(): boolean {
    return this.failed.length > 0 || this.hasBuffered();
  }

  /** records appended and not yet in a flush */
  private hasBuffered(): boolean {
    return this.writer.pos > 0 || this.setAside.length > 0;
  }

  /** a new flush may start: none is writing and the pipeline has room */
  private canStart(): boolean {
    const n = this.inflight.length;
    return n < PIPELINE_DEPTH && (n === 0 || !this.inflight[n - 1]!.writing);
  }

  private schedule(): void {
    if (this.scheduled || this.closed || !this.canStart()) return;
    this.scheduled = true;
    if (this.opts.syncDelayMs > 0) setTimeout(this.run, this.opts.syncDelayMs);
    // at the end of the current callback: the flush of what a client just sent starts before
    // that callback's deliveries and replies go out and before other sockets are read; what
    // arrives while two flushes are under way batches behind them (canStart)
    else process.nextTick(this.run);
  }

  private readonly run = (): void => {
    this.scheduled = false;
    if (this.closed || !this.canStart()) return;
    if (!this.hasUnflushed()) {
      const cbs = this.takeWaiting();
      if (!cbs.length) return;
      if (this.inflight.length) this.inflight[this.inflight.length - 1]!.cbs.push(...cbs);
      else for (const cb of cbs) cb();
      return;
    }
    this.startFlush();
  };

  private takeWaiting(): SyncCallback[] {
    const cbs = this.waiting;
    this.waiting = [];
    return cbs;
  }

  /**
   * The current writer's records as batches (one per segment it holds records of), added to
   * `into`. The head's ends in a zero record header (SEGMENT_END) that the next flush overwrites:
   * in a recycled file nothing else would end its data. Each batch cut is counted in the backlog
   * as it is, SEGMENT_END included (`detached`), and subtracted as it is once durable: the two
   * always agree, whatever a batch spans (review-s16-1 U1).
   */
  private cutBatches(into: Batch[]): void {
    const w = this.writer;
    const marks = this.marks;
    w.ensure(SEGMENT_END);
    w.buf.fill(0, w.pos, w.pos + SEGMENT_END);
    for (let i = 0; i < marks.length; i++) {
      const m = marks[i]!;
      const last = i + 1 === marks.length;
      const end = last ? w.pos + SEGMENT_END : marks[i + 1]!.start;
      if (last ? w.pos > m.start : end > m.start) {
        into.push({ seg: m.seg, buf: w.buf, start: m.start, end, fileOffset: m.fileOffset });
        this.detached += end - m.start;
      }
    }
  }

  private freshWriter(): ByteWriter {
    const w = this.spares.pop() ?? new ByteWriter(256 * 1024);
    w.pos = 0;
    w.checksumSeed = segmentSeed(this.headSeg);
    return w;
  }

  /** detach the buffered bytes as batches (failed ones first, then in the order appended) and give the writer a fresh buffer */
  private takeBatches(): { batches: Batch[]; writers: ByteWriter[] } {
    const w = this.writer;
    const batches: Batch[] = this.failed;
    this.failed = [];
    for (const b of this.setAside) batches.push(b);
    this.setAside = [];
    const writers = this.setAsideWriters;
    this.setAsideWriters = [];
    this.cutBatches(batches);
    const headOffset = this.headSize;
    if (w.pos > 0) {
      writers.push(w);
      this.writer = this.freshWriter();
    }
    this.marks = [{ seg: this.headSeg, start: 0, fileOffset: headOffset }];
    // everything buffered goes with this flush, lazy records too
    this.eager = false;
    if (this.lazyTimer) clearTimeout(this.lazyTimer);
    this.lazyTimer = undefined;
    return { batches, writers };
  }

  private startFlush(): void {
    const cbs = this.takeWaiting();
    const { batches, writers } = this.takeBatches();
    const previous = this.inflight[this.inflight.length - 1];
    let resolveDone!: (err: Error | undefined) => void;
    const flush: Flush = { seq: ++this.started, cbs, batches, writers, touched: [], writing: true, done: new Promise((r) => (resolveDone = r)) };
    this.inflight.push(flush);
    void this.runFlush(flush, previous).then(resolveDone);
  }

  private async runFlush(f: Flush, previous: Flush | undefined): Promise<Error | undefined> {
    const fs = this.opts.fs;
    let err: Error | undefined;
    try {
      for (const b of f.batches) {
        const fd = await this.fdFor(b.seg, b.fileOffset);
        let off = b.start;
        let pos = b.fileOffset;
        while (off < b.end) {
          const len = b.end - off;
          const inline = this.opts.writeInline;
          const n = inline && len <= INLINE_WRITE_MAX ? inline(fd, b.buf, off, len, pos) : await fs.write(fd, b.buf, off, len, pos);
          if (n <= 0) throw new Error(`write to segment ${b.seg} made no progress`);
          this.stats.writes++;
          this.stats.bytesWritten += n;
          off += n;
          pos += n;
        }
        if (!f.touched.includes(b.seg)) f.touched.push(b.seg);
      }
    } catch (e) {
      err = e instanceof Error ? e : new Error(String(e));
    }
    f.writing = false;
    if (!err) this.maybePreopen();
    // the next flush writes while this one syncs
    if (!this.closed && this.hasUnflushed() && (this.waiting.length > 0 || this.eager)) this.schedule();
    // syncs end in order: this one's callbacks promise everything before it too
    const before = previous ? await previous.done : undefined;
    if (before) err ??= before;
    if (!err) {
      try {
        // a flush that spans a segment roll syncs both files at once: one after the other, its
        // confirms waited for the sum (traced: 58 + 34 and 48 + 49 ms on this shared disk, the
        // new file's first fsync committing its block allocation), now for the longer one.
        // Either order is as safe: the callbacks wait for both, and replay takes what is there.
        if (f.touched.length === 1) await fs.fdatasync(this.fds.get(f.touched[0]!)!);
        else await Promise.all(f.touched.map((seg) => fs.fdatasync(this.fds.get(seg)!)));
        this.stats.fsyncs += f.touched.length;
        this.stats.flushes++;
      } catch (e) {
        err = e instanceof Error ? e : new Error(String(e));
      }
    }
    this.finish(f, err);
    return err;
  }

  /** `f.cbs` includes callbacks that joined the flush while it ran: it covers them too */
  private finish(f: Flush, err: Error | undefined): void {
    this.inflight.shift();
    if (err) {
      // keep the bytes for the retry, after those of any earlier failed flush; their buffer is not handed out again
      this.failed.push(...f.batches);
      const first = this.error === null;
      this.error = err;
      if (first) this.opts.onStatus(err);
      for (const cb of f.cbs) cb(err);
      this.scheduleRetry();
    } else {
      // a flush succeeds only after the one before it did: everything appended before it started is on disk
      this.durableSeq = f.seq;
      for (const b of f.batches) this.detached -= b.end - b.start;
      if (this.behind && this.backlog <= this.backlogHigh / 2) {
        this.behind = false;
        this.opts.onBacklog?.(false);
      }
      // a buffer grown by one huge message is let go rather than kept forever
      for (const w of f.writers) if (this.spares.length < PIPELINE_DEPTH && w.buf.length <= MAX_SPARE_BUFFER) this.spares.push(w);
      if (this.error !== null && this.inflight.length === 0 && this.failed.length === 0) {
        this.error = null;
        this.opts.onStatus(null);
      }
      this.closeSealed();
      for (const cb of f.cbs) cb();
      this.opts.onFlushed();
    }
    // more arrived meanwhile; after a failure only new data retries at once, else the timer does
    if (!this.closed && (this.waiting.length > 0 || this.eager)) this.schedule();
    else if (!this.closed && this.hasBuffered() && !this.lazyTimer) this.appended(true);
  }

  /** sealed segments get no more writes: close their files once no flush under way or retry needs them */
  private closeSealed(): void {
    for (const [seg, fd] of this.fds) {
      if (seg >= this.headSeg) continue;
      if (this.inflight.some((f) => f.batches.some((b) => b.seg === seg)) || this.failed.some((b) => b.seg === seg)) continue;
      this.fds.delete(seg);
      this.zeroed.delete(seg);
      this.recycled.delete(seg);
      this.opts.fs.close(fd).catch(() => {});
    }
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
    const fresh = fileOffset === 0;
    if (fresh && this.next?.seg === seg) {
      const next = this.next;
      const ready = await next.ready;
      this.next = undefined;
      if (ready !== undefined) {
        this.fds.set(seg, ready);
        this.zeroed.set(seg, next.zeros);
        return ready;
      }
      // making it ahead failed: try again here, where a failure fails the flush (and is retried)
    }
    if (!fresh) {
      const fd = await this.opts.fs.open(segmentPath(this.opts.dir, seg), 'r+');
      this.fds.set(seg, fd);
      return fd;
    }
    const made = await this.makeFile(seg, this.firstZeroFill());
    this.fds.set(seg, made.fd);
    this.zeroed.set(seg, made.zeroed);
    return made.fd;
  }

  /**
   * Segment `seg`'s file, ready for its records: the spare claimed for it if there is one (only
   * what it lacks of `zeros` zero-filled), else a new file. Its fd, and the bytes at its start that
   * records will overwrite rather than allocate.
   */
  private async makeFile(seg: number, zeros: number): Promise<{ fd: number; zeroed: number }> {
    const fs = this.opts.fs;
    const written = this.recycled.get(seg);
    if (written !== undefined && this.opts.spare) {
      try {
        const { fd, allocated } = await this.opts.spare.reuse(written, seg);
        const have = Math.min(allocated, this.opts.preallocate ?? 0);
        try {
          await this.prepareNew(fd, Math.min(have, zeros), zeros, true);
          await this.cacheBlocks(fd, Math.min(have, zeros));
        } catch (e) {
          await fs.close(fd).catch(() => {});
          throw e;
        }
        return { fd, zeroed: zeros > 0 ? Math.max(have, zeros) : 0 };
      } catch {
        // a new file then (its header says recycled: replay only looks at less after its data)
      }
    }
    const fd = await fs.open(segmentPath(this.opts.dir, seg), 'w');
    try {
      await this.prepareNew(fd, 0, zeros, false);
    } catch (e) {
      await fs.close(fd).catch(() => {});
      throw e;
    }
    return { fd, zeroed: zeros };
  }

  /** bytes zero-filled in the head made at open (headZeroFill, at most a segment) */
  private firstZeroFill(): number {
    return Math.min(this.opts.headZeroFill ?? 0, this.opts.preallocate ?? 0);
  }

  /**
   * Bytes zero-filled in the segment made ahead of the head: four times the head's, up to the
   * whole segment. With a short head at open (a headZeroFill under the segment: the test suite's
   * 256 KiB) a flood reaches whole segments after short ones (256 KiB, 1 MiB, 4 MiB, then 16 MiB);
   * FileStore's default head is a whole segment already, and so is every one after it.
   */
  private aheadZeroFill(): number {
    const first = this.firstZeroFill();
    if (first === 0) return 0;
    return Math.min(this.opts.preallocate!, Math.max(first, 4 * (this.zeroed.get(this.headSeg) ?? 0)));
  }

  /**
   * Reads a recycled file's first `bytes` once, in the background, so that its pages are in the
   * page cache before records go there: a flush writing into the middle of a block whose page is
   * not cached first reads that block from the disk, synchronously, in the event loop (the inline
   * write). A new file's zero-fill leaves its pages cached the same way. Seen after a warm
   * confirm-latency run: a kept spare had 11.7 of its 16 MiB in the cache (fincore).
   */
  private async cacheBlocks(fd: number, bytes: number): Promise<void> {
    const chunk = Buffer.allocUnsafe(Math.min(CACHE_READ, bytes));
    for (let at = 0; at < bytes; ) {
      const n = await this.opts.fs.read(fd, chunk, 0, Math.min(chunk.length, bytes - at), at);
      if (n <= 0) return;
      at += n;
    }
  }

  /**
   * A new segment file: preallocated, bytes `from` to `zeros` written with zeros and synced (so
   * that records overwrite them; before `from` a recycled file has its earlier use's blocks), and
   * its directory entry made durable along with its contents.
   */
  private async prepareNew(fd: number, from: number, zeros: number, recycled: boolean): Promise<void> {
    const fs = this.opts.fs;
    if (this.opts.preallocate) await fs.ftruncate(fd, this.opts.preallocate);
    if (zeros > from) {
      const chunk = Buffer.alloc(Math.min(ZERO_CHUNK, zeros - from));
      for (let at = from; at < zeros; ) {
        const n = await fs.write(fd, chunk, 0, Math.min(chunk.length, zeros - at), at);
        if (n <= 0) throw new Error('zero-filling a new segment made no progress');
        at += n;
      }
    }
    // a recycled file's size may have changed too: committed here, not by its first records' sync
    if (zeros > from || recycled) await fs.fdatasync(fd);
    await syncDirectory(fs, this.opts.dir);
    if (process.platform !== 'win32') this.stats.fsyncs++;
  }

  /** the head is past preopenAt and its file open: start making the next segment's file */
  private maybePreopen(): void {
    let at = this.opts.preopenAt;
    if (at === undefined || this.closed || this.next || !this.fds.has(this.headSeg)) return;
    // a head zero-filled in part is sealed at the end of those zeros: the one made at open makes
    // the next half way through them; a short one made ahead (a flood ramping up: it fills in
    // a few flushes) makes its successor at once
    const zeroed = this.zeroed.get(this.headSeg) ?? 0;
    const full = this.opts.preallocate ?? 0;
    if (zeroed > 0 && zeroed < full) at = zeroed > this.firstZeroFill() ? 0 : Math.min(at, zeroed >>> 1);
    if (this.headSize < at) return;
    const seg = this.headSeg + 1;
    const next: NonNullable<GroupCommit['next']> = { seg, ready: Promise.resolve(undefined), done: false, fd: undefined, zeros: this.aheadZeroFill() };
    this.claimSpare(seg);
    next.ready = this.makeFile(seg, next.zeros)
      .then((made) => {
        next.zeros = made.zeroed;
        return made.fd;
      })
      .catch(() => undefined)
      .then((fd) => {
        next.fd = fd;
        next.done = true;
        return fd;
      });
    this.next = next;
  }
}

/** `size` bytes at file offset `offset`, when buf[start, end) holds the file from `fileOffset` and covers them */
function slice(buf: Buffer, start: number, end: number, fileOffset: number, offset: number, size: number): Buffer | undefined {
  if (offset < fileOffset || offset + size > fileOffset + (end - start)) return undefined;
  const at = start + (offset - fileOffset);
  return buf.subarray(at, at + size);
}
