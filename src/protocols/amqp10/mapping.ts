import type { FieldTable, FieldValue } from '../../core/fields.js';
import { Decimal } from '../../core/fields.js';
import type { Message, MessageProperties } from '../../core/message.js';
import type { Dialect } from '../context.js';
import { quoteQueue } from './address.js';
import { activemqInbound, jmsDestinationType, writeActiveMqMessage } from './jms-transformer.js';
import type { Encoder } from './codec/encoder.js';
import { writeComposite } from './codec/composites.js';
import { writeExchangeAnnotations, writeHeaderSection } from './codec/hot.js';
import { Section, writeBody, type AmqpMessage, type DecodedMessage, type MessageHeader } from './codec/message.js';
import { AmqpMap, Described, Sym, Typed, Uuid, ubyte, type AmqpValue } from './codec/types.js';

/**
 * AMQP 1.0 messages ⇄ the core's message model (AMQP 0-9-1 basic properties + headers),
 * the way each engine maps them, so a message crosses to AMQP 0-9-1, STOMP and MQTT:
 *
 * RabbitMQ (RabbitMQ 4's mc_amqpl convert_from / convert_to): header durable ⇄
 * delivery-mode, priority, ttl ⇄ expiration; message-id / correlation-id strings as they
 * are (uuid as `urn:uuid:…`, ulong as digits, binary in x-message-id / x-correlation-id);
 * user-id, content-type, content-encoding, creation-time ⇄ timestamp (seconds),
 * group-id ⇄ app-id, reply-to `/queues/q` ⇄ `q`; application-properties ⇄ headers,
 * `x-` message annotations ⇄ `x-` headers, x-cc ⇄ CC, x-basic-type ⇄ type. A body of
 * data sections is the body; any other body travels AMQP-encoded with type `amqp-1.0`
 * and comes back as the same sections. Deliveries carry x-exchange and x-routing-key.
 *
 * ActiveMQ: its JMS transformer (jms-transformer.ts); deliveries carry x-opt-jms-dest.
 *
 * A message that came in over AMQP 1.0 keeps its encoded bare message: an AMQP 1.0
 * consumer receives it byte for byte (with a fresh header) while its properties are the
 * ones it arrived with. Anything that rewrites the properties (dead-lettering) makes a new
 * properties object, which has no encoded form.
 */

/**
 * The encoded bare message and annotations a message arrived with over AMQP 1.0. The bare
 * message is not kept as a buffer of its own when the body is a view of it (the usual case,
 * one data section): `around` is then the body, and the bare message the bytes `before` it
 * and `after` it in the same memory, so a queued message holds no second buffer view (one
 * object and 96 bytes fewer per queued message for the GC). The bare message is only found
 * around the message's own body: a message given another body (nothing does that without
 * new properties, which have no Original) gets none and is encoded afresh.
 */
class Original {
  constructor(
    readonly annotations: AmqpMap | undefined,
    /** the message's body, or the bare message itself (before = after = 0, `whole`) */
    readonly around: Buffer,
    readonly before: number,
    readonly after: number,
    readonly whole: boolean,
  ) {}

  /** the bare message, for a message whose body is `body` */
  bare(body: Buffer): Buffer | undefined {
    if (this.whole) return this.around;
    if (body !== this.around) return undefined;
    return Buffer.from(body.buffer, body.byteOffset - this.before, this.before + body.length + this.after);
  }
}

/** what toCoreMessage keeps of a decoded payload: the body's surroundings when it lies inside the bare message */
function originalFor(annotations: AmqpMap | undefined, payload: Buffer, bareStart: number, body: Buffer): Original {
  const bareFrom = payload.byteOffset + bareStart;
  const bareTo = payload.byteOffset + payload.length;
  if (body.length > 0 && body.buffer === payload.buffer && body.byteOffset >= bareFrom && body.byteOffset + body.length <= bareTo) {
    return new Original(annotations, body, body.byteOffset - bareFrom, bareTo - body.byteOffset - body.length, false);
  }
  return new Original(annotations, payload.subarray(bareStart), 0, 0, true);
}

/**
 * The properties of a message that arrived over AMQP 1.0: the core's MessageProperties (its
 * own enumerable fields, added as they are found) with the Original in a private field. A
 * private field is no property: a copy (`{ ...p }`, as dead-lettering, TTL and the header
 * merges make before they change properties) leaves it behind, and JSON, Object.keys and the
 * stores never see it. Not a WeakMap keyed by the properties: that held one entry per queued
 * message, and V8 rehashes such a table whole as it grows (measured: a 1M flood stopped the
 * event loop 84-163 ms at each growth, at 4/3 × 2^k queued, 349.5k and 699k). Not a
 * non-enumerable symbol either: `Object.defineProperty` per message is a runtime call
 * (review-s9-3 #6: measured in notes/issue-18-core.md, session 10). Never a plain
 * `p[symbol] = …`: it is enumerable, so it would ride along in those copies and re-send a
 * stale encoding. (ES2022 target: the field stays a real private field, not a WeakMap.)
 */
class KeptProperties {
  readonly #original: Original;

  constructor(original: Original) {
    this.#original = original;
  }

  static originalOf(p: MessageProperties): Original | undefined {
    return #original in p ? (p as unknown as KeptProperties).#original : undefined;
  }
}

/** empty properties that keep `original` (fields are added to them as for `{}`) */
function keepingOriginal(original: Original): MessageProperties {
  return new KeptProperties(original) as unknown as MessageProperties;
}

function originalOf(p: MessageProperties): Original | undefined {
  return KeptProperties.originalOf(p);
}

const JMS_DEST = 'x-opt-jms-dest';
const AMQP10_TYPE = 'amqp-1.0';
const SHORTSTR_MAX = 255;

// ---- inbound -----------------------------------------------------------------------

export interface Inbound {
  exchange: string;
  routingKey: string;
  now: number;
  /** the transfer's message-format (0: an AMQP message) */
  messageFormat?: number;
}

/** the core message for a decoded AMQP 1.0 transfer payload */
export function toCoreMessage(dialect: Dialect, decoded: DecodedMessage, payload: Buffer, at: Inbound): Message {
  const m = decoded.message;
  let properties: MessageProperties;
  let body: Buffer;
  if (dialect === 'activemq') {
    const inbound = activemqInbound(decoded, payload, at.messageFormat ?? 0, at.now);
    body = inbound.body;
    properties = Object.assign(keepingOriginal(originalFor(m.messageAnnotations, payload, decoded.bareStart, body)), inbound.properties);
    const message: Message = { exchange: at.exchange, routingKey: at.routingKey, properties, body, publishedAt: at.now };
    if (inbound.expiredBeforeArrival !== undefined) message.expiredBeforeArrival = inbound.expiredBeforeArrival;
    return message;
  } else {
    if (m.body.kind === 'data') body = m.body.chunks.length === 1 ? m.body.chunks[0]! : Buffer.concat(m.body.chunks);
    else if (m.body.kind === 'none') body = Buffer.alloc(0);
    else body = payload.subarray(decoded.bodyStart, decoded.bodyEnd);
    properties = rabbitProperties(m, keepingOriginal(originalFor(m.messageAnnotations, payload, decoded.bareStart, body)));
    if (m.body.kind === 'sequence' || m.body.kind === 'value') properties.type = AMQP10_TYPE;
  }
  return { exchange: at.exchange, routingKey: at.routingKey, properties, body, publishedAt: at.now };
}

function header(m: AmqpMessage, p: MessageProperties): void {
  const h = m.header;
  if (h) {
    p.deliveryMode = h.durable ? 2 : 1;
    if (h.priority !== undefined) p.priority = h.priority;
    if (h.ttl !== undefined) p.expiration = String(h.ttl);
  }
}

/** `p`: the (empty) properties to fill */
function rabbitProperties(m: AmqpMessage, p: MessageProperties): MessageProperties {
  header(m, p);
  const ma = m.messageAnnotations;
  let headers: FieldTable | undefined;
  if (ma) {
    if (p.deliveryMode === undefined) setIfNumber(ma.get('x-basic-delivery-mode'), (n) => (p.deliveryMode = n));
    if (p.priority === undefined) setIfNumber(ma.get('x-basic-priority'), (n) => (p.priority = n));
    const exp = ma.get('x-basic-expiration');
    if (p.expiration === undefined && typeof exp === 'string') p.expiration = exp;
    const type = ma.get('x-basic-type');
    if (typeof type === 'string') p.type = type;
    for (const [k, v] of ma.entries) {
      const key = k instanceof Sym ? k.value : undefined;
      if (key === undefined || !key.startsWith('x-') || key.length > SHORTSTR_MAX || key.startsWith('x-basic-') || key === 'x-exchange' || key === 'x-routing-key') continue;
      if (key === 'x-cc') (headers ??= {})['CC'] = toField(v);
      else (headers ??= {})[key] = toField(v);
    }
  }
  const ap = m.applicationProperties;
  if (ap) {
    for (const [k, v] of ap.entries) if (typeof k === 'string' && k.length <= SHORTSTR_MAX) (headers ??= {})[k] = toField(v);
  }
  const props = m.properties;
  if (props) {
    const mid = messageId(props.messageId);
    if (mid.id !== undefined) p.messageId = mid.id;
    else if (mid.header !== undefined) (headers ??= {})['x-message-id'] = mid.header;
    const cid = messageId(props.correlationId);
    if (cid.id !== undefined) p.correlationId = cid.id;
    else if (cid.header !== undefined) (headers ??= {})['x-correlation-id'] = cid.header;
    if (props.userId !== undefined && props.userId.length <= SHORTSTR_MAX) p.userId = props.userId.toString('utf8');
    if (props.replyTo !== undefined) {
      p.replyTo = props.replyTo.startsWith('/queues/') ? safeDecode(props.replyTo.slice(8)) : props.replyTo;
    }
    if (props.groupId !== undefined) p.appId = props.groupId;
    if (props.contentType !== undefined) p.contentType = props.contentType;
    if (props.contentEncoding !== undefined) p.contentEncoding = props.contentEncoding;
    if (props.creationTime !== undefined) p.timestamp = Math.floor(props.creationTime.getTime() / 1000);
  }
  if (headers) p.headers = headers;
  return p;
}

function messageId(v: AmqpValue | undefined): { id?: string; header?: FieldValue } {
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') return v.length <= SHORTSTR_MAX ? { id: v } : { header: v };
  if (v instanceof Uuid) return { id: `urn:uuid:${v.toString()}` };
  if (typeof v === 'number' || typeof v === 'bigint') return { id: String(v) };
  if (Buffer.isBuffer(v)) return { header: v };
  return {};
}

function setIfNumber(v: AmqpValue | undefined, set: (n: number) => void): void {
  if (typeof v === 'number') set(v);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** an AMQP 1.0 value as a field-table value (mc_amqpl:to_091) */
export function toField(v: AmqpValue): FieldValue {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v as FieldValue;
  if (Buffer.isBuffer(v) || v instanceof Date) return v;
  if (v instanceof Sym) return v.value;
  if (v instanceof Uuid) return v.toString();
  if (v instanceof AmqpMap) {
    const t: FieldTable = {};
    for (const [k, x] of v.entries) t[k instanceof Sym ? k.value : String(k)] = toField(x);
    return t;
  }
  if (Array.isArray(v)) return v.map(toField);
  if (v instanceof Typed) return typeof v.value === 'number' || typeof v.value === 'string' ? (v.value as FieldValue) : null;
  if (v instanceof Described) return toField(v.value);
  const t: FieldTable = {};
  for (const [k, x] of Object.entries(v)) t[k] = toField(x);
  return t;
}

/** a field-table value as an AMQP 1.0 value (mc_amqpl:from_091; tables get symbol keys) */
export function fromField(v: FieldValue): AmqpValue {
  if (v === null || v === undefined) return null;
  if (v instanceof Decimal) return null;
  if (Array.isArray(v)) return v.map(fromField);
  if (typeof v === 'object' && !Buffer.isBuffer(v) && !(v instanceof Date)) {
    return new AmqpMap(Object.entries(v).map(([k, x]) => [new Sym(k), fromField(x)]));
  }
  return v as AmqpValue;
}

// ---- outbound ----------------------------------------------------------------------

export interface Outbound {
  /** the entry's prior deliveries that failed (delivery-count in the header) */
  failedDeliveries: number;
  firstAcquirer: boolean;
  /** the queue the message was read from */
  queue: string | undefined;
  /** ActiveMQ: that queue is temporary (x-opt-jms-dest 2) */
  temporaryQueue?: boolean;
}

/** write the transfer payload of `msg`: header, annotations, then the bare message */
export function writeDelivery(e: Encoder, dialect: Dialect, msg: Message, out: Outbound): void {
  const p = msg.properties;
  const original = originalOf(p);
  const bare = original?.bare(msg.body);
  // ActiveMQ writes every message it did not take over AMQP 1.0 through its JMS transformer
  if (dialect === 'activemq' && !bare) return writeActiveMqMessage(e, msg, out, Date.now());
  const h: MessageHeader = { durable: p.deliveryMode === 2 };
  if (p.priority !== undefined) h.priority = p.priority;
  if (p.expiration !== undefined) {
    // what is left of the TTL, as RabbitMQ and ActiveMQ both count it from arrival
    const ttl = Number(p.expiration);
    if (Number.isFinite(ttl)) h.ttl = Math.max(0, Math.min(0xffffffff, ttl));
  }
  writeHeaderSection(e, h.durable === true, h.priority, h.ttl, out.firstAcquirer ? undefined : false, out.failedDeliveries > 0 ? out.failedDeliveries : undefined);
  const annotations = bare ? original!.annotations : undefined;
  if (dialect === 'rabbitmq' && bare && (!annotations || annotations.entries.every(([k]) => isDeliveryKey(k)))) {
    // the usual case, an AMQP 1.0 message without annotations of its own: only RabbitMQ's two
    writeExchangeAnnotations(e, msg.exchange, msg.routingKey);
  } else {
    const ma = deliveryAnnotations(dialect, msg, out, annotations);
    if (ma.size) e.described(Section.messageAnnotations, ma);
  }
  if (bare) {
    e.raw(bare);
    return;
  }
  writeRabbitBare(e, msg);
}

function deliveryAnnotations(dialect: Dialect, msg: Message, out: Outbound, original: AmqpMap | undefined): AmqpMap {
  const ma = new AmqpMap(original ? original.entries.filter(([k]) => !isDeliveryKey(k)) : []);
  if (dialect === 'rabbitmq') {
    if (!original) {
      const headers = msg.properties.headers;
      if (headers) {
        for (const k in headers) {
          const v = headers[k];
          if (k.startsWith('x-')) ma.set(new Sym(k), fromField(v));
          else if (k === 'CC' && Array.isArray(v)) ma.set(new Sym('x-cc'), fromField(v));
        }
      }
      if (msg.properties.type !== undefined && msg.properties.type !== AMQP10_TYPE) ma.set(new Sym('x-basic-type'), msg.properties.type);
    }
    ma.set(new Sym('x-exchange'), msg.exchange);
    ma.set(new Sym('x-routing-key'), msg.routingKey);
  } else {
    ma.set(new Sym(JMS_DEST), ubyte(jmsDestinationType(msg, out.temporaryQueue)));
  }
  return ma;
}

function isDeliveryKey(k: AmqpValue): boolean {
  const s = k instanceof Sym ? k.value : undefined;
  return s === 'x-exchange' || s === 'x-routing-key' || s === JMS_DEST;
}

function writeRabbitBare(e: Encoder, msg: Message): void {
  const p = msg.properties;
  const headers = p.headers;
  const props: Record<string, unknown> = {};
  if (p.messageId !== undefined) props.messageId = Uuid.parse(p.messageId) && p.messageId.startsWith('urn:uuid:') ? Uuid.parse(p.messageId) : p.messageId;
  else if (headers?.['x-message-id'] !== undefined) props.messageId = fromField(headers['x-message-id']);
  if (p.userId !== undefined) props.userId = Buffer.from(p.userId, 'utf8');
  if (p.replyTo !== undefined) props.replyTo = `/queues/${quoteQueue(p.replyTo)}`;
  if (p.correlationId !== undefined) props.correlationId = p.correlationId.startsWith('urn:uuid:') && Uuid.parse(p.correlationId) ? Uuid.parse(p.correlationId) : p.correlationId;
  else if (headers?.['x-correlation-id'] !== undefined) props.correlationId = fromField(headers['x-correlation-id']);
  if (p.contentType !== undefined) props.contentType = p.contentType;
  if (p.contentEncoding !== undefined) props.contentEncoding = p.contentEncoding;
  if (p.timestamp !== undefined) props.creationTime = new Date(p.timestamp * 1000);
  if (p.appId !== undefined) props.groupId = p.appId;
  if (Object.keys(props).length) writeComposite(e, { $: 'properties', ...props });
  if (headers) {
    // non-x headers of simple types are application properties
    const ap = new AmqpMap();
    for (const k in headers) {
      const v = headers[k];
      if (k.startsWith('x-') || v === undefined || Array.isArray(v) || (typeof v === 'object' && v !== null && !Buffer.isBuffer(v) && !(v instanceof Date))) continue;
      if (v instanceof Decimal) continue;
      ap.entries.push([k, fromField(v)]);
    }
    if (ap.size) e.described(Section.applicationProperties, ap);
  }
  if (p.type === AMQP10_TYPE) e.raw(msg.body);
  else writeBody(e, { kind: 'data', chunks: [msg.body] });
}
