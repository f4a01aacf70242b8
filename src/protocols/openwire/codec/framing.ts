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

  /** feed bytes; `onFrame` gets each complete frame body (type byte onwards) */
  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    // fast path: nothing pending and whole frames in this chunk
    if (this.buffered === 0 && this.need < 0) {
      let at = 0;
      while (chunk.length - at >= 4) {
        const size = this.checkSize(chunk.readInt32BE(at));
        if (chunk.length - at - 4 < size) break;
        onFrame(chunk.subarray(at + 4, at + 4 + size));
        at += 4 + size;
      }
      if (at === chunk.length) return;
      chunk = chunk.subarray(at);
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        if (this.buffered < 4) return;
        this.need = this.checkSize(this.take(4).readInt32BE(0));
      }
      if (this.buffered < this.need) return;
      const body = this.take(this.need);
      this.need = -1;
      onFrame(body);
    }
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
