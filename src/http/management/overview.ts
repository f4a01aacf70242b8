import os from 'node:os';
import { PRODUCT } from '../../server/product.js';
import type { ManagementBackend } from '../backend.js';
import { IoStats } from '../../store/file/measured-fs.js';
import { processStats } from '../metrics/process-stats.js';
import { runtimeStats } from '../metrics/runtime-stats.js';
import { permitted, requestedVhost, visibleConnections, visibleVhosts } from './scope.js';
import { NODE_NAME } from './shapes.js';
import { sendBadRequest, sendError, sendJson, sendNoContent, sendNotAuthorised, sendNotFound, type Route } from './http-util.js';
import { DEFAULT_DISK_FREE_LIMIT } from '../../server/disk-monitor.js';

/** the RabbitMQ release a broker answers as: its engine version's (src/core/engine-versions.ts) */
export const rabbitmqVersion = (b: ManagementBackend): string => b.core.engineRules.fullVersion;

/** rabbit_networking's protocol names for LocalMQ's listeners */
const LISTENER_PROTOCOLS: Record<string, string> = {
  amqp: 'amqp',
  amqps: 'amqp/ssl',
  stomp: 'stomp',
  stomps: 'stomp/ssl',
  stompWs: 'http/web-stomp',
  mqtt: 'mqtt',
  mqtts: 'mqtt/ssl',
  mqttWs: 'http/web-mqtt',
  wss: 'https/web-stomp-mqtt',
  http: 'http',
  https: 'https',
  console: 'https/console',
};

const EXCHANGE_TYPES = [
  { name: 'direct', description: 'AMQP direct exchange, as per the AMQP specification', enabled: true },
  { name: 'fanout', description: 'AMQP fanout exchange, as per the AMQP specification', enabled: true },
  { name: 'headers', description: 'AMQP headers exchange, as per the AMQP specification', enabled: true },
  { name: 'topic', description: 'AMQP topic exchange, as per the AMQP specification', enabled: true },
];

/**
 * /api/overview, /api/cluster-name, /api/nodes, /api/extensions, /api/auth, the health
 * checks (/api/health/checks/…) and /api/aliveness-test/{vhost}.
 */
export function overviewRoutes(b: ManagementBackend): Route[] {
  // the rate sampler keeps the node figures' rates (mem_used_details …) from now on
  b.rates.nodeFigures ??= () => nodeFigures(b);
  runtimeStats(); // opens the first window of garbage collections counted
  const listeners = () =>
    Object.entries(b.ports).map(([key, port]) => ({
      node: NODE_NAME,
      protocol: LISTENER_PROTOCOLS[key] ?? key,
      ip_address: '127.0.0.1',
      port,
      socket_opts: {},
    }));
  const clusterName = () => b.retained.globalParameters.find((p) => p.name === 'cluster_name')?.value ?? NODE_NAME;
  const alarms = () => b.core.alarmResources.map((resource) => ({ node: NODE_NAME, resource }));
  const health = (ok: boolean, failed: Record<string, unknown>, res: Parameters<Route['handle']>[1], okExtra: Record<string, unknown> = {}) =>
    ok ? sendJson(res, 200, { status: 'ok', ...okExtra }) : sendJson(res, 503, { status: 'failed', ...failed });

  return [
    {
      method: 'GET',
      path: '/api/overview',
      tag: 'management',
      handle: (_req, res, _body, { principal }) => {
        const vhosts = visibleVhosts(b, principal);
        let exchanges = 0;
        let queues = 0;
        let consumers = 0;
        let ready = 0;
        let unacked = 0;
        for (const v of vhosts) {
          exchanges += v.exchanges.size;
          queues += v.queues.size;
          for (const q of v.queues.values()) {
            consumers += q.consumerCount;
            ready += q.messageCount;
            unacked += q.unackedCount;
          }
        }
        const conns = visibleConnections(b, principal);
        const s = b.core.stats;
        const r = (k: string) => ({ rate: b.rates.brokerRate(k) });
        sendJson(res, 200, {
          management_version: rabbitmqVersion(b),
          rates_mode: 'basic',
          sample_retention_policies: { global: [600, 3600, 28800, 86400], basic: [600, 3600], detailed: [600] },
          exchange_types: EXCHANGE_TYPES,
          product_version: rabbitmqVersion(b),
          product_name: PRODUCT.name,
          rabbitmq_version: rabbitmqVersion(b),
          cluster_name: clusterName(),
          erlang_version: PRODUCT.platform,
          erlang_full_version: PRODUCT.platform,
          release_series_support_status: 'supported',
          disable_stats: false,
          is_op_policy_updating_enabled: !b.operatorPolicyChangesDisabled,
          enable_queue_totals: false,
          churn_rates: churnRates(b),
          message_stats: {
            publish: s.published,
            publish_details: r('publish'),
            confirm: s.confirmed,
            confirm_details: r('confirm'),
            deliver_get: s.delivered,
            deliver_get_details: r('deliver_get'),
            ack: s.acked,
            ack_details: r('ack'),
            drop_unroutable: s.unroutable - s.returned,
            drop_unroutable_details: r('drop_unroutable'),
            return_unroutable: s.returned,
            return_unroutable_details: r('return_unroutable'),
            ...deliveryStats(b),
          },
          queue_totals: {
            messages: ready + unacked,
            messages_details: r('messages'),
            messages_ready: ready,
            messages_ready_details: r('messages_ready'),
            messages_unacknowledged: unacked,
            messages_unacknowledged_details: r('messages_unacknowledged'),
          },
          object_totals: {
            channels: conns.reduce((n, c) => n + (c.channelInfo?.().length ?? 0), 0),
            connections: conns.length,
            consumers,
            exchanges,
            queues,
          },
          statistics_db_event_queue: 0,
          node: NODE_NAME,
          listeners: listeners(),
          contexts: managementContexts(b),
        });
      },
    },
    {
      method: 'GET',
      path: '/api/cluster-name',
      tag: 'management',
      handle: (_req, res) => sendJson(res, 200, { name: clusterName() }),
    },
    {
      method: 'PUT',
      path: '/api/cluster-name',
      tag: 'administrator',
      handle: (_req, res, body) => {
        if (typeof body['name'] !== 'string' || body['name'] === '') return sendBadRequest(res, '[name] missing from request body');
        const params = b.retained.globalParameters;
        const i = params.findIndex((p) => p.name === 'cluster_name');
        if (i >= 0) params[i] = { name: 'cluster_name', value: body['name'] };
        else params.push({ name: 'cluster_name', value: body['name'] });
        sendNoContent(res);
      },
    },
    { method: 'GET', path: '/api/nodes', tag: 'monitoring', handle: (_req, res) => sendJson(res, 200, [nodeJson(b)]) },
    {
      method: 'GET',
      path: '/api/nodes/:node',
      tag: 'monitoring',
      handle: (_req, res, _body, { params }) => (params['node'] === NODE_NAME ? sendJson(res, 200, nodeJson(b)) : sendNotFound(res)),
    },
    { method: 'GET', path: '/api/extensions', tag: 'management', handle: (_req, res) => sendJson(res, 200, []) },
    {
      method: 'GET',
      path: '/api/auth',
      tag: 'none',
      handle: (_req, res) => sendJson(res, 200, { oauth_enabled: false, oauth_disable_basic_auth: false }),
    },
    {
      method: 'GET',
      path: '/api/health/checks/alarms',
      tag: 'management',
      handle: (_req, res) => health(alarms().length === 0, { reason: 'There are alarms in effect in the cluster', alarms: alarms() }, res),
    },
    {
      method: 'GET',
      path: '/api/health/checks/local-alarms',
      tag: 'management',
      handle: (_req, res) => health(alarms().length === 0, { reason: 'There are alarms in effect on the node', alarms: alarms() }, res),
    },
    {
      method: 'GET',
      path: '/api/health/checks/port-listener/:port',
      tag: 'management',
      handle: (_req, res, _body, { params }) => {
        const port = Number(params['port']);
        if (!Number.isInteger(port)) return sendBadRequest(res, `Invalid port: ${params['port']}`);
        const ports = Object.values(b.ports);
        health(ports.includes(port), { reason: 'No active listener', missing: port, ports }, res, { port });
      },
    },
    {
      method: 'GET',
      path: '/api/health/checks/protocol-listener/:protocol',
      tag: 'management',
      handle: (_req, res, _body, { params }) => {
        const wanted = params['protocol']!.toLowerCase();
        const protocols = listeners().map((l) => l.protocol);
        const aliases: Record<string, string> = { amqp091: 'amqp', 'amqp0.9.1': 'amqp', 'amqp0-9-1': 'amqp', amqps: 'amqp/ssl', 'stomp/ssl': 'stomp/ssl', mqtts: 'mqtt/ssl', 'web-stomp': 'http/web-stomp', 'web-mqtt': 'http/web-mqtt' };
        const protocol = aliases[wanted] ?? wanted;
        health(protocols.includes(protocol), { reason: 'No active listener', missing: params['protocol'], protocols }, res, { protocol: params['protocol'] });
      },
    },
    { method: 'GET', path: '/api/health/checks/virtual-hosts', tag: 'management', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    { method: 'GET', path: '/api/health/checks/node-is-quorum-critical', tag: 'management', handle: (_req, res) => sendJson(res, 200, { status: 'ok', reason: 'single node cluster' }) },
    { method: 'GET', path: '/api/health/checks/is-in-service', tag: 'management', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    { method: 'GET', path: '/api/health/checks/ready-to-serve-clients', tag: 'management', handle: (_req, res) => sendJson(res, 200, { status: 'ok' }) },
    {
      method: 'GET',
      path: '/api/aliveness-test/:vhost',
      tag: 'management',
      handle: (_req, res, _body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const queue = 'aliveness-test';
        // RabbitMQ 4.1+: a no-op answering ok (rabbit_mgmt_wm_aliveness_test, "deprecated")
        if (b.core.engineRules.alivenessTestIsNoop) return sendJson(res, 200, { status: 'ok' });
        if (!permitted(b, principal, v.name, 'configure', queue) || !permitted(b, principal, v.name, 'write', 'amq.default') || !permitted(b, principal, v.name, 'read', queue)) {
          return sendNotAuthorised(res, 'Access refused.');
        }
        // rabbit_mgmt_wm_aliveness_test: declare, publish, get it back
        v.declareQueue(queue, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
        v.publish('', queue, { exchange: '', routingKey: queue, properties: {}, body: Buffer.from('test_message'), publishedAt: Date.now() });
        const session = b.core.openSession(v, {});
        try {
          const got = session.get(queue, true);
          if (!got || got.delivery.message.body.toString() !== 'test_message') return sendError(res, 503, 'failed', 'aliveness test message not received');
        } finally {
          session.close();
        }
        sendJson(res, 200, { status: 'ok' });
      },
    },
  ];
}

/**
 * The node's figures that RabbitMQ also shows as rates (`…_details`): process gauges, the V8
 * garbage collector, context switches, the journal's disk I/O and the churn counters.
 */
export function nodeFigures(b: ManagementBackend): Record<string, number> {
  const p = processStats(b.dataDir);
  const rt = runtimeStats();
  const io = b.io;
  return {
    mem_used: p.rssBytes,
    fd_used: p.openFds,
    sockets_used: b.connections().length,
    proc_used: 1,
    disk_free: b.diskFree ?? p.diskFreeBytes,
    gc_num: rt.gcCount,
    gc_bytes_reclaimed: rt.gcReclaimedBytes,
    context_switches: rt.contextSwitches,
    io_read_count: io.readCount,
    io_read_bytes: io.readBytes,
    io_read_avg_time: IoStats.avgMs(io.readMicros, io.readCount),
    io_write_count: io.writeCount,
    io_write_bytes: io.writeBytes,
    io_write_avg_time: IoStats.avgMs(io.writeMicros, io.writeCount),
    io_sync_count: io.syncCount,
    io_sync_avg_time: IoStats.avgMs(io.syncMicros, io.syncCount),
    io_seek_count: io.seekCount,
    io_seek_avg_time: 0,
    io_reopen_count: io.reopenCount,
    ...b.rates.churnCounts(),
  };
}

function nodeJson(b: ManagementBackend): Record<string, unknown> {
  const p = processStats(b.dataDir);
  const alarms = b.core.alarmResources;
  const figures = nodeFigures(b);
  const withRates: Record<string, unknown> = {};
  for (const key of Object.keys(figures)) {
    withRates[key] = figures[key];
    withRates[`${key}_details`] = { rate: b.rates.nodeRate(key) };
  }
  return {
    name: NODE_NAME,
    type: 'disc',
    running: true,
    being_drained: false,
    os_pid: String(process.pid),
    uptime: p.uptimeMs,
    processors: p.processors,
    mem_limit: b.core.limits.settings.memoryHighWatermark,
    mem_alarm: alarms.includes('memory'),
    mem_calculation_strategy: b.memoryCalculation,
    disk_free_limit: b.diskFreeLimit ?? DEFAULT_DISK_FREE_LIMIT,
    disk_free_alarm: alarms.includes('disk'),
    fd_total: p.maxFds,
    sockets_total: b.core.limits.settings.maxConnections,
    proc_total: 1,
    run_queue: 0,
    rates_mode: 'basic',
    net_ticktime: 60,
    partitions: [],
    cluster_links: [],
    enabled_plugins: ['rabbitmq_management', 'rabbitmq_prometheus', 'rabbitmq_stomp', 'rabbitmq_mqtt', 'rabbitmq_web_stomp', 'rabbitmq_web_mqtt'],
    exchange_types: EXCHANGE_TYPES,
    auth_mechanisms: [
      { name: 'PLAIN', description: 'SASL PLAIN authentication mechanism', enabled: true },
      { name: 'AMQPLAIN', description: 'QPid AMQPLAIN mechanism', enabled: true },
    ],
    contexts: managementContexts(b),
    os: `${os.type()} ${os.release()}`,
    config_files: [],
    log_files: [],
    db_dir: b.dataDir ?? '',
    ...withRates,
  };
}

/** the management listeners, as RabbitMQ's `contexts` list them */
function managementContexts(b: ManagementBackend): Record<string, unknown>[] {
  return Object.entries(b.ports)
    .filter(([k]) => k === 'http' || k === 'https')
    .map(([, port]) => ({ node: NODE_NAME, description: 'RabbitMQ Management', path: '/', port: String(port) }));
}

/** the overview's deliveries by kind (deliver, deliver_no_ack, get, get_no_ack, get_empty, redeliver) with their rates */
function deliveryStats(b: ManagementBackend): Record<string, unknown> {
  const totals = b.rates.deliveryTotals();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(totals) as (keyof typeof totals)[]) {
    out[key] = totals[key];
    out[`${key}_details`] = { rate: b.rates.brokerRate(key) };
  }
  return out;
}

/** RabbitMQ's churn_rates: node-wide counts since start, each with the rate over the last sample */
function churnRates(b: ManagementBackend): Record<string, unknown> {
  const counts = b.rates.churnCounts();
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) {
    out[key] = counts[key];
    out[`${key}_details`] = { rate: b.rates.churnRate(key) };
  }
  return out;
}
