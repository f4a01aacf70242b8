import { join } from 'node:path';
import type { StoreFs } from './fs-layer.js';
import { segmentPath, writeSegmentHeader, SEGMENT_END, SEGMENT_HEADER } from './segment.js';

/** a spare's name: the highest segment number its records were written for, then `.spare` */
const SPARE_NAME = /^(\d{10})\.spare$/;

function spareFileName(written: number): string {
  return `${String(written).padStart(10, '0')}.spare`;
}

/** a spare made the file of a new segment */
export interface ReusedFile {
  fd: number;
  /** bytes from its start that had blocks on the disk already (written by its earlier use, or zero-filled) */
  allocated: number;
}

interface KeptSpare {
  written: number;
  allocated: number;
}

/**
 * Files kept at most: a compaction often lets two segments go at once (the one a round of
 * consumption emptied and the one before it), and only one new segment is made at a time.
 */
const MAX_SPARES = 2;

/**
 * Up to MAX_SPARES segment files that are no longer part of the journal (compacted away, or made
 * ahead and left unused at a clean close), kept to be later segments' files instead of unlinked. A new
 * file has to be zero-filled before records overwrite it (GroupCommitOptions.headZeroFill: an
 * fdatasync into blocks already written has no ext4 journal commit to wait for); a kept one has
 * its blocks already, so those zeros are written once per file, not once per segment (PostgreSQL
 * recycles its WAL segments for the same reason). The cost: up to a segment of disk held while
 * the journal is small (two segments).
 *
 * Safety: the old records stay in the file behind the new ones. The new segment's records carry
 * its number's checksum seed (checksum.ts segmentSeed): the old ones, written for lower numbers,
 * fail it. A spare is used only for a number above every one it was written for (its name). The
 * file's header is rewritten (format 2, recycled) with a zero record header after it and synced
 * before it takes the segment's name: a crash then leaves an empty segment, never old records
 * under a new number, even from a format 1 file (plain CRCs).
 */
export class SegmentSpare {
  /**
   * the kept files: each one's name number (the highest segment number its records were written
   * for) and its bytes with blocks on the disk (a claim takes the most: those are not zero-filled again)
   */
  private kept: KeptSpare[] = [];
  /** keeps and reuses one after the other: a rename never lands on a file being reused */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly fs: StoreFs,
    private readonly dir: string,
  ) {}

  /** at open: the spares a previous run left are kept (the highest-named if more); any other goes */
  async adopt(): Promise<void> {
    const found: number[] = [];
    for (const name of await this.fs.readdir(this.dir)) {
      const m = SPARE_NAME.exec(name);
      if (m) found.push(Number(m[1]));
    }
    found.sort((a, b) => b - a);
    for (const extra of found.slice(MAX_SPARES)) await this.fs.unlink(join(this.dir, spareFileName(extra))).catch(() => {});
    this.kept = [];
    for (const written of found.slice(0, MAX_SPARES)) {
      const allocated = await this.allocatedOf(join(this.dir, spareFileName(written)));
      if (allocated !== undefined) this.kept.push({ written, allocated });
    }
  }

  /**
   * The file at `path` left the journal, its records written for segment numbers up to `written`
   * (a fresh file never written: 0): kept as a spare, or unlinked when MAX_SPARES with at least
   * as many bytes allocated are kept already (else it takes the place of the smallest), or one by
   * that name is (two fresh files).
   */
  keep(path: string, written: number): Promise<void> {
    return this.serial(async () => {
      if (this.kept.some((k) => k.written === written)) return this.fs.unlink(path);
      const allocated = await this.allocatedOf(path);
      if (allocated === undefined) return this.fs.unlink(path).catch(() => {});
      if (this.kept.length >= MAX_SPARES) {
        const smallest = this.smallest();
        if (this.kept[smallest]!.allocated >= allocated) return this.fs.unlink(path);
        // a head cut back to its data at a clean close, compacted away since, makes room for a whole file
        const [evicted] = this.kept.splice(smallest, 1);
        await this.fs.unlink(join(this.dir, spareFileName(evicted!.written))).catch(() => {});
      }
      try {
        await this.fs.rename(path, join(this.dir, spareFileName(written)));
        this.kept.push({ written, allocated });
      } catch {
        await this.fs.unlink(path);
      }
    });
  }

  /**
   * Takes a spare for segment `no` (synchronously, so that its header can say so before its file
   * is made): what `reuse` needs, or undefined when none is kept. The one with the most bytes
   * allocated: fewer zeros to write (review-s18-1 S1: a restart after a compaction took a head cut
   * back to its data at a clean close, 7.7 of 16 MiB, and zero-filled the rest while a whole spare
   * waited). One written for `no` or a higher number is never used (its records could read as the
   * segment's): it is unlinked.
   */
  claim(no: number): number | undefined {
    for (let i = this.kept.length - 1; i >= 0; i--) {
      const { written } = this.kept[i]!;
      if (written < no) continue;
      this.kept.splice(i, 1);
      void this.serial(() => this.fs.unlink(join(this.dir, spareFileName(written))).catch(() => {}));
    }
    if (this.kept.length === 0) return undefined;
    let best = 0;
    for (let i = 1; i < this.kept.length; i++) if (this.kept[i]!.allocated > this.kept[best]!.allocated) best = i;
    return this.kept.splice(best, 1)[0]!.written;
  }

  /** the claimed spare (`claim`'s answer) becomes segment `no`'s file, opened for writing */
  reuse(written: number, no: number): Promise<ReusedFile> {
    return this.serial(async () => {
      const from = join(this.dir, spareFileName(written));
      const fd = await this.fs.open(from, 'r+');
      try {
        const allocated = await this.fs.fstatAllocated(fd);
        const head = Buffer.alloc(SEGMENT_HEADER + SEGMENT_END);
        writeSegmentHeader(head, 0, true);
        await this.fs.write(fd, head, 0, head.length, 0);
        await this.fs.fdatasync(fd);
        await this.fs.rename(from, segmentPath(this.dir, no));
        return { fd, allocated };
      } catch (err) {
        await this.fs.close(fd).catch(() => {});
        throw err;
      }
    });
  }

  /** the index in `kept` of the spare with the fewest bytes allocated */
  private smallest(): number {
    let at = 0;
    for (let i = 1; i < this.kept.length; i++) if (this.kept[i]!.allocated < this.kept[at]!.allocated) at = i;
    return at;
  }

  /** bytes of the file at `path` with blocks on the disk; undefined if it cannot be opened */
  private async allocatedOf(path: string): Promise<number | undefined> {
    let fd: number;
    try {
      fd = await this.fs.open(path, 'r');
    } catch {
      return undefined;
    }
    try {
      return await this.fs.fstatAllocated(fd);
    } catch {
      return undefined;
    } finally {
      await this.fs.close(fd).catch(() => {});
    }
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.chain.then(op, op);
    this.chain = run.catch(() => {});
    return run;
  }
}
