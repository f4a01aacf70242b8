import { queueKey } from '../store.js';
import { DecodeError, type ByteReader } from './binary.js';
import { entityKey } from './entity-keys.js';
import type { StoreFs } from './fs-layer.js';
import { JournalState } from './journal-state.js';
import {
  readDelete,
  readMessageHead,
  readPut,
  readQueueRef,
  RecordType,
} from './record-codec.js';
import { adoptLegacySegments, listSegments, scanSegment, segmentPath, SEGMENT_HEADER, UNKNOWN_FORMAT } from './segment.js';
import type { StoreLogger } from './store-logger.js';

export interface RecoveryReport {
  segments: number;
  records: number;
  /** bytes dropped after the last intact record of a segment */
  droppedBytes: number;
  /** one line per segment that did not read to its end */
  problems: string[];
}

export interface Replayed {
  state: JournalState;
  /** the highest segment number on disk, 0 when none */
  lastSegment: number;
  /**
   * The newest segment, when records can go on after its data (ScanResult.appendable: its zeros
   * kept by a clean close, or left by a crash): left as it is, for FileStore to continue as its head
   * instead of making (and zero-filling) a new one.
   */
  appendable?: AppendableSegment;
  report: RecoveryReport;
}

export interface AppendableSegment {
  no: number;
  /** where its data ends (a zero record header) */
  dataEnd: number;
  /** bytes from its start with blocks on the disk (written or zero-filled): appends there allocate nothing */
  allocated: number;
}

/**
 * Replays every segment in order into a JournalState. A segment that stops early
 * (torn write, bad checksum) contributes every record before the damage; the damaged
 * tail of the newest segment is cut off so new writes never follow garbage.
 */
export async function replayJournal(fs: StoreFs, dir: string, logger: StoreLogger): Promise<Replayed> {
  const state = new JournalState();
  const legacyLeft = await adoptLegacySegments(fs, dir);
  if (legacyLeft) logger.warn(legacyLeft);
  const segments = await listSegments(fs, dir);
  const report: RecoveryReport = { segments: segments.length, records: 0, droppedBytes: 0, problems: [] };
  /** the newest segment kept so far, if appendable (an empty one after it, made ahead before a crash, goes) */
  let appendable: { no: number; dataEnd: number } | undefined;

  for (let i = 0; i < segments.length; i++) {
    const no = segments[i]!;
    const path = segmentPath(dir, no);
    const info = state.addSegment(no, 0);
    const locals = new Map<number, string>();
    const visit = (type: number, r: ByteReader, size: number, offset: number): void => {
      report.records++;
      applyRecord(state, locals, no, type, r, size, offset);
    };
    const result = await scanSegment(fs, path, visit);
    if (result.problem?.startsWith(UNKNOWN_FORMAT)) {
      // written by a newer LocalMQ: dropping it as damage would delete that journal
      throw new Error(`journal segment ${path}: ${result.problem}: written by a newer LocalMQ; not starting on this data dir`);
    }
    info.size = result.validEnd;
    const isLast = i === segments.length - 1;

    if (result.problem) {
      const dropped = result.fileSize - result.validEnd;
      report.droppedBytes += dropped;
      const line =
        `journal segment ${path}: ${result.problem} at offset ${result.validEnd}; ` +
        `dropped ${dropped} bytes after the last complete record` +
        (isLast ? '' : ' (not the newest segment: records after the damage are lost)');
      report.problems.push(line);
      logger.warn(line);
    }
    if (result.validEnd <= SEGMENT_HEADER && info.live === 0) {
      // nothing in it survives: an empty or headerless file from a crash while rolling
      await fs.unlink(path);
      state.segments.delete(no);
      continue;
    }
    appendable = result.appendable ? { no, dataEnd: result.validEnd } : undefined;
    if (isLast && result.validEnd < result.fileSize && !result.appendable) {
      await truncate(fs, path, result.validEnd);
    } else if (result.validEnd < result.fileSize && result.problem) {
      // an older, damaged segment keeps its bytes on disk until compaction retires it (one sealed at the end
      // of its zero-filled part ends in zeros and holes: its data is what it holds, review-s14-2 C1)
      info.size = result.fileSize;
    }
  }
  if (report.problems.length === 0 && segments.length > 0) {
    logger.info(`journal ${dir}: replayed ${report.records} records from ${segments.length} segments`);
  }
  const lastSegment = segments.length > 0 ? segments[segments.length - 1]! : 0;
  if (!appendable) return { state, lastSegment, report };
  return { state, lastSegment, appendable: { ...appendable, allocated: await allocatedBytes(fs, segmentPath(dir, appendable.no)) }, report };
}

async function allocatedBytes(fs: StoreFs, path: string): Promise<number> {
  const fd = await fs.open(path, 'r');
  try {
    return await fs.fstatAllocated(fd);
  } finally {
    await fs.close(fd);
  }
}

function applyRecord(
  state: JournalState,
  locals: Map<number, string>,
  seg: number,
  type: number,
  r: ByteReader,
  size: number,
  offset: number,
): void {
  switch (type) {
    case RecordType.QueueRef: {
      const ref = readQueueRef(r);
      locals.set(ref.local, queueKey(ref.vhost, ref.queue));
      return;
    }
    case RecordType.Message: {
      // the message part is read back when the broker restores the queue (FileStore.readMessage):
      // decoding a million messages here would hold them all in memory at once
      const head = readMessageHead(r);
      const n = head.slots.length;
      const keys = new Array<string>(n);
      const delivered = new Array<boolean>(n);
      for (let i = 0; i < n; i++) {
        const slot = head.slots[i]!;
        keys[i] = localKey(locals, slot >>> 1);
        delivered[i] = (slot & 1) === 1;
      }
      state.putMessage(head.id, seg, size, keys, delivered, undefined, offset);
      return;
    }
    case RecordType.Remove:
    case RecordType.Delivered: {
      const key = localKey(locals, r.varuint());
      const id = r.f64();
      if (type === RecordType.Remove) state.removeMessage(key, id);
      else state.markDelivered(key, id);
      return;
    }
    case RecordType.Put: {
      const { kind, value } = readPut(r);
      state.putEntity(kind, entityKey(kind, value), value, seg, size);
      return;
    }
    case RecordType.Delete: {
      const { kind, key } = readDelete(r);
      state.deleteEntity(kind, key);
      return;
    }
    case RecordType.IdMark: {
      const id = r.f64();
      if (id > state.maxMessageId) state.maxMessageId = id;
      return;
    }
    default:
      throw new DecodeError(`unknown record type ${type}`);
  }
}

function localKey(locals: Map<number, string>, local: number): string {
  const key = locals.get(local);
  if (key === undefined) throw new DecodeError(`queue reference ${local} used before its definition`);
  return key;
}

async function truncate(fs: StoreFs, path: string, length: number): Promise<void> {
  const fd = await fs.open(path, 'r+');
  try {
    await fs.ftruncate(fd, length);
    await fs.fsync(fd);
  } finally {
    await fs.close(fd);
  }
}
