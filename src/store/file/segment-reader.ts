import { closeSync, openSync, readSync } from 'node:fs';

/** bytes read at once when a paged-out message is read back from a segment file */
const READ_AHEAD = 64 * 1024;
/** read descriptors kept open at once (a paged queue reads mostly from one or two segments) */
const MAX_READ_FDS = 8;
/** a length-prefixed record starts with its length, u32 LE */
const LENGTH = 4;

/**
 * Reads records back from segment files, synchronously, through one read-ahead block and a
 * few descriptors kept open: paged-out messages are mostly read back in the order they were
 * written. The journal (FileStore) and the transient store both page through it.
 */
export class SegmentReader {
  /** segment number -> a descriptor opened here for reading */
  private readonly fds = new Map<number, number>();
  /** the last block read from a segment file */
  private block: { seg: number; offset: number; length: number; buf: Buffer } | undefined;

  /**
   * @param path the file of a segment
   * @param borrowed a descriptor its owner keeps open for a segment (the transient store's
   *   head, written meanwhile), used as is and never closed here
   */
  constructor(
    private readonly path: (seg: number) => string,
    private readonly borrowed: (seg: number) => number | undefined = () => undefined,
  ) {}

  /** the `size` bytes at `offset` of segment `seg` (valid until the next read) */
  read(seg: number, offset: number, size: number): Buffer {
    const b = this.block;
    if (b && b.seg === seg && offset >= b.offset && offset + size <= b.offset + b.length) {
      const at = offset - b.offset;
      return b.buf.subarray(at, at + size);
    }
    const fd = this.fd(seg);
    const want = Math.max(size, READ_AHEAD);
    const buf = b && b.buf.length >= want ? b.buf : Buffer.allocUnsafe(want);
    const got = readAt(fd, buf, 0, want, offset, size);
    if (got < size) throw new Error('segment ends inside the record');
    this.block = { seg, offset, length: got, buf };
    return buf.subarray(0, size);
  }

  /**
   * The length-prefixed record at `offset` of segment `seg`: the buffer holding it and where
   * it starts (valid until the next read).
   */
  readPrefixed(seg: number, offset: number): [Buffer, number] {
    const b = this.block;
    if (b && b.seg === seg && offset >= b.offset && offset + LENGTH <= b.offset + b.length) {
      const at = offset - b.offset;
      if (at + LENGTH + b.buf.readUInt32LE(at) <= b.length) return [b.buf, at];
    }
    const fd = this.fd(seg);
    let buf = b && b.buf.length >= READ_AHEAD ? b.buf : Buffer.allocUnsafe(READ_AHEAD);
    let got = readAt(fd, buf, 0, buf.length, offset, LENGTH);
    if (got < LENGTH) throw new Error('segment ends inside the record');
    const size = LENGTH + buf.readUInt32LE(0);
    if (size > buf.length) {
      buf = Buffer.allocUnsafe(size);
      got = readAt(fd, buf, 0, size, offset, size);
    } else if (got < size) got += readAt(fd, buf, got, buf.length - got, offset + got, size - got);
    if (got < size) throw new Error('segment ends inside the record');
    this.block = { seg, offset, length: got, buf };
    return [buf, 0];
  }

  /** forget the read-ahead block (its bytes may be stale: a failed write was redone since) */
  forgetBlock(): void {
    this.block = undefined;
  }

  /** the segment is going: close its descriptor */
  close(seg: number): void {
    if (this.block?.seg === seg) this.block = undefined;
    const fd = this.fds.get(seg);
    if (fd === undefined) return;
    this.fds.delete(seg);
    try {
      closeSync(fd);
    } catch {
      // already gone
    }
  }

  closeAll(): void {
    for (const seg of [...this.fds.keys()]) this.close(seg);
  }

  private fd(seg: number): number {
    const lent = this.borrowed(seg);
    if (lent !== undefined) return lent;
    let fd = this.fds.get(seg);
    if (fd === undefined) {
      if (this.fds.size >= MAX_READ_FDS) this.close(this.fds.keys().next().value!);
      fd = openSync(this.path(seg), 'r');
      this.fds.set(seg, fd);
    }
    return fd;
  }
}

/** read until at least `min` bytes are in (or the file ends); how many came */
function readAt(fd: number, buf: Buffer, at: number, length: number, position: number, min: number): number {
  let got = 0;
  while (got < min) {
    const n = readSync(fd, buf, at + got, length - got, position + got);
    if (n <= 0) break;
    got += n;
  }
  return got;
}
