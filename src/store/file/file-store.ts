import type { Message } from '../../core/message.js';
import {
  queueKey,
  type BindingDef,
  type ExchangeDef,
  type MessageIndex,
  type PermissionDef,
  type PolicyDef,
  type QueueDef,
  type QueueRef,
  type RecoveredState,
  type Store,
  type TransientPager,
  type UserDef,
  type VhostDef,
} from '../store.js';
import { join } from 'node:path';
import { ByteReader } from './binary.js';
import { bindingKey, permissionKey, recordKey, vhostScopedKey, type KeyedRecord } from './entity-keys.js';
import { writeSync } from 'node:fs';
import { nodeFs, type StoreFs } from './fs-layer.js';
import { GroupCommit, type GroupCommitStats } from './group-commit.js';
import type { JournalState } from './journal-state.js';
import { SLICE_MS, SlicedWork, type SlicedTask } from '../../core/sliced-work.js';
import { DirLock } from './lock.js';
import { SegmentReader } from './segment-reader.js';
import { CompactionChoice } from './compaction-choice.js';
import {
  EntityKind,
  readMessageHead,
  readMessageIndex,
  readMessagePart,
  readQueueRef,
  RECORD_HEADER,
  RecordType,
  writeDelete,
  writeIdMark,
  writeMessage,
  writeMessageCopy,
  writePut,
  writeQueueOp,
  writeQueueRef,
} from './record-codec.js';
import { replayJournal, type RecoveryReport } from './recovery.js';
import { scanSegment, segmentPath } from './segment.js';
import { SegmentSpare } from './spare-segment.js';
import { consoleStoreLogger, type StoreLogger } from './store-logger.js';
import { TRANSIENT_SEGMENT_SIZE, TransientStore } from './transient-store.js';

export interface FileStoreOptions {
  /** the data dir; created if missing */
  dir: string;
  /** a segment is sealed once it reaches this many bytes (default 16 MiB) */
  segmentSize?: number;
  /** how long writes gather before a flush; 0 (default) flushes at the end of the event-loop turn */
  syncDelayMs?: number;
  /**
   * A queue keeps this many ready messages of a priority in memory; persistent ones
   * behind them are paged out (read back from the journal when their turn comes).
   * Default 2048 (RabbitMQ's classic queues v2 keep a similar window).
   */
  pageThreshold?: number;
  logger?: StoreLogger;
  /** file operations, replaceable in tests */
  fs?: StoreFs;
  /** after a failed write, retry this often while nothing else triggers a flush (default 1000) */
  retryDelayMs?: number;
  /** a compaction visits a segment's records this long at most before other work runs (default SLICE_MS; tests: 0, a turn every few hundred records) */
  compactSliceMs?: number;
  /**
   * The head segment made at open is written with zeros and synced this far before its first
   * records (GroupCommitOptions.headZeroFill); default: the whole segment. A broker's first flood
   * then overwrites zeros from its first message: with less, it outran the zero-filled segments
   * made ahead of it (256 KiB, 1, 4 MiB), appended into unwritten blocks, and waited on ext4's
   * journal commits (a 197 ms gap without a confirm, session 14). The cost is that many bytes
   * written at every open. Unset, the environment variable LOCALMQ_JOURNAL_HEAD_ZERO_FILL (bytes)
   * stands in for the default: the test suite sets it small, so that its hundreds of stores and
   * brokers on data dirs (and the CLIs they spawn) do not each write a segment of zeros.
   */
  headZeroFill?: number;
  /**
   * The journal's backlog bound: once the records accepted and not yet durable pass this many
   * bytes, `onBacklog` listeners hear `true` (the broker then holds the reading of connections
   * that publish persistent messages, RabbitMQ's credit flow from publishers to the message
   * store), and `false` once they fall to half of it. Default DEFAULT_BACKLOG_BYTES; 0: no bound.
   */
  backlogBytes?: number;
}

/**
 * FileStoreOptions.backlogBytes' default. A flood whose disk keeps up has a flush writing and
 * one syncing, a few MiB (a 50 ms sync at ~50 MB/s of 1 KiB messages is ~2.5 MB); a slow sync
 * (this VM's disk: 57-261 ms now and then) let 16-32 MiB of a flood's records wait in memory
 * (session 15, verify §1.4), beyond what the memory monitor had seen arrive.
 */
export const DEFAULT_BACKLOG_BYTES = 16 * 1024 * 1024;

/** FileStoreOptions.headZeroFill's default from the environment (LOCALMQ_JOURNAL_HEAD_ZERO_FILL), if set to a byte count */
function headZeroFillFromEnv(): number | undefined {
  const v = process.env['LOCALMQ_JOURNAL_HEAD_ZERO_FILL'];
  if (!v) return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 0 ? n : undefined;
}

export interface FileStoreStats extends GroupCommitStats {
  segments: number;
  /** bytes in segment files */
  diskBytes: number;
  /** bytes of records still current */
  liveBytes: number;
  compactedSegments: number;
  /** bytes of live records a compaction copied to the head (message copies and entity definitions) */
  copiedBytes: number;
  /** memory in the buffers of records not yet durable (GroupCommit.bufferBytes) */
  bufferBytes: number;
  /** bytes of records accepted and not yet durable (the bound's measure: FileStoreOptions.backlogBytes) */
  backlogBytes: number;
}

const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;
const DEFAULT_PAGE_THRESHOLD = 2048;

/**
 * A Store on an append-only journal of checksummed records in segment files.
 * Writes are grouped into one write + fsync per event-loop turn; sealed segments
 * whose content is mostly dead are compacted (live records copied to the head,
 * the file kept as the next segment's or deleted), oldest first, so disk use follows live data.
 */
export class FileStore implements Store {
  readonly durable = true;
  readonly dir: string;
  private readonly fs: StoreFs;
  private readonly logger: StoreLogger;
  private readonly segmentSize: number;
  private readonly syncDelayMs: number;
  private readonly retryDelayMs: number;
  private readonly compactSliceMs: number;
  private readonly headZeroFill: number;
  readonly pageThreshold: number;
  /** reads paged-out messages back from the segment files (sync reads) */
  private readonly reader: SegmentReader;

  private state!: JournalState;
  private gc!: GroupCommit;
  /** the compacted-away segment file kept for the next segment */
  private spare!: SegmentSpare;
  private lock: DirLock | undefined;
  private listeners: ((err: Error | null) => void)[] = [];
  private backlogListeners: ((behind: boolean) => void)[] = [];
  private readonly backlogBytes: number;
  /** queue key -> its number within the head segment */
  private localRefs = new Map<string, number>();
  private slotScratch: number[] = [];
  private keyScratch: string[] = [];
  private compaction: Promise<void> | undefined;
  private choice!: CompactionChoice;
  private compactedSegments = 0;
  private copiedBytes = 0;
  private phase: 'new' | 'opening' | 'open' | 'closing' | 'closed' = 'new';
  /** what the last open() found */
  recoveryReport: RecoveryReport | undefined;
  /** transient messages and non-durable queues page out here (`<dir>/transient`, this run's only) */
  transientPager: TransientStore | undefined;
  /** deleted queues' messages let go of a slice at a time (a queue of a million: JournalState.deferDrop) */
  private readonly drops = new SlicedWork();

  constructor(opts: FileStoreOptions) {
    this.dir = opts.dir;
    this.reader = new SegmentReader((seg) => segmentPath(this.dir, seg));
    this.fs = opts.fs ?? nodeFs;
    this.logger = opts.logger ?? consoleStoreLogger;
    this.segmentSize = opts.segmentSize ?? DEFAULT_SEGMENT_SIZE;
    this.syncDelayMs = opts.syncDelayMs ?? 0;
    this.backlogBytes = opts.backlogBytes ?? DEFAULT_BACKLOG_BYTES;
    this.retryDelayMs = opts.retryDelayMs ?? 1000;
    this.compactSliceMs = opts.compactSliceMs ?? SLICE_MS;
    this.pageThreshold = opts.pageThreshold ?? DEFAULT_PAGE_THRESHOLD;
    this.headZeroFill = Math.min(opts.headZeroFill ?? headZeroFillFromEnv() ?? this.segmentSize, this.segmentSize);
  }

  async open(): Promise<RecoveredState> {
    if (this.phase !== 'new') throw new Error('FileStore.open() may be called once');
    this.phase = 'opening';
    try {
      await this.fs.mkdir(this.dir);
      this.lock = await DirLock.acquire(this.dir);
      const replayed = await replayJournal(this.fs, this.dir, this.logger);
      this.state = replayed.state;
      this.choice = new CompactionChoice(this.state, this.segmentSize, performance.now());
      this.recoveryReport = replayed.report;
      // the newest segment goes on as the head when it can (its zeros kept): else a new one after it
      const cont = replayed.appendable;
      const head = cont?.no ?? replayed.lastSegment + 1;
      this.spare = new SegmentSpare(this.fs, this.dir);
      await this.spare.adopt();
      this.gc = new GroupCommit({
        fs: this.fs,
        dir: this.dir,
        headSegment: head,
        continueHead: cont && { offset: cont.dataEnd, allocated: cont.allocated },
        syncDelayMs: this.syncDelayMs,
        retryDelayMs: this.retryDelayMs,
        onStatus: (err) => this.reportStatus(err),
        onFlushed: () => this.maybeCompact(),
        // small batches are written inline on the real file system only (also when measured): an injected layer sees every write
        writeInline: this.fs === nodeFs ? writeSync : this.fs.writeInline?.bind(this.fs),
        preallocate: this.segmentSize,
        // half way through the head, the next segment's file is made ready (a roll then costs a flush nothing)
        preopenAt: this.segmentSize >>> 1,
        // records overwrite zeros: a confirm's fdatasync then has no ext4 journal commit to wait for
        headZeroFill: this.headZeroFill,
        backlogBytes: this.backlogBytes,
        onBacklog: (behind) => {
          for (const l of this.backlogListeners) l(behind);
        },
        // a compacted-away segment's file is the next one's: its zeros are written once
        spare: this.spare,
      });
      if (cont) this.state.segments.get(head)!.sealedIn = Infinity;
      else this.state.addSegment(head, 0, Infinity);
      writeIdMark(this.gc.writer, this.state.maxMessageId);
      this.gc.appended();
      const recovered = this.state.toRecoveredState((id) => this.readMessage(id));
      this.transientPager = new TransientStore(join(this.dir, 'transient'), this.pageThreshold, this.logger, Math.min(this.segmentSize, TRANSIENT_SEGMENT_SIZE));
      this.state.deferDrop = (ids) => this.drops.add(this.dropTask(ids));
      this.phase = 'open';
      return recovered;
    } catch (err) {
      await this.lock?.release();
      this.lock = undefined;
      this.phase = 'closed';
      throw err;
    }
  }

  // ---- entities ----

  putVhost(def: VhostDef): void {
    this.putEntity(EntityKind.Vhost, def.name, { ...def });
  }
  deleteVhost(name: string): void {
    this.deleteEntity(EntityKind.Vhost, name);
  }
  putUser(def: UserDef): void {
    this.putEntity(EntityKind.User, def.name, { ...def });
  }
  deleteUser(name: string): void {
    this.deleteEntity(EntityKind.User, name);
  }
  putPermission(def: PermissionDef): void {
    this.putEntity(EntityKind.Permission, permissionKey(def.user, def.vhost), { ...def });
  }
  deletePermission(user: string, vhost: string): void {
    this.deleteEntity(EntityKind.Permission, permissionKey(user, vhost));
  }
  putExchange(def: ExchangeDef): void {
    this.putEntity(EntityKind.Exchange, vhostScopedKey(def.vhost, def.name), { ...def });
  }
  deleteExchange(vhost: string, name: string): void {
    this.deleteEntity(EntityKind.Exchange, vhostScopedKey(vhost, name));
  }
  putQueue(def: QueueDef): void {
    this.putEntity(EntityKind.Queue, vhostScopedKey(def.vhost, def.name), { ...def });
  }
  deleteQueue(vhost: string, name: string): void {
    this.deleteEntity(EntityKind.Queue, vhostScopedKey(vhost, name));
  }
  putBinding(def: BindingDef): void {
    this.putEntity(EntityKind.Binding, bindingKey(def), { ...def });
  }
  deleteBinding(def: BindingDef): void {
    this.deleteEntity(EntityKind.Binding, bindingKey(def));
  }
  putPolicy(def: PolicyDef): void {
    this.putEntity(EntityKind.Policy, vhostScopedKey(def.vhost, def.name), { ...def });
  }
  deletePolicy(vhost: string, name: string): void {
    this.deleteEntity(EntityKind.Policy, vhostScopedKey(vhost, name));
  }
  putRecord(namespace: string, key: string, value: unknown | null): void {
    if (value === null || value === undefined) this.deleteEntity(EntityKind.Record, recordKey(namespace, key));
    else this.putEntity(EntityKind.Record, recordKey(namespace, key), { namespace, key, value } satisfies KeyedRecord);
  }

  private putEntity(kind: EntityKind, key: string, def: object): void {
    if (!this.accepting()) return;
    this.rollIfFull();
    const bytes = writePut(this.gc.writer, kind, def);
    this.state.putEntity(kind, key, def, this.gc.headSegment, bytes);
    this.gc.appended();
  }

  private deleteEntity(kind: EntityKind, key: string): void {
    if (!this.accepting()) return;
    this.rollIfFull();
    writeDelete(this.gc.writer, kind, key);
    this.state.deleteEntity(kind, key);
    this.gc.appended();
  }

  // ---- messages ----

  addMessage(id: number, message: Message, queues: QueueRef[]): void {
    if (queues.length === 0 || !this.accepting()) return;
    this.rollIfFull();
    const slots = this.slotScratch;
    const keys = this.keyScratch;
    slots.length = queues.length;
    keys.length = queues.length;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      const key = queueKey(q.vhost, q.queue);
      keys[i] = key;
      slots[i] = this.localRef(key, q.vhost, q.queue) * 2;
    }
    const offset = this.gc.headSize;
    const bytes = writeMessage(this.gc.writer, id, slots, message);
    this.state.putMessage(id, this.gc.headSegment, bytes, keys, undefined, undefined, offset);
    this.gc.appended();
  }

  removeMessage(queue: QueueRef, id: number): void {
    this.queueOp(RecordType.Remove, queue, id);
  }

  markDelivered(queue: QueueRef, id: number): void {
    this.queueOp(RecordType.Delivered, queue, id);
  }

  private queueOp(type: RecordType.Remove | RecordType.Delivered, queue: QueueRef, id: number): void {
    if (!this.accepting()) return;
    const key = queueKey(queue.vhost, queue.queue);
    // nothing to record for a message the journal does not hold there (or already flagged)
    const changed = type === RecordType.Remove ? this.state.removeMessage(key, id) : this.state.markDelivered(key, id);
    if (!changed) return;
    this.rollIfFull();
    writeQueueOp(this.gc.writer, type, this.localRef(key, queue.vhost, queue.queue), id);
    // nobody waits for an ack or a delivered mark: it goes with the next flush (a later sync covers it)
    this.gc.appended(true);
  }

  /** the queue's number in the head segment, defining it there on first use */
  private localRef(key: string, vhost: string, queue: string): number {
    let local = this.localRefs.get(key);
    if (local === undefined) {
      local = this.localRefs.size + 1;
      this.localRefs.set(key, local);
      writeQueueRef(this.gc.writer, local, vhost, queue);
    }
    return local;
  }

  /**
   * A message the journal holds, read back from its record (synchronously: a queue pages
   * messages in when its in-memory window runs low, in one turn). undefined when the
   * journal no longer holds it, or its record cannot be read.
   */
  readMessage(id: number): Message | undefined {
    const r = this.messageRecord(id);
    if (!r) return undefined;
    try {
      readMessageHead(r);
      return readMessagePart(r);
    } catch (err) {
      this.unreadable(id, err);
      return undefined;
    }
  }

  /** what places a message in a queue, read from its record without decoding the rest (recovery) */
  readMessageIndex(id: number, out: MessageIndex): boolean {
    const r = this.messageRecord(id);
    if (!r) return false;
    try {
      readMessageIndex(r, out);
      return true;
    } catch (err) {
      this.unreadable(id, err);
      return false;
    }
  }

  /** a reader positioned after the type byte of the message's record; undefined when not held or unreadable */
  private messageRecord(id: number): ByteReader | undefined {
    if (this.phase !== 'open' && this.phase !== 'closing') return undefined;
    const entry = this.state.messages.get(id);
    if (!entry || entry.offset < 0) return undefined;
    try {
      let rec = this.gc.buffered(entry.seg, entry.offset, entry.bytes);
      if (!rec) {
        rec = this.reader.read(entry.seg, entry.offset, entry.bytes);
        // the read-ahead block may hold bytes of a write that failed and was redone since
        if (!isRecordOf(rec, entry.bytes, id)) {
          this.reader.forgetBlock();
          rec = this.reader.read(entry.seg, entry.offset, entry.bytes);
        }
      }
      // no checksum here: replay checked every record on disk, and later ones are our own
      // bytes (a checksum per read cost more than the rest of the read)
      if (!isRecordOf(rec, entry.bytes, id)) throw new Error('not this message\'s record');
      return new ByteReader(rec, RECORD_HEADER + 1, entry.bytes);
    } catch (err) {
      this.unreadable(id, err);
      return undefined;
    }
  }

  private unreadable(id: number, err: unknown): void {
    const entry = this.state.messages.get(id);
    this.logger.warn(`journal ${this.dir}: message ${id} could not be read back from segment ${entry?.seg} at ${entry?.offset}: ${(err as Error).message}`);
  }

  // ---- durability ----

  sync(cb: (err?: Error) => void): void {
    if (!this.gc) {
      process.nextTick(cb, new Error('FileStore: open() first'));
      return;
    }
    this.gc.sync(cb);
  }

  syncPoint(): number {
    return this.gc ? this.gc.syncPoint() : 0;
  }

  syncTo(point: number, cb: (err?: Error) => void): void {
    if (!this.gc) {
      process.nextTick(cb, new Error('FileStore: open() first'));
      return;
    }
    this.gc.syncTo(point, cb);
  }

  onError(listener: (err: Error | null) => void): void {
    this.listeners.push(listener);
  }

  onBacklog(listener: (behind: boolean) => void): void {
    this.backlogListeners.push(listener);
  }

  /** flushes and fsyncs everything, releases the lock; writes after this are ignored */
  async close(): Promise<void> {
    if (this.phase !== 'open') {
      if (this.phase === 'new') this.phase = 'closed';
      return;
    }
    this.phase = 'closing';
    try {
      this.drops.finish();
      if (this.compaction) await this.compaction.catch(() => {});
      await this.gc.close();
    } finally {
      this.phase = 'closed';
      this.transientPager?.close();
      this.reader.closeAll();
      await this.lock?.release();
      this.lock = undefined;
    }
  }

  get stats(): FileStoreStats {
    if (!this.gc) throw new Error('FileStore: open() first');
    let sealed = 0;
    for (const s of this.state.segments.values()) if (s.no !== this.gc.headSegment) sealed += s.size;
    return {
      ...this.gc.stats,
      segments: this.state.segments.size,
      diskBytes: sealed + this.gc.headSize,
      liveBytes: this.state.totalLive,
      compactedSegments: this.compactedSegments,
      copiedBytes: this.copiedBytes,
      bufferBytes: this.gc.bufferBytes,
      backlogBytes: this.gc.backlog,
    };
  }

  private reportStatus(err: Error | null): void {
    if (err) {
      const line =
        `journal ${this.dir}: write failed (${err.message}); publishers are blocked and nothing ` +
        `more is confirmed until writes succeed again (retrying every ${this.retryDelayMs} ms)`;
      (this.logger.error ?? this.logger.warn).call(this.logger, line);
    } else this.logger.warn(`journal ${this.dir}: writes succeed again; publishers unblocked`);
    for (const l of this.listeners) l(err);
  }

  /**
   * Writes before open() are a bug; writes once close() has begun are dropped, as
   * connections still winding down may ack into a store that is going away.
   */
  private accepting(): boolean {
    if (this.phase === 'open') return true;
    if (this.phase === 'new' || this.phase === 'opening') throw new Error('FileStore: open() first');
    return false;
  }

  /** seal the head when full; called before each record so segment-local refs stay in one file */
  private rollIfFull(): void {
    this.gc.nextRecord();
    if (this.gc.headSize < this.segmentSize && !this.gc.rollDue) return;
    const sealedSize = this.gc.roll();
    const sealed = this.state.segments.get(this.gc.headSegment - 1)!;
    sealed.size = sealedSize;
    this.choice.clock.tick(performance.now());
    sealed.sealedIn = this.state.look;
    this.state.addSegment(this.gc.headSegment, 0, Infinity);
    this.localRefs.clear();
    writeIdMark(this.gc.writer, this.state.maxMessageId);
  }

  /** a deleted queue's messages: nothing to write (its delete record says it all), only our books */
  private dropTask(ids: Iterator<number>): SlicedTask {
    return {
      step: (deadline) => {
        while (!this.state.releaseSome(ids, 2048)) if (performance.now() >= deadline) return false;
        return true;
      },
    };
  }

  /** deleted queues' messages still to be let go of */
  get pendingDrops(): number {
    return this.drops.pending;
  }

  /** resolves once the messages of the queues deleted so far are let go of (in slices, in the background). For tests and benchmarks. */
  settled(): Promise<void> {
    return this.drops.idle();
  }

  // ---- compaction ----

  /** Compacts now (as far as it pays) and resolves when done. Runs by itself after flushes too. */
  async compact(): Promise<void> {
    if (this.compaction) await this.compaction;
    if (this.phase !== 'open') return;
    this.compaction = this.compactLoop().finally(() => (this.compaction = undefined));
    await this.compaction;
  }

  private maybeCompact(): void {
    if (this.phase !== 'open') return;
    if (this.compaction) {
      // the looks falls note are dated by the flushes' ticks (CompactionChoice)
      this.choice.clock.tick(performance.now());
      return;
    }
    if (!this.worthCompacting(this.gc.headSegment)) return;
    this.compaction = this.compactLoop()
      .catch((err: unknown) => this.logger.warn(`journal ${this.dir}: compaction failed: ${(err as Error).message}`))
      .finally(() => (this.compaction = undefined));
  }

  private oldestSealed(before: number): number | undefined {
    let oldest: number | undefined;
    for (const no of this.state.segments.keys()) if (no < before && (oldest === undefined || no < oldest)) oldest = no;
    return oldest;
  }

  /** whether the oldest sealed segment before `before` should go now (CompactionChoice says when) */
  private worthCompacting(before: number): boolean {
    const now = performance.now();
    this.choice.clock.tick(now);
    const oldest = this.oldestSealed(before);
    if (oldest === undefined) return false;
    const { diskBytes, liveBytes } = this.stats;
    return this.choice.worth(this.state.segments.get(oldest)!, diskBytes, liveBytes, now);
  }

  private async compactLoop(): Promise<void> {
    // only segments sealed before this pass: never chase our own copies
    const stopAt = this.gc.headSegment;
    while (this.phase === 'open' && this.worthCompacting(stopAt)) {
      await this.compactSegment(this.oldestSealed(stopAt)!);
    }
  }

  /**
   * Copies the segment's live records to the head, then deletes it once the copies are
   * durable. Only the oldest segment is ever removed: its remove/delete records can only
   * concern records in itself or in segments already gone, so dropping them is safe.
   */
  private async compactSegment(no: number): Promise<void> {
    // the sealed segment's last bytes may still be in the write buffer
    await this.gc.syncPromise();
    const info = this.state.segments.get(no)!;
    const path = segmentPath(this.dir, no);
    this.choice.going(info, performance.now());
    if (info.live > 0) {
      for (const [kind, map] of this.state.entities) {
        for (const [key, entry] of map) {
          if (entry.seg === no) this.putEntityCopy(kind, key, entry.def);
        }
      }
      if (info.live > 0) await this.copyLiveMessages(no, path);
      if (info.live > 0) {
        this.logger.warn(`journal segment ${path}: ${info.live} live bytes could not be copied (damaged segment)`);
      }
    }
    await this.gc.syncPromise();
    this.reader.close(no);
    // out of the journal either way (a spare's name is no segment's): kept for a later segment, or unlinked
    await this.spare.keep(path, no);
    this.state.totalLive -= Math.max(info.live, 0);
    this.state.segments.delete(no);
    this.compactedSegments++;
  }

  private putEntityCopy(kind: EntityKind, key: string, def: unknown): void {
    this.rollIfFull();
    const bytes = writePut(this.gc.writer, kind, def);
    this.copiedBytes += bytes;
    this.state.putEntity(kind, key, def, this.gc.headSegment, bytes, true);
  }

  private async copyLiveMessages(no: number, path: string): Promise<void> {
    const locals = new Map<number, { key: string; vhost: string; queue: string }>();
    const state = this.state;
    const visit = (type: number, r: ByteReader): void => {
      if (type === RecordType.QueueRef) {
        const ref = readQueueRef(r);
        locals.set(ref.local, { key: queueKey(ref.vhost, ref.queue), vhost: ref.vhost, queue: ref.queue });
        return;
      }
      if (type !== RecordType.Message) return;
      const head = readMessageHead(r);
      const entry = state.messages.get(head.id);
      // dead, or already copied elsewhere
      if (!entry || entry.seg !== no) return;
      this.rollIfFull();
      const slots: number[] = [];
      const keys: string[] = [];
      const delivered: boolean[] = [];
      for (const slot of head.slots) {
        const ref = locals.get(slot >>> 1);
        if (!ref) continue;
        const flag = state.queues.get(ref.key)?.get(head.id);
        if (flag === undefined) continue;
        slots.push(this.localRef(ref.key, ref.vhost, ref.queue) * 2 + (flag ? 1 : 0));
        keys.push(ref.key);
        delivered.push(flag);
      }
      // only deleted queues hold it (their releases still to come: deferDrop): dead now, not copied
      if (keys.length === 0 && this.drops.pending > 0) {
        state.forgetMessage(head.id);
        return;
      }
      const offset = this.gc.headSize;
      const bytes = writeMessageCopy(this.gc.writer, head.id, slots, r.buf, head.partStart, r.end);
      this.copiedBytes += bytes;
      state.putMessage(head.id, this.gc.headSegment, bytes, keys, delivered, undefined, offset);
    };
    // a slice at a time, other clients served between: the live copies of one 8 MiB read took up to 230 ms
    await scanSegment(this.fs, path, visit, this.compactSliceMs);
    this.gc.appended();
  }
}

/** `rec` is a whole message record of `size` bytes for message `id` (its length, type and id say so) */
function isRecordOf(rec: Buffer, size: number, id: number): boolean {
  return rec.length >= RECORD_HEADER + 9 && rec.readUInt32LE(0) + RECORD_HEADER === size && rec[RECORD_HEADER] === RecordType.Message && rec.readDoubleLE(RECORD_HEADER + 1) === id;
}

export type { StoreFs } from './fs-layer.js';
export { nodeFs } from './fs-layer.js';
export type { StoreLogger } from './store-logger.js';
export type { RecoveryReport } from './recovery.js';
