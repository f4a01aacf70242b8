import type { FieldTable, FieldValue } from './fields.js';
import type { Message } from './message.js';
import type { DeadLetterReason, Queue } from './queues/queue.js';

/** The routing keys a message was published with: its key plus sender-selected CC keys. */
export function originalRoutingKeys(m: Message): string[] {
  const keys = [m.routingKey];
  const cc = m.properties.headers?.['CC'];
  if (Array.isArray(cc)) for (const k of cc) if (typeof k === 'string') keys.push(k);
  return keys;
}

/**
 * The message as it leaves `queue` for its dead-letter exchange, with the x-death history
 * RabbitMQ writes: the newest (queue, reason) entry first, counted up when the same pair
 * recurs; x-first-death-* set once and x-last-death-* each time; the per-message expiration
 * moved into the entry as original-expiration.
 */
export function deadLetteredCopy(m: Message, queue: Queue, reason: DeadLetterReason, now: number): Message {
  const headers: FieldTable = { ...(m.properties.headers ?? {}) };
  const previous = Array.isArray(headers['x-death']) ? (headers['x-death'] as FieldValue[]) : [];
  const routingKeys = originalRoutingKeys(m);
  const time = new Date(Math.floor(now / 1000) * 1000);
  let found: FieldTable | undefined;
  const rest: FieldValue[] = [];
  for (const e of previous) {
    const t = e as FieldTable;
    if (!found && t && typeof t === 'object' && t['queue'] === queue.name && t['reason'] === reason) found = t;
    else rest.push(e);
  }
  let entry: FieldTable;
  if (found) {
    const count = typeof found['count'] === 'number' ? found['count'] : Number(found['count'] ?? 0);
    entry = { ...found, count: count + 1, time };
  } else {
    entry = { count: 1, reason, queue: queue.name, time, exchange: m.exchange, 'routing-keys': routingKeys };
    if (m.properties.expiration !== undefined) entry['original-expiration'] = m.properties.expiration;
  }
  headers['x-death'] = [entry, ...rest];
  if (headers['x-first-death-reason'] === undefined) {
    headers['x-first-death-reason'] = reason;
    headers['x-first-death-queue'] = queue.name;
    headers['x-first-death-exchange'] = m.exchange;
  }
  headers['x-last-death-reason'] = reason;
  headers['x-last-death-queue'] = queue.name;
  headers['x-last-death-exchange'] = m.exchange;

  const { expiration: _dropped, ...properties } = m.properties;
  const dlx = queue.config.deadLetterExchange ?? '';
  return {
    exchange: dlx,
    routingKey: queue.config.deadLetterRoutingKey ?? m.routingKey,
    properties: { ...properties, headers },
    body: m.body,
    publishedAt: now,
  };
}

/**
 * RabbitMQ drops a dead-lettered message that would come back to a queue it already died
 * in, unless a client rejected it somewhere along the way (then the cycle is the client's choice).
 */
export function isDeadLetterCycle(m: Message, target: Queue): boolean {
  const deaths = m.properties.headers?.['x-death'];
  if (!Array.isArray(deaths)) return false;
  let seen = false;
  for (const e of deaths) {
    const t = e as FieldTable;
    if (t?.['reason'] === 'rejected') return false;
    if (t?.['queue'] === target.name) seen = true;
  }
  return seen;
}
