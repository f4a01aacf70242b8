import { checkMandatory, toComposite, writeComposite, type Composite } from './composites.js';
import { Decoder } from './decoder.js';
import { readTransfer } from './hot.js';
import type { Encoder } from './encoder.js';
import { Amqp10DecodeError, Amqp10Error, Condition } from './errors.js';

export const FRAME_AMQP = 0x00;
export const FRAME_SASL = 0x01;
/** the smallest max-frame-size a peer may ask for (part 2.7.1) */
export const MIN_MAX_FRAME_SIZE = 512;
const HEADER_SIZE = 8;

/** protocol headers: `AMQP` then protocol id, major, minor, revision */
export const HEADER_AMQP = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 1, 0, 0]);
export const HEADER_SASL = Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]);
export const HEADER_TLS = Buffer.from([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0]);

export interface FrameSink {
  /** a protocol header arrived (8 bytes) */
  header(h: Buffer): void;
  /** a frame: its type, channel and body (performative then payload); an empty body is a heartbeat */
  frame(type: number, channel: number, body: Buffer): void;
}

/**
 * Splits a byte stream into protocol headers and frames. The frame size is checked
 * against our max-frame-size as soon as its 4 bytes are read, before anything more of
 * the frame is buffered; a frame over it, or a malformed frame header, throws
 * amqp:connection:framing-error with RabbitMQ 4's texts (rabbit_amqp_reader).
 */
export class FrameReader {
  private pending: Buffer | undefined;
  /** expect an 8-byte protocol header next */
  expectHeader = true;
  /** the frame type expected: SASL frames until the outcome, AMQP frames after */
  frameType = FRAME_AMQP;
  /** the largest frame we accept (ours, announced in open) */
  maxFrameSize: number;

  constructor(
    private readonly sink: FrameSink,
    maxFrameSize: number,
  ) {
    this.maxFrameSize = maxFrameSize;
  }

  /**
   * Feed bytes. After each frame `stopIf` (the connection's ReadSlices.over) may stop the
   * reading: the bytes not parsed yet are returned, beginning at a frame boundary, to be pushed
   * again in a later turn.
   */
  push(chunk: Buffer, stopIf?: () => boolean): Buffer | undefined {
    const buf = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = undefined;
    let pos = 0;
    while (pos < buf.length) {
      const left = buf.length - pos;
      if (this.expectHeader) {
        if (left < 8) break;
        this.expectHeader = false;
        this.sink.header(buf.subarray(pos, pos + 8));
        pos += 8;
        continue;
      }
      if (left < 4) break;
      const size = buf.readUInt32BE(pos);
      if (size < HEADER_SIZE) throw new Amqp10Error(Condition.framingError, `frame size (${size} bytes) < minimum frame size (8 bytes)`);
      if (size > this.maxFrameSize) {
        throw new Amqp10Error(Condition.framingError, `frame size (${size} bytes) > maximum frame size (${this.maxFrameSize} bytes)`);
      }
      if (left < 6) break;
      const doff = buf[pos + 4]!;
      if (doff < 2) throw new Amqp10Error(Condition.framingError, `data offset (${doff}) < minimum data offset (2)`);
      if (doff * 4 > size) throw new Amqp10Error(Condition.framingError, `data offset (${doff * 4} bytes) > frame size (${size} bytes)`);
      const type = buf[pos + 5]!;
      if (type !== this.frameType) {
        const mode = this.frameType === FRAME_SASL ? 'sasl' : 'amqp';
        throw new Amqp10Error(Condition.framingError, `unexpected frame type ${type} in ${mode} mode (expected ${this.frameType})`);
      }
      if (left < size) break;
      const channel = buf.readUInt16BE(pos + 6);
      const body = buf.subarray(pos + doff * 4, pos + size);
      pos += size;
      this.sink.frame(type, channel, body);
      // the sink may have switched to expect a header (after SASL), or stopped reading
      if (this.stopped) return undefined;
      if (stopIf !== undefined && pos < buf.length && stopIf()) return buf.subarray(pos);
    }
    if (pos < buf.length) this.pending = Buffer.from(buf.subarray(pos));
    return undefined;
  }

  stopped = false;
}

/** decode a frame body: its performative and the payload after it */
export function decodeFrameBody(body: Buffer): { performative: Composite; payload: Buffer } {
  // transfers, one a message, take the short way when they can
  const transfer = readTransfer(body);
  if (transfer) return transfer;
  const d = new Decoder(body);
  const v = d.read();
  const c = toComposite(v);
  if (!c) throw new Amqp10DecodeError('a frame body must start with a known performative');
  return { performative: checkMandatory(c), payload: body.subarray(d.pos) };
}

/**
 * Write one frame: header, performative, then `payload` (transfer bytes). Returns the
 * frame's length; the caller hands `e.buf.subarray(start, e.pos)` on.
 */
export function writeFrame(e: Encoder, type: number, channel: number, performative: Composite | undefined, payload?: Buffer, payloadStart = 0, payloadEnd = payload?.length ?? 0): void {
  e.ensure(HEADER_SIZE);
  const start = e.pos;
  e.buf[start + 4] = 2;
  e.buf[start + 5] = type;
  e.buf.writeUInt16BE(channel, start + 6);
  e.pos += HEADER_SIZE;
  if (performative) {
    try {
      writeComposite(e, performative);
    } catch (err) {
      // never leave half a frame in the output
      e.pos = start;
      throw err;
    }
  }
  if (payload && payloadEnd > payloadStart) {
    const n = payloadEnd - payloadStart;
    e.ensure(n);
    payload.copy(e.buf, e.pos, payloadStart, payloadEnd);
    e.pos += n;
  }
  e.u32At(start, e.pos - start);
}

/** the 8-byte empty frame that keeps an idle connection alive */
export const EMPTY_FRAME = Buffer.from([0, 0, 0, 8, 2, 0, 0, 0]);
