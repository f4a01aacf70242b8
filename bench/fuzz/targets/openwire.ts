/**
 * OpenWire (loose encoding, versions 9 to 12): the size-prefixed frame reader, the schema
 * driven structure decoder, WireFormatInfo negotiation, and what a sent message goes
 * through (primitive-map properties, text content, inflating a compressed body).
 */
import { deflateSync } from 'node:zlib';
import fc from 'fast-check';
import { OpenWireDecodeError } from '../../../src/protocols/openwire/codec/data.js';
import { FrameReader } from '../../../src/protocols/openwire/codec/framing.js';
import { decodeFrame, encodeFrame, type OwStruct } from '../../../src/protocols/openwire/codec/marshal.js';
import { PType, encodePrimitiveMap, type Typed } from '../../../src/protocols/openwire/codec/primitive.js';
import { SCHEMA, type FieldSpec } from '../../../src/protocols/openwire/codec/schema.js';
import { T, isMessageType } from '../../../src/protocols/openwire/codec/types.js';
import { MAGIC, negotiate } from '../../../src/protocols/openwire/codec/wire-format.js';
import { OwError } from '../../../src/protocols/openwire/errors.js';
import { fromOpenWire, textContent } from '../../../src/protocols/openwire/message-map.js';
import type { FuzzTarget } from '../harness.js';
import { chunksOf } from '../mutate.js';

/** the frame limit (ActiveMQ's maxFrameSize) and message body limit while fuzzing */
const LIMIT = 4096;
const VERSIONS = [12, 11, 10, 9];
const SETTINGS = { maxFrameSize: LIMIT, maxInactivityDuration: 30_000, maxInactivityDurationInitialDelay: 10_000, providerVersion: 'fuzz' };

const text = fc.string({ maxLength: 24 });
const DATA_TYPES = Object.entries(SCHEMA)
  .filter(([, s]) => !s.command)
  .map(([t]) => Number(t));
const COMMAND_TYPES = Object.entries(SCHEMA)
  .filter(([, s]) => s.command)
  .map(([t]) => Number(t));

const primitive: fc.Arbitrary<Typed> = fc.letrec<{ p: Typed }>((tie) => ({
  p: fc.oneof(
    { depthSize: 'small' },
    fc.constant<Typed>({ t: PType.Null, v: null }),
    fc.boolean().map((v): Typed => ({ t: PType.Boolean, v })),
    fc.integer({ min: -128, max: 127 }).map((v): Typed => ({ t: PType.Byte, v })),
    fc.integer({ min: -32768, max: 32767 }).map((v): Typed => ({ t: PType.Short, v })),
    fc.integer().map((v): Typed => ({ t: PType.Integer, v })),
    fc.maxSafeInteger().map((v): Typed => ({ t: PType.Long, v })),
    fc.double().map((v): Typed => ({ t: PType.Double, v })),
    text.map((v): Typed => ({ t: PType.String, v })),
    fc.uint8Array({ maxLength: 20 }).map((v): Typed => ({ t: PType.ByteArray, v: Buffer.from(v) })),
    fc.array(fc.tuple(text, tie('p')), { maxLength: 3 }).map((e): Typed => ({ t: PType.Map, v: new Map(e) })),
    fc.array(tie('p'), { maxLength: 3 }).map((v): Typed => ({ t: PType.List, v })),
  ),
})).p;

const properties = fc.array(fc.tuple(text, primitive), { maxLength: 5 }).map((e) => encodePrimitiveMap(new Map(e)));

function value(fs: FieldSpec, depth: number): fc.Arbitrary<unknown> {
  switch (fs.kind) {
    case 'bool':
      return fc.boolean();
    case 'byte':
      return fc.integer({ min: 0, max: 127 });
    case 'int':
      return fc.integer();
    case 'long':
      return fc.maxSafeNat();
    case 'string':
      return fc.option(text, { nil: null });
    case 'obj':
      return depth > 2 ? fc.constant(null) : fc.option(struct(DATA_TYPES, depth + 1), { nil: null });
    case 'seq':
      return fs.name === 'marshalledProperties' ? fc.option(properties, { nil: null }) : fc.option(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), { nil: null });
    case 'arr':
      return depth > 2 ? fc.constant(null) : fc.option(fc.array(struct(DATA_TYPES, depth + 1), { maxLength: 2 }), { nil: null });
    case 'exc':
      return fc.option(fc.record({ className: fc.option(text, { nil: null }), message: fc.option(text, { nil: null }), stack: fc.constant([]), cause: fc.constant(null) }), { nil: null });
    case 'magic':
      return fc.constant(MAGIC);
  }
}

function struct(types: number[], depth: number): fc.Arbitrary<OwStruct> {
  return fc.constantFrom(...types).chain((type) => {
    const spec = SCHEMA[type]!;
    const fields: Record<string, fc.Arbitrary<unknown>> = {};
    if (spec.command) {
      fields['commandId'] = fc.nat();
      fields['responseRequired'] = fc.boolean();
    }
    for (const fs of spec.fields) fields[fs.name] = value(fs, depth);
    return fc.record(fields).map((r) => ({ type, ...r }) as OwStruct);
  });
}

/** a message as producers send it: text or bytes, sometimes compressed (useCompression) */
const message = fc
  .record({
    base: struct([T.TextMessage, T.BytesMessage, T.Message, T.MapMessage], 1),
    text: fc.string({ maxLength: 200 }),
    compressed: fc.boolean(),
    props: properties,
  })
  .map(({ base, text: t, compressed, props }) => {
    const content = base.type === T.TextMessage ? textContent(t) : Buffer.from(t);
    return { ...base, marshalledProperties: props, destination: { type: T.Queue, physicalName: 'q' }, compressed, content: compressed ? deflateSync(content) : content } as OwStruct;
  });

const wireFormat = properties.map((p) => ({ type: T.WireFormatInfo, magic: MAGIC, version: 12, marshalledProperties: p }) as OwStruct);

const frames = fc
  .tuple(fc.constantFrom(...VERSIONS), fc.array(fc.oneof({ weight: 3, arbitrary: struct(COMMAND_TYPES, 0) }, { weight: 2, arbitrary: message }, { weight: 1, arbitrary: wireFormat }), { minLength: 1, maxLength: 3 }))
  .map(([version, list]) => Buffer.concat(list.map((s) => encodeFrame(s, { version, stackTraceEnabled: version % 2 === 0 }))));

export const openwireTarget: FuzzTarget = {
  name: 'openwire',
  valid: frames,
  // wire format version and stack traces: 12/true, 11/false, 10/true, 9/false
  variants: VERSIONS.length,
  limit: LIMIT,
  run(input) {
    const version = VERSIONS[input.variant]!;
    const wire = { version, stackTraceEnabled: version % 2 === 0 };
    const reader = new FrameReader(LIMIT);
    for (const chunk of chunksOf(input)) {
      reader.push(chunk, (body) => {
        const cmd = decodeFrame(body, wire);
        if (cmd.type === T.WireFormatInfo) negotiate(cmd, SETTINGS);
        else if (isMessageType(cmd.type)) fromOpenWire(cmd, { kind: 'queue', temporary: false, name: 'q' }, 'ID:fuzz', Date.now(), LIMIT);
      });
    }
  },
  expected: (err) => err instanceof OpenWireDecodeError || err instanceof OwError,
};
