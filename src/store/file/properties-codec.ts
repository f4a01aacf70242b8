import type { FieldTable } from '../../core/fields.js';
import type { MessageProperties } from '../../core/message.js';
import type { ByteReader, ByteWriter } from './binary.js';
import { readValue, skipValue, writeValue } from './value-codec.js';

/**
 * Message properties as a presence bitmask followed by the present fields, in
 * the order below. An unset property costs one bit.
 */
const CONTENT_TYPE = 1 << 0;
const CONTENT_ENCODING = 1 << 1;
const HEADERS = 1 << 2;
const DELIVERY_MODE = 1 << 3;
const PRIORITY = 1 << 4;
const CORRELATION_ID = 1 << 5;
const REPLY_TO = 1 << 6;
const EXPIRATION = 1 << 7;
const MESSAGE_ID = 1 << 8;
const TIMESTAMP = 1 << 9;
const TYPE = 1 << 10;
const USER_ID = 1 << 11;
const APP_ID = 1 << 12;
const CLUSTER_ID = 1 << 13;
/**
 * Not an AMQP property: Message.originalDestination (an ActiveMQ DLQ copy's), kept in this mask
 * because a record written before it existed never has the bit. Such a record reads as its build
 * read it: a copy from before 29a9c93 keeps its `original-destination` property; one from 29a9c93
 * to fc35a17 has the origin under `x-localmq-dlq-origin` (CLIENT_DLQ_ORIGIN_KEY). One way: an
 * older build cannot read a record with the bit (no downgrade of a data dir holding DLQ copies).
 */
const ORIGINAL_DESTINATION = 1 << 14;
/**
 * No data: set on a record whose headers hold `x-localmq-dlq-origin` written by a build that keeps the origin
 * under ORIGINAL_DESTINATION, so that header is a client's property. Without it (records of fc35a17 and before,
 * 29a9c93's form) the header IS the DLQ copy's origin and reads as originalDestination (review-s17-2 FU1).
 */
const CLIENT_DLQ_ORIGIN_KEY = 1 << 15;
const LEGACY_DLQ_ORIGIN = 'x-localmq-dlq-origin';

/** what a record's properties part holds besides the AMQP properties */
export interface PropertiesExtra {
  originalDestination?: string;
}

export function writeProperties(w: ByteWriter, p: MessageProperties, originalDestination?: string): void {
  let mask = 0;
  if (p.contentType !== undefined) mask |= CONTENT_TYPE;
  if (p.contentEncoding !== undefined) mask |= CONTENT_ENCODING;
  if (p.headers !== undefined) mask |= HEADERS;
  if (p.deliveryMode !== undefined) mask |= DELIVERY_MODE;
  if (p.priority !== undefined) mask |= PRIORITY;
  if (p.correlationId !== undefined) mask |= CORRELATION_ID;
  if (p.replyTo !== undefined) mask |= REPLY_TO;
  if (p.expiration !== undefined) mask |= EXPIRATION;
  if (p.messageId !== undefined) mask |= MESSAGE_ID;
  if (p.timestamp !== undefined) mask |= TIMESTAMP;
  if (p.type !== undefined) mask |= TYPE;
  if (p.userId !== undefined) mask |= USER_ID;
  if (p.appId !== undefined) mask |= APP_ID;
  if (p.clusterId !== undefined) mask |= CLUSTER_ID;
  if (originalDestination !== undefined) mask |= ORIGINAL_DESTINATION;
  if (p.headers !== undefined && p.headers[LEGACY_DLQ_ORIGIN] !== undefined) mask |= CLIENT_DLQ_ORIGIN_KEY;
  w.varuint(mask);
  if (mask === 0) return;
  if (mask & CONTENT_TYPE) w.str(p.contentType!);
  if (mask & CONTENT_ENCODING) w.str(p.contentEncoding!);
  if (mask & HEADERS) writeValue(w, p.headers);
  if (mask & DELIVERY_MODE) w.u8(p.deliveryMode!);
  if (mask & PRIORITY) w.u8(p.priority!);
  if (mask & CORRELATION_ID) w.str(p.correlationId!);
  if (mask & REPLY_TO) w.str(p.replyTo!);
  if (mask & EXPIRATION) w.str(p.expiration!);
  if (mask & MESSAGE_ID) w.str(p.messageId!);
  if (mask & TIMESTAMP) w.f64(p.timestamp!);
  if (mask & TYPE) w.str(p.type!);
  if (mask & USER_ID) w.str(p.userId!);
  if (mask & APP_ID) w.str(p.appId!);
  if (mask & CLUSTER_ID) w.str(p.clusterId!);
  if (mask & ORIGINAL_DESTINATION) w.str(originalDestination!);
}

/** the AMQP properties; what else the record holds (PropertiesExtra) goes into `extra` */
export function readProperties(r: ByteReader, extra: PropertiesExtra): MessageProperties {
  const mask = r.varuint();
  const p: MessageProperties = {};
  if (mask === 0) return p;
  if (mask & CONTENT_TYPE) p.contentType = r.str();
  if (mask & CONTENT_ENCODING) p.contentEncoding = r.str();
  if (mask & HEADERS) p.headers = readValue(r) as FieldTable;
  if (mask & DELIVERY_MODE) p.deliveryMode = r.u8();
  if (mask & PRIORITY) p.priority = r.u8();
  if (mask & CORRELATION_ID) p.correlationId = r.str();
  if (mask & REPLY_TO) p.replyTo = r.str();
  if (mask & EXPIRATION) p.expiration = r.str();
  if (mask & MESSAGE_ID) p.messageId = r.str();
  if (mask & TIMESTAMP) p.timestamp = r.f64();
  if (mask & TYPE) p.type = r.str();
  if (mask & USER_ID) p.userId = r.str();
  if (mask & APP_ID) p.appId = r.str();
  if (mask & CLUSTER_ID) p.clusterId = r.str();
  if (mask & ORIGINAL_DESTINATION) extra.originalDestination = r.str();
  else if (!(mask & CLIENT_DLQ_ORIGIN_KEY) && typeof p.headers?.[LEGACY_DLQ_ORIGIN] === 'string') {
    extra.originalDestination = p.headers[LEGACY_DLQ_ORIGIN] as string;
    delete p.headers[LEGACY_DLQ_ORIGIN];
  }
  return p;
}

/**
 * Past the properties, keeping only what places a message in a queue (its priority and
 * expiration, into `out`): recovery indexes paged-out messages without decoding them.
 */
export function skipProperties(r: ByteReader, out: { priority: number | undefined; expiration: string | undefined }): void {
  out.priority = undefined;
  out.expiration = undefined;
  const mask = r.varuint();
  if (mask === 0) return;
  if (mask & CONTENT_TYPE) r.skipBytes();
  if (mask & CONTENT_ENCODING) r.skipBytes();
  if (mask & HEADERS) skipValue(r);
  if (mask & DELIVERY_MODE) r.skip(1);
  if (mask & PRIORITY) out.priority = r.u8();
  if (mask & CORRELATION_ID) r.skipBytes();
  if (mask & REPLY_TO) r.skipBytes();
  if (mask & EXPIRATION) out.expiration = r.str();
  if (mask & MESSAGE_ID) r.skipBytes();
  if (mask & TIMESTAMP) r.skip(8);
  if (mask & TYPE) r.skipBytes();
  if (mask & USER_ID) r.skipBytes();
  if (mask & APP_ID) r.skipBytes();
  if (mask & CLUSTER_ID) r.skipBytes();
  if (mask & ORIGINAL_DESTINATION) r.skipBytes();
}
