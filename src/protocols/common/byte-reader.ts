/**
 * The protocol's own error for a read past the end: AMQP 0-9-1's FRAME_ERROR "cannot decode",
 * AMQP 1.0's amqp:decode-error, OpenWire's IOException. Called only when a read fails, with the
 * reader as it was before the read (`pos` is where the short read starts), how many bytes the
 * read wanted, and what it was reading.
 */
export type ShortReadError = (reader: ByteReader, needed: number, what: string) => Error;

const TWO_POW_32 = 0x1_0000_0000;

/**
 * A bounds-checked big-endian cursor over one buffer (a frame body, a command, a property
 * block): the reader the AMQP 0-9-1, AMQP 1.0 and OpenWire codecs share. Every read checks its
 * length first, so a short or lying encoding becomes the codec's decode error, never a
 * RangeError, a silently short value or a read into the next frame. Binary values are views of
 * the buffer, not copies.
 *
 * Each codec extends it with its own types (AMQP short strings and field tables, AMQP 1.0's
 * constructors, Java's DataInput) and passes its `ShortReadError`. Hot path: the error factory
 * is a field set once per reader and called only on failure; no closure is made per read.
 */
export class ByteReader {
  // assigned in the constructor, not declared as class fields: no field initializer to run per
  // reader, so the construction stays small enough to be inlined into a codec's hot decode
  declare readonly buf: Buffer;
  declare readonly end: number;
  declare pos: number;
  declare private readonly shortRead: ShortReadError;

  constructor(buf: Buffer, start: number, end: number, shortRead: ShortReadError) {
    this.buf = buf;
    this.end = end;
    this.pos = start;
    this.shortRead = shortRead;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** throws the codec's error unless `n` more bytes are there; does not move */
  need(n: number, what: string): void {
    if (n < 0 || this.pos + n > this.end) throw this.shortRead(this, n, what);
  }

  /** moves past `n` bytes, returning where they start; throws the codec's error if they are not there */
  take(n: number, what: string): number {
    const at = this.pos;
    if (n < 0 || at + n > this.end) throw this.shortRead(this, n, what);
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.take(1, 'u8')]!;
  }

  i8(): number {
    return this.buf.readInt8(this.take(1, 'i8'));
  }

  u16(): number {
    const at = this.take(2, 'u16');
    return (this.buf[at]! << 8) | this.buf[at + 1]!;
  }

  i16(): number {
    return this.buf.readInt16BE(this.take(2, 'i16'));
  }

  u32(): number {
    return this.buf.readUInt32BE(this.take(4, 'u32'));
  }

  i32(): number {
    return this.buf.readInt32BE(this.take(4, 'i32'));
  }

  /** unsigned 64-bit as a number (exact below 2^53: delivery tags, sizes, timestamps) */
  u64(): number {
    const at = this.take(8, 'u64');
    return this.buf.readUInt32BE(at) * TWO_POW_32 + this.buf.readUInt32BE(at + 4);
  }

  /** signed 64-bit as a number (exact between ±2^53) */
  i64(): number {
    const at = this.take(8, 'i64');
    return this.buf.readInt32BE(at) * TWO_POW_32 + this.buf.readUInt32BE(at + 4);
  }

  /** unsigned 64-bit: a number when exact, otherwise a bigint */
  u64Exact(): number | bigint {
    const at = this.take(8, 'u64');
    const hi = this.buf.readUInt32BE(at);
    if (hi <= 0x1f_ffff) return hi * TWO_POW_32 + this.buf.readUInt32BE(at + 4);
    return this.buf.readBigUInt64BE(at);
  }

  /** signed 64-bit: a number when exact, otherwise a bigint */
  i64Exact(): number | bigint {
    const at = this.take(8, 'i64');
    const n = this.buf.readInt32BE(at) * TWO_POW_32 + this.buf.readUInt32BE(at + 4);
    return Number.isSafeInteger(n) ? n : this.buf.readBigInt64BE(at);
  }

  f32(): number {
    return this.buf.readFloatBE(this.take(4, 'f32'));
  }

  f64(): number {
    return this.buf.readDoubleBE(this.take(8, 'f64'));
  }

  /** `n` bytes as a view of the buffer */
  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.take(n, what);
    return this.buf.subarray(at, at + n);
  }

  /** `n` bytes of UTF-8 */
  utf8(n: number, what = 'utf8'): string {
    const at = this.take(n, what);
    return n === 0 ? '' : this.buf.toString('utf8', at, at + n);
  }

  /** `n` bytes, one character each (ASCII symbols) */
  latin1(n: number, what = 'latin1'): string {
    const at = this.take(n, what);
    return this.buf.toString('latin1', at, at + n);
  }
}
