/**
 * Java's DataInput/DataOutput on a Buffer, as OpenWire's loose encoding uses them:
 * big-endian integers, booleans as one byte, and strings in Java's "modified UTF-8"
 * (NUL as two bytes, characters outside the BMP as two 3-byte surrogates).
 */

import { ByteReader, type ShortReadError } from '../../common/byte-reader.js';

export class OpenWireDecodeError extends Error {}

const TWO_POW_32 = 0x1_0000_0000;

/** OpenWire's answer to a short read: the command is cut short (the client sees an IOException). */
const truncatedCommand: ShortReadError = (r, needed) =>
  new OpenWireDecodeError(`truncated command: needs ${needed} more bytes at offset ${r.pos}, ${r.end - r.pos} left`);

/** Java's DataInput names over the shared bounds-checked cursor. */
export class Reader extends ByteReader {
  constructor(buf: Buffer, start = 0, end = buf.length) {
    super(buf, start, end, truncatedCommand);
  }

  bool(): boolean {
    return this.u8() !== 0;
  }
  byte(): number {
    return this.i8();
  }
  ubyte(): number {
    return this.u8();
  }
  short(): number {
    return this.i16();
  }
  ushort(): number {
    return this.u16();
  }
  char(): string {
    return String.fromCharCode(this.u16());
  }
  int(): number {
    return this.i32();
  }
  /**
   * A Java long as a number (exact within ±2^53). One that fits 32 bits comes back as a small
   * integer: a structure field that only ever holds such values (ids, sequence numbers, an
   * unset expiration or arrival) then keeps V8's small-integer representation instead of a
   * heap number per structure (a queued JMS message held 7 of them).
   */
  long(): number {
    const at = this.take(8, 'long');
    const hi = this.buf.readInt32BE(at);
    const lo = this.buf.readInt32BE(at + 4);
    return hi === lo >> 31 ? lo : hi * TWO_POW_32 + (lo >>> 0);
  }
  /** a Java long: a number when it is exactly representable, else a bigint */
  longExact(): number | bigint {
    return this.i64Exact();
  }
  float(): number {
    return this.f32();
  }
  double(): number {
    return this.f64();
  }
  /** DataInput.readUTF: an unsigned short length, then modified UTF-8 */
  utf(): string {
    const n = this.u16();
    return decodeModifiedUtf8(this.bytes(n));
  }
}

export class Writer {
  buf: Buffer;
  pos = 0;
  constructor(size = 256) {
    this.buf = Buffer.allocUnsafe(size);
  }

  private room(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, at + n + 64));
      this.buf.copy(next, 0, 0, at);
      this.buf = next;
    }
    this.pos = at + n;
    return at;
  }

  bool(v: boolean): void {
    const at = this.room(1);
    this.buf[at] = v ? 1 : 0;
  }
  byte(v: number): void {
    const at = this.room(1);
    this.buf.writeInt8(((v << 24) >> 24), at);
  }
  short(v: number): void {
    const at = this.room(2);
    this.buf.writeInt16BE(((v << 16) >> 16), at);
  }
  ushort(v: number): void {
    const at = this.room(2);
    this.buf.writeUInt16BE(v, at);
  }
  char(c: string): void {
    const at = this.room(2);
    this.buf.writeUInt16BE(c.charCodeAt(0) || 0, at);
  }
  int(v: number): void {
    const at = this.room(4);
    this.buf.writeInt32BE(v | 0, at);
  }
  long(v: number | bigint): void {
    const at = this.room(8);
    if (typeof v === 'bigint') {
      this.buf.writeBigInt64BE(BigInt.asIntN(64, v), at);
      return;
    }
    const hi = Math.floor(v / 0x1_0000_0000);
    this.buf.writeInt32BE(hi | 0, at);
    this.buf.writeUInt32BE(v - hi * 0x1_0000_0000, at + 4);
  }
  float(v: number): void {
    const at = this.room(4);
    this.buf.writeFloatBE(v, at);
  }
  double(v: number): void {
    const at = this.room(8);
    this.buf.writeDoubleBE(v, at);
  }
  bytes(b: Buffer): void {
    const at = this.room(b.length);
    b.copy(this.buf, at);
  }
  /** DataOutput.writeUTF (at most 65535 encoded bytes) */
  utf(s: string): void {
    const n = modifiedUtf8Length(s);
    if (n > 0xffff) throw new RangeError(`string of ${n} encoded bytes is too long for writeUTF`);
    this.ushort(n);
    const at = this.room(n);
    this.pos = writeModifiedUtf8(s, this.buf, at);
  }
  /** an int length, then modified UTF-8 (ActiveMQ's MarshallingSupport.writeUTF8) */
  utf8Int(s: string): void {
    const n = modifiedUtf8Length(s);
    this.int(n);
    const at = this.room(n);
    this.pos = writeModifiedUtf8(s, this.buf, at);
  }

  /** reserve 4 bytes, to be filled by `patchInt` */
  placeholder(): number {
    return this.room(4);
  }
  patchInt(at: number, v: number): void {
    this.buf.writeInt32BE(v, at);
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export function modifiedUtf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c > 0 && c <= 0x7f ? 1 : c <= 0x7ff ? 2 : 3;
  }
  return n;
}

/** write `s` at `at`, returning the end offset (room must already be there) */
export function writeModifiedUtf8(s: string, buf: Buffer, at: number): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0 && c <= 0x7f) buf[at++] = c;
    else if (c <= 0x7ff) {
      buf[at++] = 0xc0 | ((c >> 6) & 0x1f);
      buf[at++] = 0x80 | (c & 0x3f);
    } else {
      buf[at++] = 0xe0 | ((c >> 12) & 0x0f);
      buf[at++] = 0x80 | ((c >> 6) & 0x3f);
      buf[at++] = 0x80 | (c & 0x3f);
    }
  }
  return at;
}

export function encodeModifiedUtf8(s: string): Buffer {
  const out = Buffer.allocUnsafe(modifiedUtf8Length(s));
  writeModifiedUtf8(s, out, 0);
  return out;
}

export function decodeModifiedUtf8(b: Buffer): string {
  // plain ASCII is the common case
  let ascii = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 0 || c > 0x7f) {
      ascii = false;
      break;
    }
  }
  if (ascii) return b.toString('latin1');
  const units: number[] = [];
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) {
      units.push(c);
      i++;
    } else if ((c & 0xe0) === 0xc0) {
      if (i + 1 >= b.length) throw new OpenWireDecodeError('malformed modified UTF-8');
      units.push(((c & 0x1f) << 6) | (b[i + 1]! & 0x3f));
      i += 2;
    } else if ((c & 0xf0) === 0xe0) {
      if (i + 2 >= b.length) throw new OpenWireDecodeError('malformed modified UTF-8');
      units.push(((c & 0x0f) << 12) | ((b[i + 1]! & 0x3f) << 6) | (b[i + 2]! & 0x3f));
      i += 3;
    } else {
      throw new OpenWireDecodeError('malformed modified UTF-8');
    }
  }
  let s = '';
  for (let k = 0; k < units.length; k += 4096) s += String.fromCharCode(...units.slice(k, k + 4096));
  return s;
}
