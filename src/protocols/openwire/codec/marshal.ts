import { OpenWireDecodeError, Reader, Writer } from './data.js';
import { SCHEMA, type FieldSpec } from './schema.js';
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
  const spec = SCHEMA[type];
  if (!spec) throw new UnknownTypeError(type);
  if (depth > MAX_NESTING) throw new OpenWireDecodeError('structures nested too deeply');
  const out: OwStruct = { type };
  if (spec.command) {
    out['commandId'] = r.int();
    out['responseRequired'] = r.bool();
  }
  const fields = spec.fields;
  for (let i = 0; i < fields.length; i++) {
    const fs = fields[i]!;
    if (fs.since !== undefined && o.version < fs.since) continue;
    out[fs.name] = readField(r, fs, o, depth);
  }
  return out;
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
  const at = w.placeholder();
  w.byte(s.type);
  writeStruct(w, s, o);
  w.patchInt(at, w.pos - 4);
  return Buffer.from(w.finish());
}

function writeStruct(w: Writer, s: OwStruct, o: WireOptions): void {
  const spec = SCHEMA[s.type];
  if (!spec) throw new Error(`no OpenWire marshaller for type ${s.type}`);
  if (spec.command) {
    w.int((s['commandId'] as number | undefined) ?? 0);
    w.bool((s['responseRequired'] as boolean | undefined) ?? false);
  }
  for (const fs of spec.fields) {
    if (fs.since !== undefined && o.version < fs.since) continue;
    writeField(w, fs, s[fs.name], o);
  }
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
