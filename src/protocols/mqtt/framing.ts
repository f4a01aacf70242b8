/**
 * Cuts the byte stream into whole MQTT packets, reading each fixed header as its bytes
 * arrive, so an oversized packet is refused at its fixed header — before a byte of its
 * body is buffered (mqtt-packet's parser would gather a whole declared 256 MiB before
 * looking at it). Packets that arrive whole in one chunk are handed on as their place in
 * that chunk (no view object per packet: a subscriber's chunk may hold a thousand PUBACKs);
 * only a packet split across chunks is gathered (up to the limit) and joined.
 */

/** why the reader refused the stream; the packets before the offending one were handed on */
export class MqttFrameError extends Error {
  constructor(
    /** 'too-large': a packet declares `length` bytes, over the limit; 'malformed': a reserved
     * packet type or wrong reserved flags, or a remaining length running past 4 bytes */
    readonly reason: 'too-large' | 'malformed',
    /** the remaining length declared (as far as it was read) */
    readonly length: number,
  ) {
    super(reason === 'too-large' ? `packet of ${length} bytes is over the limit` : 'malformed fixed header');
  }
}

/** receives one whole packet (fixed header included): bytes [start, end) of `buf` */
export type PacketHandler = (buf: Buffer, start: number, end: number) => void;

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

  /** `limit`: the largest remaining length accepted (the packet size, less its fixed header) */
  constructor(public limit: number) {}

  /**
   * Feed bytes: `each` gets every whole packet of `chunk` (with what earlier chunks left).
   * After each packet `stopIf` (the connection's ReadSlices.over) may stop the
   * reading: the bytes not read yet are returned, beginning at a packet boundary, to be pushed
   * again in a later turn (as the AMQP, STOMP, OpenWire and AMQP 1.0 readers do). Throws
   * MqttFrameError at the first packet over the limit (nothing after its fixed header is
   * kept) or with a malformed fixed header.
   */
  push(chunk: Buffer, each: PacketHandler, stopIf?: () => boolean): Buffer | undefined {
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
          return undefined;
        }
        this.parts.push(want === chunk.length ? chunk : chunk.subarray(0, want));
        const whole = Buffer.concat(this.parts, this.splitTotal);
        this.parts = [];
        this.partsLength = 0;
        this.splitTotal = -1;
        each(whole, 0, whole.length);
        if (want === chunk.length) return undefined;
        if (stopIf !== undefined && stopIf()) return chunk.subarray(want);
        buf = chunk.subarray(want);
      }
    }
    const n = buf.length;
    let i = 0;
    while (i < n) {
      // the type byte is judged as it arrives (as mqtt-packet does), not when its body has come
      if (!validTypeByte(buf[i]!)) throw new MqttFrameError('malformed', 0);
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
        if (j - i > 4) throw new MqttFrameError('malformed', length);
        multiplier *= 128;
      }
      if (!complete) {
        this.keep(buf.subarray(i), -1);
        return undefined;
      }
      if (length > this.limit) throw new MqttFrameError('too-large', length);
      const end = j + length;
      if (end > n) {
        this.keep(buf.subarray(i), end - i);
        return undefined;
      }
      each(buf, i, end);
      i = end;
      if (stopIf !== undefined && i < n && stopIf()) return buf.subarray(i);
    }
    return undefined;
  }

  private keep(part: Buffer, total: number): void {
    this.parts = [part];
    this.partsLength = part.length;
    this.splitTotal = total;
  }
}
