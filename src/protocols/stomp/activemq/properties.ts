import { JMS_MSG_TYPE, JmsMsgType } from '../../../core/activemq-names.js';
import type { FieldTable } from '../../../core/fields.js';
import type { Message, MessageProperties } from '../../../core/message.js';
import { ttlOfAbsoluteExpiry } from '../../../core/absolute-expiry.js';
import { ORIGINAL_DESTINATION } from '../../../core/dead-letter.js';
import type { StompHeader } from '../codec/index.js';

/**
 * STOMP headers ⇄ message properties as ActiveMQ 5.17's STOMP transport converts them
 * (measured, see bench/activemq-observed.md):
 * - a SEND without `content-length` is a text message, with it a bytes message, unless
 *   `amq-msg-type` says `text` or `bytes`; a consumer sees `content-length` only on bytes
 *   messages (and on a text message that was sent with one, kept as a property);
 * - `persistent:true` makes it persistent, anything else non-persistent;
 * - `expires` is an absolute time in ms (core: a TTL), `priority` defaults to 4;
 * - every other header is a message property and comes back as a header.
 * A text message is marked in the AMQP headers with `x-opt-jms-msg-type` = 5, the
 * JMS-over-AMQP annotation ActiveMQ itself uses for TextMessage.
 */
export { JMS_MSG_TYPE };
export const JMS_TEXT = JmsMsgType.Text;
/** ActiveMQ's MQTT transport names the QoS a message was published with in this property */
const MQTT_QOS_PROPERTY = 'ActiveMQ.MQTT.QoS';
const MQTT_QOS_HEADER = 'x-mqtt-publish-qos';
const MQTT_DUP_HEADER = 'x-mqtt-dup';
const DEFAULT_PRIORITY = 4;

/** headers that are framing, routing or standard JMS headers, never message properties */
const NOT_PROPERTIES = new Set([
  'destination',
  'receipt',
  'transaction',
  'persistent',
  'priority',
  'correlation-id',
  'reply-to',
  'type',
  'expires',
  'content-type',
  'message-id',
  'timestamp',
]);

export function amqPropertiesFromHeaders(headers: StompHeader[], messageId: string, now: number): MessageProperties {
  const props: MessageProperties = { messageId, deliveryMode: 1 };
  let table: FieldTable | undefined;
  let contentLength: string | undefined;
  let msgType: string | undefined;
  const seen = new Set<string>();
  for (const [name, value] of headers) {
    if (seen.has(name)) continue;
    seen.add(name);
    switch (name) {
      case 'persistent':
        if (value === 'true') props.deliveryMode = 2;
        break;
      case 'priority':
        if (/^\d+$/.test(value)) props.priority = Math.min(Number(value), 9);
        break;
      case 'correlation-id':
        props.correlationId = value;
        break;
      case 'reply-to':
        props.replyTo = value;
        break;
      case 'type':
        props.type = value;
        break;
      case 'content-type':
        props.contentType = value;
        break;
      case 'expires': {
        const ttl = ttlOfAbsoluteExpiry(expiresOf(value), now);
        if (ttl !== undefined) props.expiration = ttl;
        break;
      }
      case 'content-length':
        contentLength = value;
        break;
      default:
        if (name === 'amq-msg-type') msgType = value;
        if (!NOT_PROPERTIES.has(name)) (table ??= {})[name] = value;
    }
  }
  const text = msgType === 'text' || (msgType !== 'bytes' && contentLength === undefined);
  if (text) {
    // a text message keeps a content-length it was sent with, as a property
    if (contentLength !== undefined) (table ??= {})['content-length'] = contentLength;
    (table ??= {})[JMS_MSG_TYPE] = JMS_TEXT;
  }
  if (table) props.headers = table;
  return props;
}

export function isTextMessage(m: Message): boolean {
  return m.properties.headers?.[JMS_MSG_TYPE] === JMS_TEXT;
}

/**
 * The MESSAGE headers ActiveMQ writes for a message (after destination, subscription and
 * the ids, which the subscription adds): expires, priority, type, properties,
 * correlation-id, content-type, persistent, reply-to, timestamp.
 */
export function appendAmqHeaders(out: StompHeader[], m: Message): void {
  const p = m.properties;
  out.push(['expires', p.expiration !== undefined ? String(m.publishedAt + Number(p.expiration)) : '0']);
  out.push(['priority', String(p.priority ?? DEFAULT_PRIORITY)]);
  if (p.type !== undefined) out.push(['type', p.type]);
  if (p.correlationId !== undefined) out.push(['correlation-id', p.correlationId]);
  const table = p.headers;
  // a DLQ copy's originalDestination; ActiveMQ puts the properties after it in one map, so a
  // property of that name shows instead
  if (m.originalDestination !== undefined && table?.[ORIGINAL_DESTINATION] === undefined) out.push([ORIGINAL_DESTINATION, m.originalDestination]);
  if (table) {
    for (const key in table) {
      if (key === JMS_MSG_TYPE || key === MQTT_DUP_HEADER) continue;
      const v = table[key];
      const name = key === MQTT_QOS_HEADER ? MQTT_QOS_PROPERTY : key;
      if (typeof v === 'string') out.push([name, v]);
      else if (typeof v === 'number' || typeof v === 'boolean') out.push([name, String(v)]);
      else if (typeof v === 'bigint') out.push([name, v.toString()]);
      else if (Buffer.isBuffer(v)) out.push([name, v.toString('utf8')]);
    }
  }
  if (p.contentType !== undefined) out.push(['content-type', p.contentType]);
  if (p.deliveryMode === 2) out.push(['persistent', 'true']);
  if (p.replyTo !== undefined) out.push(['reply-to', p.replyTo]);
  out.push(['timestamp', String(m.publishedAt)]);
}

/** the `expires` header's absolute time (0: none, or not a number) */
export function expiresOf(value: string | undefined): number {
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : 0;
}
