import { OpenWireDecodeError, Reader, Writer, decodeModifiedUtf8, modifiedUtf8Length } from './data.js';

/** MarshallingSupport's type codes for the values of a primitive map (message properties, MapMessage) */
export const enum PType {
  Null = 0,
  Boolean = 1,
  Byte = 2,
  Char = 3,
  Short = 4,
  Integer = 5,
  Long = 6,
  Double = 7,
  Float = 8,
  String = 9,
  ByteArray = 10,
  Map = 11,
  List = 12,
  BigString = 13,
}

/** a value with its Java type, so an `int` property comes back an `int` */
export type Typed =
  | { t: PType.Null; v: null }
  | { t: PType.Boolean; v: boolean }
  | { t: PType.Byte | PType.Short | PType.Integer | PType.Float | PType.Double; v: number }
  | { t: PType.Long; v: number | bigint }
  | { t: PType.Char | PType.String; v: string }
  | { t: PType.ByteArray; v: Buffer }
  | { t: PType.Map; v: Map<string, Typed> }
  | { t: PType.List; v: Typed[] };

const MAX_DEPTH = 32;

export function readPrimitiveMap(r: Reader, depth = 0): Map<string, Typed> | null {
  if (depth > MAX_DEPTH) throw new OpenWireDecodeError('primitive map nested too deeply');
  const size = r.int();
  if (size < 0) return null;
  // every entry takes at least 3 bytes: a size bigger than what is left is a lie
  if (size * 3 > r.remaining) throw new OpenWireDecodeError(`primitive map claims ${size} entries in ${r.remaining} bytes`);
  const out = new Map<string, Typed>();
  for (let i = 0; i < size; i++) {
    const key = r.utf();
    out.set(key, readPrimitive(r, depth));
  }
  return out;
}

export function readPrimitive(r: Reader, depth = 0): Typed {
  const t = r.ubyte();
  switch (t) {
    case PType.Null:
      return { t, v: null };
    case PType.Boolean:
      return { t, v: r.bool() };
    case PType.Byte:
      return { t, v: r.byte() };
    case PType.Char:
      return { t, v: r.char() };
    case PType.Short:
      return { t, v: r.short() };
    case PType.Integer:
      return { t, v: r.int() };
    case PType.Long:
      return { t, v: r.longExact() };
    case PType.Float:
      return { t, v: r.float() };
    case PType.Double:
      return { t, v: r.double() };
    case PType.ByteArray: {
      const n = r.int();
      return { t, v: Buffer.from(r.bytes(n)) };
    }
    case PType.String:
      return { t, v: r.utf() };
    case PType.BigString: {
      const n = r.int();
      return { t: PType.String, v: decodeUtf8Int(r, n) };
    }
    case PType.Map:
      return { t, v: readPrimitiveMap(r, depth + 1) ?? new Map() };
    case PType.List: {
      const n = r.int();
      if (n < 0 || n > r.remaining) throw new OpenWireDecodeError(`primitive list claims ${n} entries`);
      const list: Typed[] = [];
      for (let i = 0; i < n; i++) list.push(readPrimitive(r, depth + 1));
      return { t, v: list };
    }
    default:
      throw new OpenWireDecodeError(`Unknown primitive type: ${t}`);
  }
}

function decodeUtf8Int(r: Reader, n: number): string {
  return n < 0 ? '' : decodeModifiedUtf8(r.bytes(n));
}

export function writePrimitiveMap(w: Writer, map: Map<string, Typed> | null): void {
  if (!map) {
    w.int(-1);
    return;
  }
  w.int(map.size);
  for (const [k, v] of map) {
    w.utf(k);
    writePrimitive(w, v);
  }
}

export function writePrimitive(w: Writer, p: Typed): void {
  switch (p.t) {
    case PType.Null:
      w.byte(PType.Null);
      return;
    case PType.Boolean:
      w.byte(p.t);
      w.bool(p.v);
      return;
    case PType.Byte:
      w.byte(p.t);
      w.byte(p.v);
      return;
    case PType.Char:
      w.byte(p.t);
      w.char(p.v);
      return;
    case PType.Short:
      w.byte(p.t);
      w.short(p.v);
      return;
    case PType.Integer:
      w.byte(p.t);
      w.int(p.v);
      return;
    case PType.Long:
      w.byte(p.t);
      w.long(p.v);
      return;
    case PType.Float:
      w.byte(p.t);
      w.float(p.v);
      return;
    case PType.Double:
      w.byte(p.t);
      w.double(p.v);
      return;
    case PType.ByteArray:
      w.byte(p.t);
      w.int(p.v.length);
      w.bytes(p.v);
      return;
    case PType.String:
      // as MarshallingSupport.marshalString: short strings by writeUTF, long ones with an int length
      if (p.v.length < 8191 && modifiedUtf8Length(p.v) <= 0xffff) {
        w.byte(PType.String);
        w.utf(p.v);
      } else {
        w.byte(PType.BigString);
        w.utf8Int(p.v);
      }
      return;
    case PType.Map:
      w.byte(PType.Map);
      writePrimitiveMap(w, p.v);
      return;
    case PType.List:
      w.byte(PType.List);
      w.int(p.v.length);
      for (const x of p.v) writePrimitive(w, x);
      return;
  }
}

export function encodePrimitiveMap(map: Map<string, Typed>): Buffer {
  const w = new Writer(64);
  writePrimitiveMap(w, map);
  return Buffer.from(w.finish());
}

export function decodePrimitiveMap(b: Buffer): Map<string, Typed> {
  return readPrimitiveMap(new Reader(b)) ?? new Map();
}

/** a JS value as the Java type a JMS client would expect back */
export function typedOf(v: unknown): Typed | undefined {
  switch (typeof v) {
    case 'string':
      return { t: PType.String, v };
    case 'boolean':
      return { t: PType.Boolean, v };
    case 'bigint':
      return { t: PType.Long, v };
    case 'number':
      if (Number.isInteger(v)) return v >= -0x80000000 && v <= 0x7fffffff ? { t: PType.Integer, v } : { t: PType.Long, v };
      return { t: PType.Double, v };
    default:
      if (v === null) return { t: PType.Null, v: null };
      if (Buffer.isBuffer(v)) return { t: PType.ByteArray, v };
      if (v instanceof Date) return { t: PType.Long, v: v.getTime() };
      return undefined;
  }
}

/** the plain JS value of a typed one (for the core's headers and selectors) */
export function plainOf(p: Typed): unknown {
  switch (p.t) {
    case PType.Map: {
      const o: Record<string, unknown> = {};
      for (const [k, v] of p.v) o[k] = plainOf(v);
      return o;
    }
    case PType.List:
      return p.v.map(plainOf);
    default:
      return p.v;
  }
}
