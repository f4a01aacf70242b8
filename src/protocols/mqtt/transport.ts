import type { Duplex } from 'node:stream';
import { TickCork } from '../tick-cork.js';

/** bytes queued on the socket above which deliveries wait for it to drain */
const WRITE_HIGH_WATER = 1024 * 1024;
/** the batch buffer small packets are written into, a new one when full */
const BATCH_SIZE = 65536;
/**
 * the longest a turn's work (one read of a publisher fanned out to many subscribers) keeps
 * what it has batched before handing it to the sockets: the clients start reading on
 * another core while the broker is still routing, instead of waiting for the whole turn
 */
const FLUSH_SLICE_MS = 5;

/**
 * The transports of one MQTT server with batched bytes not yet written, flushed together at
 * the end of the turn, or earlier when a long read has gone on for a slice. One per server
 * (per broker): another broker in the same process keeps its own list and its own slice.
 */
export class PendingOutput {
  private readonly dirty: MqttTransport[] = [];
  private flushScheduled = false;
  private lastFlushAt = 0;

  /** `t` batched its first bytes since its last flush */
  add(t: MqttTransport): void {
    // the slice starts with the first bytes batched since the last flush
    if (this.dirty.push(t) === 1) this.lastFlushAt = performance.now();
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(this.flushAll);
    }
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    this.lastFlushAt = performance.now();
    const dirty = this.dirty;
    // a flush may not add to the list (it only writes), so one pass empties it
    for (let i = 0; i < dirty.length; i++) dirty[i]!.flushNow();
    dirty.length = 0;
  };

  /**
   * Called between packets of a long read: when a slice of work has passed since the last
   * flush, what every connection has batched goes out now rather than at the end of the turn.
   */
  flushIfSliceOver(): void {
    if (this.dirty.length === 0) return;
    if (performance.now() - this.lastFlushAt >= FLUSH_SLICE_MS) this.flushAll();
  }
}

/**
 * The byte stream an MQTT session runs over: a TCP or TLS socket, or a WebSocket seen as
 * a stream (MQTT over WebSocket lets packets span messages). Small packets are encoded
 * straight into one batch buffer and leave together at the end of the turn, in one write:
 * no buffer per packet and no writev of thousands of pieces. A large payload is written
 * as it is, after what the batch holds (corked, so it still leaves in one syscall).
 */
export class MqttTransport {
  private readonly tickCork: TickCork;
  readonly remoteAddress: string | undefined;
  /** the batch: bytes [flushed, length) are written but not yet handed to the stream */
  private out: Buffer = Buffer.allocUnsafe(0);
  private flushed = 0;
  private length = 0;
  /** in the server's pending output */
  private listed = false;

  constructor(
    readonly stream: Duplex & { remoteAddress?: string; setNoDelay?: (b: boolean) => unknown },
    private readonly pending: PendingOutput,
    remoteAddress?: string,
  ) {
    this.tickCork = new TickCork(stream);
    this.remoteAddress = remoteAddress ?? stream.remoteAddress;
    stream.setNoDelay?.(true);
  }

  get writable(): boolean {
    return !this.stream.destroyed && !this.stream.writableEnded;
  }

  /**
   * Room for `n` bytes in this turn's batch: returns the offset in `batch` to encode them
   * at. Every reserved byte must be written before the turn ends.
   */
  reserve(n: number): number {
    if (this.out.length - this.length < n) {
      this.flush();
      this.out = Buffer.allocUnsafe(n > BATCH_SIZE ? n : BATCH_SIZE);
      this.flushed = 0;
      this.length = 0;
    }
    if (!this.listed) {
      this.listed = true;
      this.pending.add(this);
    }
    const at = this.length;
    this.length += n;
    return at;
  }

  /** the batch buffer `reserve` gave an offset into */
  get batch(): Buffer {
    return this.out;
  }

  /** a buffer encoded elsewhere (mqtt-packet): copied into the batch when small, else written after it */
  write(buf: Buffer): void {
    if (buf.length <= 4096) {
      const at = this.reserve(buf.length);
      buf.copy(this.out, at);
      return;
    }
    this.writeDirect(buf);
  }

  /** write `buf` as it is (no copy), after everything batched */
  writeDirect(buf: Buffer): void {
    this.direct().write(buf);
  }

  /** the stream, for writes of its own after everything batched (corked to the end of the turn) */
  direct(): Duplex {
    this.tickCork.cork();
    this.flush();
    return this.stream;
  }

  /** from PendingOutput: write what is batched; the transport leaves the pending list */
  flushNow(): void {
    this.listed = false;
    this.flush();
  }

  private flush(): void {
    if (this.length === this.flushed) return;
    const chunk = this.out.subarray(this.flushed, this.length);
    this.flushed = this.length;
    if (this.writable) this.stream.write(chunk);
  }

  get backedUp(): boolean {
    return this.stream.writableLength > WRITE_HIGH_WATER;
  }

  /** close once what was written has gone out */
  end(): void {
    this.flush();
    if (this.writable) this.stream.end();
    else this.stream.destroy();
  }

  destroy(): void {
    this.stream.destroy();
  }
}
