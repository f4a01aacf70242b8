/**
 * STOMP codec micro-benchmarks: parsing a burst of SEND frames delivered in
 * one socket chunk, and serialising MESSAGE frames for delivery.
 * Run with: npx tsx bench/stomp-codec.bench.ts
 */
import { Bench } from 'tinybench';
import { StompParser, createFrame, serializeFrame, type StompFrame } from '../src/protocols/stomp/codec/index.js';

const FRAMES = 1000;
const payload = Buffer.from(JSON.stringify({ orderId: 12345, item: 'widget', quantity: 3, note: 'x'.repeat(64) }));

const sendBurst = Buffer.concat(
  Array.from({ length: FRAMES }, (_, i) =>
    serializeFrame(
      createFrame(
        'SEND',
        [
          ['destination', '/queue/orders'],
          ['content-type', 'application/json'],
          ['receipt', `r-${i}`],
          ['persistent', 'true'],
        ],
        payload,
      ),
      '1.2',
    ),
  ),
);

let parsed = 0;
const parser = new StompParser({ onFrame: () => void parsed++ }, { version: '1.2' });

const messages: StompFrame[] = Array.from({ length: FRAMES }, (_, i) =>
  createFrame(
    'MESSAGE',
    [
      ['subscription', 'sub-0'],
      ['destination', '/queue/orders'],
      ['message-id', `T_sub-0@@session-Bri0YX5Vi@@${i + 1}`],
      ['redelivered', 'false'],
      ['ack', String(i + 1)],
      ['content-type', 'application/json'],
      ['persistent', 'true'],
    ],
    payload,
  ),
);

const bench = new Bench({ time: 1000 });
bench
  .add(`parse ${FRAMES} SEND frames in one chunk (${sendBurst.length} bytes)`, () => {
    parsed = 0;
    parser.push(sendBurst);
    if (parsed !== FRAMES) throw new Error(`parsed ${parsed} frames`);
  })
  .add(`serialize ${FRAMES} MESSAGE frames`, () => {
    let bytes = 0;
    for (let i = 0; i < FRAMES; i++) bytes += serializeFrame(messages[i]!, '1.2').length;
    if (bytes === 0) throw new Error('nothing serialised');
  });

await bench.run();
console.table(bench.table());
for (const task of bench.tasks) {
  const r = task.result;
  if (r.state === 'completed') {
    const perFrameNs = (r.latency.mean * 1e6) / FRAMES;
    console.log(`${task.name}: ${perFrameNs.toFixed(0)} ns/frame, ${((FRAMES * 1000) / r.latency.mean / 1e6).toFixed(2)} M frames/s`);
  }
}
