/**
 * AMQP 1.0: the frame reader (protocol headers, SASL and AMQP frames, max-frame-size checked
 * at the size field), performative decoding with its mandatory-field checks (a transfer first
 * through the hand-written reader of codec/hot.ts, as the connection reads it), the SASL
 * response's credentials, the message sections of a transfer's payload, and the core message
 * made of them in each dialect (RabbitMQ's mapping; ActiveMQ's JMS transformer, which reads
 * map/list/sequence bodies again with their types).
 */
import fc from 'fast-check';
import { Amqp10Error, AmqpMap, Encoder, FRAME_AMQP, FRAME_SASL, FrameReader, HEADER_AMQP, HEADER_SASL, Sym, Typed, decodeFrameBody, decodeMessage, encodeMessage, writeFrame, type AmqpMessage, type AmqpValue, type Composite } from '../../../src/protocols/amqp10/codec/index.js';
import { parseSaslResponse } from '../../../src/protocols/amqp/sasl.js';
import { toCoreMessage } from '../../../src/protocols/amqp10/mapping.js';
import type { FuzzTarget } from '../harness.js';
import { chunksOf } from '../mutate.js';

/** our max-frame-size while fuzzing (the spec's minimum is 512) */
const MAX_FRAME = 4096;

const text = fc.string({ maxLength: 24 });
const uint = fc.integer({ min: 0, max: 0xffffffff });
const symbol = fc.oneof(fc.constantFrom('amqp:accepted:list', 'PLAIN', 'ANONYMOUS', 'x-opt-jms-dest', 'shared'), fc.string({ maxLength: 12, unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }));

const amqpValue: fc.Arbitrary<AmqpValue> = fc.letrec<{ v: AmqpValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double(),
    text,
    fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)),
    symbol.map((s) => new Sym(s)),
    uint.map((n) => new Typed('uint', n) as unknown as AmqpValue),
    fc.integer({ min: 0, max: 255 }).map((n) => new Typed('ubyte', n) as unknown as AmqpValue),
    fc.integer({ min: 0, max: 2 ** 40 }).map((n) => new Date(n)),
    fc.array(tie('v'), { maxLength: 3 }),
    fc.array(fc.tuple(fc.oneof(text, symbol.map((s) => new Sym(s))), tie('v')), { maxLength: 3 }).map((e) => new AmqpMap(e as [AmqpValue, AmqpValue][])),
  ),
})).v;

const error = fc.record({ $: fc.constant('error'), condition: symbol, description: fc.option(text, { nil: undefined }) });
const deliveryState = fc.oneof(
  fc.constant({ $: 'accepted' }),
  fc.constant({ $: 'released' }),
  fc.record({ $: fc.constant('rejected'), error: fc.option(error, { nil: undefined }) }),
  fc.record({ $: fc.constant('modified'), deliveryFailed: fc.boolean(), undeliverableHere: fc.boolean() }),
  fc.record({ $: fc.constant('received'), sectionNumber: uint, sectionOffset: uint }),
);
const terminus = (kind: 'source' | 'target') =>
  fc.record(
    { $: fc.constant(kind), address: fc.option(fc.oneof(fc.constantFrom('/queues/q', '/exchanges/amq.topic/k', 'queue://q', 'topic://t'), text), { nil: undefined }), durable: fc.integer({ min: 0, max: 2 }), expiryPolicy: fc.constantFrom('session-end', 'never'), dynamic: fc.boolean(), capabilities: fc.array(symbol, { maxLength: 2 }) },
    { requiredKeys: ['$'] },
  );
const symbols = fc.array(symbol, { maxLength: 3 });
const props = fc.option(fc.array(fc.tuple(symbol.map((s) => new Sym(s)), amqpValue), { maxLength: 2 }).map((e) => new AmqpMap(e)), { nil: undefined });

const performative: fc.Arbitrary<Composite> = fc.oneof(
  fc.record({ $: fc.constant('open'), containerId: text, hostname: fc.option(text, { nil: undefined }), maxFrameSize: uint, channelMax: fc.integer({ min: 0, max: 0xffff }), idleTimeOut: fc.option(uint, { nil: undefined }), offeredCapabilities: symbols, properties: props }),
  fc.record({ $: fc.constant('begin'), remoteChannel: fc.option(fc.integer({ min: 0, max: 0xffff }), { nil: undefined }), nextOutgoingId: uint, incomingWindow: uint, outgoingWindow: uint, handleMax: fc.option(uint, { nil: undefined }) }),
  fc.record({ $: fc.constant('attach'), name: text, handle: uint, role: fc.boolean(), sndSettleMode: fc.integer({ min: 0, max: 2 }), rcvSettleMode: fc.integer({ min: 0, max: 1 }), source: fc.option(terminus('source'), { nil: undefined }), target: fc.option(fc.oneof(terminus('target'), fc.constant({ $: 'coordinator' })), { nil: undefined }), initialDeliveryCount: fc.option(uint, { nil: undefined }), maxMessageSize: fc.option(uint, { nil: undefined }), properties: props }),
  fc.record({ $: fc.constant('flow'), nextIncomingId: fc.option(uint, { nil: undefined }), incomingWindow: uint, nextOutgoingId: uint, outgoingWindow: uint, handle: fc.option(uint, { nil: undefined }), deliveryCount: fc.option(uint, { nil: undefined }), linkCredit: fc.option(uint, { nil: undefined }), drain: fc.boolean(), echo: fc.boolean() }),
  fc.record({ $: fc.constant('disposition'), role: fc.boolean(), first: uint, last: fc.option(uint, { nil: undefined }), settled: fc.boolean(), state: fc.option(deliveryState, { nil: undefined }) }),
  fc.record({ $: fc.constant('detach'), handle: uint, closed: fc.boolean(), error: fc.option(error, { nil: undefined }) }),
  fc.record({ $: fc.constant('end'), error: fc.option(error, { nil: undefined }) }),
  fc.record({ $: fc.constant('close'), error: fc.option(error, { nil: undefined }) }),
) as fc.Arbitrary<Composite>;

const sasl: fc.Arbitrary<Composite> = fc.oneof(
  fc.record({ $: fc.constant('sasl-init'), mechanism: fc.constantFrom('PLAIN', 'ANONYMOUS', 'AMQPLAIN', 'EXTERNAL'), initialResponse: fc.option(fc.oneof(fc.constant(Buffer.from('\0guest\0guest')), fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a))), { nil: undefined }), hostname: fc.option(text, { nil: undefined }) }),
  fc.record({ $: fc.constant('sasl-response'), response: fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a)) }),
) as fc.Arbitrary<Composite>;

const map = fc.array(fc.tuple(fc.oneof(text, symbol.map((s) => new Sym(s))), amqpValue), { maxLength: 3 }).map((e) => new AmqpMap(e as [AmqpValue, AmqpValue][]));
const message: fc.Arbitrary<AmqpMessage> = fc.record(
  {
    header: fc.record({ durable: fc.boolean(), priority: fc.integer({ min: 0, max: 9 }), ttl: uint, firstAcquirer: fc.boolean(), deliveryCount: uint }, { requiredKeys: [] }),
    messageAnnotations: map,
    properties: fc.record({ messageId: fc.oneof(text, uint.map((n) => new Typed('ulong', n) as unknown as AmqpValue)), to: text, subject: text, replyTo: text, correlationId: text, contentType: symbol, groupId: text, groupSequence: uint, creationTime: fc.integer({ min: 0, max: 2 ** 40 }).map((n) => new Date(n)) }, { requiredKeys: [] }),
    applicationProperties: fc.array(fc.tuple(text, fc.oneof(text, fc.integer(), fc.boolean(), fc.constant(null))), { maxLength: 3 }).map((e) => new AmqpMap(e)),
    body: fc.oneof(
      fc.array(fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)), { minLength: 1, maxLength: 2 }).map((chunks) => ({ kind: 'data' as const, chunks })),
      amqpValue.map((value) => ({ kind: 'value' as const, value })),
      fc.array(fc.array(amqpValue, { maxLength: 3 }), { minLength: 1, maxLength: 2 }).map((lists) => ({ kind: 'sequence' as const, lists })),
    ),
    footer: map,
  },
  { requiredKeys: ['body'] },
);

const transfer = fc
  .record({ handle: uint, deliveryId: uint, deliveryTag: fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)), messageFormat: fc.constant(0), settled: fc.boolean(), more: fc.boolean(), message })
  .map(({ message: m, ...t }) => ({ performative: { $: 'transfer', ...t } as Composite, payload: Buffer.from(encodeMessage(m)) }));

function frame(type: number, channel: number, performative: Composite, payload?: Buffer): Buffer {
  const e = new Encoder(256);
  writeFrame(e, type, channel, performative, payload);
  return Buffer.from(e.buf.subarray(0, e.pos));
}

/** an AMQP frame around a body given as bytes (doff 2) */
function rawFrame(channel: number, body: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head[4] = 2;
  head.writeUInt16BE(channel, 6);
  return Buffer.concat([head, body]);
}

/**
 * A transfer performative as bytes, for the hand-written reader (codec/hot.ts readTransfer):
 * its list header's size and count right or a little off, fields in the encodings it reads
 * (and some it does not), the last field possibly cut short — the cases a mutation of a
 * well-formed frame seldom reaches, since the frame size must move with the list size.
 */
const u8 = fc.integer({ min: 0, max: 255 });
const transferField = fc.oneof(
  fc.constant([0x40]),
  fc.constant([0x43]),
  u8.map((b) => [0x52, b]),
  uint.map((n) => [0x70, n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]),
  fc.uint8Array({ maxLength: 8 }).map((a) => [0xa0, a.length, ...a]),
  fc.uint8Array({ maxLength: 8 }).map((a) => [0xb0, 0, 0, 0, a.length, ...a]),
  fc.constantFrom([0x41], [0x42], [0x56, 0], [0x56, 1]),
  u8.map((b) => [0x50, b]),
  fc.uint8Array({ minLength: 1, maxLength: 5 }).map((a) => [...a]),
);
const hotTransferBody = fc
  .record({
    fields: fc.array(transferField, { maxLength: 12 }),
    list32: fc.boolean(),
    sizeDelta: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -6, max: 6 }) }),
    countDelta: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -2, max: 2 }) }),
    cut: fc.nat(4),
    payload: fc.oneof(message.map((m) => Buffer.from(encodeMessage(m))), fc.constant(Buffer.alloc(0)), fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a))),
  })
  .map(({ fields, list32, sizeDelta, countDelta, cut, payload }) => {
    const bytes = fields.flat();
    const content = bytes.slice(0, Math.max(0, bytes.length - cut));
    const count = Math.max(0, fields.length + countDelta);
    const head =
      list32
        ? (() => {
            const h = Buffer.alloc(9);
            h[0] = 0xd0;
            h.writeUInt32BE(Math.max(0, 4 + content.length + sizeDelta), 1);
            h.writeUInt32BE(count, 5);
            return h;
          })()
        : Buffer.from([0xc0, Math.min(255, Math.max(0, 1 + content.length + sizeDelta)), count & 255]);
    return Buffer.concat([Buffer.from([0x00, 0x53, 0x14]), head, Buffer.from(content), payload]);
  });

const channel = fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
const amqpFrame = fc.oneof(
  fc.tuple(channel, performative).map(([ch, p]) => frame(FRAME_AMQP, ch, p)),
  fc.tuple(channel, transfer).map(([ch, t]) => frame(FRAME_AMQP, ch, t.performative, t.payload)),
  fc.tuple(channel, hotTransferBody).map(([ch, body]) => rawFrame(ch, body)),
  fc.constant(Buffer.from([0, 0, 0, 8, 2, 0, 0, 0])),
);

/** what a client writes: SASL header and frames, then the AMQP header and frames; or straight to AMQP */
const stream = fc.oneof(
  fc.tuple(sasl, fc.array(amqpFrame, { minLength: 1, maxLength: 3 })).map(([s, frames]) => Buffer.concat([HEADER_SASL, frame(FRAME_SASL, 0, s), HEADER_AMQP, ...frames])),
  fc.array(amqpFrame, { minLength: 1, maxLength: 3 }).map((frames) => Buffer.concat([HEADER_AMQP, ...frames])),
);

export const amqp10Target: FuzzTarget = {
  name: 'amqp-1.0',
  valid: stream,
  // the dialect a transfer's message is mapped in: 0 RabbitMQ, 1 ActiveMQ (the JMS transformer)
  variants: 2,
  limit: MAX_FRAME,
  run(input) {
    const reader: FrameReader = new FrameReader(
      {
        // as the connection: a SASL header switches to SASL frames, an AMQP header (after the outcome) to AMQP frames
        header: (h) => {
          reader.frameType = h.equals(HEADER_SASL) ? FRAME_SASL : FRAME_AMQP;
        },
        frame: (type, _channel, body) => {
          if (body.length === 0) return;
          const { performative, payload } = decodeFrameBody(body);
          if (type === FRAME_SASL && (performative.$ === 'sasl-init' || performative.$ === 'sasl-response')) reader.expectHeader = true;
          if (performative.$ === 'sasl-init' && Buffer.isBuffer(performative['initialResponse'])) parseSaslResponse(String(performative['mechanism']), performative['initialResponse']);
          if (performative.$ === 'transfer' && payload.length > 0 && performative['more'] !== true) {
            // as IncomingLink.onMessage: the whole message decoded, then mapped to the core's
            const decoded = decodeMessage(payload);
            const format = typeof performative['messageFormat'] === 'number' ? performative['messageFormat'] : 0;
            toCoreMessage(input.variant === 0 ? 'rabbitmq' : 'activemq', decoded, payload, { exchange: '', routingKey: '', now: Date.now(), messageFormat: format });
          }
        },
      },
      MAX_FRAME,
    );
    for (const chunk of chunksOf(input)) reader.push(chunk);
  },
  expected: (err) => err instanceof Amqp10Error,
};
