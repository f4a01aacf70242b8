import type { FieldTable } from './fields.js';

/** AMQP basic properties: the one property model every protocol maps onto. */
export interface MessageProperties {
  contentType?: string;
  contentEncoding?: string;
  headers?: FieldTable;
  /** 1 transient, 2 persistent */
  deliveryMode?: number;
  priority?: number;
  correlationId?: string;
  replyTo?: string;
  /**
   * per-message TTL in milliseconds from publishedAt, as a decimal string (AMQP's own form);
   * negative when an absolute expiry (ActiveMQ's: STOMP `expires`, JMSExpiration, AMQP 1.0
   * absolute-expiry-time) was already past at arrival, so publishedAt + TTL stays the client's
   * own expiry (ActiveMQ shows it in the DLQ copy's originalExpiration)
   */
  expiration?: string;
  messageId?: string;
  /** seconds since the epoch */
  timestamp?: number;
  type?: string;
  userId?: string;
  appId?: string;
  clusterId?: string;
}

export interface Message {
  /** exchange it was published to */
  exchange: string;
  routingKey: string;
  properties: MessageProperties;
  body: Buffer;
  /** ms since epoch when first published: TTLs count from here, also across restarts */
  publishedAt: number;
  /**
   * The AMQP content-header property bytes this message arrived with (or was last
   * encoded to). Lets an AMQP delivery reuse them instead of re-encoding; any code
   * that changes `properties` must clear it.
   */
  encodedProperties?: Buffer;
  /**
   * The form the message arrived in, kept by its adapter so a delivery in the same
   * protocol needs no re-encoding and keeps what the core's properties cannot hold
   * (OpenWire: its typed JMS properties and ids). Stored with the message (journal, paging)
   * when its adapter registered a codec for it (core/native-forms.ts); a copy that changes
   * the message leaves it behind.
   */
  native?: { protocol: string; data: unknown };
}

export function isPersistent(m: Message): boolean {
  return m.properties.deliveryMode === 2;
}
