import { createHash } from 'node:crypto';
import type { Consumer } from '../../core/consumer.js';
import type { Exchange } from '../../core/exchanges/exchange.js';
import type { Binding } from '../../core/exchanges/router.js';
import type { FieldTable } from '../../core/fields.js';
import type { MessageProperties } from '../../core/message.js';
import type { Queue } from '../../core/queues/queue.js';
import { QuorumReadyList } from '../../core/queues/quorum-ready-list.js';
import type { VHost } from '../../core/vhost.js';
import type { ChannelInfo, ClientConnection } from '../../protocols/context.js';
import { NODE_NAME } from '../../protocols/amqp/server-properties.js';
import { fieldTableToJson } from '../../server/definitions/json-values.js';
import type { PermissionDef, PolicyDef, UserDef, VhostDef } from '../../store/store.js';
import type { ManagementBackend } from '../backend.js';
import { deliveryKinds } from '../rates.js';

/*
 * The JSON objects of RabbitMQ's management API, field for field where LocalMQ has the
 * data; fields it cannot know (Erlang reductions, garbage collection, pids) are left out
 * rather than faked.
 */

export { NODE_NAME };

const PROTOCOL_NAMES: Record<ClientConnection['protocol'], string> = {
  amqp: 'AMQP 0-9-1',
  amqp10: 'AMQP 1-0',
  stomp: 'STOMP',
  mqtt: 'MQTT',
  openwire: 'OpenWire',
};

const details = (rate: number) => ({ rate });
const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * What rabbit_quorum_queue adds to a quorum queue's stats besides its message figures
 * (queueMemoryJson, messages_dlx among them): the delivery limit (4.x), and the ready
 * messages per kind (4.0-4.2: high / normal / returned; 4.3: returned and
 * messages_by_priority).
 */
function quorumJson(q: Queue): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const rules = q.host.engineRules;
  if (rules.quorumDefaultDeliveryLimit !== undefined) {
    const limit = q.config.deliveryLimit ?? rules.quorumDefaultDeliveryLimit;
    out['delivery_limit'] = limit < 0 ? 'unlimited' : limit;
  }
  if (q.ready instanceof QuorumReadyList) {
    const o = q.ready.overview();
    if (o.high !== undefined) Object.assign(out, { messages_ready_high: o.high, messages_ready_normal: o.normal, messages_ready_returned: o.returned });
    if (o.byPriority !== undefined) Object.assign(out, { messages_ready_returned: o.returned, messages_by_priority: o.byPriority });
  }
  return out;
}

export function queueJson(b: ManagementBackend, q: Queue): Record<string, unknown> {
  const ready = q.messageCount;
  const unacked = q.unackedCount;
  const r = (key: string) => details(b.rates.queueRate(q, key));
  const operator = b.core.policies.operatorFor(q);
  const head = q.ready.peek();
  return {
    name: q.name,
    vhost: q.vhost,
    durable: q.options.durable,
    auto_delete: q.options.autoDelete,
    exclusive: q.options.exclusive,
    arguments: fieldTableToJson(q.options.arguments),
    type: q.config.queueType,
    node: NODE_NAME,
    state: 'running',
    policy: q.policy ?? null,
    operator_policy: operator?.name ?? null,
    // rabbit_policy:effective_definition: the policy merged with the operator policy
    effective_policy_definition: q.policy || operator ? fieldTableToJson(b.core.policies.effectiveDefinition(q)) : {},
    consumers: q.consumerCount,
    // rabbit_amqqueue_process: 0 without consumers, else the share of time they could take messages at once
    consumer_capacity: q.consumerCount === 0 ? 0 : round3(q.use.capacity()),
    consumer_utilisation: q.consumerCount === 0 ? 0 : round3(q.use.capacity()),
    exclusive_consumer_tag: q.consumers.find((c) => c.options.exclusive)?.tag ?? null,
    single_active_consumer_tag: q.config.singleActiveConsumer ? (q.consumers[0]?.tag ?? null) : null,
    head_message_timestamp: head?.message.properties.timestamp ?? null,
    messages: ready + unacked,
    messages_details: r('messages'),
    messages_ready: ready,
    messages_ready_details: r('messages_ready'),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: r('messages_unacknowledged'),
    ...queueMemoryJson(q),
    message_stats: {
      publish: q.stats.published,
      publish_details: r('publish'),
      deliver_get: q.stats.delivered,
      deliver_get_details: r('deliver_get'),
      deliver: q.stats.delivered - q.stats.deliverNoAck - q.stats.get - q.stats.getNoAck,
      deliver_details: r('deliver'),
      deliver_no_ack: q.stats.deliverNoAck,
      deliver_no_ack_details: r('deliver_no_ack'),
      get: q.stats.get,
      get_details: r('get'),
      get_no_ack: q.stats.getNoAck,
      get_no_ack_details: r('get_no_ack'),
      get_empty: q.stats.getEmpty,
      get_empty_details: r('get_empty'),
      ack: q.stats.acked,
      ack_details: r('ack'),
      redeliver: q.stats.redelivered,
      redeliver_details: r('redeliver'),
    },
    ...(q.config.queueType === 'quorum' ? quorumJson(q) : {}),
    ...(q.config.queueType === 'classic' ? { backing_queue_status: backingQueueStatus(b, q) } : {}),
  };
}

/**
 * Heap a queued message takes besides its body in LocalMQ (entry, message and properties
 * objects), measured: 200,000 messages of 16 bytes grew the heap by 459 bytes each.
 */
export const MESSAGE_OVERHEAD_BYTES = 440;

/**
 * The queue's message figures by where the messages are (rabbit_amqqueue_process's
 * messages_ram / message_bytes_persistent …). A durable queue on the journal pages persistent
 * messages past its in-memory window out (core/queues/paged-fifo.ts): those are the
 * `_paged_out` figures, the rest is in RAM. `memory` is LocalMQ's estimate of the heap the queue holds
 * (RabbitMQ: the queue process's memory): bodies plus the measured overhead per message.
 */
export function queueMemoryJson(q: Queue): Record<string, number> {
  const ready = q.messageCount;
  const unacked = q.unackedCount;
  const bytes = q.ready.bytes + q.unackedBytes;
  if (q.config.queueType === 'quorum') {
    // rabbit_quorum_queue's figures: bodies live in the Raft log, so nothing counts as in RAM
    // (messages_ram and message_bytes_ram are 0 there); held at-least-once dead letters apart
    const dlx = q.dlxPending();
    return {
      memory: 1024 + (ready + unacked + dlx.count) * MESSAGE_OVERHEAD_BYTES + bytes + dlx.bytes,
      message_bytes: bytes,
      message_bytes_ready: q.ready.bytes,
      message_bytes_unacknowledged: q.unackedBytes,
      messages_ram: 0,
      message_bytes_ram: 0,
      messages_dlx: dlx.count,
      message_bytes_dlx: dlx.bytes,
    };
  }
  const paged = q.ready.paged;
  const pagedBytes = q.ready.pagedBytes;
  // a paged-out message keeps 32 bytes of index in memory, not its object and body
  const memory = 1024 + (ready - paged + unacked) * MESSAGE_OVERHEAD_BYTES + bytes - pagedBytes + paged * 32;
  if (q.config.queueType !== 'classic') return { memory };
  return {
    memory,
    message_bytes: bytes,
    message_bytes_ready: q.ready.bytes,
    message_bytes_unacknowledged: q.unackedBytes,
    message_bytes_ram: bytes - pagedBytes,
    message_bytes_persistent: q.ready.persistentBytes + q.unackedPersistentBytes,
    message_bytes_paged_out: pagedBytes,
    messages_ram: ready - paged + unacked,
    messages_ready_ram: ready - paged,
    messages_unacknowledged_ram: unacked,
    messages_persistent: q.ready.persistent + q.unackedPersistent,
    messages_paged_out: paged,
  };
}

/**
 * rabbit_variable_queue's info(backing_queue_status) for a classic queue, in the layout of the
 * broker's version (3.13: mode/q1…q4/delta; 4.x: q_head/q_tail). Ready messages in memory
 * are q3 (3.13) or q_head (4.x); paged-out messages are delta (3.13) or q_tail (4.x).
 */
function backingQueueStatus(b: ManagementBackend, q: Queue): Record<string, unknown> {
  const len = q.messageCount;
  const paged = q.ready.paged;
  const rates = {
    avg_ingress_rate: b.rates.queueRate(q, 'publish'),
    avg_egress_rate: b.rates.queueRate(q, 'deliver_get'),
    avg_ack_ingress_rate: b.rates.queueRate(q, 'deliver'),
    avg_ack_egress_rate: b.rates.queueRate(q, 'ack'),
  };
  const emptyDelta = ['delta', 'undefined', paged, 0, 'undefined'];
  if (b.core.engineRules.version.startsWith('3.')) {
    return {
      mode: 'default',
      version: 2,
      q1: 0,
      q2: 0,
      delta: emptyDelta,
      q3: len - paged,
      q4: 0,
      len,
      target_ram_count: 'infinity',
      next_seq_id: q.stats.published,
      next_deliver_seq_id: q.stats.delivered,
      num_pending_acks: q.unackedCount,
      num_unconfirmed: 0,
      ...rates,
    };
  }
  return {
    version: 2,
    q_head: len - paged,
    q_tail: emptyDelta,
    len,
    next_seq_id: q.stats.published,
    redeliver_seq_id: q.stats.published,
    delivery_count: q.stats.delivered,
    num_pending_acks: q.unackedCount,
    num_unconfirmed: 0,
    ...rates,
  };
}

/** the single queue GET adds who consumes from it */
export function queueDetailJson(b: ManagementBackend, q: Queue): Record<string, unknown> {
  return { ...queueJson(b, q), consumer_details: q.consumers.map((c) => consumerJson(b, c)), deliveries: [], incoming: [] };
}

export function exchangeJson(b: ManagementBackend, x: Exchange): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: x.name,
    vhost: x.vhost,
    type: x.type,
    durable: x.options.durable,
    auto_delete: x.options.autoDelete,
    internal: x.options.internal,
    arguments: fieldTableToJson(x.options.arguments),
  };
  // as RabbitMQ: message_stats appear once the exchange has seen a publish
  if (x.stats.publishIn > 0) {
    out['message_stats'] = {
      publish_in: x.stats.publishIn,
      publish_in_details: details(b.rates.exchangeRate(x, 'publish_in')),
      publish_out: x.stats.publishOut,
      publish_out_details: details(b.rates.exchangeRate(x, 'publish_out')),
    };
  }
  return out;
}

/**
 * Every binding of a vhost as RabbitMQ lists them: first the default exchange's implicit
 * binding of each queue (routing key = queue name), then the declared ones.
 */
export function vhostBindingsJson(v: VHost): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const q of v.queues.values()) out.push(bindingJson(v.name, '', { kind: 'queue', name: q.name }, q.name, {}));
  for (const x of v.exchanges.values()) {
    for (const bd of x.bindings.values()) out.push(bindingJson(v.name, x.name, bd.destination, bd.routingKey, bd.arguments));
  }
  return out;
}

export function bindingJson(vhost: string, source: string, destination: Pick<Binding['destination'], 'kind' | 'name'>, routingKey: string, args: FieldTable): Record<string, unknown> {
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
 * The id RabbitMQ gives a binding in URLs: the routing key (`~` when empty), plus `~` and
 * a digest of the arguments when there are any. RabbitMQ's digest is of the Erlang term,
 * so with arguments the value differs from RabbitMQ's, but it is stable. Clients take it
 * from the listing and URL-encode it, as with RabbitMQ.
 */
export function propertiesKey(routingKey: string, args: Record<string, unknown>): string {
  const key = routingKey === '' ? '~' : routingKey.replace(/%/g, '%25').replace(/~/g, '%7E');
  const names = Object.keys(args).sort();
  if (names.length === 0) return key;
  const digest = createHash('sha256')
    .update(JSON.stringify(names.map((n) => [n, args[n]])))
    .digest('base64url')
    .slice(0, 22);
  return `${routingKey === '' ? '' : key}~${digest}`;
}

/** RabbitMQ's connection name: `127.0.0.1:51234 -> 127.0.0.1:5672` */
export function connectionName(c: ClientConnection): string {
  const s = c.socket;
  if (!s || s.remotePort === undefined) return c.id;
  return `${plainAddress(s.remoteAddress)}:${s.remotePort} -> ${plainAddress(s.localAddress)}:${s.localPort}`;
}

function plainAddress(a: string | undefined): string {
  return (a ?? '').replace(/^::ffff:/, '');
}

export function connectionJson(b: ManagementBackend, c: ClientConnection): Record<string, unknown> {
  const s = c.socket;
  const props = c.clientProperties ? fieldTableToJson(c.clientProperties) : {};
  const channels = c.channelInfo?.() ?? [];
  const tls = s && 'encrypted' in s && (s as { encrypted?: boolean }).encrypted === true;
  return {
    name: connectionName(c),
    node: NODE_NAME,
    type: 'network',
    state: c.flow?.state() ?? 'running',
    protocol: PROTOCOL_NAMES[c.protocol],
    user: c.user ?? '',
    user_who_performed_action: c.user ?? '',
    vhost: c.vhost ?? '',
    host: plainAddress(s?.localAddress),
    port: s?.localPort ?? null,
    peer_host: plainAddress(s?.remoteAddress ?? c.remoteAddress),
    peer_port: s?.remotePort ?? null,
    ssl: tls,
    // LocalMQ does not ask clients for certificates; the cipher details stay unknown here
    peer_cert_issuer: null,
    peer_cert_subject: null,
    peer_cert_validity: null,
    ssl_protocol: null,
    ssl_cipher: null,
    ssl_hash: null,
    ssl_key_exchange: null,
    channel_max: c.negotiated?.channelMax ?? null,
    frame_max: c.negotiated?.frameMax ?? null,
    timeout: c.negotiated?.heartbeat ?? null,
    auth_mechanism: 'PLAIN',
    connected_at: c.connectedAt,
    channels: channels.length,
    client_properties: props,
    user_provided_name: typeof props['connection_name'] === 'string' ? props['connection_name'] : null,
    recv_oct: s?.bytesRead ?? 0,
    recv_oct_details: details(b.rates.connectionRate(c, 'recv_oct')),
    send_oct: s?.bytesWritten ?? 0,
    send_oct_details: details(b.rates.connectionRate(c, 'send_oct')),
  };
}

export function channelJson(c: ClientConnection, ch: ChannelInfo): Record<string, unknown> {
  const name = connectionName(c);
  return {
    name: `${name} (${ch.number})`,
    number: ch.number,
    node: NODE_NAME,
    state: ch.active && !ch.inFlow ? 'running' : 'flow',
    user: c.user ?? '',
    user_who_performed_action: c.user ?? '',
    vhost: c.vhost ?? '',
    confirm: ch.confirm,
    transactional: ch.transactional,
    prefetch_count: ch.prefetchCount,
    global_prefetch_count: ch.globalPrefetchCount,
    consumer_count: ch.consumerCount,
    messages_unacknowledged: ch.unacked,
    messages_unconfirmed: ch.pendingConfirms,
    messages_uncommitted: 0,
    acks_uncommitted: 0,
    connection_details: { name, peer_host: plainAddress(c.socket?.remoteAddress ?? c.remoteAddress), peer_port: c.socket?.remotePort ?? null },
  };
}

/** every channel of the given connections, in the API's shape */
export function channelsJson(conns: ClientConnection[]): Record<string, unknown>[] {
  return conns.flatMap((c) => (c.channelInfo?.() ?? []).map((ch) => channelJson(c, ch)));
}

/** the connection a consumer's session belongs to (sessions are owned by their connection) */
function ownerOf(b: ManagementBackend, consumer: Consumer): ClientConnection | undefined {
  const owner = consumer.session.owner;
  return b.connections().find((c) => c === owner);
}

export function consumerJson(b: ManagementBackend, c: Consumer): Record<string, unknown> {
  const conn = ownerOf(b, c);
  const number = (c.sink as { number?: unknown }).number;
  const connName = conn ? connectionName(conn) : '';
  const channelNumber = typeof number === 'number' ? number : 1;
  const sac = c.queue.config.singleActiveConsumer;
  const active = !sac || c.queue.consumers[0] === c;
  return {
    consumer_tag: c.tag,
    queue: { name: c.queue.name, vhost: c.queue.vhost },
    channel_details: {
      name: `${connName} (${channelNumber})`,
      number: channelNumber,
      connection_name: connName,
      node: NODE_NAME,
      peer_host: conn ? plainAddress(conn.socket?.remoteAddress ?? conn.remoteAddress) : '',
      peer_port: conn?.socket?.remotePort ?? null,
      user: conn?.user ?? '',
    },
    ack_required: !c.noAck,
    exclusive: c.options.exclusive,
    prefetch_count: c.prefetch,
    priority: c.options.priority,
    active,
    activity_status: active ? (sac ? 'single_active' : 'up') : 'waiting',
    arguments: fieldTableToJson(c.options.arguments),
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

export function policyJson(p: PolicyDef): Record<string, unknown> {
  return { vhost: p.vhost, name: p.name, pattern: p.pattern, 'apply-to': p.applyTo, definition: fieldTableToJson(p.definition), priority: p.priority };
}

/** the vhost's message_stats: its queues' counters summed (publish, deliveries by kind, acks) */
const VHOST_RATES = ['publish', 'deliver_get', 'deliver', 'deliver_no_ack', 'get', 'get_no_ack', 'get_empty', 'redeliver', 'ack'];

export function vhostJson(b: ManagementBackend, v: VHost, meta: VhostDef | undefined): Record<string, unknown> {
  let ready = 0;
  let unacked = 0;
  const sum: Record<string, number> = {};
  const add = (k: string, n: number) => (sum[k] = (sum[k] ?? 0) + n);
  for (const q of v.queues.values()) {
    ready += q.messageCount;
    unacked += q.unackedCount;
    for (const k of [...VHOST_RATES, 'messages', 'messages_ready', 'messages_unacknowledged']) add(`${k}_rate`, b.rates.queueRate(q, k));
    add('publish', q.stats.published);
    add('deliver_get', q.stats.delivered);
    add('ack', q.stats.acked);
    const kinds = deliveryKinds(q);
    for (const k of Object.keys(kinds) as (keyof typeof kinds)[]) add(k, kinds[k]);
  }
  let recv = 0;
  let send = 0;
  let recvOct = 0;
  let sendOct = 0;
  for (const c of b.connections()) {
    if (c.vhost !== v.name) continue;
    recv += b.rates.connectionRate(c, 'recv_oct');
    send += b.rates.connectionRate(c, 'send_oct');
    recvOct += c.socket?.bytesRead ?? 0;
    sendOct += c.socket?.bytesWritten ?? 0;
  }
  const rate = (k: string) => details(Math.round((sum[`${k}_rate`] ?? 0) * 10) / 10);
  const description = meta?.description ?? (v.name === '/' ? 'Default virtual host' : '');
  const tags = [...(meta?.tags ?? [])];
  return {
    name: v.name,
    description,
    tags,
    // a vhost without its own default has the node's or the version's (quorum on 4.2+)
    metadata: { description, tags, default_queue_type: meta?.defaultQueueType ?? v.defaultQueueType },
    default_queue_type: meta?.defaultQueueType ?? v.defaultQueueType,
    tracing: false,
    cluster_state: { [NODE_NAME]: 'running' },
    messages: ready + unacked,
    messages_details: rate('messages'),
    messages_ready: ready,
    messages_ready_details: rate('messages_ready'),
    messages_unacknowledged: unacked,
    messages_unacknowledged_details: rate('messages_unacknowledged'),
    message_stats: Object.fromEntries(VHOST_RATES.flatMap((k) => [[k, sum[k] ?? 0], [`${k}_details`, rate(k)]])),
    recv_oct: recvOct,
    recv_oct_details: details(Math.round(recv * 10) / 10),
    send_oct: sendOct,
    send_oct_details: details(Math.round(send * 10) / 10),
  };
}

/** rabbit_mgmt_format:basic_properties: the properties a message has, in AMQP's field names */
export function propertiesJson(p: MessageProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (p.contentType !== undefined) out['content_type'] = p.contentType;
  if (p.contentEncoding !== undefined) out['content_encoding'] = p.contentEncoding;
  if (p.headers !== undefined) out['headers'] = fieldTableToJson(p.headers);
  if (p.deliveryMode !== undefined) out['delivery_mode'] = p.deliveryMode;
  if (p.priority !== undefined) out['priority'] = p.priority;
  if (p.correlationId !== undefined) out['correlation_id'] = p.correlationId;
  if (p.replyTo !== undefined) out['reply_to'] = p.replyTo;
  if (p.expiration !== undefined) out['expiration'] = p.expiration;
  if (p.messageId !== undefined) out['message_id'] = p.messageId;
  if (p.timestamp !== undefined) out['timestamp'] = p.timestamp;
  if (p.type !== undefined) out['type'] = p.type;
  if (p.userId !== undefined) out['user_id'] = p.userId;
  if (p.appId !== undefined) out['app_id'] = p.appId;
  if (p.clusterId !== undefined) out['cluster_id'] = p.clusterId;
  return out;
}
