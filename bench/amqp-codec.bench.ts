/**
 * AMQP codec throughput: parsing a socket chunk of 1000 publishes (method + content
 * header + 16-byte body each) and encoding 1000 deliveries.
 * Run: npx tsx bench/amqp-codec.bench.ts
 */
import { Bench } from 'tinybench';
import {
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_METHOD,
  FrameParser,
  decodeContentHeader,
  decodeMethod,
  encodeContentHeaderFrame,
  encodeDelivery,
  encodeMethodFrame,
  encodeProperties,
  type Frame,
} from '../src/protocols/amqp/codec/index.js';

const MESSAGES = 1000;
const FRAME_MAX = 131072;
const body = Buffer.alloc(16, 0x61);
const properties = { contentType: 'application/json', deliveryMode: 2, messageId: 'msg-0001', headers: { tenant: 'acme' } };

const oneMessage = Buffer.concat([
  encodeMethodFrame(1, 'basic.publish', { exchange: 'amq.topic', routingKey: 'orders.eu.created' }),
  encodeContentHeaderFrame(1, body.length, properties),
  Buffer.from([FRAME_BODY, 0, 1, 0, 0, 0, body.length]),
  body,
  Buffer.from([0xce]),
]);
const publishChunk = Buffer.concat(Array.from({ length: MESSAGES }, () => oneMessage));

let frameCount = 0;
const countingParser = new FrameParser({ expectProtocolHeader: false, frameMax: FRAME_MAX, onFrame: () => frameCount++ });

let decoded = 0;
const decodingParser = new FrameParser({
  expectProtocolHeader: false,
  frameMax: FRAME_MAX,
  onFrame: (f: Frame) => {
    if (f.type === FRAME_METHOD) decoded += decodeMethod(f.payload).methodId;
    else if (f.type === FRAME_HEADER) decoded += decodeContentHeader(f.payload).bodySize;
    else decoded += f.payload.length;
  },
});

const propertyBlock = encodeProperties(properties);
let written = 0;

const bench = new Bench({ time: 1000 });
bench
  .add(`parse frames: chunk of ${MESSAGES} publishes`, () => {
    countingParser.push(publishChunk);
  })
  .add(`parse + decode method & header: ${MESSAGES} publishes`, () => {
    decodingParser.push(publishChunk);
  })
  .add(`encode ${MESSAGES} deliveries`, () => {
    for (let i = 0; i < MESSAGES; i++) {
      written += encodeDelivery(1, 'amq.ctag-bench', i + 1, false, 'amq.topic', 'orders.eu.created', propertyBlock, body, FRAME_MAX).length;
    }
  });

await bench.run();

console.table(
  bench.tasks.map((t) => {
    const r = t.result as { throughput?: { mean: number }; hz?: number } | undefined;
    const hz = r?.throughput?.mean ?? r?.hz ?? 0;
    return { task: t.name, 'ops/s': Math.round(hz), 'messages/s': Math.round(hz * MESSAGES) };
  }),
);
if (frameCount === 0 || decoded === 0 || written === 0) throw new Error('benchmark did no work');
