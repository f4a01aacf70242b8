import { createHash } from 'node:crypto';
import type { Exchange } from '../../core/exchanges/exchange.js';
import type { Binding } from '../../core/exchanges/router.js';
import type { FieldTable } from '../../core/fields.js';
import type { Queue } from '../../core/queues/queue.js';
import type { VHost } from '../../core/vhost.js';
import type { ClientConnection } from '../../protocols/context.js';
import { fieldTableToJson } from '../../server/definitions/json-values.js';
import type { PermissionDef, UserDef, VhostDef } from '../../store/store.js';

/*
 * The JSON objects of RabbitMQ's management API, field for field where LocalMQ has the
 * data; fields it cannot know (rates, memory, Erlang pids) are left out rather than faked.
 */

/** the single node's name, as RabbitMQ's `node` fields carry it */
export const NODE_NAME = `localmq@${process.pid}`;

const PROTOCOL_NAMES: Record<ClientConnection['protocol'], string> = {
  amqp: 'AMQP 0-9-1',
  amqp10: 'AMQP 1-0',
  stomp: 'STOMP',
  mqtt: 'MQTT 3.1.1',
};

export function queueJson(q: Queue): Record<string, unknown> {
  const ready = q.messageCount;
  const unacked = q.unackedCount;
  return {
    name: q.name,
    vhost: q.vhost,
    durable: q.options.durable,
    auto_delete: q.options.autoDelete,
    exclusive: q.options.exclusive,
    arguments: fieldTableToJson(q.options.arguments),
    type: queueType(q.options.arguments),
    node: NODE_NAME,
    state: 'running',
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
    consumers: q.consumerCount,
    message_stats: {
      publish: q.stats.published,
      deliver_get: q.stats.delivered,
      ack: q.stats.acked,
      redeliver: q.stats.redelivered,
    },
  };
}

function queueType(args: FieldTable): string {
  const t = args['x-queue-type'];
  if (typeof t === 'string') return t;
  if (Buffer.isBuffer(t)) return t.toString('utf8');
  return 'classic';
}

export function exchangeJson(x: Exchange): Record<string, unknown> {
  return {
    name: x.name,
    vhost: x.vhost,
    type: x.type,
    durable: x.options.durable,
    auto_delete: x.options.autoDelete,
    internal: x.options.internal,
    arguments: fieldTableToJson(x.options.arguments),
  };
}

/**
 * Every binding of a vhost as RabbitMQ lists them: first the default exchange's implicit
 * binding of each queue (routing key = queue name), then the declared ones.
 */
export function vhostBindingsJson(v: VHost): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const q of v.queues.values()) {
    out.push(bindingJson(v.name, '', { kind: 'queue', name: q.name }, q.name, {}));
  }
  for (const x of v.exchanges.values()) {
    for (const b of x.bindings.values()) out.push(bindingJson(v.name, x.name, b.destination, b.routingKey, b.arguments));
  }
  return out;
}

function bindingJson(vhost: string, source: string, destination: Binding['destination'], routingKey: string, args: FieldTable): Record<string, unknown> {
  const jsonArgs = fieldTableToJson(args);
  return {
    source,
    vhost,
    destination: destination.name,
    destination_type: destination.kind,
    routing_key: routingKey,
    arguments: jsonArgs,
    properties_key: propertiesKey(routingKey, jsonArgs),
  };
}

/**
 * The id RabbitMQ gives a binding in URLs: the URL-encoded routing key (`~` when empty),
 * plus `~` and a digest of the arguments when there are any. RabbitMQ's digest is of the
 * Erlang term, so with arguments the value differs from RabbitMQ's, but it is stable.
 */
function propertiesKey(routingKey: string, args: Record<string, unknown>): string {
  const key = routingKey === '' ? '~' : encodeURIComponent(routingKey);
  const names = Object.keys(args).sort();
  if (names.length === 0) return key;
  const digest = createHash('sha256')
    .update(JSON.stringify(names.map((n) => [n, args[n]])))
    .digest('base64url')
    .slice(0, 22);
  return `${routingKey === '' ? '' : key}~${digest}`;
}

export function connectionJson(c: ClientConnection): Record<string, unknown> {
  return {
    name: c.id,
    node: NODE_NAME,
    type: 'network',
    state: 'running',
    protocol: PROTOCOL_NAMES[c.protocol],
    user: c.user ?? '',
    vhost: c.vhost ?? '',
    peer_host: c.remoteAddress ?? '',
    connected_at: c.connectedAt,
  };
}

export function userJson(u: UserDef): Record<string, unknown> {
  return {
    name: u.name,
    password_hash: u.passwordHash,
    hashing_algorithm: u.hashingAlgorithm,
    tags: [...u.tags],
    limits: {},
  };
}

export function permissionJson(p: PermissionDef): Record<string, unknown> {
  return { user: p.user, vhost: p.vhost, configure: p.configure, write: p.write, read: p.read };
}

export function vhostJson(v: VHost, meta: VhostDef | undefined): Record<string, unknown> {
  let ready = 0;
  let unacked = 0;
  for (const q of v.queues.values()) {
    ready += q.messageCount;
    unacked += q.unackedCount;
  }
  const description = meta?.description ?? (v.name === '/' ? 'Default virtual host' : '');
  const tags = [...(meta?.tags ?? [])];
  return {
    name: v.name,
    description,
    tags,
    metadata: { description, tags },
    default_queue_type: meta?.defaultQueueType ?? 'classic',
    tracing: false,
    messages: ready + unacked,
    messages_ready: ready,
    messages_unacknowledged: unacked,
  };
}
