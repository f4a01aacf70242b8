import { Amqp10DecodeError } from './errors.js';
import { AmqpMap, Described, Sym, Typed, Uuid, type AmqpValue } from './types.js';

/** type constructor codes (part 1, 1.6) */
export const T = {
  described: 0x00,
  null: 0x40,
  true: 0x41,
  false: 0x42,
  uint0: 0x43,
  ulong0: 0x44,
  list0: 0x45,
  ubyte: 0x50,
  byte: 0x51,
  smalluint: 0x52,
  smallulong: 0x53,
  smallint: 0x54,
  smalllong: 0x55,
  boolean: 0x56,
  ushort: 0x60,
  short: 0x61,
  uint: 0x70,
  int: 0x71,
  float: 0x72,
  char: 0x73,
  decimal32: 0x74,
  ulong: 0x80,
  long: 0x81,
  double: 0x82,
  timestamp: 0x83,
  decimal64: 0x84,
  decimal128: 0x94,
  uuid: 0x98,
  vbin8: 0xa0,
  str8: 0xa1,
  sym8: 0xa3,
  vbin32: 0xb0,
  str32: 0xb1,
  sym32: 0xb3,
  list8: 0xc0,
  map8: 0xc1,
  list32: 0xd0,
  map32: 0xd1,
  array8: 0xe0,
  array32: 0xf0,
} as const;

/** nesting deeper than this is refused: a hostile frame must not blow the stack */
const MAX_DEPTH = 64;
const MAX_ZERO_WIDTH_ELEMENTS = 65536;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MIN_SAFE = BigInt(Number.MIN_SAFE_INTEGER);

/**
 * Reads AMQP 1.0 values from one buffer (a frame body). Every read is bounds-checked and
 * a short or malformed encoding throws Amqp10DecodeError. Binary values are views of the
 * buffer, not copies.
 */
export class Decoder {
  pos: number;
  private depth = 0;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number): void {
    if (this.pos + n > this.end) throw new Amqp10DecodeError(`truncated encoding: ${n} byte(s) needed at offset ${this.pos}, ${this.end - this.pos} left`);
  }

  private u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  private u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** the next value, whatever its type */
  read(): AmqpValue {
    const code = this.u8();
    if (code === T.described) {
      if (++this.depth > MAX_DEPTH) throw new Amqp10DecodeError('values nested too deeply');
      const descriptor = this.read();
      const value = this.read();
      this.depth--;
      if (!(descriptor instanceof Sym) && typeof descriptor !== 'number' && typeof descriptor !== 'bigint') {
        throw new Amqp10DecodeError('a descriptor must be a symbol or an ulong');
      }
      return new Described(descriptor, value);
    }
    return this.readOf(code);
  }

  /** the value after a constructor byte already read */
  readOf(code: number): AmqpValue {
    const b = this.buf;
    switch (code) {
      case T.null:
        return null;
      case T.true:
        return true;
      case T.false:
        return false;
      case T.uint0:
      case T.ulong0:
        return 0;
      case T.list0:
        return [];
      case T.boolean: {
        const v = this.u8();
        if (v > 1) throw new Amqp10DecodeError(`invalid boolean value ${v}`);
        return v === 1;
      }
      case T.ubyte:
      case T.smalluint:
      case T.smallulong:
        return this.u8();
      case T.byte:
      case T.smallint:
      case T.smalllong:
        this.need(1);
        return b.readInt8(this.pos++);
      case T.ushort:
        this.need(2);
        this.pos += 2;
        return b.readUInt16BE(this.pos - 2);
      case T.short:
        this.need(2);
        this.pos += 2;
        return b.readInt16BE(this.pos - 2);
      case T.uint:
        return this.u32();
      case T.int:
        this.need(4);
        this.pos += 4;
        return b.readInt32BE(this.pos - 4);
      case T.float:
        this.need(4);
        this.pos += 4;
        return b.readFloatBE(this.pos - 4);
      case T.char: {
        const cp = this.u32();
        if (cp > 0x10ffff) throw new Amqp10DecodeError(`invalid char U+${cp.toString(16)}`);
        return String.fromCodePoint(cp);
      }
      case T.decimal32:
        this.need(4);
        this.pos += 4;
        return new Typed('decimal32', Buffer.from(b.subarray(this.pos - 4, this.pos)));
      case T.ulong: {
        this.need(8);
        const v = b.readBigUInt64BE(this.pos);
        this.pos += 8;
        return v <= MAX_SAFE ? Number(v) : v;
      }
      case T.long: {
        this.need(8);
        const v = b.readBigInt64BE(this.pos);
        this.pos += 8;
        return v <= MAX_SAFE && v >= MIN_SAFE ? Number(v) : v;
      }
      case T.double:
        this.need(8);
        this.pos += 8;
        return b.readDoubleBE(this.pos - 8);
      case T.timestamp: {
        this.need(8);
        const v = b.readBigInt64BE(this.pos);
        this.pos += 8;
        return new Date(Number(v));
      }
      case T.decimal64:
        this.need(8);
        this.pos += 8;
        return new Typed('decimal64', Buffer.from(b.subarray(this.pos - 8, this.pos)));
      case T.decimal128:
        this.need(16);
        this.pos += 16;
        return new Typed('decimal128', Buffer.from(b.subarray(this.pos - 16, this.pos)));
      case T.uuid:
        this.need(16);
        this.pos += 16;
        return new Uuid(Buffer.from(b.subarray(this.pos - 16, this.pos)));
      case T.vbin8:
        return this.bytes(this.u8());
      case T.vbin32:
        return this.bytes(this.u32());
      case T.str8:
        return this.utf8(this.u8());
      case T.str32:
        return this.utf8(this.u32());
      case T.sym8:
        return new Sym(this.ascii(this.u8()));
      case T.sym32:
        return new Sym(this.ascii(this.u32()));
      case T.list8:
        return this.list(this.u8(), 1);
      case T.list32:
        return this.list(this.u32(), 4);
      case T.map8:
        return this.map(this.u8(), 1);
      case T.map32:
        return this.map(this.u32(), 4);
      case T.array8:
        return this.array(this.u8(), 1);
      case T.array32:
        return this.array(this.u32(), 4);
      default:
        throw new Amqp10DecodeError(`unknown type constructor 0x${code.toString(16).padStart(2, '0')} at offset ${this.pos - 1}`);
    }
  }

  private bytes(n: number): Buffer {
    this.need(n);
    this.pos += n;
    return this.buf.subarray(this.pos - n, this.pos);
  }

  private utf8(n: number): string {
    this.need(n);
    this.pos += n;
    return this.buf.toString('utf8', this.pos - n, this.pos);
  }

  private ascii(n: number): string {
    this.need(n);
    this.pos += n;
    return this.buf.toString('latin1', this.pos - n, this.pos);
  }

  /** size and count, checked against what is left, for a compound of `width`-byte fields */
  private compound(size: number, width: 1 | 4, elementsTakeBytes = true): { count: number; end: number } {
    this.need(size);
    if (size < width) throw new Amqp10DecodeError(`compound size ${size} too small`);
    const end = this.pos + size;
    const count = width === 1 ? this.u8() : this.u32();
    // each element takes at least one byte: a count beyond that is a lie
    if (elementsTakeBytes && count > end - this.pos) throw new Amqp10DecodeError(`compound count ${count} exceeds its size ${size}`);
    return { count, end };
  }

  private list(size: number, width: 1 | 4): AmqpValue[] {
    const { count, end } = this.compound(size, width);
    if (++this.depth > MAX_DEPTH) throw new Amqp10DecodeError('values nested too deeply');
    const out: AmqpValue[] = new Array(count);
    for (let i = 0; i < count; i++) out[i] = this.within(end);
    this.depth--;
    if (this.pos !== end) throw new Amqp10DecodeError(`list size ${size} does not match its elements`);
    return out;
  }

  private map(size: number, width: 1 | 4): AmqpMap {
    const { count, end } = this.compound(size, width);
    if (count % 2 !== 0) throw new Amqp10DecodeError(`map with an odd element count ${count}`);
    if (++this.depth > MAX_DEPTH) throw new Amqp10DecodeError('values nested too deeply');
    const entries: [AmqpValue, AmqpValue][] = new Array(count / 2);
    for (let i = 0; i < count / 2; i++) {
      const k = this.within(end);
      entries[i] = [k, this.within(end)];
    }
    this.depth--;
    if (this.pos !== end) throw new Amqp10DecodeError(`map size ${size} does not match its elements`);
    return new AmqpMap(entries);
  }

  private array(size: number, width: 1 | 4): AmqpValue[] {
    const { count, end } = this.compound(size, width, false);
    if (++this.depth > MAX_DEPTH) throw new Amqp10DecodeError('values nested too deeply');
    // one constructor for every element; a described constructor repeats its descriptor
    let descriptor: AmqpValue | undefined;
    let code = this.u8();
    if (code === T.described) {
      descriptor = this.read();
      code = this.u8();
    }
    // zero-width elements (null, true, uint0...) take no bytes: bound their count otherwise
    const zeroWidth = code >= T.null && code <= T.list0;
    if (zeroWidth ? count > MAX_ZERO_WIDTH_ELEMENTS : count > end - this.pos) {
      throw new Amqp10DecodeError(`array count ${count} exceeds its size ${size}`);
    }
    const out: AmqpValue[] = new Array(count);
    for (let i = 0; i < count; i++) {
      if (this.pos > end) throw new Amqp10DecodeError('array elements overrun its size');
      const v = this.readOf(code);
      out[i] = descriptor !== undefined ? new Described(descriptor as Sym | number, v) : v;
    }
    this.depth--;
    if (this.pos !== end) throw new Amqp10DecodeError(`array size ${size} does not match its elements`);
    return out;
  }

  private within(end: number): AmqpValue {
    if (this.pos >= end) throw new Amqp10DecodeError('compound elements overrun its size');
    const v = this.read();
    if (this.pos > end) throw new Amqp10DecodeError('compound elements overrun its size');
    return v;
  }
}

/** decode exactly one value from `buf` */
export function decodeValue(buf: Buffer): AmqpValue {
  const d = new Decoder(buf);
  const v = d.read();
  if (d.remaining !== 0) throw new Amqp10DecodeError(`${d.remaining} trailing byte(s) after the value`);
  return v;
}
