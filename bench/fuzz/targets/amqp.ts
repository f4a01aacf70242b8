/** AMQP 0-9-1: the frame parser, then method, content-header (properties) and field-table decoding, and start-ok's SASL response (PLAIN, AMQPLAIN), as the connection does. */
import fc from 'fast-check';
import {
  AmqpCodecError,
  AmqpProtocolHeaderError,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  FrameParser,
  METHOD_SPECS,
  PROTOCOL_HEADER,
  decodeContentHeader,
  decodeMethod,
  encodeFieldTable,
  encodeContentHeaderFrame,
  encodeMethodFrame,
  type FieldType,
  type MethodName,
} from '../../../src/protocols/amqp/codec/index.js';
import { Decimal, type FieldTable, type FieldValue } from '../../../src/core/fields.js';
import { parseSaslResponse } from '../../../src/protocols/amqp/sasl.js';
import type { FuzzTarget } from '../harness.js';
import { chunksOf } from '../mutate.js';

/** the frame-max the parser enforces while fuzzing (RabbitMQ's minimum is 4096) */
const FRAME_MAX = 4096;

const shortText = fc.string({ maxLength: 40 });

export const fieldValue: fc.Arbitrary<FieldValue> = fc.letrec<{ value: FieldValue; table: FieldTable }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: false }),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
    fc.string({ maxLength: 60 }),
    fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
    fc.integer({ min: 0, max: 2 ** 40 }).map((s) => new Date(s * 1000)),
    fc.record({ scale: fc.integer({ min: 0, max: 255 }), value: fc.integer({ min: 0, max: 0xffffffff }) }).map((d) => new Decimal(d.scale, d.value)),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('table'),
  ),
  table: fc.dictionary(shortText, tie('value'), { maxKeys: 5 }) as fc.Arbitrary<FieldTable>,
})).value;

export const fieldTable = fc.dictionary(shortText, fieldValue, { maxKeys: 6 }) as fc.Arbitrary<FieldTable>;

function argOf(type: FieldType): fc.Arbitrary<unknown> {
  switch (type) {
    case 'octet':
      return fc.integer({ min: 0, max: 255 });
    case 'short':
      return fc.integer({ min: 0, max: 0xffff });
    case 'long':
      return fc.integer({ min: 0, max: 0xffffffff });
    case 'longlong':
      return fc.maxSafeNat();
    case 'shortstr':
      return shortText;
    case 'longstr':
      return fc.string({ maxLength: 200 });
    case 'bit':
      return fc.boolean();
    case 'table':
      return fieldTable;
  }
}

const channel = fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 0xffff }));

const methodFrame: fc.Arbitrary<Buffer> = fc.oneof(
  ...Object.entries(METHOD_SPECS).map(([name, spec]) =>
    fc
      .tuple(channel, fc.tuple(...spec.fields.map((f) => argOf(f[1]))))
      .map(([ch, values]) => Buffer.from(encodeMethodFrame(ch, name as MethodName, Object.fromEntries(spec.fields.map((f, i) => [f[0], values[i]])) as never))),
  ),
);

const properties = fc.record(
  {
    contentType: shortText,
    contentEncoding: shortText,
    headers: fieldTable,
    deliveryMode: fc.constantFrom(1, 2),
    priority: fc.integer({ min: 0, max: 255 }),
    correlationId: shortText,
    replyTo: shortText,
    expiration: fc.nat().map(String),
    messageId: shortText,
    timestamp: fc.integer({ min: 0, max: 2 ** 40 }),
    type: shortText,
    userId: shortText,
    appId: shortText,
    clusterId: shortText,
  },
  { requiredKeys: [] },
);

const headerFrame = fc.tuple(channel, fc.integer({ min: 0, max: 100_000 }), properties).map(([ch, size, p]) => Buffer.from(encodeContentHeaderFrame(ch, size, p)));

function rawFrame(type: number, ch: number, payload: Buffer): Buffer {
  const b = Buffer.allocUnsafe(8 + payload.length);
  b[0] = type;
  b.writeUInt16BE(ch, 1);
  b.writeUInt32BE(payload.length, 3);
  payload.copy(b, 7);
  b[7 + payload.length] = 0xce;
  return b;
}

const bodyFrame = fc.tuple(channel, fc.uint8Array({ maxLength: 300 })).map(([ch, body]) => rawFrame(FRAME_BODY, ch, Buffer.from(body)));
const heartbeat = fc.constant(rawFrame(8, 0, Buffer.alloc(0)));

/** connection.start-ok as clients send it: PLAIN (NUL user NUL pass) or AMQPLAIN (a field table without its length) */
const startOk = fc
  .tuple(fc.constantFrom('PLAIN', 'AMQPLAIN'), shortText, shortText, fieldTable)
  .map(([mechanism, user, pass, extra]) => {
    const response = mechanism === 'PLAIN' ? Buffer.from(`\0${user}\0${pass}`) : encodeFieldTable({ LOGIN: user, PASSWORD: pass, ...extra }).subarray(4);
    return Buffer.from(encodeMethodFrame(0, 'connection.start-ok', { clientProperties: {}, mechanism, response, locale: 'en_US' } as never));
  });

/** a publish as clients send it: method, header, body frames */
const publish = fc
  .tuple(channel, shortText, shortText, properties, fc.uint8Array({ maxLength: 600 }))
  .map(([ch, exchange, routingKey, p, body]) =>
    Buffer.concat([
      Buffer.from(encodeMethodFrame(ch, 'basic.publish', { exchange, routingKey, mandatory: false, immediate: false })),
      Buffer.from(encodeContentHeaderFrame(ch, body.length, p)),
      ...(body.length ? [rawFrame(FRAME_BODY, ch, Buffer.from(body))] : []),
    ]),
  );

export const amqpTarget: FuzzTarget = {
  name: 'amqp-0-9-1',
  valid: fc.oneof({ weight: 4, arbitrary: methodFrame }, { weight: 2, arbitrary: publish }, { weight: 2, arbitrary: headerFrame }, startOk, bodyFrame, heartbeat),
  // 0: frames only; 1: our protocol header first; 2: the stream's own first 8 bytes read as the header
  variants: 3,
  limit: FRAME_MAX,
  run(input) {
    const parser = new FrameParser({
      onFrame: (f) => {
        if (f.type === FRAME_METHOD) {
          const m = decodeMethod(f.payload);
          if (m.name === 'connection.start-ok') parseSaslResponse(String(m.args['mechanism']), m.args['response'] as Buffer);
        } else if (f.type === FRAME_HEADER) decodeContentHeader(f.payload);
      },
      expectProtocolHeader: input.variant !== 0,
      frameMax: FRAME_MAX,
    });
    if (input.variant === 1) parser.push(PROTOCOL_HEADER);
    for (const chunk of chunksOf(input)) parser.push(chunk);
  },
  expected: (err) => err instanceof AmqpCodecError || err instanceof AmqpProtocolHeaderError,
};
