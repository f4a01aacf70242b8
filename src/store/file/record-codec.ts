import type { Message } from '../../core/message.js';
import { StoredNative, encodeNative } from '../../core/native-forms.js';
import { ByteReader, type ByteWriter } from './binary.js';
import { crc32 } from './checksum.js';
import { readProperties, skipProperties, writeProperties, type PropertiesExtra } from './properties-codec.js';
import type { MessageIndex } from '../store.js';
import { readValue, writeValue } from './value-codec.js';

/**
 * Journal record framing: u32 LE payload length, u32 LE CRC-32 of the payload (in segment
 * format 2 XORed with the segment number's seed: checksum.ts segmentSeed), then the payload,
 * whose first byte is the record type. A torn or corrupted record fails the length or checksum
 * test and ends the readable part of its segment.
 */
export const RECORD_HEADER = 8;
/** larger lengths are corruption, not records */
export const MAX_RECORD = 1 << 30;

export const enum RecordType {
  /** binds a segment-local number to a queue name, so hot records carry a small int */
  QueueRef = 1,
  /** a message body + properties + the queues (and delivered flags) it sits in */
  Message = 2,
  /** the message left one queue */
  Remove = 3,
  /** the message was delivered from one queue */
  Delivered = 4,
  /** an entity definition (replaces the previous one with the same key) */
  Put = 5,
  /** an entity deletion by key */
  Delete = 6,
  /** the highest message id handed out so far: keeps ids growing after old segments go */
  IdMark = 7,
}

export const enum EntityKind {
  Vhost = 1,
  User = 2,
  Permission = 3,
  Exchange = 4,
  Queue = 5,
  Binding = 6,
  Policy = 7,
  Record = 8,
}

export function beginRecord(w: ByteWriter, type: RecordType): number {
  const start = w.pos;
  w.ensure(RECORD_HEADER + 1);
  w.pos += RECORD_HEADER;
  w.buf[w.pos++] = type;
  return start;
}

/** a value that cannot be encoded must not leave half a record in the buffer */
function abandonRecord(w: ByteWriter, start: number): void {
  w.pos = start;
}

/** fills in length and checksum; returns the record's size on disk */
export function endRecord(w: ByteWriter, start: number): number {
  const payloadStart = start + RECORD_HEADER;
  const len = w.pos - payloadStart;
  w.buf.writeUInt32LE(len, start);
  w.buf.writeUInt32LE((crc32(w.buf.subarray(payloadStart, w.pos)) ^ w.checksumSeed) >>> 0, start + 4);
  return w.pos - start;
}

export function writeQueueRef(w: ByteWriter, local: number, vhost: string, queue: string): number {
  const start = beginRecord(w, RecordType.QueueRef);
  w.varuint(local);
  w.str(vhost);
  w.str(queue);
  return endRecord(w, start);
}

/** a slot is `localQueueRef * 2 + deliveredBit` */
export function writeMessage(w: ByteWriter, id: number, slots: readonly number[], m: Message): number {
  const start = beginRecord(w, RecordType.Message);
  try {
    w.f64(id);
    w.varuint(slots.length);
    for (let i = 0; i < slots.length; i++) w.varuint(slots[i]!);
    writeMessagePart(w, m);
  } catch (err) {
    abandonRecord(w, start);
    throw err;
  }
  return endRecord(w, start);
}

/**
 * Where a record's message part goes on past the body: a message kept in an adapter's own
 * form (Message.native) has this byte, its protocol's name and the form's bytes, which leave
 * out the body. Records written before the body was stored once have the name right after
 * the body (it is never empty: this byte is where its length was) and the form whole, body
 * included; they are still read, and a form read from one is written back that way. The change is
 * one way: a build from before it reads this 0 as an empty protocol name (no downgrade of a data dir).
 */
const NATIVE_BESIDE_BODY = 0;

/**
 * The message part of a record (publishedAt onwards): what readMessagePart reads. A message
 * kept in an adapter's own form has that form after the body (NATIVE_BESIDE_BODY): it reads
 * back identical (records without it end at the body).
 */
export function writeMessagePart(w: ByteWriter, m: Message): void {
  w.f64(m.publishedAt);
  w.str(m.exchange);
  w.str(m.routingKey);
  writeProperties(w, m.properties, m.originalDestination);
  w.bytes(m.body);
  const native = encodeNative(m);
  if (native === undefined) return;
  if (!(m.native instanceof StoredNative && m.native.whole)) w.u8(NATIVE_BESIDE_BODY);
  w.str(m.native!.protocol);
  w.bytes(native);
}

/** a message record with new slots around the unchanged message part of an old record */
export function writeMessageCopy(
  w: ByteWriter,
  id: number,
  slots: readonly number[],
  src: Buffer,
  partStart: number,
  partEnd: number,
): number {
  const start = beginRecord(w, RecordType.Message);
  w.f64(id);
  w.varuint(slots.length);
  for (let i = 0; i < slots.length; i++) w.varuint(slots[i]!);
  w.raw(src, partStart, partEnd);
  return endRecord(w, start);
}

export function writeQueueOp(w: ByteWriter, type: RecordType.Remove | RecordType.Delivered, local: number, id: number): number {
  const start = beginRecord(w, type);
  w.varuint(local);
  w.f64(id);
  return endRecord(w, start);
}

export function writePut(w: ByteWriter, kind: EntityKind, value: unknown): number {
  const start = beginRecord(w, RecordType.Put);
  try {
    w.u8(kind);
    writeValue(w, value);
  } catch (err) {
    abandonRecord(w, start);
    throw err;
  }
  return endRecord(w, start);
}

export function writeDelete(w: ByteWriter, kind: EntityKind, key: string): number {
  const start = beginRecord(w, RecordType.Delete);
  w.u8(kind);
  w.str(key);
  return endRecord(w, start);
}

export function writeIdMark(w: ByteWriter, maxId: number): number {
  const start = beginRecord(w, RecordType.IdMark);
  w.f64(maxId);
  return endRecord(w, start);
}

/** The head of a message record: enough to decide whether it is live and where its message part is. */
export interface MessageHead {
  id: number;
  slots: number[];
  /** offset of the message part (publishedAt onwards) in the buffer */
  partStart: number;
}

/** `r` positioned just after the type byte */
export function readMessageHead(r: ByteReader): MessageHead {
  const id = r.f64();
  const n = r.varuint();
  const slots = new Array<number>(n);
  for (let i = 0; i < n; i++) slots[i] = r.varuint();
  return { id, slots, partStart: r.pos };
}

/** readMessagePart's scratch for what the properties part holds besides properties (reads are synchronous) */
const extra: PropertiesExtra = {};

/** `r` positioned at the message part */
export function readMessagePart(r: ByteReader): Message {
  const publishedAt = r.f64();
  const exchange = r.str();
  const routingKey = r.str();
  extra.originalDestination = undefined;
  const properties = readProperties(r, extra);
  const body = r.bytesCopy();
  const m: Message = { exchange, routingKey, properties, body, publishedAt };
  if (extra.originalDestination !== undefined) m.originalDestination = extra.originalDestination;
  if (r.pos >= r.end) return m;
  const whole = r.buf[r.pos] !== NATIVE_BESIDE_BODY;
  if (!whole) r.skip(1);
  const protocol = r.str();
  m.native = new StoredNative(protocol, r.bytesCopy(), body, whole);
  return m;
}

/**
 * `r` positioned just after the type byte: what places the message in a queue, into `out`,
 * without decoding the rest (nothing allocated unless it has an expiration).
 */
export function readMessageIndex(r: ByteReader, out: MessageIndex): void {
  r.skip(8);
  for (let n = r.varuint(); n > 0; n--) r.varuint();
  out.publishedAt = r.f64();
  r.skipBytes();
  r.skipBytes();
  skipProperties(r, out);
  out.bodyLength = r.varuint();
}

export function readQueueRef(r: ByteReader): { local: number; vhost: string; queue: string } {
  const local = r.varuint();
  const vhost = r.str();
  const queue = r.str();
  return { local, vhost, queue };
}

export function readPut(r: ByteReader): { kind: EntityKind; value: unknown } {
  const kind = r.u8() as EntityKind;
  return { kind, value: readValue(r) };
}

export function readDelete(r: ByteReader): { kind: EntityKind; key: string } {
  const kind = r.u8() as EntityKind;
  return { kind, key: r.str() };
}

export { ByteReader };
