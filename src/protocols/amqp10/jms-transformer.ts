import { isUtf8 } from 'node:buffer';
import { JMS_MSG_TYPE, JmsMsgType } from '../../core/activemq-names.js';
import type { FieldTable, FieldValue } from '../../core/fields.js';
import type { Message, MessageProperties } from '../../core/message.js';
import { expiredBeforeArrival, ttlOfAbsoluteExpiry } from '../../core/absolute-expiry.js';
// the JMS Map and Stream bodies are held in the core as ActiveMQ holds them: OpenWire's
// marshalled primitives (MarshallingSupport), so an OpenWire consumer reads them as they are
import { Reader, Writer } from '../openwire/codec/data.js';
import { PType, decodePrimitiveMap, encodePrimitiveMap, readPrimitive, writePrimitive, type Typed as OwTyped } from '../openwire/codec/primitive.js';
import type { Encoder } from './codec/encoder.js';
import { toComposite, writeComposite } from './codec/composites.js';
import { Decoder } from './codec/decoder.js';
import { Amqp10DecodeError } from './codec/errors.js';
import { Section, writeBody, type AmqpMessage, type DecodedMessage, type MessageBody, type MessageHeader } from './codec/message.js';
import { decodeSectionTyped } from './codec/typed-decoder.js';
import { AmqpMap, Described, Sym, Typed, Uuid, ubyte, uint, type AmqpValue } from './codec/types.js';

/**
 * ActiveMQ 5.x's AMQP JMS transformer (activemq-amqp JMSMappingInboundTransformer,
 * InboundTransformer, AMQPNativeInboundTransformer, JMSMappingOutboundTransformer,
 * AutoOutboundTransformer, AmqpMessageSupport, AmqpContentTypeSupport,
 * AMQPMessageIdHelper; 5.19): how an AMQP 1.0 message becomes the JMS message the
 * broker holds, and back.
 *
 * Inbound, the body says the JMS type (ActiveMQ reads no x-opt-jms-msg-type): an
 * amqp-value string or null is a TextMessage, binary a BytesMessage (an ObjectMessage with
 * content-type application/x-java-serialized-object), a map a MapMessage, a list or
 * amqp-sequence a StreamMessage; data sections are bytes, an object, or text when the
 * content type is textual UTF-8. What the JMS message has no field for travels in JMS_AMQP_*
 * properties: JMS_AMQP_ORIGINAL_ENCODING (the body's AMQP form), JMS_AMQP_HEADER,
 * JMS_AMQP_PROPERTIES, JMS_AMQP_FirstAcquirer, JMS_AMQP_ContentType, JMS_AMQP_ContentEncoding,
 * JMS_AMQP_ReplyToGroupID, JMS_AMQP_MA_<annotation> for every message annotation,
 * JMS_AMQP_FT_<key> for the footer and JMS_AMQP_MESSAGE_FORMAT. A message JMS cannot hold
 * (a map with a uint, a symbol key, a timestamp property...) falls back as ActiveMQ's does
 * to a BytesMessage whose content is the whole AMQP encoding, marked JMS_AMQP_NATIVE.
 *
 * Outbound, the JMS message is written back: the body in its original AMQP form when
 * JMS_AMQP_ORIGINAL_ENCODING says it, else text as amqp-value string, bytes as data, a map
 * as amqp-value map, a stream as amqp-value list and an object as data with the
 * serialized-object content type; the JMS_AMQP_* properties back into their sections,
 * x-opt-jms-dest and x-opt-jms-reply-to annotations, the other properties as
 * application-properties (ActiveMQ writes no x-opt-jms-msg-type of its own).
 */

export const JMS_AMQP_PREFIX = 'JMS_AMQP_';
const NATIVE = 'JMS_AMQP_NATIVE';
const ORIGINAL_ENCODING = 'JMS_AMQP_ORIGINAL_ENCODING';
const MESSAGE_FORMAT = 'JMS_AMQP_MESSAGE_FORMAT';
const HEADER = 'JMS_AMQP_HEADER';
const PROPERTIES = 'JMS_AMQP_PROPERTIES';
const FIRST_ACQUIRER = 'JMS_AMQP_FirstAcquirer';
const CONTENT_TYPE = 'JMS_AMQP_ContentType';
const CONTENT_ENCODING = 'JMS_AMQP_ContentEncoding';
const REPLYTO_GROUP_ID = 'JMS_AMQP_ReplyToGroupID';
const MA_PREFIX = 'JMS_AMQP_MA_';
const DA_PREFIX = 'JMS_AMQP_DA_';
const FT_PREFIX = 'JMS_AMQP_FT_';
const SCHEDULED_PREFIX = 'AMQ_SCHEDULED_';

/** AmqpMessageSupport's body encodings (JMS_AMQP_ORIGINAL_ENCODING) */
export const Encoding = { unknown: 0, null: 1, data: 2, sequence: 3, valueNull: 4, valueString: 5, valueBinary: 6, valueMap: 7, valueList: 8 } as const;

export const SERIALIZED_JAVA_OBJECT = 'application/x-java-serialized-object';
const OCTET_STREAM = 'application/octet-stream';
const JMS_DEST = 'x-opt-jms-dest';
const JMS_REPLY_TO = 'x-opt-jms-reply-to';
const GROUP_ID = 'JMSXGroupID';
const GROUP_SEQ = 'JMSXGroupSeq';
const DEFAULT_PRIORITY = 4;

/** thrown where ActiveMQ's JMS transformer throws, to fall back to the native form */
class NotJms extends Error {}

// ---- inbound -----------------------------------------------------------------------

export interface JmsInbound {
  properties: MessageProperties;
  body: Buffer;
  /** absolute-expiry-time when it was already past (Message.expiredBeforeArrival) */
  expiredBeforeArrival?: number;
}

/** the core message (ActiveMQ's JMS message) for an AMQP 1.0 delivery, with the fallbacks ActiveMQ has */
export function activemqInbound(decoded: DecodedMessage, payload: Buffer, messageFormat: number, now: number): JmsInbound {
  const m = decoded.message;
  let headers: FieldTable;
  try {
    headers = populate(m, now);
  } catch (e) {
    if (!(e instanceof NotJms)) throw e;
    // AMQPRawInboundTransformer: the properties cannot be read either
    headers = { [NATIVE]: true };
    if (messageFormat !== 0) headers[MESSAGE_FORMAT] = messageFormat;
    return { properties: { deliveryMode: 2, priority: DEFAULT_PRIORITY, timestamp: Math.floor(now / 1000), headers }, body: payload };
  }
  const properties = jmsHeaders(m, headers, now);
  if (messageFormat !== 0) headers[MESSAGE_FORMAT] = messageFormat;
  let body: Buffer;
  try {
    const b = jmsBody(m, decoded, payload);
    body = b.body;
    headers[ORIGINAL_ENCODING] = b.encoding;
    if (b.type !== JmsMsgType.Bytes) headers[JMS_MSG_TYPE] = b.type;
  } catch (e) {
    if (!(e instanceof NotJms) && !(e instanceof Amqp10DecodeError)) throw e;
    // AMQPNativeInboundTransformer: a BytesMessage holding the whole AMQP encoding
    headers[NATIVE] = true;
    body = payload;
  }
  const past = expiredBeforeArrival(m.properties?.absoluteExpiryTime?.getTime() ?? 0, now);
  return past !== undefined ? { properties, body, expiredBeforeArrival: past } : { properties, body };
}

/** InboundTransformer.populateMessage: the JMS_AMQP_* properties and application properties */
function populate(m: AmqpMessage, now: number): FieldTable {
  const h: FieldTable = {};
  if (m.header) {
    h[HEADER] = true;
    if (m.header.firstAcquirer !== undefined) h[FIRST_ACQUIRER] = m.header.firstAcquirer;
  }
  const ma = m.messageAnnotations;
  if (ma) {
    for (const [k, v] of ma.entries) {
      const key = keyString(k);
      if (v !== null && v !== undefined) scheduled(h, key, v, now);
      h[MA_PREFIX + key] = jmsProperty(v);
    }
  }
  const ap = m.applicationProperties;
  if (ap) for (const [k, v] of ap.entries) h[keyString(k)] = jmsProperty(v);
  const p = m.properties;
  if (p) {
    h[PROPERTIES] = true;
    if (p.contentType !== undefined) h[CONTENT_TYPE] = p.contentType;
    if (p.contentEncoding !== undefined) h[CONTENT_ENCODING] = p.contentEncoding;
    if (p.groupId !== undefined) h[GROUP_ID] = p.groupId;
    if (p.groupSequence !== undefined) h[GROUP_SEQ] = p.groupSequence;
    if (p.replyToGroupId !== undefined) h[REPLYTO_GROUP_ID] = p.replyToGroupId;
  }
  if (m.footer) for (const [k, v] of m.footer.entries) h[FT_PREFIX + keyString(k)] = jmsProperty(v);
  return h;
}

/** Qpid JMS's delivery-time annotations become ActiveMQ's scheduler properties */
function scheduled(h: FieldTable, key: string, v: AmqpValue, now: number): void {
  const n = typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : v instanceof Date ? v.getTime() : undefined;
  if (key === 'x-opt-delivery-time' && n !== undefined && n - now > 0) h['AMQ_SCHEDULED_DELAY'] = n - now;
  else if (key === 'x-opt-delivery-delay' && n !== undefined && n > 0) h['AMQ_SCHEDULED_DELAY'] = n;
  else if (key === 'x-opt-delivery-repeat' && n !== undefined && n > 0) h['AMQ_SCHEDULED_REPEAT'] = n;
  else if (key === 'x-opt-delivery-period' && n !== undefined && n > 0) h['AMQ_SCHEDULED_PERIOD'] = n;
  else if (key === 'x-opt-delivery-cron' && typeof v === 'string') h['AMQ_SCHEDULED_CRON'] = v;
}

/** InboundTransformer.setProperty: unsigned numbers widen, symbols and binaries become strings; what JMS cannot hold is refused */
function jmsProperty(v: AmqpValue): FieldValue {
  if (v === null || v === undefined || typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return v;
  if (v instanceof Sym) return v.value;
  if (Buffer.isBuffer(v)) return binaryText(v);
  if (Array.isArray(v)) return v.map(jmsProperty);
  if (v instanceof AmqpMap) {
    const t: FieldTable = {};
    for (const [k, x] of v.entries) t[keyString(k)] = jmsProperty(x);
    return t;
  }
  // a timestamp, uuid, described value, decimal: not a JMS property type (checkValidObject)
  throw new NotJms();
}

/** proton-j Binary.toString: printable ASCII as it is, the rest as \xNN */
function binaryText(b: Buffer): string {
  let s = '';
  for (const c of b) s += c > 31 && c < 127 && c !== 0x5c ? String.fromCharCode(c) : `\\x${c.toString(16).padStart(2, '0')}`;
  return s;
}

function keyString(k: AmqpValue): string {
  return k instanceof Sym ? k.value : String(k);
}

/** the JMS headers (persistence, priority, ids, times) from the AMQP header and properties */
function jmsHeaders(m: AmqpMessage, headers: FieldTable, now: number): MessageProperties {
  const out: MessageProperties = { deliveryMode: m.header?.durable ? 2 : 1, priority: m.header?.priority ?? DEFAULT_PRIORITY, headers };
  const p = m.properties;
  let expiration: number | undefined;
  if (p) {
    const mid = baseMessageId(p.messageId);
    if (mid !== undefined) out.messageId = mid;
    const cid = baseMessageId(p.correlationId);
    if (cid !== undefined) out.correlationId = cid;
    if (p.userId !== undefined) out.userId = p.userId.toString('utf8');
    if (p.subject !== undefined) out.type = p.subject;
    if (p.replyTo !== undefined) out.replyTo = stompDestination(p.replyTo, m.messageAnnotations?.get(JMS_REPLY_TO));
    if (p.creationTime !== undefined) out.timestamp = Math.floor(p.creationTime.getTime() / 1000);
    if (p.absoluteExpiryTime !== undefined && p.absoluteExpiryTime.getTime() !== 0) expiration = p.absoluteExpiryTime.getTime();
  }
  if (expiration === undefined && m.header?.ttl !== undefined && m.header.ttl !== 0) expiration = now + m.header.ttl;
  const ttl = expiration !== undefined ? ttlOfAbsoluteExpiry(expiration, now) : undefined;
  if (ttl !== undefined) out.expiration = ttl;
  return out;
}

/** AMQPMessageIdHelper.toBaseMessageIdString */
export function baseMessageId(v: AmqpValue | undefined): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return /^AMQP_(STRING|UUID|ULONG|BINARY):/.test(v) ? `AMQP_STRING:${v}` : v;
  if (v instanceof Uuid) return `AMQP_UUID:${v.toString()}`;
  if (typeof v === 'number' || typeof v === 'bigint') return `AMQP_ULONG:${v}`;
  if (Buffer.isBuffer(v)) return `AMQP_BINARY:${v.toString('hex').toUpperCase()}`;
  return String(v);
}

/** AMQPMessageIdHelper.toIdObject: the AMQP id a prefixed text stands for (the text itself if it does not parse) */
export function idObject(text: string): AmqpValue {
  if (text.startsWith('AMQP_UUID:')) return Uuid.parse(text.slice(10)) ?? text;
  if (text.startsWith('AMQP_ULONG:')) {
    const digits = text.slice(11);
    if (!/^\d+$/.test(digits)) return text;
    const n = BigInt(digits);
    return n < 2n ** 64n ? new Typed('ulong', n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n) : text;
  }
  if (text.startsWith('AMQP_STRING:')) return text.slice(12);
  if (text.startsWith('AMQP_BINARY:')) {
    const hex = text.slice(12);
    return hex.length % 2 === 0 && /^[0-9a-fA-F]*$/.test(hex) ? Buffer.from(hex, 'hex') : text;
  }
  return text;
}

/** `queue://q` (ActiveMQDestination.createDestination, a plain name a queue unless annotated) as the core's STOMP-style name */
function stompDestination(address: string, type: AmqpValue | undefined): string {
  for (const [scheme, kind] of [['queue://', 'queue'], ['temp-queue://', 'temp-queue'], ['topic://', 'topic'], ['temp-topic://', 'temp-topic']] as const) {
    if (address.startsWith(scheme)) return `/${kind}/${address.slice(scheme.length)}`;
  }
  if (type === 1 || type === 3) return `/topic/${address}`;
  return `/queue/${address}`;
}

interface JmsBody {
  type: number;
  encoding: number;
  body: Buffer;
}

/** JMSMappingInboundTransformer.createMessage: the JMS type and body of an AMQP body */
function jmsBody(m: AmqpMessage, decoded: DecodedMessage, payload: Buffer): JmsBody {
  const body = m.body;
  const contentType = m.properties?.contentType;
  switch (body.kind) {
    case 'none': {
      const type =
        contentType === SERIALIZED_JAVA_OBJECT
          ? JmsMsgType.Object
          : contentType === OCTET_STREAM || contentType === undefined
            ? JmsMsgType.Bytes
            : textualCharset(contentType) !== undefined
              ? JmsMsgType.Text
              : JmsMsgType.Message;
      return { type, encoding: Encoding.null, body: Buffer.alloc(0) };
    }
    case 'data': {
      const bytes = body.chunks.length === 1 ? body.chunks[0]! : Buffer.concat(body.chunks);
      let type: number = JmsMsgType.Bytes;
      if (contentType === SERIALIZED_JAVA_OBJECT) type = JmsMsgType.Object;
      else if (contentType !== OCTET_STREAM && contentType !== undefined && textualCharset(contentType) === 'UTF-8' && isUtf8(bytes)) type = JmsMsgType.Text;
      return { type, encoding: Encoding.data, body: bytes };
    }
    case 'sequence': {
      const typed = decodeSequences(payload, decoded);
      return { type: JmsMsgType.Stream, encoding: Encoding.sequence, body: streamContent(typed) };
    }
    case 'value': {
      const v = body.value;
      if (v === null || typeof v === 'string') return { type: JmsMsgType.Text, encoding: v === null ? Encoding.valueNull : Encoding.valueString, body: Buffer.from(v ?? '', 'utf8') };
      if (Buffer.isBuffer(v)) return { type: contentType === SERIALIZED_JAVA_OBJECT ? JmsMsgType.Object : JmsMsgType.Bytes, encoding: Encoding.valueBinary, body: v };
      if (Array.isArray(v) && !(v instanceof Typed)) {
        const typed = decodeSectionTyped(payload, decoded.bodyStart, decoded.bodyEnd).value as AmqpValue[];
        return { type: JmsMsgType.Stream, encoding: Encoding.valueList, body: streamContent(typed) };
      }
      if (v instanceof AmqpMap) {
        const typed = decodeSectionTyped(payload, decoded.bodyStart, decoded.bodyEnd).value as AmqpMap;
        return { type: JmsMsgType.Map, encoding: Encoding.valueMap, body: mapContent(typed) };
      }
      // anything else (a symbol, a number, a described value): "Unable to encode to ActiveMQ JMS Message"
      throw new NotJms();
    }
  }
}

/** every amqp-sequence section's items, numbers typed */
function decodeSequences(payload: Buffer, decoded: DecodedMessage): AmqpValue[] {
  const out: AmqpValue[] = [];
  let at = decoded.bodyStart;
  while (at < decoded.bodyEnd) {
    const section = decodeSectionTyped(payload, at, decoded.bodyEnd);
    if (Array.isArray(section.value)) out.push(...section.value);
    at = section.end;
  }
  return out;
}

/** StreamMessage.writeObject for each item: Java primitives, strings and byte[] only (a proton Binary is not byte[]) */
function streamContent(items: AmqpValue[]): Buffer {
  const w = new Writer(64);
  for (const item of items) writePrimitive(w, javaValue(item, false));
  return Buffer.from(w.finish());
}

/** MapMessage.setObject for each entry: string keys; binary as byte[]; nested maps and lists (nestedMapAndListEnabled) */
function mapContent(map: AmqpMap): Buffer {
  const out = new Map<string, OwTyped>();
  for (const [k, v] of map.entries) {
    if (typeof k !== 'string') throw new NotJms();
    out.set(k, Buffer.isBuffer(v) ? { t: PType.ByteArray, v } : javaValue(v, true));
  }
  return encodePrimitiveMap(out);
}

/** the Java object proton-j decodes an AMQP value to, when JMS takes it; else NotJms */
function javaValue(v: AmqpValue, nestedAllowed: boolean): OwTyped {
  if (v === null || v === undefined) return { t: PType.Null, v: null };
  if (typeof v === 'boolean') return { t: PType.Boolean, v };
  if (typeof v === 'string') return { t: PType.String, v };
  if (v instanceof Typed) {
    switch (v.type) {
      case 'byte':
        return { t: PType.Byte, v: v.value as number };
      case 'short':
        return { t: PType.Short, v: v.value as number };
      case 'int':
        return { t: PType.Integer, v: v.value as number };
      case 'long':
        return { t: PType.Long, v: v.value as number | bigint };
      case 'float':
        return { t: PType.Float, v: v.value as number };
      case 'double':
        return { t: PType.Double, v: v.value as number };
      case 'char':
        return { t: PType.Char, v: v.value as string };
    }
    throw new NotJms();
  }
  if (nestedAllowed && v instanceof AmqpMap) {
    const out = new Map<string, OwTyped>();
    for (const [k, x] of v.entries) {
      if (typeof k !== 'string') throw new NotJms();
      out.set(k, javaValue(x, true));
    }
    return { t: PType.Map, v: out };
  }
  if (nestedAllowed && Array.isArray(v)) return { t: PType.List, v: v.map((x) => javaValue(x, true)) };
  throw new NotJms();
}

/** AmqpContentTypeSupport.parseContentTypeForTextualCharset: the charset of a textual type (UTF-8 unless it says), else undefined */
export function textualCharset(contentType: string): string | undefined {
  const slash = contentType.indexOf('/');
  if (slash < 0) return undefined;
  const type = contentType.slice(0, slash).toLowerCase().trim();
  let sub = contentType.slice(slash + 1).toLowerCase().trim();
  let params: string | undefined;
  const semi = sub.indexOf(';');
  if (semi >= 0) {
    params = sub.slice(semi + 1);
    sub = sub.slice(0, semi).trim();
  }
  if (!sub) return undefined;
  const textual =
    type === 'text' ||
    (type === 'application' && (sub === 'xml' || sub === 'json' || sub === 'javascript' || sub.endsWith('+xml') || sub.endsWith('+json') || sub === 'xml-dtd' || sub === 'ecmascript'));
  if (!textual) return undefined;
  for (const param of (params ?? '').split(';')) {
    const eq = param.indexOf('=');
    if (eq >= 0 && param.slice(0, eq).trim().toLowerCase() === 'charset') {
      let value = param.slice(eq + 1).trim();
      if (value.length > 1 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
      return value.toUpperCase();
    }
  }
  return 'UTF-8';
}


// ---- outbound ----------------------------------------------------------------------

export interface JmsOutbound {
  /** the entry's prior deliveries that failed (delivery-count in the header) */
  failedDeliveries: number;
  firstAcquirer: boolean;
  /** the message's queue is a temporary one (ActiveMQ's temp-queue://: x-opt-jms-dest 2) */
  temporaryQueue?: boolean;
}

/**
 * JMSMappingOutboundTransformer.destinationType of the message's own destination: queue 0,
 * topic 1, temporary queue 2. (A temporary topic, 3, is OpenWire's alone: the core does not
 * know a topic name as temporary, so its messages say 1.)
 */
export function jmsDestinationType(msg: Message, temporaryQueue: boolean | undefined): number {
  if (msg.exchange === 'amq.topic') return 1;
  return temporaryQueue ? 2 : 0;
}

/** the transfer's message-format: ActiveMQ sends JMS_AMQP_MESSAGE_FORMAT (the format the message came with), else 0 */
export function jmsMessageFormat(msg: Message): number {
  const f = msg.properties.headers?.[MESSAGE_FORMAT];
  return typeof f === 'number' && Number.isInteger(f) && f >= 0 && f <= 0xffffffff ? f : 0;
}

/** JMSMappingOutboundTransformer (AMQPNativeOutboundTransformer for a JMS_AMQP_NATIVE message): a whole delivery payload */
export function writeActiveMqMessage(e: Encoder, msg: Message, out: JmsOutbound, now: number): void {
  const p = msg.properties;
  const headers = p.headers ?? {};
  if (headers[NATIVE] === true) return writeNative(e, msg.body, out.failedDeliveries);
  const type = typeof headers[JMS_MSG_TYPE] === 'number' ? (headers[JMS_MSG_TYPE] as number) : JmsMsgType.Bytes;
  const encoding = typeof headers[ORIGINAL_ENCODING] === 'number' ? (headers[ORIGINAL_ENCODING] as number) : Encoding.unknown;
  let contentType = typeof headers[CONTENT_TYPE] === 'string' ? (headers[CONTENT_TYPE] as string) : p.contentType;
  const body = amqpBody(type, encoding, msg.body);
  if (type === JmsMsgType.Object && typeof headers[CONTENT_TYPE] !== 'string') contentType = SERIALIZED_JAVA_OBJECT;

  const expiration = p.expiration !== undefined && Number.isFinite(Number(p.expiration)) ? msg.publishedAt + Number(p.expiration) : undefined;
  const firstAcquirer = typeof headers[FIRST_ACQUIRER] === 'boolean' ? (headers[FIRST_ACQUIRER] as boolean) : out.firstAcquirer ? undefined : false;
  writeComposite(e, {
    $: 'header',
    durable: p.deliveryMode === 2 || undefined,
    priority: p.priority !== undefined && p.priority !== DEFAULT_PRIORITY ? ubyte(p.priority) : undefined,
    ttl: expiration !== undefined ? Math.min(0xffffffff, Math.max(1, expiration - now)) : undefined,
    firstAcquirer,
    deliveryCount: out.failedDeliveries > 0 ? out.failedDeliveries : undefined,
  });

  const da = new AmqpMap();
  const ma = new AmqpMap();
  const destType = jmsDestinationType(msg, out.temporaryQueue);
  ma.set(new Sym(JMS_DEST), ubyte(destType));
  if (p.replyTo !== undefined) {
    const t = destinationType(p.replyTo);
    if (t !== undefined) ma.set(new Sym(JMS_REPLY_TO), ubyte(t));
  }
  const ap = new AmqpMap();
  const footer = new AmqpMap();
  let contentEncoding = p.contentEncoding;
  let replyToGroupId: string | undefined;
  for (const key in headers) {
    const v = headers[key];
    if (v === undefined) continue;
    if (key.startsWith(JMS_AMQP_PREFIX)) {
      // the sections ActiveMQ keeps in JMS_AMQP_* properties go back where they came from
      if (key.startsWith(MA_PREFIX)) ma.set(new Sym(key.slice(MA_PREFIX.length)), annotationValue(v));
      else if (key.startsWith(DA_PREFIX)) da.set(new Sym(key.slice(DA_PREFIX.length)), annotationValue(v));
      else if (key.startsWith(FT_PREFIX)) footer.set(new Sym(key.slice(FT_PREFIX.length)), annotationValue(v));
      else if (key === CONTENT_ENCODING) contentEncoding = String(v);
      else if (key === REPLYTO_GROUP_ID) replyToGroupId = String(v);
      else if (key !== NATIVE && key !== ORIGINAL_ENCODING && key !== MESSAGE_FORMAT && key !== HEADER && key !== PROPERTIES && key !== FIRST_ACQUIRER && key !== CONTENT_TYPE) {
        ap.entries.push([key, annotationValue(v)]);
      }
      continue;
    }
    if (key === JMS_MSG_TYPE || key === GROUP_ID || key === GROUP_SEQ || key === 'x-mqtt-dup' || key.startsWith(SCHEDULED_PREFIX)) continue;
    // nested tables are no application property (AMQP 1.0 allows simple types only)
    if (typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !(v instanceof Date)) continue;
    ap.entries.push([key === 'x-mqtt-publish-qos' ? 'ActiveMQ.MQTT.QoS' : key, annotationValue(v)]);
  }
  if (da.size) e.described(Section.deliveryAnnotations, da);
  e.described(Section.messageAnnotations, ma);

  const props: Record<string, unknown> = {};
  if (p.messageId !== undefined) props.messageId = idObject(p.messageId);
  if (p.userId !== undefined) props.userId = Buffer.from(p.userId, 'utf8');
  props.to = `${destType === 1 ? 'topic' : destType === 2 ? 'temp-queue' : 'queue'}://${msg.routingKey}`;
  if (p.type !== undefined) props.subject = p.type;
  if (p.replyTo !== undefined) props.replyTo = qualifiedName(p.replyTo);
  if (p.correlationId !== undefined) props.correlationId = idObject(p.correlationId);
  if (contentType !== undefined) props.contentType = new Sym(contentType);
  if (contentEncoding !== undefined) props.contentEncoding = new Sym(contentEncoding);
  if (expiration !== undefined) props.absoluteExpiryTime = new Date(expiration);
  props.creationTime = new Date(p.timestamp !== undefined ? p.timestamp * 1000 : msg.publishedAt);
  const group = headers[GROUP_ID];
  if (typeof group === 'string') props.groupId = group;
  const seq = headers[GROUP_SEQ];
  if (typeof seq === 'number' && seq > 0) props.groupSequence = uint(seq);
  if (replyToGroupId !== undefined) props.replyToGroupId = replyToGroupId;
  writeComposite(e, { $: 'properties', ...props });
  if (ap.size) e.described(Section.applicationProperties, ap);
  if (body) writeBody(e, body);
  if (footer.size) e.described(Section.footer, footer);
}

/** the AMQP body of a JMS message of `type` whose body the core holds as `content` */
function amqpBody(type: number, encoding: number, content: Buffer): MessageBody | undefined {
  switch (type) {
    case JmsMsgType.Message:
      return undefined;
    case JmsMsgType.Text:
      if (encoding === Encoding.null) return undefined;
      if (encoding === Encoding.data) return { kind: 'data', chunks: [content] };
      if (encoding === Encoding.valueNull && content.length === 0) return { kind: 'value', value: null };
      return { kind: 'value', value: content.toString('utf8') };
    case JmsMsgType.Map: {
      const map = new AmqpMap();
      if (content.length) for (const [k, v] of decodePrimitiveMap(content)) map.entries.push([k, amqpOf(v)]);
      return { kind: 'value', value: map };
    }
    case JmsMsgType.Stream: {
      const items: AmqpValue[] = [];
      const r = new Reader(content);
      while (r.remaining > 0) items.push(amqpOf(readPrimitive(r)));
      return encoding === Encoding.sequence ? { kind: 'sequence', lists: [items] } : { kind: 'value', value: items };
    }
    case JmsMsgType.Object:
      return encoding === Encoding.valueBinary ? { kind: 'value', value: content } : { kind: 'data', chunks: [content] };
    default:
      // a BytesMessage
      if (encoding === Encoding.null) return undefined;
      if (encoding === Encoding.valueBinary) return { kind: 'value', value: content };
      return { kind: 'data', chunks: [content] };
  }
}

/** the AMQP value proton-j writes for a Java value of a JMS body */
function amqpOf(t: OwTyped): AmqpValue {
  switch (t.t) {
    case PType.Null:
      return null;
    case PType.Boolean:
      return t.v;
    case PType.Byte:
      return new Typed('byte', t.v);
    case PType.Short:
      return new Typed('short', t.v);
    case PType.Integer:
      return new Typed('int', t.v);
    case PType.Long:
      return new Typed('long', t.v);
    case PType.Float:
      return new Typed('float', t.v);
    case PType.Double:
      return new Typed('double', t.v);
    case PType.Char:
      return new Typed('char', t.v);
    case PType.String:
      return t.v;
    case PType.ByteArray:
      return t.v;
    case PType.Map: {
      const m = new AmqpMap();
      for (const [k, v] of t.v) m.entries.push([k, amqpOf(v)]);
      return m;
    }
    case PType.List:
      return t.v.map(amqpOf);
  }
}

/** a property value back as an annotation or application property (numbers as int/long/double) */
function annotationValue(v: FieldValue): AmqpValue {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.map(annotationValue);
  if (typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date) && !('scale' in v)) {
    return new AmqpMap(Object.entries(v).map(([k, x]) => [k, annotationValue(x)]));
  }
  if (typeof v === 'object' && 'scale' in v) return null;
  return v as AmqpValue;
}

/** ActiveMQDestination.getQualifiedName of the core's reply-to text */
function qualifiedName(r: string): string {
  for (const [prefix, scheme] of [['/queue/', 'queue://'], ['/topic/', 'topic://'], ['/temp-queue/', 'temp-queue://'], ['/temp-topic/', 'temp-topic://']] as const) {
    if (r.startsWith(prefix)) return scheme + r.slice(prefix.length);
  }
  return r;
}

/** JMSMappingOutboundTransformer.destinationType: queue 0, topic 1, temporary queue 2, temporary topic 3 */
function destinationType(r: string): number | undefined {
  if (r.startsWith('/queue/') || r.startsWith('queue://')) return 0;
  if (r.startsWith('/topic/') || r.startsWith('topic://')) return 1;
  if (r.startsWith('/temp-queue/') || r.startsWith('temp-queue://')) return 2;
  if (r.startsWith('/temp-topic/') || r.startsWith('temp-topic://')) return 3;
  return undefined;
}

/** AMQPNativeOutboundTransformer: the AMQP encoding as it came, its header's delivery-count updated after a failed delivery */
function writeNative(e: Encoder, encoded: Buffer, failedDeliveries: number): void {
  if (failedDeliveries < 1) return e.raw(encoded);
  let rest = encoded;
  let header: MessageHeader = {};
  try {
    const d = new Decoder(encoded);
    const first = encoded.length ? d.read() : undefined;
    if (first instanceof Described && first.code === Section.header) {
      header = (toComposite(first) ?? {}) as MessageHeader;
      rest = encoded.subarray(d.pos);
    }
  } catch {
    return e.raw(encoded);
  }
  writeComposite(e, { $: 'header', ...header, priority: header.priority !== undefined ? ubyte(header.priority) : undefined, deliveryCount: failedDeliveries });
  e.raw(rest);
}
