import type { FieldTable } from '../../core/fields.js';
import type { Message, MessageProperties } from '../../core/message.js';
import { routingKeyToTopic, topicToRoutingKey } from './topics.js';

export const TOPIC_EXCHANGE = 'amq.topic';
/** RabbitMQ's header for the QoS an MQTT message was published with */
export const PUBLISH_QOS_HEADER = 'x-mqtt-publish-qos';
export const DUP_HEADER = 'x-mqtt-dup';
/**
 * the client id of the publisher, on the messages of a client with a no-local subscription:
 * no-local is about the client id [MQTT-3.8.3-3], so it must hold across a reconnect and
 * for messages read back from the journal (paged out, or after a restart)
 */
export const PUBLISHER_HEADER = 'x-mqtt-publisher-client-id';
/** MQTT 5 payload format indicator 1 (the payload is UTF-8 text) */
export const PAYLOAD_FORMAT_HEADER = 'x-mqtt-payload-format-indicator';
/** correlation data that is not UTF-8 text travels here as bytes (RabbitMQ's name) */
export const CORRELATION_HEADER = 'x-correlation-id';

/**
 * on a message published with the RETAIN flag, for retain-as-published deliveries: a header,
 * so that the flag persists with the message (journal, paged-out session queues, a restart)
 */
export const RETAIN_HEADER = 'x-mqtt-retain';

/** the MQTT 5 PUBLISH properties that map onto a core message */
export interface PublishProperties {
  payloadFormatIndicator?: boolean;
  messageExpiryInterval?: number;
  responseTopic?: string;
  correlationData?: Buffer;
  userProperties?: Record<string, string | string[]>;
  contentType?: string;
  subscriptionIdentifier?: number | number[];
  topicAlias?: number;
}

/**
 * An MQTT PUBLISH as a core message on amq.topic, as RabbitMQ's plugin makes it: payload
 * untouched, persistent when QoS > 0, the QoS and DUP flag in headers; MQTT 5 user
 * properties become headers, the response topic reply-to (as a routing key), correlation
 * data the correlation id, the message expiry interval the per-message TTL.
 */
export function publishToMessage(topic: string, payload: Buffer | string | undefined, qos: number, dup: boolean, props?: PublishProperties, publisher?: string, retain = false): Message {
  const properties = (props && mapsAny(props)) || publisher !== undefined ? ownProperties(qos, dup, props ?? {}, publisher, retain) : plainProperties(qos, dup, retain);
  return {
    exchange: TOPIC_EXCHANGE,
    routingKey: topicToRoutingKey(topic),
    properties,
    body: payload === undefined ? Buffer.alloc(0) : typeof payload === 'string' ? Buffer.from(payload) : payload,
    publishedAt: Date.now(),
  };
}

/**
 * The properties of a PUBLISH without MQTT 5 properties: one frozen object per QoS, DUP and
 * RETAIN flag, shared by every such message (the core copies properties before it changes them).
 * Issue 18: a queue of 1M held 1M equal properties and headers objects for the GC to mark.
 */
const PLAIN: MessageProperties[] = [];
function plainProperties(qos: number, dup: boolean, retain = false): MessageProperties {
  const k = qos * 2 + (dup ? 1 : 0) + (retain ? 6 : 0);
  return (PLAIN[k] ??= Object.freeze({
    deliveryMode: qos > 0 ? 2 : 1,
    headers: Object.freeze(retain ? { [PUBLISH_QOS_HEADER]: qos, [DUP_HEADER]: dup, [RETAIN_HEADER]: true } : { [PUBLISH_QOS_HEADER]: qos, [DUP_HEADER]: dup }),
  }));
}

/** `m` was published with the RETAIN flag */
export function publishedRetained(m: Message): boolean {
  return m.properties.headers?.[RETAIN_HEADER] === true;
}

/** one of the shared plain properties: an MQTT publish with nothing to deliver as an MQTT 5 property */
function isPlain(p: MessageProperties): boolean {
  for (let i = 0; i < PLAIN.length; i++) if (PLAIN[i] === p) return true;
  return false;
}

/** `props` has one that becomes a property or header (a topic alias, a subscription identifier do not) */
function mapsAny(props: PublishProperties): boolean {
  return (
    props.userProperties !== undefined ||
    props.payloadFormatIndicator === true ||
    props.contentType !== undefined ||
    props.responseTopic !== undefined ||
    props.correlationData !== undefined ||
    props.messageExpiryInterval !== undefined
  );
}

function ownProperties(qos: number, dup: boolean, props: PublishProperties, publisher: string | undefined, retain: boolean): MessageProperties {
  const headers: FieldTable = { [PUBLISH_QOS_HEADER]: qos, [DUP_HEADER]: dup };
  if (retain) headers[RETAIN_HEADER] = true;
  if (publisher !== undefined) headers[PUBLISHER_HEADER] = publisher;
  const properties: MessageProperties = { deliveryMode: qos > 0 ? 2 : 1, headers };
  if (props.userProperties) {
    for (const [k, v] of Object.entries(props.userProperties)) headers[k] = Array.isArray(v) ? [...v] : v;
  }
  if (props.payloadFormatIndicator) headers[PAYLOAD_FORMAT_HEADER] = 1;
  if (props.contentType !== undefined) properties.contentType = props.contentType;
  if (props.responseTopic !== undefined) properties.replyTo = topicToRoutingKey(props.responseTopic);
  if (props.correlationData !== undefined) {
    const text = props.correlationData.toString('utf8');
    if (Buffer.byteLength(text) === props.correlationData.length && !text.includes('\uFFFD')) properties.correlationId = text;
    else headers[CORRELATION_HEADER] = props.correlationData;
  }
  if (props.messageExpiryInterval !== undefined) properties.expiration = String(props.messageExpiryInterval * 1000);
  return properties;
}

/** the message was published by the client `clientId` while it had a no-local subscription */
export function publishedBy(m: Message, clientId: string): boolean {
  return m.properties.headers?.[PUBLISHER_HEADER] === clientId;
}

/**
 * The QoS a message was published with: MQTT's from its header; a message from AMQP or
 * STOMP has none and goes out at the subscription's QoS (as RabbitMQ's plugin does).
 */
export function publishedQos(m: Message): number {
  const q = m.properties.headers?.[PUBLISH_QOS_HEADER];
  return typeof q === 'number' && q >= 0 && q <= 2 ? q : 2;
}

/**
 * The MQTT 5 properties of a delivery of `m`: headers as user properties (the broker's
 * own `x-mqtt-…` aside), reply-to as the response topic, the correlation id as
 * correlation data, and the message expiry interval left at `expiresAt`.
 */
export function deliveryProperties(m: Message, expiresAt: number, now: number): PublishProperties | undefined {
  const p = m.properties;
  // most MQTT messages hold the shared plain properties: only the broker's two headers, nothing to walk
  let out = isPlain(p) ? undefined : mappedProperties(p);
  if (expiresAt !== Infinity) (out ??= {}).messageExpiryInterval = Math.max(0, Math.ceil((expiresAt - now) / 1000));
  return out;
}

/** the MQTT 5 properties a message's own properties and headers become, if any */
function mappedProperties(p: MessageProperties): PublishProperties | undefined {
  let out: PublishProperties | undefined;
  const headers = p.headers;
  if (headers) {
    for (const k in headers) {
      // the broker's own headers, skipped before their value is read
      if (k === PUBLISH_QOS_HEADER || k === DUP_HEADER || k === PUBLISHER_HEADER || k === RETAIN_HEADER) continue;
      const v = headers[k];
      if (v === undefined || v === null) continue;
      if (k === PAYLOAD_FORMAT_HEADER) {
        (out ??= {}).payloadFormatIndicator = true;
        continue;
      }
      if (k === CORRELATION_HEADER && Buffer.isBuffer(v)) {
        (out ??= {}).correlationData = v;
        continue;
      }
      const user = ((out ??= {}).userProperties ??= {});
      user[k] = Array.isArray(v) ? v.map(headerText) : headerText(v);
    }
  }
  if (p.contentType !== undefined) (out ??= {}).contentType = p.contentType;
  if (p.replyTo !== undefined) (out ??= {}).responseTopic = routingKeyToTopic(p.replyTo);
  if (p.correlationId !== undefined) (out ??= {}).correlationData = Buffer.from(p.correlationId);
  return out;
}

function headerText(v: unknown): string {
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'object' && v !== null) return JSON.stringify(v);
  return String(v);
}

/** when a message's per-message TTL runs out (Infinity without one) */
export function messageExpiresAt(m: Message): number {
  const exp = m.properties.expiration;
  if (exp === undefined) return Infinity;
  const ms = Number(exp);
  return Number.isFinite(ms) ? m.publishedAt + ms : Infinity;
}
