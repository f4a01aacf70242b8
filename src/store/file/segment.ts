import { closeSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { ByteReader, DecodeError } from './binary.js';
import { crc32, segmentSeed } from './checksum.js';
import { syncDirectory, type StoreFs } from './fs-layer.js';
import { MAX_RECORD, RECORD_HEADER } from './record-codec.js';

/**
 * Segment files: `<10-digit number>.jseg`, an 8-byte header (magic, then the format's version
 * word), then records. Format 1: records with plain CRC-32s. Format 2: each record's CRC is
 * XORed with the segment number's seed (segmentSeed), and the version word may carry
 * SEGMENT_RECYCLED. Both are read; format 2 is written.
 *
 * Format 1 segments were named `<number>.seg`: an earlier LocalMQ lists only those, and takes a
 * format 2 segment for a damaged one and removes it (review-s16-1 U2). So format 2 journals are
 * named otherwise, and an older LocalMQ on such a data dir starts empty, deleting nothing. At open,
 * `.seg` files are renamed to `.jseg` (adoptLegacySegments): their format 1 content reads as it is.
 */
export const SEGMENT_MAGIC = 0x4a514d4c; // "LMQJ" read as u32 LE
export const SEGMENT_VERSION = 2;
export const SEGMENT_HEADER = 8;
/**
 * In the version word: the file was recycled (an earlier segment's, spare-segment.ts). After
 * the data come that segment's old bytes, not zeros: a zero record header (SEGMENT_END, written
 * after every flush's records) ends the data, and nothing after it is looked at.
 */
export const SEGMENT_RECYCLED = 0x1_0000;
/**
 * Bytes of zeros written after the records of every flush (a record header of length 0): the
 * end of the data, which the next flush writes over. In a recycled file nothing else marks it.
 */
export const SEGMENT_END = 8;

const SEGMENT_NAME = /^(\d{10})\.jseg$/;
/** a segment of a journal written before format 2 (its content may be format 1 only) */
const LEGACY_SEGMENT_NAME = /^(\d{10})\.seg$/;
const READ_CHUNK = 8 * 1024 * 1024;
/**
 * A scan's first read; later ones double up to READ_CHUNK while the data goes on. A head a clean close
 * left with its zeros (continued by the next start) is mostly zeros: read in one 8 MiB chunk they made
 * 8 MiB resident in an idle broker's restart (verify s19: idle RSS 54.7 -> 62.1 MiB, over the 60 MB goal).
 */
const FIRST_READ = 256 * 1024;

export function segmentFileName(no: number): string {
  return `${String(no).padStart(10, '0')}.jseg`;
}

/** made (and its directory entry synced) before the first `.seg` is renamed, removed after the last: an adoption under way */
const ADOPTING = 'journal-adopting';

/**
 * A journal of an earlier LocalMQ (`<number>.seg` files) becomes this one's: each file renamed to
 * its `.jseg` name, its format 1 content left as it is. A marker file says an adoption is under
 * way, so that one cut short (a crash, a failed rename) is finished at the next open (review-s16-1
 * U4: without it, the renamed half was taken for this journal and the rest left unread). Without
 * the marker, `.seg` files beside `.jseg` ones are an older LocalMQ's journal begun on this data
 * dir after a newer one ran: left alone, and said so. Returns that warning, if any.
 */
export async function adoptLegacySegments(fs: StoreFs, dir: string): Promise<string | undefined> {
  const names = await fs.readdir(dir);
  const legacy = names.filter((n) => LEGACY_SEGMENT_NAME.test(n));
  const marker = join(dir, ADOPTING);
  const underWay = names.includes(ADOPTING);
  if (legacy.length === 0) {
    if (underWay) await fs.unlink(marker);
    return undefined;
  }
  if (!underWay && names.some((n) => SEGMENT_NAME.test(n))) {
    return `journal ${dir}: ${legacy.length} segment files of an older LocalMQ (*.seg) beside this journal's (*.jseg) are not read: an older LocalMQ ran on this data dir after a newer one`;
  }
  if (!underWay) {
    await fs.close(await fs.open(marker, 'w'));
    await syncDirectory(fs, dir);
  }
  for (const name of legacy) await fs.rename(join(dir, name), segmentPath(dir, Number(LEGACY_SEGMENT_NAME.exec(name)![1])));
  await syncDirectory(fs, dir);
  await fs.unlink(marker);
  return undefined;
}

export function segmentPath(dir: string, no: number): string {
  return join(dir, segmentFileName(no));
}

/** segment numbers present in `dir`, ascending */
export async function listSegments(fs: StoreFs, dir: string): Promise<number[]> {
  const names = await fs.readdir(dir);
  const out: number[] = [];
  for (const name of names) {
    const m = SEGMENT_NAME.exec(name);
    if (m) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/** the bytes of journal in `dir` (0 when there is none): how much a start has to replay */
export function journalBytes(dir: string): number {
  let bytes = 0;
  try {
    const names = readdirSync(dir).filter((name) => SEGMENT_NAME.test(name) || LEGACY_SEGMENT_NAME.test(name)).sort();
    for (const name of names) {
      // a segment left preallocated by a crash is mostly holes: count what is allocated (its
      // zero-filled part counts too: at most the head's zeros and the next segment's, made ahead)
      const path = join(dir, name);
      const st = statSync(path);
      const allocated = st.blocks ? Math.min(st.size, st.blocks * 512) : st.size;
      // the newest: a head a clean close left with its zeros (to be continued) is mostly zeros
      bytes += name === names[names.length - 1] ? Math.max(0, allocated - zeroTail(path, allocated)) : allocated;
    }
  } catch {
    // no data dir yet, or a segment gone meanwhile: the store says so when it opens
  }
  return bytes;
}

/** zero bytes at the end of the file's first `end` bytes (read back from `end`: reading them is cheap, replay reads them again) */
function zeroTail(path: string, end: number): number {
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(ZEROS.length);
    let pos = end;
    while (pos > 0) {
      const n = Math.min(chunk.length, pos);
      if (readSync(fd, chunk, 0, n, pos - n) !== n) break;
      if (!chunk.subarray(0, n).equals(ZEROS.subarray(0, n))) return end - (pos - n + lastNonZero(chunk, n) + 1);
      pos -= n;
    }
    return end - pos;
  } finally {
    closeSync(fd);
  }
}

/** index of the last non-zero byte of buf[0, n), -1 if none */
function lastNonZero(buf: Buffer, n: number): number {
  for (let i = n - 1; i >= 0; i--) if (buf[i] !== 0) return i;
  return -1;
}

export function writeSegmentHeader(buf: Buffer, at: number, recycled = false): void {
  buf.writeUInt32LE(SEGMENT_MAGIC, at);
  buf.writeUInt32LE(recycled ? (SEGMENT_VERSION | SEGMENT_RECYCLED) >>> 0 : SEGMENT_VERSION, at + 4);
}

/** the checksum seed of a segment whose header's version word is `word`; undefined: not a format read here */
function seedOf(word: number, no: number): number | undefined {
  if (word === 1) return 0;
  if ((word & 0xffff) === 2 && (word & ~(0xffff | SEGMENT_RECYCLED)) === 0) return segmentSeed(no);
  return undefined;
}

/** the segment number in a segment file's name */
function numberOf(path: string): number {
  const m = SEGMENT_NAME.exec(basename(path));
  if (!m) throw new Error(`not a journal segment's name: ${path}`);
  return Number(m[1]);
}

const ZEROS = Buffer.alloc(64 * 1024);

/** whether the file holds only zero bytes from `from` to `end` (holes of a sparse file read as zeros) */
async function zerosFrom(fs: StoreFs, fd: number, from: number, end: number, scratch: Buffer): Promise<boolean> {
  const chunk = scratch.subarray(0, Math.min(scratch.length, ZEROS.length));
  for (let pos = from; pos < end; ) {
    const n = await fs.read(fd, chunk, 0, Math.min(chunk.length, end - pos), pos);
    if (n <= 0) return true;
    if (!chunk.subarray(0, n).equals(ZEROS.subarray(0, n))) return false;
    pos += n;
  }
  return true;
}

/** ScanResult.problem's start for a segment of a format this code does not read (a newer LocalMQ's) */
export const UNKNOWN_FORMAT = 'segment of an unknown format, version';

export interface ScanResult {
  fileSize: number;
  /** end of the last intact record: everything after it was dropped */
  validEnd: number;
  /** why reading stopped before the end of the file */
  problem?: string;
  /**
   * The data ends at a zero record header with nothing but zeros after it (written zeros or holes),
   * in a format 2 file that was not recycled: records may be appended at validEnd as if the run that
   * wrote them had gone on (FileStore continues such a last segment as its head). Never for a
   * recycled file: an earlier use's bytes follow its data, and what a crashed flush left among them
   * cannot be told from them.
   */
  appendable?: boolean;
}

/**
 * Called once per intact record with `r` spanning the payload after the type byte.
 * `r.buf` is reused between calls: copy what must outlive the call.
 * Throwing a DecodeError marks the record as corrupt.
 */
export type RecordVisitor = (type: number, r: ByteReader, recordSize: number, fileOffset: number) => void;

/** records visited between two looks at the clock (scanSegment's sliceMs) */
const RECORDS_PER_CLOCK_READ = 256;

/**
 * Reads a segment front to back with large reads and hands each intact record to
 * `visit` synchronously. Stops at the first torn or corrupt record. The segment's number (its
 * checksum seed) comes from the file's name.
 *
 * `sliceMs`: visit for at most about that long at a time, then let the event loop turn
 * (setImmediate) before going on. A compaction gives it: an 8 MiB read holds ~140k small records,
 * and copying the live ones in one callback held the broker's loop for up to 230 ms (a durable
 * queue of a million being consumed). The start's replay gives none: nothing else runs then.
 */
export async function scanSegment(fs: StoreFs, path: string, visit: RecordVisitor, sliceMs?: number): Promise<ScanResult> {
  const fd = await fs.open(path, 'r');
  try {
    const fileSize = await fs.fstatSize(fd);
    if (fileSize === 0) return { fileSize, validEnd: 0 };
    let buf = Buffer.allocUnsafe(Math.min(FIRST_READ, Math.max(fileSize, SEGMENT_HEADER)));
    /** file offset of buf[0] */
    let base = 0;
    /** bytes of buf holding file data */
    let filled = 0;
    /** parse position within buf */
    let at = 0;

    const fill = async (): Promise<void> => {
      // move the unparsed rest to the front, then read as much as fits
      if (at > 0) {
        buf.copyWithin(0, at, filled);
        base += at;
        filled -= at;
        at = 0;
      }
      // the data went on past a read: the next ones bigger (records are read from `buf` anew after every fill)
      if (base > 0 && buf.length < READ_CHUNK && base + buf.length < fileSize) {
        const bigger = Buffer.allocUnsafe(Math.min(READ_CHUNK, buf.length * 2));
        buf.copy(bigger, 0, 0, filled);
        buf = bigger;
      }
      while (filled < buf.length && base + filled < fileSize) {
        const n = await fs.read(fd, buf, filled, buf.length - filled, base + filled);
        if (n === 0) break;
        filled += n;
      }
    };

    /**
     * Zeros where the next record would begin: the end of the data in a preallocated file
     * (GroupCommitOptions.preallocate). Only if everything after is zeros too; anything else
     * there is a flush whose pages reached the disk out of order before a crash (never synced,
     * so never confirmed): dropped like a torn record.
     */
    const endOfData = async (validEnd: number, appendable = false): Promise<ScanResult> =>
      (await zerosFrom(fs, fd, validEnd, fileSize, buf))
        ? appendable ? { fileSize, validEnd, appendable } : { fileSize, validEnd }
        : { fileSize, validEnd, problem: 'data after a zeroed gap (torn write)' };

    await fill();
    if (filled < SEGMENT_HEADER) return { fileSize, validEnd: 0, problem: 'torn segment header' };
    const word = buf.readUInt32LE(4);
    const seed = seedOf(word, numberOf(path));
    const recycled = (word & SEGMENT_RECYCLED) !== 0;
    if (buf.readUInt32LE(0) === SEGMENT_MAGIC && seed === undefined) {
      // a later format than this code knows: replay refuses to start rather than drop it (UNKNOWN_FORMAT)
      return { fileSize, validEnd: 0, problem: `${UNKNOWN_FORMAT} ${word & 0xffff}` };
    }
    if (buf.readUInt32LE(0) !== SEGMENT_MAGIC || seed === undefined) {
      // a preallocated file whose first write never reached the disk
      if (buf.readUInt32LE(0) === 0 && buf.readUInt32LE(4) === 0) {
        const empty = await endOfData(0);
        if (!empty.problem) return empty;
      }
      return { fileSize, validEnd: 0, problem: 'not a journal segment (bad header)' };
    }
    at = SEGMENT_HEADER;
    const r = new ByteReader(buf, 0, 0);
    let visited = 0;
    let sliceEnd = sliceMs === undefined ? Infinity : performance.now() + sliceMs;

    for (;;) {
      if (filled - at < RECORD_HEADER) {
        if (base + filled >= fileSize) break;
        await fill();
        if (filled - at < RECORD_HEADER) break;
      }
      const len = buf.readUInt32LE(at);
      // a record is never empty (it has a type byte): a zero length is where writing stopped
      // (in a recycled file the earlier use's bytes follow: they are not looked at)
      if (len === 0 && buf.readUInt32LE(at + 4) === 0) return recycled ? { fileSize, validEnd: base + at } : await endOfData(base + at, word === SEGMENT_VERSION);
      if (len === 0 || len > MAX_RECORD) {
        return { fileSize, validEnd: base + at, problem: `invalid record length ${len}` };
      }
      const total = RECORD_HEADER + len;
      if (filled - at < total) {
        if (base + at + total > fileSize) break; // torn: the file ends inside this record
        if (total > buf.length) {
          const bigger = Buffer.allocUnsafe(Math.max(total, buf.length * 2));
          buf.copy(bigger, 0, at, filled);
          base += at;
          filled -= at;
          at = 0;
          buf = bigger;
          r.buf = buf;
        }
        await fill();
        r.buf = buf;
        if (filled - at < total) break;
      }
      const payload = at + RECORD_HEADER;
      const end = payload + len;
      if (((crc32(buf.subarray(payload, end)) ^ seed) >>> 0) !== buf.readUInt32LE(at + 4)) {
        return { fileSize, validEnd: base + at, problem: 'checksum mismatch' };
      }
      r.buf = buf;
      r.pos = payload + 1;
      r.end = end;
      try {
        visit(buf[payload]!, r, total, base + at);
      } catch (err) {
        if (err instanceof DecodeError) return { fileSize, validEnd: base + at, problem: `undecodable record: ${err.message}` };
        throw err;
      }
      at = end;
      if (++visited % RECORDS_PER_CLOCK_READ === 0 && sliceMs !== undefined && performance.now() >= sliceEnd) {
        // `buf` is not refilled meanwhile: the records after `at` stay as read
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceEnd = performance.now() + sliceMs;
      }
    }
    const validEnd = base + at;
    return validEnd < fileSize ? { fileSize, validEnd, problem: 'torn record at the end' } : { fileSize, validEnd };
  } finally {
    await fs.close(fd);
  }
}
