import { Decimal } from '../../core/fields.js';
import { ByteReader, ByteWriter, DecodeError } from './binary.js';

/**
 * Binary form of FieldValue-shaped data (entity definitions, field tables, adapter
 * records). Unlike JSON it round-trips Buffer, Date, bigint, Decimal, undefined and -0.
 */
const enum Tag {
  Null = 0,
  Undefined = 1,
  False = 2,
  True = 3,
  Int32 = 4,
  Double = 5,
  BigInt = 6,
  String = 7,
  Bytes = 8,
  Date = 9,
  Decimal = 10,
  Array = 11,
  Table = 12,
}

export function writeValue(w: ByteWriter, v: unknown, sortKeys = false): void {
  switch (typeof v) {
    case 'undefined':
      w.u8(Tag.Undefined);
      return;
    case 'boolean':
      w.u8(v ? Tag.True : Tag.False);
      return;
    case 'number':
      if ((v | 0) === v && !Object.is(v, -0)) {
        w.u8(Tag.Int32);
        w.i32(v);
      } else {
        w.u8(Tag.Double);
        w.f64(v);
      }
      return;
    case 'bigint':
      w.u8(Tag.BigInt);
      w.str(v.toString());
      return;
    case 'string':
      w.u8(Tag.String);
      w.str(v);
      return;
    case 'object':
      writeObject(w, v, sortKeys);
      return;
    default:
      throw new TypeError(`cannot persist a value of type ${typeof v}`);
  }
}

function writeObject(w: ByteWriter, v: object | null, sortKeys: boolean): void {
  if (v === null) {
    w.u8(Tag.Null);
  } else if (v instanceof Uint8Array) {
    w.u8(Tag.Bytes);
    w.bytes(v);
  } else if (v instanceof Date) {
    w.u8(Tag.Date);
    w.f64(v.getTime());
  } else if (v instanceof Decimal) {
    w.u8(Tag.Decimal);
    w.u8(v.scale);
    w.f64(v.value);
  } else if (Array.isArray(v)) {
    w.u8(Tag.Array);
    w.varuint(v.length);
    for (const item of v) writeValue(w, item, sortKeys);
  } else if (v instanceof Map || v instanceof Set) {
    throw new TypeError('cannot persist a Map or Set; use a plain object or array');
  } else {
    const rec = v as Record<string, unknown>;
    const keys = Object.keys(rec);
    if (sortKeys) keys.sort();
    w.u8(Tag.Table);
    w.varuint(keys.length);
    for (const k of keys) {
      w.str(k);
      writeValue(w, rec[k], sortKeys);
    }
  }
}

export function readValue(r: ByteReader): unknown {
  const tag = r.u8();
  switch (tag) {
    case Tag.Null:
      return null;
    case Tag.Undefined:
      return undefined;
    case Tag.False:
      return false;
    case Tag.True:
      return true;
    case Tag.Int32:
      return r.i32();
    case Tag.Double:
      return r.f64();
    case Tag.BigInt:
      return BigInt(r.str());
    case Tag.String:
      return r.str();
    case Tag.Bytes:
      return r.bytesCopy();
    case Tag.Date:
      return new Date(r.f64());
    case Tag.Decimal: {
      const scale = r.u8();
      return new Decimal(scale, r.f64());
    }
    case Tag.Array: {
      const n = r.varuint();
      const out: unknown[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = readValue(r);
      return out;
    }
    case Tag.Table: {
      const n = r.varuint();
      const out: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        const k = r.str();
        const value = readValue(r);
        // a table key named __proto__ must stay data, not replace the prototype
        if (k === '__proto__') Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
        else out[k] = value;
      }
      return out;
    }
    default:
      throw new DecodeError(`unknown value tag ${tag}`);
  }
}

/** past one value, unread (nothing allocated: recovery skips message headers this way) */
export function skipValue(r: ByteReader): void {
  const tag = r.u8();
  switch (tag) {
    case Tag.Null:
    case Tag.Undefined:
    case Tag.False:
    case Tag.True:
      return;
    case Tag.Int32:
      r.skip(4);
      return;
    case Tag.Double:
    case Tag.Date:
      r.skip(8);
      return;
    case Tag.BigInt:
    case Tag.String:
    case Tag.Bytes:
      r.skipBytes();
      return;
    case Tag.Decimal:
      r.skip(9);
      return;
    case Tag.Array: {
      const n = r.varuint();
      for (let i = 0; i < n; i++) skipValue(r);
      return;
    }
    case Tag.Table: {
      const n = r.varuint();
      for (let i = 0; i < n; i++) {
        r.skipBytes();
        skipValue(r);
      }
      return;
    }
    default:
      throw new DecodeError(`unknown value tag ${tag}`);
  }
}
