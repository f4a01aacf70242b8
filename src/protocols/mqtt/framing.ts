/**
 * Cuts the byte stream into whole MQTT packets, reading each fixed header as its bytes
 * arrive, so an oversized packet is refused at its fixed header — before a byte of its
 * body is buffered (mqtt-packet's parser would gather a whole declared 256 MiB before
 * looking at it). Packets that arrive whole in one chunk are handed on as their place in
 * that chunk (no view object per packet: a subscriber's chunk may hold a thousand PUBACKs);
 * only a packet split across chunks is gathered (up to the limit) and joined.
 */

export type FrameCheck =
  /** every whole packet of the chunk was handed on (or the reader was told to stop) */
  | { ok: true }
  /** a packet declares `length` bytes, over the limit */
  | { ok: false; length: number; reason: 'too-large' }
  /** a reserved packet type or wrong reserved flags, or a remaining length running past 4 bytes */
  | { ok: false; length: number; reason: 'malformed' };

const OK: FrameCheck = { ok: true };

/** receives one whole packet (fixed header included): bytes [start, end) of `buf`; false stops the reading */
export type PacketHandler = (buf: Buffer, start: number, end: number) => boolean;

/** the flag bits each packet type must carry [MQTT-2.2.2-1]; PUBLISH's are its own (-1) */
const REQUIRED_FLAGS = [-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, 0];

function validTypeByte(b: number): boolean {
  const required = REQUIRED_FLAGS[b >> 4]!;
  return required === -1 || required === (b & 0x0f);
}

export class PacketReader {
  /** the start of a packet split across chunks (its fixed header may be incomplete) */
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** the whole size of the split packet, once its fixed header is known; else -1 */
  private splitTotal = -1;

  /**
   * The bytes after the packet whose handler returned false, when there were any: a reader
   * that processes its input in slices of time reads them later (common/read-slices.ts).
   * They begin at a packet boundary. Set by each read.
   */
  unread: Buffer | undefined;

  /** `limit`: the largest remaining length accepted (the packet size, less its fixed header) */
  constructor(public limit: number) {}

  /**
   * Hand every whole packet of `chunk` (with what earlier chunks left) to `each`. Stops at
   * the first packet over the limit: nothing after its fixed header is kept then. Stops
   * after a packet whose handler returns false, leaving the bytes after it in `unread`.
   */
  read(chunk: Buffer, each: PacketHandler): FrameCheck {
    this.unread = undefined;
    let buf = chunk;
    if (this.partsLength > 0) {
      if (this.splitTotal < 0) {
        // the fixed header itself was split (a few bytes): join and read it again
        buf = Buffer.concat([...this.parts, chunk]);
        this.parts = [];
        this.partsLength = 0;
      } else {
        const want = this.splitTotal - this.partsLength;
        if (chunk.length < want) {
          this.parts.push(chunk);
          this.partsLength += chunk.length;
          return OK;
        }
        this.parts.push(want === chunk.length ? chunk : chunk.subarray(0, want));
        const whole = Buffer.concat(this.parts, this.splitTotal);
        this.parts = [];
        this.partsLength = 0;
        this.splitTotal = -1;
        if (!each(whole, 0, whole.length)) {
          if (want < chunk.length) this.unread = chunk.subarray(want);
          return OK;
        }
        if (want === chunk.length) return OK;
        buf = chunk.subarray(want);
      }
    }
    const n = buf.length;
    let i = 0;
    while (i < n) {
      // the type byte is judged as it arrives (as mqtt-packet does), not when its body has come
      if (!validTypeByte(buf[i]!)) return { ok: false, length: 0, reason: 'malformed' };
      // remaining length: 1 to 4 bytes after the type byte, 7 bits each
      let length = 0;
      let multiplier = 1;
      let j = i + 1;
      let complete = false;
      while (j < n) {
        const b = buf[j++]!;
        length += (b & 0x7f) * multiplier;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
        if (j - i > 4) return { ok: false, length, reason: 'malformed' };
        multiplier *= 128;
      }
      if (!complete) {
        this.keep(buf.subarray(i), -1);
        return OK;
      }
      if (length > this.limit) return { ok: false, length, reason: 'too-large' };
      const end = j + length;
      if (end > n) {
        this.keep(buf.subarray(i), end - i);
        return OK;
      }
      if (!each(buf, i, end)) {
        if (end < n) this.unread = buf.subarray(end);
        return OK;
      }
      i = end;
    }
    return OK;
  }

  private keep(part: Buffer, total: number): void {
    this.parts = [part];
    this.partsLength = part.length;
    this.splitTotal = total;
  }
}
