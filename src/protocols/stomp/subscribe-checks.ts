import { getHeader, type StompFrame } from './codec/index.js';
import { duplicatedSubscription, StompError } from './errors.js';
import type { AckMode } from './subscription.js';

export const TEMP_QUEUE_PREFIX = '/temp-queue/';

/**
 * LocalMQ's own SUBSCRIBE checks (the ActiveMQ dialect's; RabbitMQ's dialect makes these in do_subscribe's
 * order itself): an id naming a temp queue, the ack mode, an id in use. Each dialect calls them at its own
 * point of the frame's handling, since which refusal a client sees depends on the order.
 */
export function checkedAckMode(frame: StompFrame, id: string | undefined): AckMode {
  if (id !== undefined && id.startsWith(TEMP_QUEUE_PREFIX)) {
    throw new StompError('Invalid id', `SUBSCRIBE 'id' may not start with ${TEMP_QUEUE_PREFIX}\n`);
  }
  const value = getHeader(frame, 'ack');
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'client' || value === 'client-individual') return value;
  throw new StompError('Invalid header', `'ack' must be 'auto', 'client' or 'client-individual', got '${value}'\n`);
}

/** a subscription id (tag) already in use on this connection: refused (RabbitMQ then closes, see closesAfter) */
export function refuseDuplicateSubscription(subscriptions: ReadonlyMap<string, unknown>, tag: string): void {
  if (subscriptions.has(tag)) {
    // its code, not its text, is what the RabbitMQ dialect closes after (closesAfter)
    throw duplicatedSubscription(tag);
  }
}
