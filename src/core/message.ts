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
  /** per-message TTL in milliseconds, as a decimal string (AMQP's own form) */
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
  /**
   * ActiveMQ's expiries are absolute (STOMP `expires`, JMSExpiration, AMQP 1.0 absolute-expiry-time):
   * one already past when the message arrived, in ms since the epoch. Its TTL is then 0 (the core's
   * TTL, AMQP's, has no negative form) and it expires on arrival; the ActiveMQ.DLQ copy names this
   * one, as ActiveMQ 5.17 does. Not stored: whatever queue it is routed to (an ActiveMQ queue, an MQTT
   * subscriber's, a RabbitMQ client's) expires it as it arrives, never handing it to a consumer.
   */
  expiredBeforeArrival?: number;
  /**
   * An ActiveMQ DLQ copy's originalDestination (`/queue/a`, `/topic/t`): a field of the message, as
   * in ActiveMQ, not a header, so no client can set it (review-s16-2 F4b) and readers that show
   * headers (AMQP 0-9-1, MQTT, management) do not see it (F4c). Stored with the message.
   */
  originalDestination?: string;
}

export function isPersistent(m: Message): boolean {
  return m.properties.deliveryMode === 2;
}
