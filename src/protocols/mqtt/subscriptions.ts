import type { FieldTable } from '../../core/fields.js';

/** binding argument carrying an MQTT subscription's options on the session queue's binding */
export const SUBSCRIPTION_ARG = 'x-mqtt-subscription';

/** one subscription's options: granted QoS and MQTT 5's no-local, retain-as-published, retain handling, identifier */
export interface SubscriptionOptions {
  qos: number;
  nl: boolean;
  rap: boolean;
  rh: number;
  id?: number;
}

/**
 * The binding arguments that keep a subscription's options with its binding, so a
 * persistent session's subscriptions are the core's bindings and nothing else (RabbitMQ
 * 3.13 keeps them the same way, as binding arguments of the session queue).
 */
export function subscriptionArgs(o: SubscriptionOptions): FieldTable {
  const opts: FieldTable = { qos: o.qos };
  if (o.nl) opts['no-local'] = true;
  if (o.rap) opts['retain-as-published'] = true;
  if (o.rh) opts['retain-handling'] = o.rh;
  if (o.id !== undefined) opts['id'] = o.id;
  return { [SUBSCRIPTION_ARG]: opts };
}

/** the options a binding carries (QoS 1 for a binding made without them, e.g. by AMQP tools) */
export function optionsFromArgs(args: FieldTable): SubscriptionOptions {
  const t = args[SUBSCRIPTION_ARG];
  if (!t || typeof t !== 'object' || Array.isArray(t) || Buffer.isBuffer(t) || t instanceof Date) return { qos: 1, nl: false, rap: false, rh: 0 };
  const o = t as FieldTable;
  const qos = typeof o['qos'] === 'number' ? o['qos'] : 1;
  const out: SubscriptionOptions = { qos, nl: o['no-local'] === true, rap: o['retain-as-published'] === true, rh: typeof o['retain-handling'] === 'number' ? o['retain-handling'] : 0 };
  if (typeof o['id'] === 'number') out.id = o['id'];
  return out;
}

/**
 * Is this a valid MQTT topic filter (§4.7.1)? `#` only as the last level, `+` only as a
 * whole level, no NUL; not empty.
 */
export function validFilter(filter: string): boolean {
  if (filter.length === 0 || filter.includes('\u0000')) return false;
  const levels = filter.split('/');
  for (let i = 0; i < levels.length; i++) {
    const l = levels[i]!;
    if (l.includes('#') && (l !== '#' || i !== levels.length - 1)) return false;
    if (l.includes('+') && l !== '+') return false;
  }
  return true;
}

/** Is this a valid topic name for a PUBLISH (§4.7.3)? Not empty, no wildcards, no NUL. */
export function validTopicName(topic: string): boolean {
  if (topic.length === 0) return false;
  for (let i = 0; i < topic.length; i++) {
    const c = topic.charCodeAt(i);
    if (c === 0x23 /* # */ || c === 0x2b /* + */ || c === 0 || c === 0xfffd) return false;
  }
  return true;
}

/**
 * A string decoded from bytes that were not valid UTF-8 carries U+FFFD where they were
 * (mqtt-packet decodes without checking): such a topic or filter is malformed.
 */
export function hasInvalidUtf8(s: string): boolean {
  return s.includes('\uFFFD');
}
