import { T } from './decoder.js';
import { AmqpMap, Described, Sym, Typed, Uuid, type AmqpValue, type TypeName } from './types.js';

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;

/**
 * Writes AMQP 1.0 values into a growing buffer, choosing the smallest encoding of each
 * (uint0/smalluint, str8 over str32, list8 over list32...). One Encoder is reused per
 * connection: `reset()` then writes, then `take()` copies out the bytes.
 */
export class Encoder {
  buf: Buffer;
  pos = 0;

  constructor(initial = 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  reset(): this {
    this.pos = 0;
    return this;
  }

  /** a copy of what was written since reset */
  take(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(bytes: Buffer): void {
    this.ensure(bytes.length);
    bytes.copy(this.buf, this.pos);
    this.pos += bytes.length;
  }

  u32At(at: number, v: number): void {
    this.buf.writeUInt32BE(v, at);
  }

  // ---- values ----------------------------------------------------------------------

  /** any value: its exact type when Typed, else the type a plain JS value implies */
  value(v: AmqpValue): void {
    if (v === null || v === undefined) return this.byte(T.null);
    switch (typeof v) {
      case 'boolean':
        return this.byte(v ? T.true : T.false);
      case 'number':
        if (Number.isInteger(v)) {
          if (v >= INT32_MIN && v <= INT32_MAX) return this.int(v);
          if (Number.isSafeInteger(v)) return this.long(v);
        }
        return this.double(v);
      case 'bigint':
        return this.long(v);
      case 'string':
        return this.string(v);
    }
    if (Buffer.isBuffer(v)) return this.binary(v);
    if (v instanceof Sym) return this.symbol(v.value);
    if (v instanceof Typed) return this.typed(v.type, v.value, v.element);
    if (v instanceof Described) return this.described(v.descriptor, v.value);
    if (v instanceof Date) return this.timestamp(v.getTime());
    if (v instanceof Uuid) return this.uuid(v);
    if (v instanceof AmqpMap) return this.map(v.entries);
    if (Array.isArray(v)) return this.list(v);
    return this.map(Object.entries(v as Record<string, AmqpValue>));
  }

  typed(type: TypeName, v: unknown, element?: TypeName): void {
    if (v === null || v === undefined) return this.byte(T.null);
    switch (type) {
      case 'null':
        return this.byte(T.null);
      case 'boolean':
        return this.byte(v ? T.true : T.false);
      case 'ubyte':
        this.byte(T.ubyte);
        return this.byte(Number(v) & 0xff);
      case 'byte':
        this.ensure(2);
        this.buf[this.pos++] = T.byte;
        this.buf.writeInt8(Number(v), this.pos++);
        return;
      case 'ushort':
        this.ensure(3);
        this.buf[this.pos++] = T.ushort;
        this.buf.writeUInt16BE(Number(v), this.pos);
        this.pos += 2;
        return;
      case 'short':
        this.ensure(3);
        this.buf[this.pos++] = T.short;
        this.buf.writeInt16BE(Number(v), this.pos);
        this.pos += 2;
        return;
      case 'uint':
        return this.uint(Number(v));
      case 'int':
        return this.int(Number(v));
      case 'ulong':
        return this.ulong(v as number | bigint);
      case 'long':
        return this.long(v as number | bigint);
      case 'float':
        this.ensure(5);
        this.buf[this.pos++] = T.float;
        this.buf.writeFloatBE(Number(v), this.pos);
        this.pos += 4;
        return;
      case 'double':
        return this.double(Number(v));
      case 'decimal32':
      case 'decimal64':
      case 'decimal128':
        this.byte(type === 'decimal32' ? T.decimal32 : type === 'decimal64' ? T.decimal64 : T.decimal128);
        return this.raw(v as Buffer);
      case 'char':
        this.ensure(5);
        this.buf[this.pos++] = T.char;
        this.buf.writeUInt32BE(String(v).codePointAt(0) ?? 0, this.pos);
        this.pos += 4;
        return;
      case 'timestamp':
        return this.timestamp(v instanceof Date ? v.getTime() : Number(v));
      case 'uuid':
        return this.uuid(v as Uuid);
      case 'binary':
        return this.binary(v as Buffer);
      case 'string':
        return this.string(String(v));
      case 'symbol':
        return this.symbol(v instanceof Sym ? v.value : String(v));
      case 'list':
        return this.list(v as AmqpValue[]);
      case 'map':
        return this.value(v as AmqpValue);
      case 'array':
        return this.array(element ?? 'null', v as unknown[]);
    }
  }

  uint(n: number): void {
    if (n === 0) return this.byte(T.uint0);
    if (n < 256) {
      this.ensure(2);
      this.buf[this.pos++] = T.smalluint;
      this.buf[this.pos++] = n;
      return;
    }
    this.ensure(5);
    this.buf[this.pos++] = T.uint;
    this.buf.writeUInt32BE(n >>> 0, this.pos);
    this.pos += 4;
  }

  ulong(n: number | bigint): void {
    if (typeof n === 'number' && n === 0) return this.byte(T.ulong0);
    if (typeof n === 'number' && n < 256) {
      this.ensure(2);
      this.buf[this.pos++] = T.smallulong;
      this.buf[this.pos++] = n;
      return;
    }
    this.ensure(9);
    this.buf[this.pos++] = T.ulong;
    this.buf.writeBigUInt64BE(BigInt(n), this.pos);
    this.pos += 8;
  }

  int(n: number): void {
    if (n >= -128 && n <= 127) {
      this.ensure(2);
      this.buf[this.pos++] = T.smallint;
      this.buf.writeInt8(n, this.pos++);
      return;
    }
    this.ensure(5);
    this.buf[this.pos++] = T.int;
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4;
  }

  long(n: number | bigint): void {
    if (typeof n === 'number' && n >= -128 && n <= 127) {
      this.ensure(2);
      this.buf[this.pos++] = T.smalllong;
      this.buf.writeInt8(n, this.pos++);
      return;
    }
    this.ensure(9);
    this.buf[this.pos++] = T.long;
    this.buf.writeBigInt64BE(BigInt(n), this.pos);
    this.pos += 8;
  }

  double(n: number): void {
    this.ensure(9);
    this.buf[this.pos++] = T.double;
    this.buf.writeDoubleBE(n, this.pos);
    this.pos += 8;
  }

  timestamp(ms: number): void {
    this.ensure(9);
    this.buf[this.pos++] = T.timestamp;
    this.buf.writeBigInt64BE(BigInt(Math.trunc(ms)), this.pos);
    this.pos += 8;
  }

  uuid(u: Uuid): void {
    this.byte(T.uuid);
    this.raw(u.bytes);
  }

  binary(b: Buffer): void {
    if (b.length < 256) {
      this.ensure(2 + b.length);
      this.buf[this.pos++] = T.vbin8;
      this.buf[this.pos++] = b.length;
    } else {
      this.ensure(5 + b.length);
      this.buf[this.pos++] = T.vbin32;
      this.buf.writeUInt32BE(b.length, this.pos);
      this.pos += 4;
    }
    b.copy(this.buf, this.pos);
    this.pos += b.length;
  }

  string(s: string): void {
    this.text(s, T.str8, T.str32, 'utf8');
  }

  symbol(s: string): void {
    this.text(s, T.sym8, T.sym32, 'latin1');
  }

  private text(s: string, small: number, large: number, encoding: 'utf8' | 'latin1'): void {
    const n = encoding === 'latin1' ? s.length : Buffer.byteLength(s, 'utf8');
    if (n < 256) {
      this.ensure(2 + n);
      this.buf[this.pos++] = small;
      this.buf[this.pos++] = n;
    } else {
      this.ensure(5 + n);
      this.buf[this.pos++] = large;
      this.buf.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    this.pos += this.buf.write(s, this.pos, n, encoding);
  }

  described(descriptor: Sym | number | bigint, v: AmqpValue): void {
    this.byte(T.described);
    if (descriptor instanceof Sym) this.symbol(descriptor.value);
    else this.ulong(descriptor);
    this.value(v);
  }

  /** a list of values; `fields` writes them (a performative writes typed fields itself) */
  list(items: AmqpValue[]): void {
    if (items.length === 0) return this.byte(T.list0);
    this.compound(T.list8, T.list32, items.length, () => {
      for (const it of items) this.value(it);
    });
  }

  /** a list written by `write`, `count` elements */
  compound(small: number, large: number, count: number, write: () => void): void {
    // reserve the 32-bit form, then shrink to the 8-bit one when it fits
    this.ensure(9);
    const start = this.pos;
    this.pos += 9;
    write();
    const size = this.pos - start - 9;
    if (size + 1 < 256 && count < 256) {
      this.buf.copyWithin(start + 3, start + 9, this.pos);
      this.buf[start] = small;
      this.buf[start + 1] = size + 1;
      this.buf[start + 2] = count;
      this.pos -= 6;
    } else {
      this.buf[start] = large;
      this.buf.writeUInt32BE(size + 4, start + 1);
      this.buf.writeUInt32BE(count, start + 5);
    }
  }

  map(entries: [AmqpValue, AmqpValue][]): void {
    this.compound(T.map8, T.map32, entries.length * 2, () => {
      for (const [k, v] of entries) {
        this.value(k);
        this.value(v);
      }
    });
  }

  /** an array: one constructor, then each element's bare encoding */
  array(element: TypeName, items: unknown[]): void {
    this.ensure(9);
    const start = this.pos;
    this.pos += 9;
    this.arrayConstructor(element);
    for (const it of items) this.arrayElement(element, it);
    const size = this.pos - start - 9;
    this.buf[start] = T.array32;
    this.buf.writeUInt32BE(size + 4, start + 1);
    this.buf.writeUInt32BE(items.length, start + 5);
    if (size + 1 < 256 && items.length < 256) {
      this.buf.copyWithin(start + 3, start + 9, this.pos);
      this.buf[start] = T.array8;
      this.buf[start + 1] = size + 1;
      this.buf[start + 2] = items.length;
      this.pos -= 6;
    }
  }

  /** array elements share the wide form of their type, so each has the same width */
  private arrayConstructor(element: TypeName): void {
    const codes: Partial<Record<TypeName, number>> = {
      symbol: T.sym32,
      string: T.str32,
      binary: T.vbin32,
      uint: T.uint,
      ulong: T.ulong,
      int: T.int,
      long: T.long,
      ubyte: T.ubyte,
      ushort: T.ushort,
      byte: T.byte,
      short: T.short,
      boolean: T.boolean,
      double: T.double,
      float: T.float,
      timestamp: T.timestamp,
      uuid: T.uuid,
      char: T.char,
      map: T.map32,
      list: T.list32,
    };
    this.byte(codes[element] ?? T.null);
  }

  private arrayElement(element: TypeName, v: unknown): void {
    const b = this.buf;
    switch (element) {
      case 'symbol':
      case 'string':
      case 'binary': {
        const bytes = Buffer.isBuffer(v) ? v : Buffer.from(v instanceof Sym ? v.value : String(v), element === 'symbol' ? 'latin1' : 'utf8');
        this.ensure(4 + bytes.length);
        this.buf.writeUInt32BE(bytes.length, this.pos);
        this.pos += 4;
        this.raw(bytes);
        return;
      }
      case 'uint':
        this.ensure(4);
        b.writeUInt32BE(Number(v) >>> 0, this.pos);
        this.pos += 4;
        return;
      case 'int':
        this.ensure(4);
        b.writeInt32BE(Number(v), this.pos);
        this.pos += 4;
        return;
      case 'ulong':
        this.ensure(8);
        this.buf.writeBigUInt64BE(BigInt(v as number), this.pos);
        this.pos += 8;
        return;
      case 'long':
      case 'timestamp':
        this.ensure(8);
        this.buf.writeBigInt64BE(BigInt(v instanceof Date ? v.getTime() : (v as number)), this.pos);
        this.pos += 8;
        return;
      case 'ubyte':
      case 'byte':
      case 'boolean':
        this.byte(element === 'boolean' ? (v ? 1 : 0) : Number(v) & 0xff);
        return;
      case 'ushort':
      case 'short':
        this.ensure(2);
        this.buf.writeUInt16BE(Number(v) & 0xffff, this.pos);
        this.pos += 2;
        return;
      case 'double':
        this.ensure(8);
        this.buf.writeDoubleBE(Number(v), this.pos);
        this.pos += 8;
        return;
      case 'float':
        this.ensure(4);
        this.buf.writeFloatBE(Number(v), this.pos);
        this.pos += 4;
        return;
      case 'uuid':
        this.raw((v as Uuid).bytes);
        return;
      case 'char':
        this.ensure(4);
        this.buf.writeUInt32BE(String(v).codePointAt(0) ?? 0, this.pos);
        this.pos += 4;
        return;
      case 'map':
      case 'list': {
        // the wide form without its constructor byte
        const at = this.pos;
        if (element === 'map') this.map(v instanceof AmqpMap ? v.entries : Object.entries(v as object));
        else this.list(v as AmqpValue[]);
        this.widen(at, element === 'map' ? T.map8 : T.list8);
        return;
      }
      default:
        return;
    }
  }

  /** rewrite a compound just written at `at` to its 32-bit form without the constructor */
  private widen(at: number, small: number): void {
    const code = this.buf[at];
    let size: number;
    let count: number;
    let body: Buffer;
    if (code === small) {
      size = this.buf[at + 1]! - 1;
      count = this.buf[at + 2]!;
      body = Buffer.from(this.buf.subarray(at + 3, this.pos));
    } else if (code === T.list0) {
      size = 0;
      count = 0;
      body = Buffer.alloc(0);
    } else {
      size = this.buf.readUInt32BE(at + 1) - 4;
      count = this.buf.readUInt32BE(at + 5);
      body = Buffer.from(this.buf.subarray(at + 9, this.pos));
    }
    this.pos = at;
    this.ensure(8 + size);
    this.buf.writeUInt32BE(size + 4, this.pos);
    this.buf.writeUInt32BE(count, this.pos + 4);
    this.pos += 8;
    this.raw(body);
  }
}

/** encode one value into a fresh buffer */
export function encodeValue(v: AmqpValue): Buffer {
  const e = new Encoder(64);
  e.value(v);
  return e.take();
}
