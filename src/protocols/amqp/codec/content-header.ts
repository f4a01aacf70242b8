/**
 * The basic class's content header: class id, weight, 64-bit body size, then the
 * property block (16-bit presence flags, then the present properties in order).
 * The property block is what `Message.encodedProperties` holds, so a delivery can
 * copy the publisher's bytes instead of re-encoding.
 */
import type { MessageProperties } from '../../../core/message.js';
import { CLASS_BASIC, FRAME_END, FRAME_HEADER } from './constants.js';
import { decodeError } from './errors.js';
import { readFieldTable, writeFieldTable } from './field-table.js';
import { Reader, Writer, writeUInt64 } from './wire.js';

export const PROP_CONTENT_TYPE = 0x8000;
export const PROP_CONTENT_ENCODING = 0x4000;
export const PROP_HEADERS = 0x2000;
export const PROP_DELIVERY_MODE = 0x1000;
export const PROP_PRIORITY = 0x0800;
export const PROP_CORRELATION_ID = 0x0400;
export const PROP_REPLY_TO = 0x0200;
export const PROP_EXPIRATION = 0x0100;
export const PROP_MESSAGE_ID = 0x0080;
export const PROP_TIMESTAMP = 0x0040;
export const PROP_TYPE = 0x0020;
export const PROP_USER_ID = 0x0010;
export const PROP_APP_ID = 0x0008;
export const PROP_CLUSTER_ID = 0x0004;

/** class-id 2 + weight 2 + body-size 8 */
const HEADER_FIXED = 12;

/** The property block with no properties set: just zero flags. */
export const EMPTY_PROPERTY_BLOCK: Buffer = Buffer.from([0, 0]);

export interface DecodedContentHeader {
  classId: number;
  weight: number;
  bodySize: number;
  properties: MessageProperties;
  /** the property block as received (flags onward): a view into the payload */
  propertyBytes: Buffer;
}

// ---------------------------------------------------------------- decoding

/**
 * Decodes a content header frame's payload. The caller checks `classId` against
 * the method it follows (RabbitMQ answers UNEXPECTED_FRAME on a mismatch).
 */
export function decodeContentHeader(payload: Buffer): DecodedContentHeader {
  const h = decodeContentHeaderFrame(payload);
  return { ...h, properties: decodeProperties(h.propertyBytes) };
}

/** A content header's fixed part and its property block still encoded (see RepeatedPropertyBlock). */
export function decodeContentHeaderFrame(payload: Buffer): Omit<DecodedContentHeader, 'properties'> {
  if (payload.length < HEADER_FIXED + 2) throw decodeError('content header (too short)');
  const classId = payload.readUInt16BE(0);
  const weight = payload.readUInt16BE(2);
  const hi = payload.readUInt32BE(4);
  if (hi > 0x1f_ffff) throw decodeError('content header (body size beyond 2^53)');
  const bodySize = hi * 0x1_0000_0000 + payload.readUInt32BE(8);
  return { classId, weight, bodySize, propertyBytes: payload.subarray(HEADER_FIXED) };
}

/** Decodes a property block (flags onward), e.g. a stored `Message.encodedProperties`. */
export function decodeProperties(block: Buffer): MessageProperties {
  const r = new Reader(block);
  const flags = r.u16();
  const p: MessageProperties = {};
  if (flags === 0) {
    if (r.pos !== block.length) r.fail('content header (trailing bytes)');
    return p;
  }
  // The low two bits (continuation and one spare) are ignored, as RabbitMQ does for basic.
  if (flags & PROP_CONTENT_TYPE) p.contentType = r.shortstr();
  if (flags & PROP_CONTENT_ENCODING) p.contentEncoding = r.shortstr();
  if (flags & PROP_HEADERS) p.headers = readFieldTable(r);
  if (flags & PROP_DELIVERY_MODE) p.deliveryMode = r.u8();
  if (flags & PROP_PRIORITY) p.priority = r.u8();
  if (flags & PROP_CORRELATION_ID) p.correlationId = r.shortstr();
  if (flags & PROP_REPLY_TO) p.replyTo = r.shortstr();
  if (flags & PROP_EXPIRATION) p.expiration = r.shortstr();
  if (flags & PROP_MESSAGE_ID) p.messageId = r.shortstr();
  if (flags & PROP_TIMESTAMP) p.timestamp = r.u64();
  if (flags & PROP_TYPE) p.type = r.shortstr();
  if (flags & PROP_USER_ID) p.userId = r.shortstr();
  if (flags & PROP_APP_ID) p.appId = r.shortstr();
  if (flags & PROP_CLUSTER_ID) p.clusterId = r.shortstr();
  if (r.pos !== block.length) r.fail('content header (trailing bytes)');
  return p;
}

// ---------------------------------------------------------------- encoding

const scratch = new Writer();

/** Appends a property block (flags then the set properties) to `w`. */
export function writeProperties(w: Writer, p: MessageProperties): void {
  const flagsAt = w.pos;
  w.short(0);
  let flags = 0;
  if (p.contentType != null) {
    flags |= PROP_CONTENT_TYPE;
    w.shortstr(p.contentType, 'content-type');
  }
  if (p.contentEncoding != null) {
    flags |= PROP_CONTENT_ENCODING;
    w.shortstr(p.contentEncoding, 'content-encoding');
  }
  if (p.headers != null) {
    flags |= PROP_HEADERS;
    writeFieldTable(w, p.headers);
  }
  if (p.deliveryMode != null) {
    flags |= PROP_DELIVERY_MODE;
    w.octet(p.deliveryMode);
  }
  if (p.priority != null) {
    flags |= PROP_PRIORITY;
    // a priority from elsewhere (STOMP takes any integer) out of the octet: its low byte, as RabbitMQ's
    // rabbit_binary_generator writes `<<P:8>>` (3.10.8 asked, review-s18-2 F4: STOMP priority:300 -> 44, -1 -> 255)
    w.octet(p.priority & 0xff);
  }
  if (p.correlationId != null) {
    flags |= PROP_CORRELATION_ID;
    w.shortstr(p.correlationId, 'correlation-id');
  }
  if (p.replyTo != null) {
    flags |= PROP_REPLY_TO;
    w.shortstr(p.replyTo, 'reply-to');
  }
  if (p.expiration != null) {
    flags |= PROP_EXPIRATION;
    w.shortstr(p.expiration, 'expiration');
  }
  if (p.messageId != null) {
    flags |= PROP_MESSAGE_ID;
    w.shortstr(p.messageId, 'message-id');
  }
  if (p.timestamp != null) {
    flags |= PROP_TIMESTAMP;
    // likewise its low 64 bits (`<<T:64>>`: STOMP timestamp:-5 -> 2^64-5)
    const t = p.timestamp;
    if (t >= 0 && t <= Number.MAX_SAFE_INTEGER) w.longlong(t);
    else w.int64(BigInt.asIntN(64, BigInt(Math.trunc(t))));
  }
  if (p.type != null) {
    flags |= PROP_TYPE;
    w.shortstr(p.type, 'type');
  }
  if (p.userId != null) {
    flags |= PROP_USER_ID;
    w.shortstr(p.userId, 'user-id');
  }
  if (p.appId != null) {
    flags |= PROP_APP_ID;
    w.shortstr(p.appId, 'app-id');
  }
  if (p.clusterId != null) {
    flags |= PROP_CLUSTER_ID;
    w.shortstr(p.clusterId, 'cluster-id');
  }
  w.buf.writeUInt16BE(flags, flagsAt);
}

/** The property block alone: what `Message.encodedProperties` stores. */
export function encodeProperties(p: MessageProperties): Buffer {
  writeProperties(scratch.reset(), p);
  return scratch.take();
}

/** Size of a content header frame carrying `propertyBlockLength` bytes of properties. */
export function contentHeaderFrameSize(propertyBlockLength: number): number {
  return 7 + HEADER_FIXED + propertyBlockLength + 1;
}

/** Writes a whole content header frame at `pos`; returns the position after it. */
export function writeContentHeaderFrame(
  buf: Buffer,
  pos: number,
  channel: number,
  bodySize: number,
  propertyBlock: Buffer,
  classId = CLASS_BASIC,
): number {
  buf[pos] = FRAME_HEADER;
  buf.writeUInt16BE(channel, pos + 1);
  buf.writeUInt32BE(HEADER_FIXED + propertyBlock.length, pos + 3);
  buf.writeUInt16BE(classId, pos + 7);
  buf.writeUInt16BE(0, pos + 9); // weight
  writeUInt64(buf, bodySize, pos + 11);
  const end = pos + 19 + propertyBlock.copy(buf, pos + 19);
  buf[end] = FRAME_END;
  return end + 1;
}

/** A standalone content header frame. */
export function encodeContentHeaderFrame(
  channel: number,
  bodySize: number,
  properties: MessageProperties | Buffer,
  classId = CLASS_BASIC,
): Buffer {
  const block = Buffer.isBuffer(properties) ? properties : encodeProperties(properties);
  const buf = Buffer.allocUnsafe(contentHeaderFrameSize(block.length));
  writeContentHeaderFrame(buf, 0, channel, bodySize, block, classId);
  return buf;
}
