/**
 * The AMQP 1.0 type system (OASIS AMQP 1.0, part 1) as JavaScript values.
 *
 * Decoding gives: null, boolean, number (every fixed-width integer that fits a JS number
 * safely, float, double), bigint (64-bit integers beyond 2^53), string (utf8 and char),
 * Buffer (binary), Date (timestamp), Sym (symbol), Uuid, arrays (list and array), AmqpMap
 * (map, keys in wire order with their types) and Described. Decimals come back as Typed.
 *
 * Encoding takes the same values and infers a type for plain JS ones (integers as int or
 * long, other numbers as double, objects as maps with string keys); Typed picks an exact
 * encoding where the spec asks for one (a uint handle, a ubyte priority, an array).
 */

/** an AMQP symbol: ASCII, compared by value */
export class Sym {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

export const sym = (s: string): Sym => new Sym(s);

/** a 16-byte UUID */
export class Uuid {
  constructor(readonly bytes: Buffer) {}
  toString(): string {
    const h = this.bytes.toString('hex');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }
  static parse(text: string): Uuid | undefined {
    const m = /^(?:urn:uuid:)?([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i.exec(text);
    return m ? new Uuid(Buffer.from(m.slice(1).join(''), 'hex')) : undefined;
  }
}

export type TypeName =
  | 'null'
  | 'boolean'
  | 'ubyte'
  | 'ushort'
  | 'uint'
  | 'ulong'
  | 'byte'
  | 'short'
  | 'int'
  | 'long'
  | 'float'
  | 'double'
  | 'decimal32'
  | 'decimal64'
  | 'decimal128'
  | 'char'
  | 'timestamp'
  | 'uuid'
  | 'binary'
  | 'string'
  | 'symbol'
  | 'list'
  | 'map'
  | 'array';

/** a value with its exact AMQP type; for 'array', `value` is the items and `element` their type */
export class Typed {
  constructor(
    readonly type: TypeName,
    readonly value: unknown,
    readonly element?: TypeName,
  ) {}
}

export const ubyte = (n: number) => new Typed('ubyte', n);
export const ushort = (n: number) => new Typed('ushort', n);
export const uint = (n: number) => new Typed('uint', n);
export const ulong = (n: number | bigint) => new Typed('ulong', n);
export const byte = (n: number) => new Typed('byte', n);
export const short = (n: number) => new Typed('short', n);
export const int = (n: number) => new Typed('int', n);
export const long = (n: number | bigint) => new Typed('long', n);
export const float = (n: number) => new Typed('float', n);
export const char = (c: string) => new Typed('char', c);
export const array = (element: TypeName, items: unknown[]) => new Typed('array', items, element);

/** a described value: a descriptor (symbol or ulong code) and the value it describes */
export class Described {
  constructor(
    readonly descriptor: Sym | number | bigint,
    readonly value: AmqpValue,
  ) {}
  /** the numeric code, or undefined for a symbolic descriptor */
  get code(): number | undefined {
    return typeof this.descriptor === 'number' ? this.descriptor : typeof this.descriptor === 'bigint' ? Number(this.descriptor) : undefined;
  }
}

/** an AMQP map: entries in order, keys keep their type (string, symbol, ulong...) */
export class AmqpMap {
  constructor(readonly entries: [AmqpValue, AmqpValue][] = []) {}

  get size(): number {
    return this.entries.length;
  }

  /** the value under a string or symbol key of this text */
  get(key: string): AmqpValue | undefined {
    for (const [k, v] of this.entries) {
      if (k === key || (k instanceof Sym && k.value === key)) return v;
    }
    return undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  set(key: AmqpValue, value: AmqpValue): this {
    const text = keyText(key);
    for (const e of this.entries) {
      if (text !== undefined && keyText(e[0]) === text && sameKeyKind(e[0], key)) {
        e[1] = value;
        return this;
      }
    }
    this.entries.push([key, value]);
    return this;
  }

  /** a map with symbol keys (message annotations, open properties, filters) */
  static symbols(obj: Record<string, AmqpValue>): AmqpMap {
    return new AmqpMap(Object.entries(obj).filter(([, v]) => v !== undefined).map(([k, v]) => [new Sym(k), v]));
  }

  /** a map with string keys (application properties) */
  static strings(obj: Record<string, AmqpValue>): AmqpMap {
    return new AmqpMap(Object.entries(obj).filter(([, v]) => v !== undefined).map(([k, v]) => [k, v]));
  }
}

function keyText(k: AmqpValue): string | undefined {
  return typeof k === 'string' ? k : k instanceof Sym ? k.value : undefined;
}

function sameKeyKind(a: AmqpValue, b: AmqpValue): boolean {
  return typeof a === typeof b && (a instanceof Sym) === (b instanceof Sym);
}

export type AmqpValue =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | Buffer
  | Date
  | Sym
  | Uuid
  | Typed
  | Described
  | AmqpMap
  | AmqpValue[]
  | { [key: string]: AmqpValue };

/** the text of a symbol or string value, else undefined */
export function text(v: AmqpValue): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Sym) return v.value;
  return undefined;
}

/** symbols of a `multiple` field: a single symbol, an array of them, or none */
export function symbols(v: AmqpValue): string[] {
  if (v === null || v === undefined) return [];
  if (Array.isArray(v)) return v.map((x) => text(x)).filter((x): x is string => x !== undefined);
  const t = text(v);
  return t === undefined ? [] : [t];
}
