import { inflateSync } from 'node:zlib';
import { OwError } from './errors.js';
import { JMS_MSG_TYPE, JmsMsgType, TOPIC_EXCHANGE } from '../../core/activemq-names.js';
import type { FieldTable } from '../../core/fields.js';
import type { Message, MessageProperties } from '../../core/message.js';
import { expiredBeforeArrival, ttlOfAbsoluteExpiry } from '../../core/absolute-expiry.js';
import { registerNativeForm } from '../../core/native-forms.js';
import { Reader, Writer, decodeModifiedUtf8 } from './codec/data.js';
import { appendFrame, decodeFrame, type OwStruct, type WireOptions } from './codec/marshal.js';
import { MAX_VERSION } from './codec/wire-format.js';
import { PType, decodePrimitiveMap, encodePrimitiveMap, plainOf, typedOf, type Typed } from './codec/primitive.js';
import { T } from './codec/types.js';
import { destinationStruct, destinationText, parseDestinationText, type OwDestination } from './destination.js';

/** what an OpenWire message keeps beside the core's view of it (Message.native) */
export interface OwNative {
  /** the message structure as the producer sent it (content and typed properties intact) */
  struct: OwStruct;
  /** the producing connection, for noLocal consumers */
  connectionId: string;
}

export const NATIVE = 'openwire';

/**
 * Message.native of a message in OpenWire form: the native form and its OwNative in one
 * object (`data` is itself), one object fewer per queued message than `{ protocol, data }`.
 */
class KeptNative implements OwNative {
  readonly protocol = NATIVE;
  readonly data: OwNative = this;
  constructor(
    readonly struct: OwStruct,
    readonly connectionId: string,
  ) {}
}

/**
 * The DLQ copy of a JMS message as ActiveMQ 5.17 makes it (seen with its JMS client on poisoned and
 * expired messages): the cause as dlqDeliveryFailureCause, no expiry (JMSExpiration 0), the
 * expiration it had as originalExpiration (a Long; 0 when none), where it was as originalDestination
 * (JMS getOriginalDestination: queue://<it>, measured). A copy that kept its expiration came to a JMS
 * consumer of the DLQ expired: the client acked it as expired, which dead-lettered it again, round
 * and round.
 */
export function deadLetteredOpenWire(n: OwNative, cause: string): NonNullable<Message['native']> {
  const s = n.struct;
  const raw = s['marshalledProperties'] as Buffer | null;
  const map = raw && raw.length ? decodePrimitiveMap(raw) : new Map();
  map.set('dlqDeliveryFailureCause', { t: PType.String, v: cause });
  map.set('originalExpiration', { t: PType.Long, v: (s['expiration'] as number | undefined) ?? 0 });
  return openWireNative({ ...s, expiration: 0, originalDestination: s['destination'] ?? null, marshalledProperties: encodePrimitiveMap(map) }, n.connectionId);
}

/** a message's native form: `struct` as the producer on `connectionId` sent it */
export function openWireNative(struct: OwStruct, connectionId: string): NonNullable<Message['native']> {
  return new KeptNative(struct, connectionId);
}

/** how a kept message is marshalled for the store: every field of the newest version, loose encoding */
const STORED: WireOptions = { version: MAX_VERSION, stackTraceEnabled: false };
const storeWriter = new Writer(512);

/** how the stored form's content relates to the message's body, which the store keeps beside it */
const enum StoredContent {
  /** no content */
  None = 0,
  /** the content is the body (every message type but text) */
  Body = 1,
  /** a TextMessage's content: the body's length, then the body (its text as modified UTF-8 is the same bytes as UTF-8: no NUL, no character outside the BMP) */
  Text = 2,
  /** the content is in the form (a text that modified UTF-8 writes otherwise) */
  Inside = 3,
}

/** the content is a TextMessage's length-prefixed text whose bytes are `body` */
function isTextOf(content: Buffer, body: Buffer): boolean {
  return content.length === body.length + 4 && content.readInt32BE(0) === body.length && content.compare(body, 0, body.length, 4) === 0;
}

function storedContent(content: Buffer | null, body: Buffer): StoredContent {
  if (content === null) return StoredContent.None;
  if (content === body || content.equals(body)) return StoredContent.Body;
  return isTextOf(content, body) ? StoredContent.Text : StoredContent.Inside;
}

/**
 * The native form as the store keeps it (a persistent message's journal record, a paged-out
 * message): how its content relates to the body, the producing connection's id, then the
 * message command marshalled, size-prefixed, without its content when the body gives it
 * back (the store keeps the body once, beside this). It reads back as the same structure, so
 * a JMS consumer gets the message the producer sent (typed properties, ids, timestamps) from
 * memory, from a page or after a restart.
 */
registerNativeForm(NATIVE, {
  deadLettered: (data, cause) => deadLetteredOpenWire(data as OwNative, cause),
  encode(data: unknown, body: Buffer): Buffer {
    const n = data as OwNative;
    const s = n.struct;
    const content = s['content'] as Buffer | null;
    const form = storedContent(content, body);
    const w = storeWriter;
    w.pos = 0;
    w.byte(form);
    w.utf(n.connectionId);
    // marshalled without its content when the body gives it back
    appendFrame(s, STORED, w, form !== StoredContent.Inside);
    // the writer's own bytes, valid until the next encode: the store copies them into its record at once
    return w.finish();
  },
  decode(bytes: Buffer, body: Buffer): unknown {
    const r = new Reader(bytes);
    const form = r.ubyte() as StoredContent;
    const stored = readStored(r, bytes);
    const struct = stored.struct;
    if (form === StoredContent.Body) struct['content'] = body;
    else if (form === StoredContent.Text) {
      const content = Buffer.allocUnsafe(body.length + 4);
      content.writeInt32BE(body.length, 0);
      body.copy(content, 4);
      struct['content'] = content;
    }
    return stored;
  },
  decodeWhole(bytes: Buffer): unknown {
    return readStored(new Reader(bytes), bytes);
  },
});

/** the connection id and the marshalled command of a stored form, `r` at the id */
function readStored(r: Reader, bytes: Buffer): OwNative {
  const connectionId = r.utf();
  const size = r.int();
  return new KeptNative(decodeFrame(bytes.subarray(r.pos, r.pos + size), STORED), connectionId);
}

const JMS_TYPE_BY_STRUCT: Record<number, number> = {
  [T.Message]: JmsMsgType.Message,
  [T.ObjectMessage]: JmsMsgType.Object,
  [T.MapMessage]: JmsMsgType.Map,
  [T.BytesMessage]: JmsMsgType.Bytes,
  [T.StreamMessage]: JmsMsgType.Stream,
  [T.TextMessage]: JmsMsgType.Text,
  [T.BlobMessage]: JmsMsgType.Bytes,
};
const STRUCT_BY_JMS_TYPE: Record<number, number> = {
  [JmsMsgType.Message]: T.Message,
  [JmsMsgType.Object]: T.ObjectMessage,
  [JmsMsgType.Map]: T.MapMessage,
  [JmsMsgType.Bytes]: T.BytesMessage,
  [JmsMsgType.Stream]: T.StreamMessage,
  [JmsMsgType.Text]: T.TextMessage,
};

/** headers that are other protocols' plumbing, never JMS properties */
const NOT_JMS_PROPERTIES = new Set([JMS_MSG_TYPE, 'x-mqtt-publish-qos', 'x-mqtt-dup', 'JMSXGroupID', 'JMSXGroupSeq']);

/** `ID:<connection>:<session>:<producer>:<sequence>`, ActiveMQ's MessageId.toString */
export function messageIdText(id: OwStruct | null | undefined): string | undefined {
  if (!id) return undefined;
  const view = id['textView'] as string | null | undefined;
  if (view) return view;
  const p = id['producerId'] as OwStruct | null;
  if (!p) return undefined;
  // joined, not concatenated: one flat string (a template literal of this length is a tree of 6
  // cons strings, kept by every queued message: objects the GC marks and copies). String(): a null
  // connection id is "null", as Java's concatenation (and the template literal) wrote it; join writes ""
  return [String(p['connectionId']), p['sessionId'] as number, p['value'] as number, id['producerSequenceId'] as number].join(':');
}

/** a message id text back into a MessageId; ids from other protocols become the text view of a broker-made id */
export function messageIdStruct(text: string | undefined, fallbackSeq: number, brokerSequenceId = 0): OwStruct {
  const m = text !== undefined ? /^(.*):(\d+):(\d+):(\d+)$/.exec(text) : null;
  if (m) {
    return {
      type: T.MessageId,
      textView: null,
      producerId: { type: T.ProducerId, connectionId: m[1]!, sessionId: Number(m[2]), value: Number(m[3]) },
      producerSequenceId: Number(m[4]),
      brokerSequenceId,
    };
  }
  return {
    type: T.MessageId,
    textView: text ?? null,
    producerId: { type: T.ProducerId, connectionId: BROKER_PRODUCER, sessionId: 0, value: 0 },
    producerSequenceId: fallbackSeq,
    brokerSequenceId,
  };
}

const BROKER_PRODUCER = 'ID:localmq-broker-0:0';

/**
 * The content bytes, inflated when the producer compressed them (useCompression): no
 * further than the message size limit, since a few KiB of deflate stream can inflate to
 * gigabytes; a body that will not inflate is refused (the producer gets a JMSException).
 */
function plainContent(s: OwStruct, maxBodySize: number): Buffer | null {
  const content = s['content'] as Buffer | null;
  if (!content) return null;
  if (!s['compressed']) return content;
  try {
    return inflateSync(content, { maxOutputLength: maxBodySize, chunkSize: Math.max(64, Math.min(16 * 1024, maxBodySize)) });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new OwError('javax.jms.JMSException', tooLarge ? `Compressed message body inflates past the maximum message size of ${maxBodySize} bytes` : `Compressed message body cannot be inflated: ${(err as Error).message}`);
  }
}

export function textOf(content: Buffer | null): string | null {
  if (!content || content.length < 4) return null;
  const r = new Reader(content);
  const n = r.int();
  if (n < 0) return null;
  return decodeModifiedUtf8(r.bytes(n));
}

export function textContent(text: string): Buffer {
  const w = new Writer(text.length + 8);
  w.utf8Int(text);
  return Buffer.from(w.finish());
}

/**
 * The headers of a message with no properties and no group: only its JMS type, one frozen
 * object per type shared by every such message (the core copies headers before it changes
 * them: dead-lettering, a quorum queue's counts).
 */
const TYPE_ONLY_HEADERS = new Map<number, FieldTable>();
function typeOnlyHeaders(jmsType: number): FieldTable {
  let h = TYPE_ONLY_HEADERS.get(jmsType);
  if (h === undefined) TYPE_ONLY_HEADERS.set(jmsType, (h = Object.freeze({ [JMS_MSG_TYPE]: jmsType })));
  return h;
}

/**
 * An incoming OpenWire message as the core holds it. `s` (the decoded command, the
 * connection's own) becomes the kept native form: its content and properties are copied
 * out of the socket's buffer once, the content inflated, its transaction id dropped.
 */
export function fromOpenWire(s: OwStruct, dest: OwDestination, connectionId: string, now: number, maxBodySize: number): Message {
  const jmsType = JMS_TYPE_BY_STRUCT[s.type] ?? JmsMsgType.Bytes;
  const raw = s['content'] as Buffer | null;
  // a copy: the frame is a view of the socket's chunk, which a kept slice would hold whole
  // (an inflated body is its own buffer already)
  const content = raw === null ? null : s['compressed'] ? plainContent(s, maxBodySize) : Buffer.from(raw);
  let body: Buffer;
  if (jmsType === JmsMsgType.Text) {
    const text = textOf(content);
    body = text === null ? Buffer.alloc(0) : Buffer.from(text, 'utf8');
  } else body = content ?? Buffer.alloc(0);

  const rawProps = s['marshalledProperties'] as Buffer | null;
  const groupId = s['groupId'] as string | null;
  let headers: FieldTable;
  if (!rawProps?.length && !groupId) headers = typeOnlyHeaders(jmsType);
  else {
    headers = {};
    if (rawProps && rawProps.length) {
      for (const [k, v] of decodePrimitiveMap(rawProps)) headers[k] = plainOf(v) as FieldTable[string];
    }
    headers[JMS_MSG_TYPE] = jmsType;
    if (groupId) {
      headers['JMSXGroupID'] = groupId;
      headers['JMSXGroupSeq'] = s['groupSequence'] as number;
    }
  }
  const deliveryMode = s['persistent'] ? 2 : 1;
  const priority = s['priority'] as number;
  const id = messageIdText(s['messageId'] as OwStruct | null);
  const ts = s['timestamp'] as number;
  // what a JMS message nearly always has, in one literal: its fields all in the object (added
  // one by one, the ones past the literal's went to a property array of their own: one more
  // object per queued message)
  let properties: MessageProperties;
  if (id !== undefined && ts > 0) properties = { headers, deliveryMode, priority, messageId: id, timestamp: Math.floor(ts / 1000) };
  else {
    properties = { headers, deliveryMode, priority };
    if (id !== undefined) properties.messageId = id;
    if (ts > 0) properties.timestamp = Math.floor(ts / 1000);
  }
  const corr = s['correlationId'] as string | null;
  if (corr !== null) properties.correlationId = corr;
  const type = s['jmsType'] as string | null;
  if (type !== null) properties.type = type;
  const replyTo = s['replyTo'] as OwStruct | null;
  if (replyTo) properties.replyTo = destinationText(owDest(replyTo));
  const expiration = s['expiration'] as number;
  const ttl = ttlOfAbsoluteExpiry(expiration, now);
  if (ttl !== undefined) properties.expiration = ttl;
  const userId = s['userId'] as string | null;
  if (userId) properties.userId = userId;

  const exchange = dest.kind === 'topic' ? TOPIC_EXCHANGE : '';
  s['content'] = content;
  s['compressed'] = false;
  s['transactionId'] = null;
  if (rawProps) s['marshalledProperties'] = Buffer.from(rawProps);
  const stored = s;
  const message: Message = { exchange, routingKey: dest.name, properties, body, publishedAt: now, native: openWireNative(stored, connectionId) };
  const past = expiredBeforeArrival(expiration, now);
  if (past !== undefined) message.expiredBeforeArrival = past;
  return message;
}

function owDest(s: OwStruct): OwDestination {
  const name = (s['physicalName'] as string) ?? '';
  const temporary = s.type === T.TempQueue || s.type === T.TempTopic;
  return { kind: s.type === T.Topic || s.type === T.TempTopic ? 'topic' : 'queue', temporary, name };
}

export function nativeOf(m: Message): OwNative | undefined {
  return m.native?.protocol === NATIVE ? (m.native.data as OwNative) : undefined;
}

/**
 * The message structure a consumer receives: the producer's own when it came over
 * OpenWire (its typed properties and ids intact), else built from the core's properties
 * (STOMP without content-length and text-marked messages as TextMessage, everything else
 * as BytesMessage, headers as JMS properties).
 */
export function toOpenWire(m: Message, destination: OwStruct, entryId: number, redeliveryCounter: number, isTemp: (d: OwDestination) => boolean): OwStruct {
  const native = nativeOf(m);
  if (native) {
    // the broker sequence id is the message's broker-wide id (the same in every queue it is in):
    // a consumer's RemoveInfo names the last one it delivered by it (lastDeliveredSequenceId)
    const id = native.struct['messageId'] as OwStruct | null;
    if (id && id['brokerSequenceId'] !== entryId) id['brokerSequenceId'] = entryId;
    return { ...native.struct, destination, redeliveryCounter };
  }
  const p = m.properties;
  const headers = p.headers ?? {};
  const jmsType = typeof headers[JMS_MSG_TYPE] === 'number' ? (headers[JMS_MSG_TYPE] as number) : JmsMsgType.Bytes;
  const type = STRUCT_BY_JMS_TYPE[jmsType] ?? T.BytesMessage;
  let content: Buffer | null = m.body.length || type === T.TextMessage ? m.body : null;
  if (type === T.TextMessage) content = textContent(m.body.toString('utf8'));
  else if (type === T.Message) content = null;
  const props = new Map<string, Typed>();
  for (const key in headers) {
    if (NOT_JMS_PROPERTIES.has(key)) continue;
    const t = typedOf(headers[key]);
    if (t) props.set(key, t);
  }
  let replyTo: OwStruct | null = null;
  if (p.replyTo !== undefined) {
    const d = parseDestinationText(p.replyTo);
    if (!d.temporary && isTemp(d)) d.temporary = true;
    replyTo = destinationStruct(d);
  }
  const group = headers['JMSXGroupID'];
  return {
    type,
    producerId: null,
    destination,
    transactionId: null,
    // a DLQ copy's: ActiveMQ's originalDestination field (JMS getOriginalDestination), not a property
    originalDestination: m.originalDestination !== undefined ? destinationStruct(parseDestinationText(m.originalDestination)) : null,
    messageId: messageIdStruct(p.messageId, entryId, entryId),
    originalTransactionId: null,
    groupId: typeof group === 'string' ? group : null,
    groupSequence: typeof headers['JMSXGroupSeq'] === 'number' ? headers['JMSXGroupSeq'] : 0,
    correlationId: p.correlationId ?? null,
    persistent: p.deliveryMode === 2,
    expiration: p.expiration !== undefined ? m.publishedAt + Number(p.expiration) : 0,
    priority: p.priority ?? 4,
    replyTo,
    timestamp: p.timestamp !== undefined ? p.timestamp * 1000 : m.publishedAt,
    jmsType: p.type ?? null,
    content,
    marshalledProperties: props.size ? encodePrimitiveMap(props) : null,
    dataStructure: null,
    targetConsumerId: null,
    compressed: false,
    redeliveryCounter,
    brokerPath: null,
    arrival: 0,
    userId: p.userId ?? null,
    receivedByDfBridge: false,
    droppable: false,
    cluster: null,
    brokerInTime: m.publishedAt,
    brokerOutTime: Date.now(),
    jmsxGroupFirstForConsumer: false,
  };
}

/** the values a JMS selector reads: message properties, then the JMS headers by their names */
export function typedProperties(s: OwStruct): Map<string, Typed> {
  const raw = s['marshalledProperties'] as Buffer | null;
  return raw && raw.length ? decodePrimitiveMap(raw) : new Map();
}

export { PType };
