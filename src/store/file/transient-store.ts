import { closeSync, mkdirSync, openSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Message } from '../../core/message.js';
import { Waiters } from '../../core/waiters.js';
import type { TransientPager } from '../store.js';
import { ByteReader, ByteWriter } from './binary.js';
import { readMessagePart, writeMessagePart } from './record-codec.js';
import { SegmentReader } from './segment-reader.js';
import type { StoreLogger } from './store-logger.js';

/** a record's place: segment number * SPAN + offset in the segment (offsets stay below it) */
const SPAN = 2 ** 28;
export const TRANSIENT_SEGMENT_SIZE = 4 * 1024 * 1024;
/** buffered records go to the file at this size, or at the end of the turn */
const FLUSH_AT = 256 * 1024;
/** a record: u32 LE length of the message part, then the part (record-codec's) */
const LENGTH = 4;

interface Segment {
  no: number;
  /** records written to it that are still some queue's */
  live: number;
  /** bytes in the file (the head segment's buffered records come after) */
  size: number;
  /** records whose write failed: kept in memory, readable, until the segment goes */
  stuck?: { offset: number; buf: Buffer }[];
}

/**
 * Where queues page out message bodies the journal does not hold — transient messages, and
 * every message of a non-durable queue — once they grow past the paging threshold, as
 * RabbitMQ's classic queues v2 do with the per-vhost transient store. Nothing here outlives
 * the run: the directory is emptied when the broker starts and removed when it stops.
 *
 * Records are appended to segments of a few MiB, without fsync (nobody waits for them);
 * each segment counts the records still held by a queue, and goes as soon as none is, so
 * a broker churning transient messages for days uses the disk of what is queued now.
 * Reads are synchronous (a queue pages a batch in within one turn). A segment emptied
 * during a turn is deleted at the end of it: an entry handed out in that turn (a selector
 * consumer's, say) can still read its message.
 */
export class TransientStore implements TransientPager {
  private readonly segments = new Map<number, Segment>();
  private head: Segment;
  private headFd: number;
  /** records not yet in the file (small at first: an idle broker pages nothing) */
  private readonly writer = new ByteWriter(4096);
  private flushQueued = false;
  private readonly emptied: Segment[] = [];
  private dropQueued = false;
  /** settled()'s callers, released once the pending drop has run */
  private readonly dropWaiters = new Waiters();
  /** reads sealed segments back (the head through its own descriptor) */
  private readonly reader = new SegmentReader(
    (no) => this.path(no),
    (no) => (no === this.head.no ? this.headFd : undefined),
  );
  /** a write failed (a full disk): no more paging out; what is here stays readable */
  private failed = false;
  /** free disk space is low: no paging out until it is back */
  private held = false;
  private closed = false;

  constructor(
    readonly dir: string,
    readonly threshold: number,
    private readonly logger: StoreLogger,
    private readonly segmentSize = TRANSIENT_SEGMENT_SIZE,
    /** fs.writeSync, or a test's failing one */
    private readonly writeFile: (fd: number, buf: Buffer, offset: number, length: number, position: number) => number = writeSync,
  ) {
    // what a previous run left is nobody's
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    this.head = this.newSegment(1);
    this.headFd = openSync(this.path(1), 'w+');
  }

  /** segment files on disk (tests, stats) */
  get segmentCount(): number {
    return this.segments.size;
  }

  /** where the message can be read back from, or -1 when it must stay in memory */
  write(message: Message): number {
    if (this.failed || this.held || this.closed) return -1;
    const w = this.writer;
    if (this.head.size + w.pos >= this.segmentSize) this.roll();
    const start = w.pos;
    w.ensure(LENGTH);
    w.pos += LENGTH;
    try {
      writeMessagePart(w, message);
    } catch {
      // a value the codec cannot take: the message stays in memory
      w.pos = start;
      return -1;
    }
    const length = w.pos - start - LENGTH;
    if (length >= SPAN) {
      w.pos = start;
      return -1;
    }
    w.buf.writeUInt32LE(length, start);
    this.head.live++;
    const loc = this.head.no * SPAN + this.head.size + start;
    if (w.pos >= FLUSH_AT) this.flush();
    else if (!this.flushQueued) {
      this.flushQueued = true;
      setImmediate(() => {
        this.flushQueued = false;
        this.flush();
      });
    }
    return loc;
  }

  hold(on: boolean): void {
    this.held = on;
  }

  read(loc: number): Message | undefined {
    const no = Math.floor(loc / SPAN);
    const offset = loc - no * SPAN;
    const seg = this.segments.get(no);
    if (!seg) return undefined;
    try {
      let buf: Buffer;
      let at: number;
      const stuck = seg.stuck?.find((c) => offset >= c.offset && offset < c.offset + c.buf.length);
      if (seg === this.head && offset >= seg.size) {
        buf = this.writer.buf;
        at = offset - seg.size;
      } else if (stuck) {
        buf = stuck.buf;
        at = offset - stuck.offset;
      } else {
        [buf, at] = this.reader.readPrefixed(no, offset);
      }
      const length = buf.readUInt32LE(at);
      return readMessagePart(new ByteReader(buf, at + LENGTH, at + LENGTH + length));
    } catch (err) {
      this.logger.warn(`transient store ${this.dir}: a message could not be read back from segment ${no} at ${offset}: ${(err as Error).message}`);
      return undefined;
    }
  }

  /** the record's queue let go of it (the message came back into memory, or left the queue) */
  release(loc: number): void {
    const seg = this.segments.get(Math.floor(loc / SPAN));
    if (!seg || --seg.live > 0 || seg === this.head) return;
    this.emptied.push(seg);
    if (!this.dropQueued) {
      this.dropQueued = true;
      setImmediate(() => this.dropEmptied());
    }
  }

  /**
   * Resolves once the segments emptied so far are deleted: they go at the end of the turn
   * that empties them (at once when none is waiting). For tests and diagnostics.
   */
  settled(): Promise<void> {
    return this.dropWaiters.wait(!this.dropQueued);
  }

  /** the broker stops: everything here goes */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.reader.closeAll();
    try {
      closeSync(this.headFd);
    } catch {
      // already gone
    }
    this.segments.clear();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private path(no: number): string {
    return join(this.dir, `${String(no).padStart(10, '0')}.tseg`);
  }

  private newSegment(no: number): Segment {
    const seg: Segment = { no, live: 0, size: 0 };
    this.segments.set(no, seg);
    return seg;
  }

  private roll(): void {
    this.flush();
    if (this.failed) return;
    const old = this.head;
    const no = old.no + 1;
    let fd: number;
    try {
      fd = openSync(this.path(no), 'w+');
    } catch (err) {
      this.fail(err);
      return;
    }
    closeSync(this.headFd);
    this.headFd = fd;
    this.head = this.newSegment(no);
    if (old.live === 0) {
      this.emptied.push(old);
      if (!this.dropQueued) {
        this.dropQueued = true;
        setImmediate(() => this.dropEmptied());
      }
    }
  }

  private flush(): void {
    const w = this.writer;
    if (w.pos === 0 || this.closed) return;
    const seg = this.head;
    const n = w.pos;
    try {
      if (this.failed) throw new Error('an earlier write failed');
      let done = 0;
      while (done < n) done += this.writeFile(this.headFd, w.buf, done, n - done, seg.size + done);
    } catch (err) {
      // the records stay readable from memory; no more are written
      (seg.stuck ??= []).push({ offset: seg.size, buf: Buffer.from(w.buf.subarray(0, n)) });
      this.fail(err);
    }
    seg.size += n;
    w.pos = 0;
  }

  private fail(err: unknown): void {
    if (!this.failed) this.logger.warn(`transient store ${this.dir}: ${(err as Error).message}; transient messages stay in memory from now on`);
    this.failed = true;
  }

  private dropEmptied(): void {
    this.dropQueued = false;
    for (const seg of this.emptied.splice(0)) {
      if (seg.live > 0 || seg === this.head || this.segments.get(seg.no) !== seg) continue;
      this.segments.delete(seg.no);
      this.reader.close(seg.no);
      if (this.closed) continue;
      try {
        unlinkSync(this.path(seg.no));
      } catch {
        // gone already
      }
    }
    this.dropWaiters.release();
  }
}
