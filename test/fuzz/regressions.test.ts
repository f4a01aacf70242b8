import { deflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { Amqp10Error, decodeFrameBody } from '../../src/protocols/amqp10/codec/index.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { OwError } from '../../src/protocols/openwire/errors.js';
import { fromOpenWire, textContent } from '../../src/protocols/openwire/message-map.js';
import { connect } from '../helpers/amqp.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { createLogger } from '../../src/server/logger.js';
import { RawClient } from '../helpers/amqp10-raw.js';
import { RawStomp } from '../helpers/stomp.js';

/** What the decoder fuzzers (bench/fuzz) found, each pinned so it stays fixed. */

const QUEUE = { kind: 'queue' as const, temporary: false, name: 'q' };

describe('OpenWire: compressed message bodies (found by the openwire fuzzer)', () => {
  const message = (content: Buffer) => ({ type: T.TextMessage, compressed: true, content, persistent: false, priority: 4, expiration: 0, timestamp: 0 });

  it('a body that is not a deflate stream is refused with a JMSException, not a zlib error', () => {
    expect(() => fromOpenWire(message(Buffer.from('not deflate')), QUEUE, 'ID:c', Date.now(), 1 << 20)).toThrow(OwError);
    expect(() => fromOpenWire(message(Buffer.from('not deflate')), QUEUE, 'ID:c', Date.now(), 1 << 20)).toThrow(/cannot be inflated/);
  });

  it('a small deflate stream that inflates past the message size limit is refused before it is inflated whole', () => {
    // 16 MiB of zeros deflate to about 16 KiB
    const bomb = deflateSync(Buffer.alloc(16 << 20));
    expect(bomb.length).toBeLessThan(32 * 1024);
    expect(() => fromOpenWire(message(bomb), QUEUE, 'ID:c', Date.now(), 1 << 20)).toThrow(/inflates past the maximum message size of 1048576 bytes/);
    // within the limit it inflates as before
    const ok = fromOpenWire(message(deflateSync(textContent('hello'))), QUEUE, 'ID:c', Date.now(), 1 << 20);
    expect(ok.body.toString()).toBe('hello');
  });

  it('over a socket: the producer gets an ExceptionResponse, and the connection keeps working', async () => {
    const broker = await startBroker({ engine: 'activemq', ports: { openwire: 0 }, limits: { maxMessageSize: 1 << 20 } });
    try {
      const c = await RawOpenWire.connected(Number(new URL(broker.urls.openwire!).port));
      const producerId = { type: T.ProducerId, connectionId: 'c', value: 1, sessionId: 1 };
      await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: 'c', value: 1 } });
      await c.request({ type: T.ProducerInfo, producerId, destination: null });
      const bomb = deflateSync(Buffer.alloc(16 << 20));
      const answer = await c.request({ type: T.TextMessage, producerId, destination: { type: T.Queue, physicalName: 'fuzz.bomb' }, messageId: { type: T.MessageId, producerId, producerSequenceId: 1, brokerSequenceId: 0 }, compressed: true, content: bomb, persistent: false, priority: 4 });
      expect(answer.type).toBe(T.ExceptionResponse);
      expect(JSON.stringify(answer['exception'])).toMatch(/inflates past the maximum message size/);
      const again = await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: 'c', value: 2 } });
      expect(again.type).toBe(T.Response);
      c.close();
    } finally {
      await broker.stop();
    }
  });
});

describe('delays past what a Node timer holds (found by the socket fuzzer: a far-future expiration)', () => {
  let broker: LocalMQ;
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  beforeAll(async () => {
    broker = await startBroker();
    process.on('warning', onWarning);
  });
  afterAll(async () => {
    process.off('warning', onWarning);
    await broker.stop();
  });

  it('a message whose TTL is ten years away stays queued; its expiry timer does not fire every millisecond', async () => {
    const conn = await connect(broker);
    const ch = await conn.createChannel();
    await ch.assertQueue('fuzz.far-ttl');
    // the fuzzer's TTL was 2^45 ms, which RabbitMQ refuses (406 value_too_large: test/amqp/expiration-header.test.ts);
    // ten years, the most it takes, is still far past what a Node timer holds (2^31 - 1 ms)
    ch.sendToQueue('fuzz.far-ttl', Buffer.from('x'), { expiration: String(315_360_000_000) });
    expect((await ch.checkQueue('fuzz.far-ttl')).messageCount).toBe(1);
    // before the fix the timer overflowed to 1 ms and re-armed itself for ever: wait a few of those
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await ch.checkQueue('fuzz.far-ttl')).messageCount).toBe(1);
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    await conn.close();
  });

  it('a STOMP heart-beat of 10^20 ms does not become a 1 ms timer (found by the 1M socket run)', async () => {
    const { client } = await RawStomp.connected(broker, { 'heart-beat': '99999999999999999999,99999999999999999999' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    client.send('SEND', { destination: '/queue/fuzz.heartbeat', receipt: 'r' }, 'x');
    await client.receipt('r');
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    client.close();
  });

  it('a queue with an x-expires past 24.8 days is not deleted after 1 ms', async () => {
    const conn = await connect(broker);
    const ch = await conn.createChannel();
    await ch.assertQueue('fuzz.far-expires', { expires: 2 ** 32 });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect((await ch.checkQueue('fuzz.far-expires')).messageCount).toBe(0);
    expect(warnings.filter((w) => w.name === 'TimeoutOverflowWarning')).toEqual([]);
    await conn.close();
  });
});

describe('AMQP 1.0: a transfer whose list ends inside a 4-byte field (found by the amqp-1.0 fuzzer, session 7)', () => {
  // the hand-written transfer reader (codec/hot.ts) read a uint / vbin32 length past the frame's end: a RangeError, answered as amqp:internal-error
  const bodies = [
    '005314c0020170', // handle: uint with no bytes after it
    '005314c003017000', // handle: uint with one of its four bytes
    '005314c006034343b00000', // delivery-tag: vbin32 whose length is cut
  ];

  it.each(bodies)('%s is a decode error, not a RangeError', (hex) => {
    const body = Buffer.from(hex, 'hex');
    expect(() => decodeFrameBody(body)).toThrow(Amqp10Error);
    expect(() => decodeFrameBody(body)).toThrow(/decode-error|truncated/);
  });

  it('over a socket: the connection is closed with amqp:decode-error and the broker logs no internal error', async () => {
    const errors: string[] = [];
    const broker = await startBroker({ engine: 'activemq', ports: { amqp10: 0 }, logger: createLogger('error', (line) => errors.push(line)) });
    try {
      const c = await RawClient.open(Number(new URL(broker.urls.amqp10!).port));
      c.frame(0, { $: 'begin', nextOutgoingId: 0, incomingWindow: 100, outgoingWindow: 100 });
      await c.performative('begin');
      const body = Buffer.from(bodies[0]!, 'hex');
      const head = Buffer.from([0, 0, 0, 8 + body.length, 2, 0, 0, 0]);
      c.socket.write(Buffer.concat([head, body]));
      const err = await c.error('close');
      expect(err.condition).toBe('amqp:decode-error');
      expect(errors).toEqual([]);
    } finally {
      await broker.stop();
    }
  });
});
