/**
 * Method frames: decode a method payload into `{ classId, methodId, name, args }`
 * and encode one back into a whole frame. Table-driven from method-spec.ts, with
 * hand-written paths for the per-message methods (basic.publish / basic.ack in,
 * basic.deliver out).
 */
import type { FieldTable } from '../../../core/fields.js';
import { COMMAND_INVALID, FRAME_END, FRAME_METHOD, NOT_IMPLEMENTED } from './constants.js';
import { AmqpCodecError, decodeError } from './errors.js';
import { readFieldTable, writeFieldTable } from './field-table.js';
import { CLASS_NAMES, METHOD_SPECS, type FieldType, type MethodSpec } from './method-spec.js';
import { Reader, Writer, shortstrLength, writeShortstr, writeUInt64 } from './wire.js';

// ---------------------------------------------------------------- types

interface FieldTypeMap {
  octet: number;
  short: number;
  long: number;
  longlong: number;
  shortstr: string;
  /** binary-safe: SASL responses and secrets need not be utf8 */
  longstr: Buffer;
  bit: boolean;
  table: FieldTable;
}
type InputTypeMap = Omit<FieldTypeMap, 'longstr'> & { longstr: Uint8Array | string };

type Specs = typeof METHOD_SPECS;
/** 'basic.publish', 'queue.declare-ok', ... */
export type MethodName = keyof Specs;
type FieldsOf<N extends MethodName> = Specs[N]['fields'][number];

/** Decoded arguments of method N, camelCased, in wire order. */
export type MethodArgs<N extends MethodName> = { [F in FieldsOf<N> as F[0]]: FieldTypeMap[F[1]] };
/** Arguments for encoding method N: any may be left out (0, '', false, {} or the spec default). */
export type MethodArgsInput<N extends MethodName> = { [F in FieldsOf<N> as F[0]]?: InputTypeMap[F[1]] };

/** A decoded method; switch on `name` to narrow `args`. */
export type DecodedMethod = {
  [N in MethodName]: { classId: number; methodId: number; name: N; args: MethodArgs<N> };
}[MethodName];
export type DecodedMethodOf<N extends MethodName> = Extract<DecodedMethod, { name: N }>;

export interface MethodId {
  classId: number;
  methodId: number;
}

// ---------------------------------------------------------------- compiled table

const K_OCTET = 0;
const K_SHORT = 1;
const K_LONG = 2;
const K_LONGLONG = 3;
const K_SHORTSTR = 4;
const K_LONGSTR = 5;
const K_BIT = 6;
const K_TABLE = 7;

const KIND: Record<FieldType, number> = {
  octet: K_OCTET,
  short: K_SHORT,
  long: K_LONG,
  longlong: K_LONGLONG,
  shortstr: K_SHORTSTR,
  longstr: K_LONGSTR,
  bit: K_BIT,
  table: K_TABLE,
};

interface CompiledField {
  readonly name: string;
  readonly kind: number;
  /** bit fields: position in their octet (0 starts a new octet); others -1 */
  readonly bit: number;
  readonly def: unknown;
}

export interface MethodInfo {
  readonly name: MethodName;
  readonly classId: number;
  readonly methodId: number;
  /** carries a content header and body */
  readonly content: boolean;
  readonly fields: readonly CompiledField[];
}

const EMPTY = Buffer.alloc(0);
const byName = new Map<string, MethodInfo>();
const byId: (MethodInfo | undefined)[][] = [];

for (const [name, raw] of Object.entries(METHOD_SPECS) as [MethodName, MethodSpec][]) {
  let bitPos = -1;
  const fields: CompiledField[] = raw.fields.map(([fname, type, def]) => {
    // consecutive bits share octets, eight to an octet; any other field ends the run
    bitPos = type === 'bit' ? (bitPos + 1) % 8 : -1;
    return { name: fname, kind: KIND[type], bit: bitPos, def: def ?? defaultFor(type) };
  });
  const info: MethodInfo = {
    name,
    classId: raw.classId,
    methodId: raw.methodId,
    content: raw.content === true,
    fields,
  };
  byName.set(name, info);
  (byId[raw.classId] ??= [])[raw.methodId] = info;
}

function defaultFor(type: FieldType): unknown {
  switch (type) {
    case 'shortstr':
      return '';
    case 'longstr':
      return EMPTY;
    case 'bit':
      return false;
    case 'table':
      return undefined; // written as an empty table
    default:
      return 0;
  }
}

/** The spec entry of a method, by name or by ids; undefined when there is none. */
export function methodInfo(method: MethodName | MethodId): MethodInfo | undefined {
  return typeof method === 'string' ? byName.get(method) : byId[method.classId]?.[method.methodId];
}

/** 'basic.publish' for (60, 40); a numeric form for ids the spec does not have. */
export function methodName(classId: number, methodId: number): string {
  return byId[classId]?.[methodId]?.name ?? `${CLASS_NAMES[classId] ?? classId}.${methodId}`;
}

// ---------------------------------------------------------------- decoding

/**
 * Decodes a method frame's payload. Throws AmqpCodecError: NOT_IMPLEMENTED for an
 * unknown class, COMMAND_INVALID for an unknown method of a known class, and
 * FRAME_ERROR ("cannot decode", as RabbitMQ does) for short, long or malformed args.
 */
export function decodeMethod(payload: Buffer): DecodedMethod {
  if (payload.length < 4) throw decodeError('method frame (shorter than its ids)');
  const classId = (payload[0]! << 8) | payload[1]!;
  const methodId = (payload[2]! << 8) | payload[3]!;
  if (classId === 60) {
    if (methodId === 40) return decodeBasicPublish(payload);
    if (methodId === 80) return decodeBasicAck(payload);
  }
  const info = byId[classId]?.[methodId];
  if (info === undefined) {
    if (byId[classId] === undefined) {
      throw new AmqpCodecError(NOT_IMPLEMENTED, `unknown class id ${classId}`, classId, methodId);
    }
    throw new AmqpCodecError(COMMAND_INVALID, `unknown method ${methodName(classId, methodId)}`, classId, methodId);
  }
  const r = new Reader(payload, 4, payload.length, classId, methodId);
  const args: Record<string, unknown> = {};
  let bits = 0;
  for (const f of info.fields) {
    switch (f.kind) {
      case K_BIT:
        if (f.bit === 0) bits = r.u8();
        args[f.name] = (bits & (1 << f.bit)) !== 0;
        break;
      case K_SHORTSTR:
        args[f.name] = r.shortstr();
        break;
      case K_SHORT:
        args[f.name] = r.u16();
        break;
      case K_LONG:
        args[f.name] = r.u32();
        break;
      case K_LONGLONG:
        args[f.name] = r.u64();
        break;
      case K_OCTET:
        args[f.name] = r.u8();
        break;
      case K_TABLE:
        args[f.name] = readFieldTable(r);
        break;
      case K_LONGSTR:
        // copied: the args outlive the socket chunk the payload is a view of
        args[f.name] = Buffer.from(r.longstrBytes());
        break;
    }
  }
  if (r.pos !== payload.length) r.fail(`${info.name} (trailing bytes)`);
  return { classId, methodId, name: info.name, args } as DecodedMethod;
}

function publishError(): AmqpCodecError {
  return decodeError('basic.publish', 60, 40);
}

/** basic.publish, read straight off the buffer: the hottest inbound method. */
function decodeBasicPublish(p: Buffer): DecodedMethodOf<'basic.publish'> {
  const n = p.length;
  if (n < 9) throw publishError();
  const reserved1 = (p[4]! << 8) | p[5]!;
  const exLen = p[6]!;
  let pos = 7 + exLen;
  if (pos >= n) throw publishError();
  const exchange = exLen === 0 ? '' : p.toString('utf8', 7, pos);
  const rkLen = p[pos]!;
  const rkStart = pos + 1;
  pos = rkStart + rkLen;
  // exactly one octet of bits must follow
  if (pos + 1 !== n) throw publishError();
  const routingKey = rkLen === 0 ? '' : p.toString('utf8', rkStart, pos);
  const bits = p[pos]!;
  return {
    classId: 60,
    methodId: 40,
    name: 'basic.publish',
    args: { reserved1, exchange, routingKey, mandatory: (bits & 1) !== 0, immediate: (bits & 2) !== 0 },
  };
}

/** basic.ack: fixed 13-byte payload. */
function decodeBasicAck(p: Buffer): DecodedMethodOf<'basic.ack'> {
  if (p.length !== 13) throw decodeError('basic.ack', 60, 80);
  const deliveryTag = p.readUInt32BE(4) * 0x1_0000_0000 + p.readUInt32BE(8);
  return {
    classId: 60,
    methodId: 80,
    name: 'basic.ack',
    args: { deliveryTag, multiple: (p[12]! & 1) !== 0 },
  };
}

// ---------------------------------------------------------------- encoding

const scratch = new Writer();

/** A whole method frame (header, payload, frame-end) ready for the socket. */
export function encodeMethodFrame<N extends MethodName>(channel: number, method: N, args?: MethodArgsInput<N>): Buffer;
export function encodeMethodFrame(channel: number, method: MethodId, args?: Record<string, unknown>): Buffer;
export function encodeMethodFrame(
  channel: number,
  method: MethodName | MethodId,
  args: Record<string, unknown> = {},
): Buffer {
  writeMethodFrame(scratch.reset(), channel, method, args);
  return scratch.take();
}

/** Just the payload (class id, method id, args) without frame header or end. */
export function encodeMethodPayload<N extends MethodName>(method: N, args?: MethodArgsInput<N>): Buffer;
export function encodeMethodPayload(method: MethodId, args?: Record<string, unknown>): Buffer;
export function encodeMethodPayload(method: MethodName | MethodId, args: Record<string, unknown> = {}): Buffer {
  const w = scratch.reset();
  writeMethodFrame(w, 0, method, args);
  const out = Buffer.allocUnsafe(w.pos - 8);
  w.buf.copy(out, 0, 7, w.pos - 1);
  return out;
}

/** Appends a whole method frame to `w` (used to build content frames in one buffer). */
export function writeMethodFrame(
  w: Writer,
  channel: number,
  method: MethodName | MethodId,
  args: Record<string, unknown>,
): void {
  const info = methodInfo(method);
  if (info === undefined) {
    const id = method as MethodId;
    throw new TypeError(`unknown AMQP method ${typeof method === 'string' ? method : methodName(id.classId, id.methodId)}`);
  }
  const start = w.pos;
  w.ensure(11);
  w.buf[start] = FRAME_METHOD;
  w.buf.writeUInt16BE(channel, start + 1);
  w.buf.writeUInt16BE(info.classId, start + 7);
  w.buf.writeUInt16BE(info.methodId, start + 9);
  w.pos = start + 11;
  let bits = 0;
  let bitsAt = -1;
  for (const f of info.fields) {
    const v = args[f.name] ?? f.def;
    if (f.kind === K_BIT) {
      if (f.bit === 0) {
        bitsAt = w.pos;
        bits = 0;
        w.octet(0);
      }
      if (v) bits |= 1 << f.bit;
      w.buf[bitsAt] = bits;
      continue;
    }
    switch (f.kind) {
      case K_SHORTSTR:
        if (typeof v !== 'string') throw wrongType(info, f, 'a string');
        w.shortstr(v, `${info.name} ${f.name}`);
        break;
      case K_SHORT:
        w.short(number(info, f, v));
        break;
      case K_LONG:
        w.long(number(info, f, v));
        break;
      case K_LONGLONG:
        w.longlong(number(info, f, v));
        break;
      case K_OCTET:
        w.octet(number(info, f, v));
        break;
      case K_TABLE:
        if (v !== undefined && (typeof v !== 'object' || Array.isArray(v))) throw wrongType(info, f, 'a table');
        writeFieldTable(w, v as FieldTable | undefined);
        break;
      case K_LONGSTR:
        if (typeof v !== 'string' && !(v instanceof Uint8Array)) throw wrongType(info, f, 'a string or Buffer');
        w.longstr(v);
        break;
    }
  }
  w.octet(FRAME_END);
  w.buf.writeUInt32BE(w.pos - start - 8, start + 3);
}

function number(info: MethodInfo, f: CompiledField, v: unknown): number {
  if (typeof v !== 'number') throw wrongType(info, f, 'a number');
  return v;
}

function wrongType(info: MethodInfo, f: CompiledField, want: string): TypeError {
  return new TypeError(`${info.name} argument ${f.name} must be ${want}`);
}

// ---------------------------------------------------------------- basic.deliver

/**
 * Size of a basic.deliver method frame, given the utf8 byte lengths of its strings.
 * frame header 7 + ids 4 + tag 1+c + delivery-tag 8 + bits 1 + exchange 1+e + key 1+k + end 1
 */
export function basicDeliverFrameSize(consumerTagLen: number, exchangeLen: number, routingKeyLen: number): number {
  return 24 + consumerTagLen + exchangeLen + routingKeyLen;
}

/**
 * Writes a basic.deliver method frame at `pos` and returns the position after it.
 * `frameSize` is basicDeliverFrameSize() of the strings' utf8 lengths, which the
 * caller measured (and checked to be at most 255) to size the buffer.
 */
export function writeBasicDeliverFrame(
  buf: Buffer,
  pos: number,
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  frameSize: number,
): number {
  buf[pos] = FRAME_METHOD;
  buf.writeUInt16BE(channel, pos + 1);
  buf.writeUInt32BE(frameSize - 8, pos + 3);
  buf.writeUInt32BE(0x003c_003c, pos + 7); // class 60, method 60
  let p = writeShortstr(buf, consumerTag, pos + 11);
  writeUInt64(buf, deliveryTag, p);
  buf[p + 8] = redelivered ? 1 : 0;
  p = writeShortstr(buf, exchange, p + 9);
  p = writeShortstr(buf, routingKey, p);
  buf[p] = FRAME_END;
  return p + 1;
}

/** A standalone basic.deliver method frame (the delivery writer inlines this instead). */
export function encodeBasicDeliverFrame(
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
): Buffer {
  const size = basicDeliverFrameSize(
    shortstrLength(consumerTag, 'consumer tag'),
    shortstrLength(exchange, 'exchange'),
    shortstrLength(routingKey, 'routing key'),
  );
  const buf = Buffer.allocUnsafe(size);
  writeBasicDeliverFrame(buf, 0, channel, consumerTag, deliveryTag, redelivered, exchange, routingKey, size);
  return buf;
}
