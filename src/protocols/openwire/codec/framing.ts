import { OpenWireDecodeError } from './data.js';

export class FrameTooLargeError extends OpenWireDecodeError {
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`Frame size of ${size} larger than max allowed ${max}`);
  }
}

/**
 * Splits a byte stream into size-prefixed OpenWire frames. The 4-byte prefix is checked
 * against the frame limit as soon as it arrives, before any of the frame is buffered
 * (ActiveMQ's "Frame size of N larger than max allowed M").
 */
export class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** size of the frame being collected, -1 while its prefix is incomplete */
  private need = -1;

  constructor(public maxFrameSize: number) {}

  /**
   * Feed bytes; `onFrame` gets each complete frame body (type byte onwards). After each frame
   * `stopIf` (the connection's ReadSlices.over) may stop the reading: the bytes not parsed yet
   * are returned, beginning at a frame boundary, to be pushed again in a later turn.
   */
  push(chunk: Buffer, onFrame: (body: Buffer) => void, stopIf?: () => boolean): Buffer | undefined {
    // fast path: nothing pending and whole frames in this chunk
    if (this.buffered === 0 && this.need < 0) {
      let at = 0;
      while (chunk.length - at >= 4) {
        const size = this.checkSize(chunk.readInt32BE(at));
        if (chunk.length - at - 4 < size) break;
        onFrame(chunk.subarray(at + 4, at + 4 + size));
        at += 4 + size;
        if (stopIf !== undefined && at < chunk.length && stopIf()) return chunk.subarray(at);
      }
      if (at === chunk.length) return undefined;
      chunk = chunk.subarray(at);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return undefined;
        this.need = this.checkSize(this.take(4).readInt32BE(0));
      }
      if (this.buffered < this.need) return undefined;
      const body = this.take(this.need);
      this.need = -1;
      onFrame(body);
      if (stopIf !== undefined && this.buffered > 0 && stopIf()) return this.takeAll();
      // the frame that straddled reads is done: the rest of the chunk goes the fast way (here
      // each frame costs three more subarrays, and in a flood every 64 KiB read but the first
      // begins inside a frame); it comes back here only with a frame it cannot complete
      if (this.chunks.length === 1) return this.push(this.takeAll(), onFrame, stopIf);
    }
  }

  /** what is buffered, as one buffer (it begins at a frame boundary) */
  private takeAll(): Buffer {
    const rest = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    this.chunks = [];
    this.buffered = 0;
    return rest;
  }

  private checkSize(size: number): number {
    if (size < 1) throw new OpenWireDecodeError(`invalid frame size ${size}`);
    if (size > this.maxFrameSize) throw new FrameTooLargeError(size, this.maxFrameSize);
    return size;
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return out;
  }
}
