import { ByteReader, type ShortReadError } from '../../common/byte-reader.js';
import { decodeError } from './errors.js';

const TWO_POW_32 = 0x1_0000_0000;
const MAX_RETAINED = 1024 * 1024;

/** AMQP 0-9-1's answer to a short read: FRAME_ERROR "cannot decode …" naming the method being decoded. */
const cannotDecode: ShortReadError = (r, _needed, what) => decodeError(what, (r as Reader).classId, (r as Reader).methodId);

/**
 * The shared bounds-checked cursor (`ByteReader`: octets are `u8`, shorts `u16`, longs `u32`,
 * long-longs `u64`…) plus AMQP 0-9-1's strings. Malformed input becomes an AmqpCodecError,
 * never a RangeError or a silently short value.
 */
export class Reader extends ByteReader {
  /** what a failure reports; the method decoder sets the ids */
  declare classId: number;
  declare methodId: number;

  constructor(buf: Buffer, pos = 0, end = buf.length, classId = 0, methodId = 0) {
    super(buf, pos, end, cannotDecode);
    this.classId = classId;
    this.methodId = methodId;
  }

  fail(what: string): never {
    throw decodeError(what, this.classId, this.methodId);
  }

  shortstr(): string {
    const len = this.buf[this.take(1, 'shortstr')]!;
    return this.utf8(len, 'shortstr');
  }

  /** Long string as bytes (a view into the payload, not a copy). */
  longstrBytes(): Buffer {
    return this.bytes(this.u32(), 'longstr');
  }

  longstr(): string {
    return this.utf8(this.u32(), 'longstr');
  }
}

/**
 * Growable big-endian writer. Encoders write into one shared scratch instance and
 * copy the finished bytes out once, so a frame costs one exact-size allocation.
 */
export class Writer {
  buf: Buffer;
  pos = 0;
  constructor(private readonly initialSize = 16 * 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  ensure(n: number): void {
    const want = this.pos + n;
    if (want <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < want) size *= 2;
    const grown = Buffer.allocUnsafe(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  octet(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.pos++);
  }

  int8(v: number): void {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos++);
  }

  short(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16BE(v, this.pos);
    this.pos += 2;
  }

  int16(v: number): void {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
  }

  long(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  int32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  longlong(v: number): void {
    this.ensure(8);
    writeUInt64(this.buf, v, this.pos);
    this.pos += 8;
  }

  int64(v: number | bigint): void {
    this.ensure(8);
    this.buf.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v), this.pos);
    this.pos += 8;
  }

  double(v: number): void {
    this.ensure(8);
    this.buf.writeDoubleBE(v, this.pos);
    this.pos += 8;
  }

  float(v: number): void {
    this.ensure(4);
    this.buf.writeFloatBE(v, this.pos);
    this.pos += 4;
  }

  shortstr(s: string, what = 'shortstr'): void {
    // every UTF-16 unit takes at least one utf8 byte: no need to encode a string this long
    if (s.length > 255) throw new RangeError(`${what} longer than 255 bytes`);
    // utf8 is at most 3 bytes per UTF-16 unit, so 255 * 3 + 1 always suffices for a valid one
    this.ensure(1 + s.length * 3);
    const len = this.buf.write(s, this.pos + 1, 'utf8');
    if (len > 255) throw new RangeError(`${what} longer than 255 bytes`);
    this.buf[this.pos] = len;
    this.pos += 1 + len;
  }

  longstr(v: string | Uint8Array): void {
    if (typeof v === 'string') {
      this.ensure(4 + v.length * 3);
      const len = this.buf.write(v, this.pos + 4, 'utf8');
      this.buf.writeUInt32BE(len, this.pos);
      this.pos += 4 + len;
    } else {
      this.ensure(4 + v.length);
      this.buf.writeUInt32BE(v.length, this.pos);
      this.buf.set(v, this.pos + 4);
      this.pos += 4 + v.length;
    }
  }

  bytes(v: Uint8Array): void {
    this.ensure(v.length);
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  /** A copy of what was written, in a buffer of its own. */
  take(from = 0): Buffer {
    const out = Buffer.allocUnsafe(this.pos - from);
    this.buf.copy(out, 0, from, this.pos);
    // one huge table must not pin a huge scratch buffer for the life of the process
    if (this.buf.length > MAX_RETAINED) this.buf = Buffer.allocUnsafe(this.initialSize);
    this.pos = 0;
    return out;
  }
}

/** Writes an unsigned 64-bit integer given as a (safe, non-negative) number. */
export function writeUInt64(buf: Buffer, v: number, pos: number): void {
  if (!(v >= 0 && v <= Number.MAX_SAFE_INTEGER) || !Number.isInteger(v)) {
    throw new RangeError(`not an unsigned 64-bit integer: ${v}`);
  }
  const hi = Math.floor(v / TWO_POW_32);
  buf.writeUInt32BE(hi >>> 0, pos);
  buf.writeUInt32BE(v >>> 0, pos + 4);
}

/** Writes a short string at pos, returning the position after it. */
export function writeShortstr(buf: Buffer, s: string, pos: number): number {
  const len = s.length === 0 ? 0 : buf.write(s, pos + 1, 'utf8');
  buf[pos] = len;
  return pos + 1 + len;
}

/** Byte length of a short string, throwing if it does not fit one. */
export function shortstrLength(s: string, what = 'shortstr'): number {
  const len = s.length === 0 ? 0 : Buffer.byteLength(s, 'utf8');
  if (len > 255) throw new RangeError(`${what} longer than 255 bytes`);
  return len;
}
