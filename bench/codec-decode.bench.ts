/**
 * Decoding cost of the three binary codecs that read through the shared bounds-checked cursor
 * (src/protocols/common/byte-reader.ts): AMQP 0-9-1 (frames, methods with field tables, content
 * headers), AMQP 1.0 (transfer performatives and message sections) and OpenWire (a TextMessage
 * command with properties, then its property map). In process, no sockets.
 *
 *   npx tsx bench/codec-decode.bench.ts [--codec amqp|amqp10|openwire|mixed|all] [--ms 1500] [--rounds 5]
 *   npx tsx bench/codec-decode.bench.ts --codec amqp --iterations 2000   (a fixed workload, for callgrind)
 *
 * `mixed` decodes all three in turn, as a broker serving every protocol does (the shared reader's
 * call sites then see every codec's reader). Prints one JSON line per codec: messages/s per round
 * and the median. Each "message" is one publish/transfer/command with its properties decoded.
 */
import { parseArgs } from 'node:util';
import {
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  FrameParser,
  decodeContentHeader,
  decodeMethod,
  encodeContentHeaderFrame,
  encodeMethodFrame,
  type Frame,
} from '../src/protocols/amqp/codec/index.js';
import { AmqpMap, Encoder, Sym, decodeFrameBody, decodeMessage, encodeMessage, writeFrame } from '../src/protocols/amqp10/codec/index.js';
import { decodeFrame, encodeFrame, type OwStruct } from '../src/protocols/openwire/codec/marshal.js';
import { PType, decodePrimitiveMap, encodePrimitiveMap } from '../src/protocols/openwire/codec/primitive.js';
import { T } from '../src/protocols/openwire/codec/types.js';

const { values: args } = parseArgs({
  options: {
    codec: { type: 'string', default: 'all' },
    ms: { type: 'string', default: '1500' },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string' },
  },
});

/** messages per batch: one socket chunk's worth */
const BATCH = 200;
const body = Buffer.alloc(16, 0x61);
let sink = 0;

// ---- AMQP 0-9-1: publish + content header (with a headers table) + body, and a consume with arguments
const amqpChunk = (() => {
  const one = Buffer.concat([
    encodeMethodFrame(1, 'basic.publish', { exchange: 'amq.topic', routingKey: 'orders.eu.created' }),
    encodeContentHeaderFrame(1, body.length, {
      contentType: 'application/json',
      deliveryMode: 2,
      priority: 1,
      messageId: 'msg-0001',
      correlationId: 'corr-42',
      timestamp: 1_795_000_000,
      headers: { tenant: 'acme', attempt: 3, big: 2 ** 40, ok: true, tags: ['a', 'b'] },
    }),
    Buffer.from([FRAME_BODY, 0, 1, 0, 0, 0, body.length]),
    body,
    Buffer.from([0xce]),
  ]);
  const consume = encodeMethodFrame(2, 'basic.consume', { queue: 'orders', consumerTag: 'ctag-1', arguments: { 'x-priority': 5, 'x-stream-offset': 'first' } });
  return Buffer.concat([...Array.from({ length: BATCH }, () => one), consume]);
})();
const amqpParser = new FrameParser({
  expectProtocolHeader: false,
  frameMax: 131072,
  onFrame: (f: Frame) => {
    if (f.type === FRAME_METHOD) sink += decodeMethod(f.payload).methodId;
    else if (f.type === FRAME_HEADER) sink += decodeContentHeader(f.payload).bodySize;
    else sink += f.payload.length;
  },
});
function amqp(): void {
  amqpParser.push(amqpChunk);
}

// ---- AMQP 1.0: a transfer frame body (performative + message sections)
const amqp10Body = (() => {
  const message = encodeMessage({
    header: { durable: true, priority: 4 },
    messageAnnotations: new AmqpMap([[new Sym('x-opt-jms-dest'), 0]]),
    properties: { messageId: 'msg-0001', to: '/queues/orders', subject: 'created', contentType: 'application/json', creationTime: new Date(1_795_000_000_000) },
    applicationProperties: new AmqpMap([
      ['tenant', 'acme'],
      ['attempt', 3],
      ['big', 2 ** 40],
    ]),
    body: { kind: 'data', chunks: [body] },
  });
  const e = new Encoder();
  writeFrame(e, 0, 0, { $: 'transfer', handle: 1, deliveryId: 7, deliveryTag: Buffer.from([0, 0, 0, 7]), messageFormat: 0, settled: false }, message);
  return Buffer.from(e.buf.subarray(8, e.pos));
})();
function amqp10(): void {
  for (let i = 0; i < BATCH; i++) {
    const { performative, payload } = decodeFrameBody(amqp10Body);
    sink += (performative['handle'] as number) + decodeMessage(payload).bodyEnd;
  }
}

// ---- OpenWire: a TextMessage command, then its marshalled properties
const V12 = { version: 12, stackTraceEnabled: false };
const owBody = (() => {
  const producerId = { type: T.ProducerId, connectionId: 'ID:host-1-2-3:1', value: 1, sessionId: 1 };
  const msg: OwStruct = {
    type: T.TextMessage,
    commandId: 5,
    responseRequired: true,
    producerId,
    destination: { type: T.Queue, physicalName: 'orders' },
    messageId: { type: T.MessageId, textView: null, producerId, producerSequenceId: 9, brokerSequenceId: 0 },
    persistent: true,
    priority: 4,
    timestamp: 1_795_000_000_123,
    expiration: 0,
    content: body,
    marshalledProperties: encodePrimitiveMap(
      new Map([
        ['tenant', { t: PType.String, v: 'acme' }],
        ['attempt', { t: PType.Integer, v: 3 }],
        ['big', { t: PType.Long, v: 2 ** 40 }],
      ]),
    ),
    redeliveryCounter: 0,
  };
  return encodeFrame(msg, V12).subarray(4);
})();
function openwire(): void {
  for (let i = 0; i < BATCH; i++) {
    const s = decodeFrame(owBody, V12);
    sink += decodePrimitiveMap(s['marshalledProperties'] as Buffer).size;
  }
}

function mixed(): void {
  amqp();
  amqp10();
  openwire();
}

const CODECS: Record<string, { run: () => void; messages: number }> = {
  amqp: { run: amqp, messages: BATCH },
  amqp10: { run: amqp10, messages: BATCH },
  openwire: { run: openwire, messages: BATCH },
  mixed: { run: mixed, messages: 3 * BATCH },
};
const names = args.codec === 'all' ? ['amqp', 'amqp10', 'openwire', 'mixed'] : [args.codec!];
for (const n of names) if (!CODECS[n]) throw new Error(`unknown codec ${n}`);

if (args.iterations !== undefined) {
  // a fixed workload: the same instructions whatever the load (callgrind)
  const n = Number(args.iterations);
  for (const name of names) for (let i = 0; i < n; i++) CODECS[name]!.run();
  console.log(JSON.stringify({ iterations: n, codecs: names, sink }));
} else {
  const ms = Number(args.ms);
  const rounds = Number(args.rounds);
  for (const name of names) {
    const { run, messages } = CODECS[name]!;
    for (let i = 0; i < 200; i++) run(); // warm-up: let the JIT settle
    const perRound: number[] = [];
    for (let r = 0; r < rounds; r++) {
      let batches = 0;
      const t0 = process.hrtime.bigint();
      const until = t0 + BigInt(ms) * 1_000_000n;
      let now = t0;
      while (now < until) {
        for (let k = 0; k < 20; k++) run();
        batches += 20;
        now = process.hrtime.bigint();
      }
      perRound.push(Math.round((batches * messages) / (Number(now - t0) / 1e9)));
    }
    const sorted = [...perRound].sort((a, b) => a - b);
    console.log(JSON.stringify({ codec: name, msgsPerSec: perRound, median: sorted[Math.floor(sorted.length / 2)] }));
  }
}
if (sink === 0) throw new Error('benchmark did no work');
