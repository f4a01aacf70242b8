import { describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { Encoder } from '../../src/protocols/amqp10/codec/encoder.js';
import { decodeMessage, encodeMessage, type AmqpMessage } from '../../src/protocols/amqp10/codec/message.js';
import { AmqpMap } from '../../src/protocols/amqp10/codec/types.js';
import { toCoreMessage, writeDelivery, type Outbound } from '../../src/protocols/amqp10/mapping.js';

/**
 * A message that came in over AMQP 1.0 goes out to an AMQP 1.0 consumer with the bare message
 * it arrived with, byte for byte. Issue 18 (1M publish floods): the bare message is no longer
 * a buffer view of its own per queued message when the body lies inside it (one data
 * section): it is found around the body; these pin that the bytes are the same either way,
 * and that a message given another body is encoded afresh, never sent with stale bytes.
 */
const OUT: Outbound = { failedDeliveries: 0, firstAcquirer: true, queue: 'q' };

/** the payload as it arrives: a view inside a larger socket chunk */
function arriving(m: AmqpMessage): Buffer {
  const bytes = encodeMessage(m);
  const chunk = Buffer.concat([Buffer.from('frame-before'), bytes, Buffer.from('frame-after')]);
  return chunk.subarray(12, 12 + bytes.length);
}

function received(m: AmqpMessage): { payload: Buffer; message: Message; bare: Buffer } {
  const payload = arriving(m);
  const decoded = decodeMessage(payload);
  const message = toCoreMessage('rabbitmq', decoded, payload, { exchange: '', routingKey: 'q', now: Date.now() });
  return { payload, message, bare: payload.subarray(decoded.bareStart) };
}

function delivered(m: Message): Buffer {
  const e = new Encoder(256);
  writeDelivery(e, 'rabbitmq', m, OUT);
  return e.take();
}

const endsWith = (b: Buffer, tail: Buffer) => b.subarray(b.length - tail.length).equals(tail);

describe('AMQP 1.0: the bare message a message arrived with', () => {
  it('one data section between properties and a footer: delivered byte for byte', () => {
    const { message, bare } = received({
      header: { durable: true },
      properties: { messageId: 'm-1', subject: 's' },
      applicationProperties: new AmqpMap([['k', 'v']]),
      body: { kind: 'data', chunks: [Buffer.from('hello')] },
      footer: AmqpMap.symbols({ 'x-sig': 'z' }),
    });
    expect(message.body.toString()).toBe('hello');
    const out = delivered(message);
    expect(endsWith(out, bare)).toBe(true);
    // the bytes around the body are not copied into a buffer of their own at arrival
    expect(message.body.buffer).toBe(bare.buffer);
  });

  it('several data sections, an amqp-value body, an empty body: delivered byte for byte', () => {
    for (const body of [
      { kind: 'data' as const, chunks: [Buffer.from('ab'), Buffer.from('cd')] },
      { kind: 'value' as const, value: 'text' },
      { kind: 'data' as const, chunks: [Buffer.alloc(0)] },
    ]) {
      const { message, bare } = received({ properties: { messageId: 7 }, body });
      expect(endsWith(delivered(message), bare)).toBe(true);
    }
  });

  it('a message given another body with the same properties is encoded afresh: the new body goes out', () => {
    const { message, bare } = received({ properties: { messageId: 'm-2' }, body: { kind: 'data', chunks: [Buffer.from('old!')] } });
    const changed: Message = { ...message, body: Buffer.from('new body') };
    const out = delivered(changed);
    expect(endsWith(out, bare)).toBe(false);
    expect(out.includes(Buffer.from('new body'))).toBe(true);
    expect(out.includes(Buffer.from('old!'))).toBe(false);
  });
});
