/**
 * Outbound frames that carry content: a method frame, a content header frame and
 * body frames cut so that no frame exceeds frame_max (which counts the 8 bytes of
 * frame overhead). Each call returns one buffer for one socket write.
 */
import type { Message } from '../../../core/message.js';
import { FRAME_BODY, FRAME_END, FRAME_HEARTBEAT, FRAME_OVERHEAD } from './constants.js';
import { contentHeaderFrameSize, encodeProperties, writeContentHeaderFrame } from './content-header.js';
import { basicDeliverFrameSize, writeBasicDeliverFrame, writeMethodFrame, type MethodArgsInput } from './methods.js';
import { Writer, shortstrLength } from './wire.js';

/** The heartbeat frame: type 8, channel 0, empty payload. */
export const HEARTBEAT_FRAME: Buffer = Buffer.from([FRAME_HEARTBEAT, 0, 0, 0, 0, 0, 0, FRAME_END]);

/**
 * The property block to send for a message: the bytes it arrived with when it has
 * them, otherwise freshly encoded (and kept on the message for the next delivery).
 */
export function messagePropertyBlock(message: Message): Buffer {
  return (message.encodedProperties ??= encodeProperties(message.properties));
}

function maxBodyPayload(frameMax: number): number {
  if (frameMax === 0) return Number.MAX_SAFE_INTEGER;
  if (!(frameMax > FRAME_OVERHEAD)) throw new RangeError(`frame_max ${frameMax} leaves no room for a payload`);
  return frameMax - FRAME_OVERHEAD;
}

/** Bytes the body frames of `bodyLength` take at this frame_max (none for an empty body). */
export function bodyFramesSize(bodyLength: number, frameMax: number): number {
  if (bodyLength === 0) return 0;
  const frames = Math.ceil(bodyLength / maxBodyPayload(frameMax));
  return bodyLength + frames * FRAME_OVERHEAD;
}

/** Writes the body frames at `pos`; returns the position after them. */
export function writeBodyFrames(buf: Buffer, pos: number, channel: number, body: Buffer, frameMax: number): number {
  const max = maxBodyPayload(frameMax);
  const total = body.length;
  for (let off = 0; off < total; off += max) {
    const len = Math.min(max, total - off);
    buf[pos] = FRAME_BODY;
    buf.writeUInt16BE(channel, pos + 1);
    buf.writeUInt32BE(len, pos + 3);
    body.copy(buf, pos + 7, off, off + len);
    pos += 7 + len;
    buf[pos++] = FRAME_END;
  }
  return pos;
}

/**
 * basic.deliver + content header + body frames in one exact-size buffer.
 * `propertyBlock` is a property block (see messagePropertyBlock / encodeProperties).
 */
export function encodeDelivery(
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  redelivered: boolean,
  exchange: string,
  routingKey: string,
  propertyBlock: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const methodSize = basicDeliverFrameSize(
    shortstrLength(consumerTag, 'consumer tag'),
    shortstrLength(exchange, 'exchange'),
    shortstrLength(routingKey, 'routing key'),
  );
  const total = methodSize + contentHeaderFrameSize(propertyBlock.length) + bodyFramesSize(body.length, frameMax);
  const buf = Buffer.allocUnsafe(total);
  let pos = writeBasicDeliverFrame(buf, 0, channel, consumerTag, deliveryTag, redelivered, exchange, routingKey, methodSize);
  pos = writeContentHeaderFrame(buf, pos, channel, body.length, propertyBlock);
  writeBodyFrames(buf, pos, channel, body, frameMax);
  return buf;
}

const scratch = new Writer();

/**
 * Any content-carrying method (basic.get-ok, basic.return, basic.publish for a
 * client) followed by its content header and body frames, in one buffer.
 */
export function encodeContentFrames<N extends 'basic.get-ok' | 'basic.return' | 'basic.publish' | 'basic.deliver'>(
  channel: number,
  method: N,
  args: MethodArgsInput<N>,
  propertyBlock: Buffer,
  body: Buffer,
  frameMax: number,
): Buffer {
  const w = scratch.reset();
  writeMethodFrame(w, channel, method, args as Record<string, unknown>);
  const methodSize = w.pos;
  const buf = Buffer.allocUnsafe(
    methodSize + contentHeaderFrameSize(propertyBlock.length) + bodyFramesSize(body.length, frameMax),
  );
  w.buf.copy(buf, 0, 0, methodSize);
  const pos = writeContentHeaderFrame(buf, methodSize, channel, body.length, propertyBlock);
  writeBodyFrames(buf, pos, channel, body, frameMax);
  return buf;
}
