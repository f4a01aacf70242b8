/**
 * The packets an MQTT session moves by the hundred thousand — PUBLISH, PUBACK, PUBREC,
 * PUBREL, PUBCOMP, PINGREQ — read and written here on Buffer, without mqtt-packet's
 * parser (its buffer list, packet objects and debug calls cost a third of the broker's
 * CPU under load). Only their plain forms: anything else (an MQTT 5 PUBLISH with
 * properties, an ack with a reason code or properties, a malformed packet) returns
 * undefined / -1 and goes to mqtt-packet, which reads it and reports its errors as before.
 */
import type { IPublishPacket } from 'mqtt-packet';

export const PUBLISH = 3;
export const PUBACK = 4;
export const PUBREC = 5;
export const PUBREL = 6;
export const PUBCOMP = 7;
export const PINGREQ = 12;

/** payloads up to this size are copied out of the socket's chunk (which they would otherwise keep alive) */
const COPY_PAYLOAD_UP_TO = 4096;

/** the offset after the fixed header of a whole packet starting at `start` (its length bytes are known to be well-formed) */
export function afterFixedHeader(p: Buffer, start: number): number {
  let h = start + 1;
  while (p[h++]! & 0x80);
  return h;
}

/**
 * A whole PUBLISH packet, bytes [start, end) of `p`, as mqtt-packet would give it, or
 * undefined for the forms left to mqtt-packet: QoS 3, a packet too short for what it
 * declares, MQTT 5 properties.
 */
export function decodePublish(p: Buffer, version: number, start = 0, end = p.length): IPublishPacket | undefined {
  const flags = p[start]! & 0x0f;
  const qos = (flags >> 1) & 3;
  if (qos === 3) return undefined;
  const h = afterFixedHeader(p, start);
  const n = end;
  if (h + 2 > n) return undefined;
  const topicStart = h + 2;
  const topicEnd = topicStart + ((p[h]! << 8) | p[h + 1]!);
  let at = topicEnd;
  let messageId: number | undefined;
  if (qos > 0) {
    if (at + 2 > n) return undefined;
    messageId = (p[at]! << 8) | p[at + 1]!;
    at += 2;
  } else if (at > n) return undefined;
  if (version === 5) {
    if (at >= n || p[at] !== 0) return undefined;
    at++;
  }
  const topic = topicName(p, topicStart, topicEnd);
  const size = n - at;
  let payload: Buffer;
  if (size <= COPY_PAYLOAD_UP_TO && size * 2 < p.buffer.byteLength) {
    payload = Buffer.allocUnsafe(size);
    p.copy(payload, 0, at, n);
  } else payload = p.subarray(at, n);
  const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos: qos as 0 | 1 | 2, retain: (flags & 1) !== 0, dup: (flags & 8) !== 0 };
  if (messageId !== undefined) packet.messageId = messageId;
  return packet;
}

/** the last topic name read, as bytes and as a string: a publisher usually repeats its topic */
let lastNameBytes = Buffer.alloc(0);
let lastName = '';

function topicName(p: Buffer, start: number, end: number): string {
  const n = end - start;
  if (n === lastNameBytes.length && n <= 256) {
    let same = true;
    for (let i = 0; i < n; i++) {
      if (p[start + i] !== lastNameBytes[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastName;
  }
  let ascii = true;
  for (let i = start; i < end; i++) {
    if (p[i]! > 0x7f) {
      ascii = false;
      break;
    }
  }
  lastName = p.toString(ascii ? 'latin1' : 'utf8', start, end);
  lastNameBytes = Buffer.from(p.subarray(start, end));
  return lastName;
}

/**
 * The packet id of a plain PUBACK / PUBREC / PUBREL / PUBCOMP (two bytes, the reserved
 * flags right), bytes [start, end) of `p`, or -1 for any other form.
 */
export function plainAckId(p: Buffer, type: number, start = 0, end = p.length): number {
  if (end - start !== 4 || p[start + 1] !== 2 || (p[start]! & 0x0f) !== (type === PUBREL ? 2 : 0)) return -1;
  return (p[start + 2]! << 8) | p[start + 3]!;
}

/** the bytes of an MQTT topic name, kept for the last topic written (a fanout writes one topic many times) */
let lastTopic = '';
let lastTopicBytes = Buffer.alloc(0);

export function topicBytes(topic: string): Buffer {
  if (topic !== lastTopic) {
    lastTopicBytes = Buffer.from(topic, 'utf8');
    lastTopic = topic;
  }
  return lastTopicBytes;
}

function varLength(n: number): number {
  return n < 128 ? 1 : n < 16384 ? 2 : n < 2097152 ? 3 : 4;
}

/** the size of a PUBLISH without properties, all of it or up to its payload */
export function publishHeaderSize(topic: Buffer, payloadLength: number, qos: number, version: number): number {
  const remaining = 2 + topic.length + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payloadLength;
  return 1 + varLength(remaining) + remaining - payloadLength;
}

/**
 * Write a PUBLISH (no MQTT 5 properties) into `out` at `at`, its payload too unless
 * `withPayload` is false (the caller writes it after, uncopied). Returns the end offset.
 */
export function writePublish(
  out: Buffer,
  at: number,
  topic: Buffer,
  payload: Buffer,
  qos: number,
  retain: boolean,
  dup: boolean,
  messageId: number,
  version: number,
  withPayload: boolean,
): number {
  const tl = topic.length;
  let remaining = 2 + tl + (qos > 0 ? 2 : 0) + (version === 5 ? 1 : 0) + payload.length;
  out[at++] = 0x30 | (dup ? 8 : 0) | (qos << 1) | (retain ? 1 : 0);
  do {
    let b = remaining & 0x7f;
    remaining = Math.floor(remaining / 128);
    if (remaining > 0) b |= 0x80;
    out[at++] = b;
  } while (remaining > 0);
  out[at++] = tl >> 8;
  out[at++] = tl & 0xff;
  if (tl <= 32) for (let i = 0; i < tl; i++) out[at++] = topic[i]!;
  else at += topic.copy(out, at);
  if (qos > 0) {
    out[at++] = messageId >> 8;
    out[at++] = messageId & 0xff;
  }
  if (version === 5) out[at++] = 0;
  if (withPayload) {
    const pl = payload.length;
    if (pl <= 32) for (let i = 0; i < pl; i++) out[at++] = payload[i]!;
    else at += payload.copy(out, at);
  }
  return at;
}

/**
 * Write a PUBACK / PUBREC / PUBREL / PUBCOMP: 4 bytes, or 5 with an MQTT 5 reason code
 * other than success. Returns the end offset.
 */
export function writeAck(out: Buffer, at: number, type: number, messageId: number, reasonCode: number): number {
  out[at++] = (type << 4) | (type === PUBREL ? 2 : 0);
  out[at++] = reasonCode === 0 ? 2 : 3;
  out[at++] = messageId >> 8;
  out[at++] = messageId & 0xff;
  if (reasonCode !== 0) out[at++] = reasonCode;
  return at;
}
