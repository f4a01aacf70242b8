import { PRODUCT } from '../../server/product.js';
import type { ManagementBackend } from '../backend.js';
import { NODE_NAME } from '../management/shapes.js';
import { rabbitmqVersion } from '../management/overview.js';
import { processStats } from './process-stats.js';

type Labels = Record<string, string>;

/** builds Prometheus text exposition (format 0.0.4): HELP and TYPE once per family, then samples */
class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  add(name: string, type: 'gauge' | 'counter', help: string, value: number, labels: Labels = {}): void {
    if (!this.seen.has(name)) {
      this.seen.add(name);
      this.lines.push(`# TYPE ${name} ${type}`, `# HELP ${name} ${help}`);
    }
    const l = Object.entries(labels);
    const labelText = l.length ? `{${l.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}` : '';
    this.lines.push(`${name}${labelText} ${Number.isFinite(value) ? value : 0}`);
  }

  text(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/**
 * The metrics of RabbitMQ's rabbitmq_prometheus plugin, under its names, so Grafana's
 * RabbitMQ-Overview dashboard and alert rules written for it work unchanged.
 * `/metrics` aggregates (no per-object labels), `/metrics/per-object` adds one sample per
 * queue labelled `vhost` and `queue`, as the plugin's two endpoints do. Process metrics
 * carry both rabbitmq_process_* and the standard process_* names.
 */
export function prometheusText(b: ManagementBackend, perObject: boolean): string {
  const e = new Exposition();
  const core = b.core;
  const conns = b.connections();
  let channels = 0;
  let channelConsumers = 0;
  let channelUnacked = 0;
  let channelUnconfirmed = 0;
  for (const c of conns) {
    for (const ch of c.channelInfo?.() ?? []) {
      channels++;
      channelConsumers += ch.consumerCount;
      channelUnacked += ch.unacked;
      channelUnconfirmed += ch.pendingConfirms;
    }
  }
  let queues = 0;
  let consumers = 0;
  let ready = 0;
  let unacked = 0;
  let readyBytes = 0;
  let expired = 0;
  for (const v of core.vhosts.values()) {
    for (const q of v.queues.values()) {
      queues++;
      consumers += q.consumerCount;
      ready += q.messageCount;
      unacked += q.unackedCount;
      readyBytes += q.ready.bytes;
      expired += q.stats.expired;
    }
  }
  const s = core.stats;
  const p = processStats(b.dataDir);
  const identity = { rabbitmq_node: NODE_NAME, rabbitmq_cluster: NODE_NAME, rabbitmq_cluster_permanent_id: NODE_NAME };
  e.add('rabbitmq_identity_info', 'gauge', 'RabbitMQ node & cluster identity info', 1, identity);
  e.add('rabbitmq_build_info', 'gauge', 'RabbitMQ & Erlang/OTP version info', 1, {
    rabbitmq_version: rabbitmqVersion(b),
    prometheus_plugin_version: rabbitmqVersion(b),
    prometheus_client_version: rabbitmqVersion(b),
    erlang_version: process.version,
    product_name: PRODUCT.name,
    product_version: PRODUCT.version,
  });
  e.add('rabbitmq_connections', 'gauge', 'Connections currently open', conns.length);
  e.add('rabbitmq_channels', 'gauge', 'Channels currently open', channels);
  e.add('rabbitmq_consumers', 'gauge', 'Consumers currently connected', consumers);
  e.add('rabbitmq_queues', 'gauge', 'Queues available', queues);
  const churn = b.rates.churnCounts();
  e.add('rabbitmq_connections_opened_total', 'counter', 'Total number of connections opened', churn.connection_created);
  e.add('rabbitmq_connections_closed_total', 'counter', 'Total number of connections closed or terminated', churn.connection_closed);
  e.add('rabbitmq_channels_opened_total', 'counter', 'Total number of channels opened', churn.channel_created);
  e.add('rabbitmq_channels_closed_total', 'counter', 'Total number of channels closed', churn.channel_closed);
  e.add('rabbitmq_queues_declared_total', 'counter', 'Total number of queues declared', churn.queue_declared);
  e.add('rabbitmq_queues_created_total', 'counter', 'Total number of queues created', b.rates.queuesCreated);
  e.add('rabbitmq_queues_deleted_total', 'counter', 'Total number of queues deleted', b.rates.queuesDeleted);
  e.add('rabbitmq_queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers', ready);
  e.add('rabbitmq_queue_messages_unacked', 'gauge', 'Messages delivered to consumers but not yet acknowledged', unacked);
  e.add('rabbitmq_queue_messages', 'gauge', 'Sum of ready and unacknowledged messages - total queue depth', ready + unacked);
  e.add('rabbitmq_queue_messages_ready_bytes', 'gauge', 'Size in bytes of ready messages', readyBytes);
  e.add('rabbitmq_queue_consumers', 'gauge', 'Consumers on a queue', consumers);
  e.add('rabbitmq_channel_consumers', 'gauge', 'Consumers on a channel', channelConsumers);
  e.add('rabbitmq_channel_messages_unacked', 'gauge', 'Delivered but not yet acknowledged messages', channelUnacked);
  e.add('rabbitmq_channel_messages_unconfirmed', 'gauge', 'Published but not yet confirmed messages', channelUnconfirmed);
  e.add('rabbitmq_channel_messages_published_total', 'counter', 'Total number of messages published into an exchange on a channel', s.published);
  e.add('rabbitmq_channel_messages_confirmed_total', 'counter', 'Total number of messages published into an exchange and confirmed on the channel', s.confirmed);
  e.add('rabbitmq_channel_messages_unroutable_dropped_total', 'counter', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', s.unroutable);
  e.add('rabbitmq_channel_messages_delivered_total', 'counter', 'Total number of messages delivered to consumers or fetched with basic.get', s.delivered);
  e.add('rabbitmq_channel_messages_acked_total', 'counter', 'Total number of messages acknowledged by consumers', s.acked);
  e.add('rabbitmq_queue_messages_expired_total', 'counter', 'Total number of messages that expired in queues (dropped or dead-lettered)', expired);
  e.add('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', core.limits.settings.memoryHighWatermark);
  e.add('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', p.rssBytes);
  e.add('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', p.diskFreeBytes);
  e.add('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', 50_000_000);
  e.add('rabbitmq_process_open_tcp_sockets', 'gauge', 'Open TCP sockets', conns.length);
  e.add('rabbitmq_process_max_tcp_sockets', 'gauge', 'Open TCP sockets limit', core.limits.settings.maxConnections);
  e.add('rabbitmq_process_open_fds', 'gauge', 'Open file descriptors', p.openFds);
  e.add('rabbitmq_process_max_fds', 'gauge', 'Open file descriptors limit', p.maxFds);
  e.add('rabbitmq_alarms_memory_used_watermark', 'gauge', 'is 1 if VM memory watermark alarm is in effect', core.alarmResources.includes('memory') ? 1 : 0);
  e.add('rabbitmq_alarms_free_disk_space_watermark', 'gauge', 'is 1 if free disk space watermark alarm is in effect', core.alarmResources.includes('disk') ? 1 : 0);
  e.add('rabbitmq_erlang_uptime_seconds', 'gauge', 'Node uptime', p.uptimeMs / 1000);
  e.add('process_cpu_seconds_total', 'counter', 'Total user and system CPU time spent in seconds', p.cpuUserSeconds + p.cpuSystemSeconds);
  e.add('process_resident_memory_bytes', 'gauge', 'Resident memory size in bytes', p.rssBytes);
  e.add('process_open_fds', 'gauge', 'Number of open file descriptors', p.openFds);
  e.add('process_max_fds', 'gauge', 'Maximum number of open file descriptors', p.maxFds);
  e.add('process_start_time_seconds', 'gauge', 'Start time of the process since unix epoch in seconds', p.startTimeSeconds);
  e.add('nodejs_heap_size_used_bytes', 'gauge', 'Process heap size used from Node.js in bytes', p.heapUsedBytes);
  e.add('nodejs_heap_size_total_bytes', 'gauge', 'Process heap size from Node.js in bytes', p.heapTotalBytes);
  if (perObject) {
    for (const v of core.vhosts.values()) {
      for (const q of v.queues.values()) {
        const labels = { vhost: v.name, queue: q.name };
        e.add('rabbitmq_queue_messages_ready', 'gauge', 'Messages ready to be delivered to consumers', q.messageCount, labels);
        e.add('rabbitmq_queue_messages_unacked', 'gauge', 'Messages delivered to consumers but not yet acknowledged', q.unackedCount, labels);
        e.add('rabbitmq_queue_messages', 'gauge', 'Sum of ready and unacknowledged messages - total queue depth', q.messageCount + q.unackedCount, labels);
        e.add('rabbitmq_queue_consumers', 'gauge', 'Consumers on a queue', q.consumerCount, labels);
        e.add('rabbitmq_queue_consumer_capacity', 'gauge', 'Consumer capacity', q.consumerCount === 0 ? 0 : q.use.capacity(), labels);
        e.add('rabbitmq_queue_messages_published_total', 'counter', 'Total number of messages published to queues', q.stats.published, labels);
        e.add('rabbitmq_queue_messages_delivered_total', 'counter', 'Total number of messages delivered from queues', q.stats.delivered, labels);
        e.add('rabbitmq_queue_messages_acked_total', 'counter', 'Total number of messages acknowledged from queues', q.stats.acked, labels);
      }
    }
  }
  return e.text();
}
