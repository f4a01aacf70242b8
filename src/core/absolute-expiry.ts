/**
 * ActiveMQ's expiries are absolute times in ms since the epoch (STOMP `expires`, JMSExpiration,
 * AMQP 1.0 absolute-expiry-time); the core holds a TTL from the arrival (MessageProperties.expiration,
 * AMQP 0-9-1's form, which has no negative). An absolute time of 0 or less is no expiry at all
 * (ActiveMQ's Message.isExpired: `expiration > 0 && now > expiration`). The three ActiveMQ-side
 * adapters translate through these two, each without allocating.
 */

/** the core's TTL for an absolute expiry `at` of a message arriving at `now`: at least 0; undefined for none */
export function ttlOfAbsoluteExpiry(at: number, now: number): string | undefined {
  return at > 0 ? String(Math.max(0, at - now)) : undefined;
}

/**
 * `at` when it was already past as the message arrived (Message.expiredBeforeArrival: the TTL is 0
 * then, and the ActiveMQ.DLQ copy names this time, as ActiveMQ 5.17 does); undefined otherwise
 */
export function expiredBeforeArrival(at: number, now: number): number | undefined {
  return at > 0 && at < now ? at : undefined;
}
