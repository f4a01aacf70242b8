/**
 * AMQP field tables and field arrays, with RabbitMQ's type letters (its errata to
 * 0-9-1, which every real client uses), not the letters of the 0-9-1 spec text.
 */
import { Decimal, type FieldTable, type FieldValue } from '../../../core/fields.js';
import { Reader, Writer } from './wire.js';

const INT32_MIN = -0x8000_0000;
const INT32_MAX = 0x7fff_ffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
/** Nesting beyond this is a hostile peer, not a real header; stops stack exhaustion. */
const MAX_DEPTH = 100;

const T = 0x74; // t bool
const b = 0x62; // b int8
const B = 0x42; // B uint8
const s = 0x73; // s int16
const u = 0x75; // u uint16
const I = 0x49; // I int32
const i = 0x69; // i uint32
const l = 0x6c; // l int64
const f = 0x66; // f float
const d = 0x64; // d double
const D = 0x44; // D decimal
const S = 0x53; // S long string
const A = 0x41; // A array
const TS = 0x54; // T timestamp
const F = 0x46; // F table
const V = 0x56; // V void
const x = 0x78; // x byte array

// ---------------------------------------------------------------- decoding

/** Reads a table (its 32-bit length first) at the reader's position. */
export function readFieldTable(r: Reader, depth = 0): FieldTable {
  const len = r.u32();
  r.need(len, 'field table');
  const end = r.pos + len;
  const table: FieldTable = {};
  while (r.pos < end) {
    const key = r.shortstr();
    const value = readFieldValue(r, end, depth);
    if (key === '__proto__') {
      // a plain assignment would replace the prototype: keep it an ordinary key
      Object.defineProperty(table, key, { value, enumerable: true, writable: true, configurable: true });
    } else {
      table[key] = value;
    }
  }
  if (r.pos !== end) r.fail('field table (entry overruns its length)');
  return table;
}

/** Reads a field array (its 32-bit length first) at the reader's position. */
export function readFieldArray(r: Reader, depth = 0): FieldValue[] {
  const len = r.u32();
  r.need(len, 'field array');
  const end = r.pos + len;
  const out: FieldValue[] = [];
  while (r.pos < end) out.push(readFieldValue(r, end, depth));
  if (r.pos !== end) r.fail('field array (value overruns its length)');
  return out;
}

function readFieldValue(r: Reader, end: number, depth: number): FieldValue {
  if (r.pos >= end) r.fail('field value (missing type)');
  const type = r.u8();
  let v: FieldValue;
  switch (type) {
    case S:
      v = r.longstr();
      break;
    case I:
      v = r.i32();
      break;
    case T:
      v = r.u8() !== 0;
      break;
    case F:
      if (depth >= MAX_DEPTH) r.fail('field table (nested too deep)');
      v = readFieldTable(r, depth + 1);
      break;
    case l:
      v = r.i64Exact();
      break;
    case b:
      v = r.i8();
      break;
    case B:
      v = r.u8();
      break;
    case s:
      v = r.i16();
      break;
    case u:
      v = r.u16();
      break;
    case i:
      v = r.u32();
      break;
    case f:
      v = r.f32();
      break;
    case d:
      v = r.f64();
      break;
    case D: {
      const scale = r.u8();
      v = new Decimal(scale, r.u32());
      break;
    }
    case TS:
      v = new Date(r.u64() * 1000);
      break;
    case A:
      if (depth >= MAX_DEPTH) r.fail('field array (nested too deep)');
      v = readFieldArray(r, depth + 1);
      break;
    case V:
      v = null;
      break;
    case x:
      // a copy: a table outlives the frame it came in and must not pin the socket chunk
      v = Buffer.from(r.longstrBytes());
      break;
    default:
      r.fail(`field value (unknown type 0x${type.toString(16)})`);
  }
  if (r.pos > end) r.fail('field value (overruns its table)');
  return v;
}

export function decodeFieldTable(buf: Buffer): FieldTable {
  const r = new Reader(buf);
  const t = readFieldTable(r);
  if (r.pos !== buf.length) r.fail('field table (trailing bytes)');
  return t;
}

export function decodeFieldArray(buf: Buffer): FieldValue[] {
  const r = new Reader(buf);
  const a = readFieldArray(r);
  if (r.pos !== buf.length) r.fail('field array (trailing bytes)');
  return a;
}

// ---------------------------------------------------------------- encoding

/** Appends a table (its 32-bit length first). */
export function writeFieldTable(w: Writer, table: FieldTable | undefined | null, depth = 0): void {
  w.long(0);
  const lenAt = w.pos - 4;
  if (table) {
    for (const key of Object.keys(table)) {
      w.shortstr(key, `field table key "${key.slice(0, 40)}"`);
      writeFieldValue(w, table[key], depth);
    }
  }
  w.buf.writeUInt32BE(w.pos - lenAt - 4, lenAt);
}

/** Appends a field array (its 32-bit length first). */
export function writeFieldArray(w: Writer, values: readonly FieldValue[], depth = 0): void {
  w.long(0);
  const lenAt = w.pos - 4;
  for (const v of values) writeFieldValue(w, v, depth);
  w.buf.writeUInt32BE(w.pos - lenAt - 4, lenAt);
}

/**
 * JS value -> type letter: boolean t; integer number I if it fits 32 bits else l;
 * other number d; bigint l; string S; Buffer/Uint8Array x; Date T; Decimal D;
 * array A; null/undefined V; any other object F.
 */
export function writeFieldValue(w: Writer, v: FieldValue, depth = 0): void {
  if (depth >= MAX_DEPTH) throw new RangeError('field table nested too deep');
  switch (typeof v) {
    case 'string':
      w.octet(S);
      w.longstr(v);
      return;
    case 'number':
      if (Number.isInteger(v)) {
        if (v >= INT32_MIN && v <= INT32_MAX) {
          w.octet(I);
          w.int32(v);
          return;
        }
        if (Number.isSafeInteger(v)) {
          w.octet(l);
          w.int64(v);
          return;
        }
      }
      w.octet(d);
      w.double(v);
      return;
    case 'boolean':
      w.octet(T);
      w.octet(v ? 1 : 0);
      return;
    case 'bigint':
      if (v < INT64_MIN || v > INT64_MAX) throw new RangeError(`bigint ${v} does not fit a signed 64-bit field`);
      w.octet(l);
      w.int64(v);
      return;
    case 'undefined':
      w.octet(V);
      return;
    case 'object':
      if (v === null) {
        w.octet(V);
      } else if (v instanceof Uint8Array) {
        w.octet(x);
        w.longstr(v);
      } else if (Array.isArray(v)) {
        w.octet(A);
        writeFieldArray(w, v, depth + 1);
      } else if (v instanceof Date) {
        const ms = v.getTime();
        if (Number.isNaN(ms) || ms < 0) throw new RangeError('timestamp field must be a valid date after 1970');
        w.octet(TS);
        w.longlong(Math.floor(ms / 1000));
      } else if (v instanceof Decimal) {
        w.octet(D);
        w.octet(v.scale);
        w.long(v.value);
      } else {
        w.octet(F);
        writeFieldTable(w, v, depth + 1);
      }
      return;
    default:
      throw new TypeError(`cannot encode a ${typeof v} in a field table`);
  }
}

const scratch = new Writer();

/** A table's wire form, including its 32-bit length prefix. */
export function encodeFieldTable(table: FieldTable): Buffer {
  writeFieldTable(scratch.reset(), table);
  return scratch.take();
}

/** A field array's wire form, including its 32-bit length prefix. */
export function encodeFieldArray(values: readonly FieldValue[]): Buffer {
  writeFieldArray(scratch.reset(), values);
  return scratch.take();
}

// ---------------------------------------------------------------- strings

/** A short string's wire form: one length octet then at most 255 utf8 bytes. */
export function encodeShortString(value: string): Buffer {
  scratch.reset().shortstr(value);
  return scratch.take();
}

/** Decodes the short string at `offset`; returns the value and the offset after it. */
export function decodeShortString(buf: Buffer, offset = 0): { value: string; next: number } {
  const r = new Reader(buf, offset);
  const value = r.shortstr();
  return { value, next: r.pos };
}

/** A long string's wire form: a 32-bit length then the bytes (utf8 for a string). */
export function encodeLongString(value: string | Uint8Array): Buffer {
  scratch.reset().longstr(value);
  return scratch.take();
}

/** Decodes the long string at `offset` as utf8; returns the value and the offset after it. */
export function decodeLongString(buf: Buffer, offset = 0): { value: string; next: number } {
  const r = new Reader(buf, offset);
  const value = r.longstr();
  return { value, next: r.pos };
}
