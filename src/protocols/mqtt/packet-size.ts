/** How large an MQTT packet may be: the rule the connection's framer and the WebSocket listener share. */

/** room for the topic and properties beside the largest payload, in a PUBLISH's remaining length */
const PUBLISH_HEADROOM = 65536;
/** the largest remaining length MQTT can encode */
export const MAX_REMAINING_LENGTH = 268435455;

/** the largest packet a logged-in client may send: a message of the broker's maximum size and its headers */
export function maxPacketSize(maxMessageSize: number): number {
  const max = maxMessageSize + PUBLISH_HEADROOM;
  return max > MAX_REMAINING_LENGTH ? MAX_REMAINING_LENGTH : max;
}
