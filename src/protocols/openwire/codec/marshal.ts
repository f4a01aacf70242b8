import { OpenWireDecodeError, Reader, Writer } from './data.js';
import { SCHEMA, type FieldSpec, type StructSpec } from './schema.js';
import { T } from './types.js';

/** A decoded OpenWire data structure: its type code and its fields by name. */
export interface OwStruct {
  type: number;
  [field: string]: unknown;
}

export interface OwThrowable {
  className: string | null;
  message: string | null;
  stack?: { className: string | null; methodName: string | null; fileName: string | null; line: number }[];
  cause?: OwThrowable | null;
}

/** what the negotiated wire format decides about the encoding */
export interface WireOptions {
  version: number;
  stackTraceEnabled: boolean;
}

export class UnknownTypeError extends OpenWireDecodeError {
  constructor(readonly dataType: number) {
    super(`Unknown data type: ${dataType}`);
  }
}

const MAX_NESTING = 16;

/** one frame's body (after the size prefix): the type byte and the structure */
export function decodeFrame(body: Buffer, o: WireOptions): OwStruct {
  const r = new Reader(body);
  const type = r.ubyte();
  const s = readStruct(r, type, o, 0);
  return s;
}

function readStruct(r: Reader, type: number, o: WireOptions, depth: number): OwStruct {
  const read = READERS[type];
  if (!read) throw new UnknownTypeError(type);
  if (depth > MAX_NESTING) throw new OpenWireDecodeError('structures nested too deeply');
  return read(r, o, depth);
}

type StructReader = (r: Reader, o: WireOptions, depth: number) => OwStruct;
/** `withoutContent`: a message's content is written as absent (see appendFrame) */
type StructWriter = (w: Writer, s: OwStruct, o: WireOptions, withoutContent?: boolean) => void;

/** field names are the schema's own identifiers: safe to put in generated code */
const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One reader per structure type, generated from the schema: an object literal with every
 * field in schema order, so all structures of a type share one shape (fast property access,
 * cheap copies) and no field is looked up by a computed name. Same bytes and values as
 * reading field by field.
 */
function compileReader(type: number, spec: StructSpec): StructReader {
  const parts = [`type: ${type}`];
  if (spec.command) parts.push('commandId: r.int()', 'responseRequired: r.bool()');
  spec.fields.forEach((fs, i) => {
    if (!IDENT.test(fs.name)) throw new Error(`bad field name ${fs.name}`);
    let expr: string;
    switch (fs.kind) {
      case 'bool': expr = 'r.bool()'; break;
      case 'byte': expr = 'r.byte()'; break;
      case 'int': expr = 'r.int()'; break;
      case 'long': expr = 'r.long()'; break;
      case 'string': expr = '(r.bool() ? r.utf() : null)'; break;
      case 'obj': expr = 'readNested(r, o, depth)'; break;
      default: expr = `readField(r, fields[${i}], o, depth)`;
    }
    parts.push(`${fs.name}: ${fs.since !== undefined ? `(o.version >= ${fs.since} ? ${expr} : undefined)` : expr}`);
  });
  const body = `return function read${spec.name}(r, o, depth) { return { ${parts.join(', ')} }; };`;
  return new Function('readNested', 'readField', 'fields', body)(readNested, readField, spec.fields) as StructReader;
}

/** one writer per structure type, generated from the schema (see compileReader) */
function compileWriter(spec: StructSpec): StructWriter {
  const lines: string[] = [];
  if (spec.command) lines.push('w.int(s.commandId ?? 0);', 'w.bool(s.responseRequired ?? false);');
  spec.fields.forEach((fs, i) => {
    const v = `s.${fs.name}`;
    let stmt: string;
    switch (fs.kind) {
      case 'bool': stmt = `w.bool(${v} === true);`; break;
      case 'byte': stmt = `w.byte(${v} ?? 0);`; break;
      case 'int': stmt = `w.int(${v} ?? 0);`; break;
      case 'long': stmt = `w.long(${v} ?? 0);`; break;
      case 'string': stmt = `{ const v = ${v}; if (v !== null && v !== undefined) { w.bool(true); w.utf(v); } else w.bool(false); }`; break;
      case 'obj': stmt = `writeNested(w, ${v} ?? null, o);`; break;
      // only the top structure's own content is left out, never a nested one's
      default: stmt = `writeField(w, fields[${i}], ${fs.name === 'content' ? `withoutContent === true ? null : ${v}` : v}, o);`;
    }
    lines.push(fs.since !== undefined ? `if (o.version >= ${fs.since}) ${stmt}` : stmt);
  });
  const body = `return function write${spec.name}(w, s, o, withoutContent) { ${lines.join(' ')} };`;
  return new Function('writeNested', 'writeField', 'fields', body)(writeNested, writeField, spec.fields) as StructWriter;
}

const READERS: (StructReader | undefined)[] = [];
const WRITERS: (StructWriter | undefined)[] = [];
for (const [type, spec] of Object.entries(SCHEMA)) {
  READERS[Number(type)] = compileReader(Number(type), spec);
  WRITERS[Number(type)] = compileWriter(spec);
}

function readField(r: Reader, fs: FieldSpec, o: WireOptions, depth: number): unknown {
  switch (fs.kind) {
    case 'bool':
      return r.bool();
    case 'byte':
      return r.byte();
    case 'int':
      return r.int();
    case 'long':
      return r.long();
    case 'string':
      return r.bool() ? r.utf() : null;
    case 'obj':
      return readNested(r, o, depth);
    case 'seq': {
      if (!r.bool()) return null;
      const n = r.int();
      return r.bytes(n);
    }
    case 'arr': {
      if (!r.bool()) return null;
      const n = r.short();
      if (n < 0 || n > r.remaining) throw new OpenWireDecodeError(`array claims ${n} elements`);
      const list: (OwStruct | null)[] = [];
      for (let i = 0; i < n; i++) list.push(readNested(r, o, depth));
      return list;
    }
    case 'exc':
      return readThrowable(r, o, depth);
    case 'magic':
      return r.bytes(8);
  }
}

export function readNested(r: Reader, o: WireOptions, depth: number): OwStruct | null {
  if (!r.bool()) return null;
  const type = r.ubyte();
  return readStruct(r, type, o, depth + 1);
}

function readThrowable(r: Reader, o: WireOptions, depth: number): OwThrowable | null {
  if (!r.bool()) return null;
  if (depth > MAX_NESTING) throw new OpenWireDecodeError('exception causes nested too deeply');
  const str = () => (r.bool() ? r.utf() : null);
  const t: OwThrowable = { className: str(), message: str() };
  if (o.stackTraceEnabled) {
    const n = r.short();
    t.stack = [];
    for (let i = 0; i < n; i++) t.stack.push({ className: str(), methodName: str(), fileName: str(), line: r.int() });
    t.cause = readThrowable(r, o, depth + 1);
  }
  return t;
}

/** a whole frame: the 4-byte size prefix, the type byte and the loose-encoded structure */
export function encodeFrame(s: OwStruct, o: WireOptions, w = new Writer(512)): Buffer {
  w.pos = 0;
  appendFrame(s, o, w);
  return Buffer.from(w.finish());
}

/**
 * A size-prefixed command after what `w` holds (a connection's output of one turn); nothing of
 * it if it fails. `withoutContent`: a message's content is written as absent (the store keeps
 * the body beside it: openwire/message-map.ts), the struct itself untouched.
 */
export function appendFrame(s: OwStruct, o: WireOptions, w: Writer, withoutContent = false): void {
  const start = w.pos;
  try {
    const at = w.placeholder();
    w.byte(s.type);
    writeStruct(w, s, o, withoutContent);
    w.patchInt(at, w.pos - at - 4);
  } catch (err) {
    w.pos = start;
    throw err;
  }
}

function writeStruct(w: Writer, s: OwStruct, o: WireOptions, withoutContent?: boolean): void {
  const write = WRITERS[s.type];
  if (!write) throw new Error(`no OpenWire marshaller for type ${s.type}`);
  write(w, s, o, withoutContent);
}

function writeField(w: Writer, fs: FieldSpec, v: unknown, o: WireOptions): void {
  switch (fs.kind) {
    case 'bool':
      w.bool(v === true);
      return;
    case 'byte':
      w.byte((v as number | undefined) ?? 0);
      return;
    case 'int':
      w.int((v as number | undefined) ?? 0);
      return;
    case 'long':
      w.long((v as number | bigint | undefined) ?? 0);
      return;
    case 'string':
      w.bool(v !== null && v !== undefined);
      if (v !== null && v !== undefined) w.utf(v as string);
      return;
    case 'obj':
      writeNested(w, (v as OwStruct | null | undefined) ?? null, o);
      return;
    case 'seq':
      w.bool(v !== null && v !== undefined);
      if (v !== null && v !== undefined) {
        w.int((v as Buffer).length);
        w.bytes(v as Buffer);
      }
      return;
    case 'arr': {
      const list = v as (OwStruct | null)[] | null | undefined;
      w.bool(!!list);
      if (list) {
        w.short(list.length);
        for (const x of list) writeNested(w, x, o);
      }
      return;
    }
    case 'exc':
      writeThrowable(w, (v as OwThrowable | null | undefined) ?? null, o);
      return;
    case 'magic':
      w.bytes(v as Buffer);
      return;
  }
}

function writeNested(w: Writer, s: OwStruct | null, o: WireOptions): void {
  w.bool(s !== null);
  if (s === null) return;
  w.byte(s.type);
  writeStruct(w, s, o);
}

function writeThrowable(w: Writer, t: OwThrowable | null, o: WireOptions): void {
  w.bool(t !== null);
  if (!t) return;
  const str = (s: string | null) => {
    w.bool(s !== null);
    if (s !== null) w.utf(s);
  };
  str(t.className);
  str(t.message);
  if (o.stackTraceEnabled) {
    const stack = t.stack ?? [];
    w.short(stack.length);
    for (const e of stack) {
      str(e.className);
      str(e.methodName);
      str(e.fileName);
      w.int(e.line);
    }
    writeThrowable(w, t.cause ?? null, o);
  }
}

export { T };
