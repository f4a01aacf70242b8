import { ByteReader, type ShortReadError } from '../../common/byte-reader.js';
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

/** AMQP 1.0's answer to a short read: amqp:decode-error, the connection closes. */
const truncatedEncoding: ShortReadError = (r, needed) =>
  new Amqp10DecodeError(`truncated encoding: ${needed} byte(s) needed at offset ${r.pos}, ${r.end - r.pos} left`);

/**
 * Reads AMQP 1.0 values from one buffer (a frame body), on the shared bounds-checked cursor:
 * a short or malformed encoding throws Amqp10DecodeError. Binary values are views of the
 * buffer, not copies.
 */
export class Decoder extends ByteReader {
  // set in the constructor, not a class field: no field initializer per frame (see ByteReader)
  declare private depth: number;

  constructor(buf: Buffer, start = 0, end = buf.length) {
    super(buf, start, end, truncatedEncoding);
    this.depth = 0;
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
        return this.i8();
      case T.ushort:
        return this.u16();
      case T.short:
        return this.i16();
      case T.uint:
        return this.u32();
      case T.int:
        return this.i32();
      case T.float:
        return this.f32();
      case T.char: {
        const cp = this.u32();
        if (cp > 0x10ffff) throw new Amqp10DecodeError(`invalid char U+${cp.toString(16)}`);
        return String.fromCodePoint(cp);
      }
      case T.decimal32:
        return new Typed('decimal32', Buffer.from(this.bytes(4)));
      case T.ulong:
        return this.u64Exact();
      case T.long:
        return this.i64Exact();
      case T.double:
        return this.f64();
      case T.timestamp:
        return new Date(this.i64());
      case T.decimal64:
        return new Typed('decimal64', Buffer.from(this.bytes(8)));
      case T.decimal128:
        return new Typed('decimal128', Buffer.from(this.bytes(16)));
      case T.uuid:
        return new Uuid(Buffer.from(this.bytes(16)));
      case T.vbin8:
        return this.bytes(this.u8());
      case T.vbin32:
        return this.bytes(this.u32());
      case T.str8:
        return this.utf8(this.u8());
      case T.str32:
        return this.utf8(this.u32());
      case T.sym8:
        return new Sym(this.latin1(this.u8()));
      case T.sym32:
        return new Sym(this.latin1(this.u32()));
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

  /** size and count, checked against what is left, for a compound of `width`-byte fields */
  private compound(size: number, width: 1 | 4, elementsTakeBytes = true): { count: number; end: number } {
    this.need(size, 'compound');
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
