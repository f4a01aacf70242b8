import { randomBytes } from 'node:crypto';
import type { VHost } from '../../core/vhost.js';
import type { Dialect } from '../context.js';
import { activemqQueueArguments } from '../../core/activemq-names.js';
import { Amqp10Error, Condition } from './codec/errors.js';

/**
 * Link addresses as each engine reads them.
 *
 * RabbitMQ profile (RabbitMQ 4, rabbit_amqp_session): v2 addresses `/queues/:queue`
 * (source or target; the queue must exist), `/exchanges/:exchange/:key` and
 * `/exchanges/:exchange` (target, empty key), a null target (each message's `to`); and
 * the v1 forms RabbitMQ 3.x's plugin took and 4.x still accepts: `/queue/:q` (declared),
 * `/queue` (target: the message subject is the key), `/amq/queue/:q` (must exist),
 * `/exchange/:e/:key`, `/exchange/:e` (target: key = subject), `/topic/:key` (amq.topic).
 * A v1 source on an exchange or topic reads a new server-named queue bound with the key.
 *
 * ActiveMQ profile (ActiveMQ 5.x's AMQP transport): `queue://name`, `topic://name`, a
 * plain name is a queue (or a topic when the terminus carries the `topic` capability, as
 * Qpid JMS sends it). Queues are created on use; topics ride amq.topic with `.`-separated
 * levels (`>` matches the rest), as ActiveMQ's STOMP topics do here.
 */
export type TargetNode =
  /** publish to an exchange; `key` undefined: the message's subject is the routing key */
  | { kind: 'exchange'; exchange: string; key: string | undefined; declareQueue?: DeclareQueue; mustExist?: { queue?: string; exchange?: string } }
  /** the anonymous terminus: each message's `to` names its node */
  | { kind: 'anonymous' };

export type SourceNode =
  | { kind: 'queue'; queue: string; declareQueue?: DeclareQueue; mustExist?: boolean }
  /** a subscription: a queue of our own bound to `exchange` with `bindingKey` */
  | { kind: 'subscription'; exchange: string; bindingKey: string };

export interface DeclareQueue {
  name: string;
  /** ActiveMQ queues are always durable; RabbitMQ's v1 follows the terminus durability */
  durable: boolean;
  /** an ActiveMQ destination: message groups and expiry to ActiveMQ.DLQ, as OpenWire's and STOMP's queues */
  arguments?: Record<string, boolean | number>;
}

/** the arguments a queue this profile creates is declared with (ActiveMQ's destinations are ActiveMQ queues) */
export function profileQueueArguments(dialect: Dialect): Record<string, boolean | number> {
  return dialect === 'activemq' ? activemqQueueArguments() : {};
}

export const TOPIC_EXCHANGE = 'amq.topic';

function badAddress(address: string): Amqp10Error {
  return new Amqp10Error(Condition.invalidField, `address not parsable: ${JSON.stringify(address)}`, 'link');
}

/** RabbitMQ's cow_uri:urldecode: percent-escapes, refusing malformed ones */
function urldecode(s: string, address: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badAddress(address);
  }
}

/** uri_string:quote, as RabbitMQ writes queue names into `/queues/…` */
export function quoteQueue(name: string): string {
  return encodeURIComponent(name).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export function parseTarget(dialect: Dialect, address: string | undefined, capabilities: string[], durable: boolean): TargetNode {
  if (address === undefined || address === null) return { kind: 'anonymous' };
  return dialect === 'activemq' ? activemqTarget(address, capabilities) : rabbitTarget(address, durable);
}

export function parseSource(dialect: Dialect, address: string, capabilities: string[], durable: boolean): SourceNode {
  return dialect === 'activemq' ? activemqSource(address, capabilities) : rabbitSource(address, durable);
}

// ---- RabbitMQ ----------------------------------------------------------------------

function rabbitTarget(address: string, durable: boolean): TargetNode {
  if (address.startsWith('/exchanges/')) {
    const parts = address.slice('/exchanges/'.length).split('/');
    if (parts.length > 2) throw badAddress(address);
    const exchange = urldecode(parts[0]!, address);
    // the default exchange is reached through /queues/ only
    if (exchange === '' || exchange === 'amq.default') throw badAddress(address);
    const key = parts.length === 2 ? urldecode(parts[1]!, address) : '';
    return { kind: 'exchange', exchange, key, mustExist: { exchange } };
  }
  if (address.startsWith('/queues/')) {
    const queue = urldecode(address.slice('/queues/'.length), address);
    if (queue === '') throw badAddress(address);
    return { kind: 'exchange', exchange: '', key: queue, mustExist: { queue } };
  }
  const v1 = parseV1(address, true);
  switch (v1.kind) {
    case 'queue':
      if (v1.name === undefined) return { kind: 'exchange', exchange: '', key: undefined };
      return { kind: 'exchange', exchange: '', key: v1.name, declareQueue: { name: v1.name, durable } };
    case 'amqqueue':
      return { kind: 'exchange', exchange: '', key: v1.name, mustExist: { queue: v1.name } };
    case 'exchange':
      return { kind: 'exchange', exchange: v1.exchange, key: v1.key, mustExist: { exchange: v1.exchange } };
    case 'topic':
      return { kind: 'exchange', exchange: TOPIC_EXCHANGE, key: v1.key };
  }
}

function rabbitSource(address: string, durable: boolean): SourceNode {
  if (address.startsWith('/queues/')) {
    const queue = urldecode(address.slice('/queues/'.length), address);
    if (queue === '') throw badAddress(address);
    return { kind: 'queue', queue, mustExist: true };
  }
  if (address.startsWith('/exchanges/')) throw badAddress(address);
  const v1 = parseV1(address, false);
  switch (v1.kind) {
    case 'queue':
      if (v1.name === undefined) throw badAddress(address);
      return { kind: 'queue', queue: v1.name, declareQueue: { name: v1.name, durable } };
    case 'amqqueue':
      return { kind: 'queue', queue: v1.name, mustExist: true };
    case 'exchange':
      return { kind: 'subscription', exchange: v1.exchange, bindingKey: v1.key ?? '' };
    case 'topic':
      return { kind: 'subscription', exchange: TOPIC_EXCHANGE, bindingKey: v1.key };
  }
}

type V1 =
  | { kind: 'queue'; name: string | undefined }
  | { kind: 'amqqueue'; name: string }
  | { kind: 'exchange'; exchange: string; key: string | undefined }
  | { kind: 'topic'; key: string };

/**
 * rabbit_routing_parser:parse_endpoint, which RabbitMQ 3.x's plugin and 4.x's v1 support
 * share: `/`-separated, only `%2F` unescaped; a name without a slash is a queue; `/queue`
 * alone is the anonymous queue (targets only: the subject is the key).
 */
function parseV1(address: string, target: boolean): V1 {
  const unescape = (s: string) => s.replace(/%2F/g, '/');
  const parts = address.split('/');
  if (parts.length === 1) return { kind: 'queue', name: unescape(address) };
  const [lead, type, ...rest] = parts;
  if (lead !== '') throw badAddress(address);
  const one = (): string => {
    if (rest.length !== 1 || rest[0] === '') throw badAddress(address);
    return unescape(rest[0]!);
  };
  switch (type) {
    case 'queue':
    case 'temp-queue':
      if (rest.length === 0 && target) return { kind: 'queue', name: undefined };
      return { kind: 'queue', name: one() };
    case 'topic':
      return { kind: 'topic', key: one() };
    case 'amq':
      if (rest[0] !== 'queue') throw badAddress(address);
      rest.shift();
      return { kind: 'amqqueue', name: one() };
    case 'exchange':
      if (rest.length === 0 || rest.length > 2 || rest[0] === '') throw badAddress(address);
      return { kind: 'exchange', exchange: unescape(rest[0]!), key: rest.length === 2 ? unescape(rest[1]!) : undefined };
    default:
      throw badAddress(address);
  }
}

// ---- ActiveMQ ----------------------------------------------------------------------

type AmqNode = { kind: 'queue' | 'topic'; name: string };

export function parseActiveMqAddress(address: string, capabilities: string[]): AmqNode {
  for (const [prefix, kind] of [
    ['queue://', 'queue'],
    ['topic://', 'topic'],
    ['temp-queue://', 'queue'],
    ['temp-topic://', 'topic'],
  ] as const) {
    if (address.startsWith(prefix)) {
      const name = address.slice(prefix.length);
      if (name === '') throw badAddress(address);
      return { kind, name };
    }
  }
  if (address === '') throw badAddress(address);
  const topic = capabilities.includes('topic') || capabilities.includes('temporary-topic');
  return { kind: topic ? 'topic' : 'queue', name: address };
}

/** `>` (every remaining level) becomes the topic exchange's `#` */
export function activemqBindingKey(name: string): string {
  return name
    .split('.')
    .map((l) => (l === '>' ? '#' : l))
    .join('.');
}

function activemqTarget(address: string, capabilities: string[]): TargetNode {
  const n = parseActiveMqAddress(address, capabilities);
  if (n.kind === 'topic') return { kind: 'exchange', exchange: TOPIC_EXCHANGE, key: n.name };
  return { kind: 'exchange', exchange: '', key: n.name, declareQueue: { name: n.name, durable: true, arguments: activemqQueueArguments() } };
}

function activemqSource(address: string, capabilities: string[]): SourceNode {
  const n = parseActiveMqAddress(address, capabilities);
  if (n.kind === 'topic') return { kind: 'subscription', exchange: TOPIC_EXCHANGE, bindingKey: activemqBindingKey(n.name) };
  return { kind: 'queue', queue: n.name, declareQueue: { name: n.name, durable: true, arguments: activemqQueueArguments() } };
}

/** the address a client reads back for a queue, in the profile's own form */
export function queueAddress(dialect: Dialect, queue: string, temporary = false): string {
  if (dialect === 'activemq') return temporary ? `temp-queue://${queue}` : `queue://${queue}`;
  return `/queues/${quoteQueue(queue)}`;
}

/**
 * A dynamic node's queue (delete-on-close): exclusive to the connection that asked for it,
 * which others may still send to. Named the way the engine names temporary queues: ActiveMQ
 * by connection id, RabbitMQ 3.x's plugin with a server-named `amq.gen-` queue.
 */
export function dynamicQueue(conn: DynamicOwner, dialect: Dialect, channel: number, handle: number): string {
  const name = dialect === 'activemq' ? `ID:${conn.id}:${channel}:${handle}` : `amq.gen-${randomBytes(16).toString('base64url').slice(0, 22)}`;
  conn.checkAccess('configure', 'queue', name);
  return conn.vhostModel!.declareQueue(name, { passive: false, durable: false, exclusive: true, autoDelete: false, arguments: profileQueueArguments(dialect) }, conn).name;
}

interface DynamicOwner {
  readonly id: string;
  readonly vhostModel: VHost | undefined;
  checkAccess(permission: 'configure', kind: 'queue', name: string): void;
}
