import { PRODUCT } from '../../server/product.js';
import type { ManagementBackend } from '../backend.js';
import { NODE_NAME } from '../management/shapes.js';
import { rabbitmqVersion } from '../management/overview.js';
import { processStats } from './process-stats.js';
import { DEFAULT_DISK_FREE_LIMIT } from '../../server/disk-monitor.js';

type Labels = Record<string, string>;

/** builds Prometheus text exposition (format 0.0.4): HELP and TYPE once per family, then samples */
class Exposition {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();

  /** one sample; `family` names the metric family when it differs from the sample (a histogram's _bucket, _sum, _count) */
  add(name: string, type: 'gauge' | 'counter' | 'histogram', help: string, value: number, labels: Labels = {}, family = name): void {
    if (!this.seen.has(family)) {
      this.seen.add(family);
      this.lines.push(`# TYPE ${family} ${type}`, `# HELP ${family} ${help}`);
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
 * rabbit_global_counters (the rabbitmq_global_* family Grafana's RabbitMQ-Overview dashboard
 * reads) and the published message size histogram. RabbitMQ keeps one series per protocol
 * (and queue type): LocalMQ's core counts for the node as a whole, so each counter has one
 * series without those labels; the dashboards sum over them either way.
 */
function globalCounters(e: Exposition, b: ManagementBackend, consumers: number, publishers: number): void {
  const s = b.core.stats;
  const d = b.rates.deliveryTotals();
  const g = (name: string, help: string, value: number) => e.add(`rabbitmq_global_${name}`, 'counter', help, value);
  g('messages_received_total', 'Total number of messages received from publishers', s.published);
  g('messages_received_confirm_total', 'Total number of messages received from publishers expecting confirmations', s.receivedConfirm);
  g('messages_routed_total', 'Total number of messages routed to queues or streams', s.published - s.unroutable);
  g('messages_unroutable_dropped_total', 'Total number of messages published as non-mandatory into an exchange and dropped as unroutable', s.unroutable - s.returned);
  g('messages_unroutable_returned_total', 'Total number of messages published as mandatory into an exchange and returned to the publisher as unroutable', s.returned);
  g('messages_confirmed_total', 'Total number of messages confirmed to publishers', s.confirmed);
  e.add('rabbitmq_global_consumers', 'gauge', 'Current number of consumers', consumers);
  // AMQP 0-9-1 channels that have published, as rabbit_channel counts them
  e.add('rabbitmq_global_publishers', 'gauge', 'Current number of publishers', publishers);
  g('messages_delivered_total', 'Total number of messages delivered to consumers', d.deliver + d.deliver_no_ack + d.get + d.get_no_ack);
  g('messages_delivered_consume_manual_ack_total', 'Total number of messages delivered to consumers using basic.consume with manual acknowledgment', d.deliver);
  g('messages_delivered_consume_auto_ack_total', 'Total number of messages delivered to consumers using basic.consume with automatic acknowledgment', d.deliver_no_ack);
  g('messages_delivered_get_manual_ack_total', 'Total number of messages delivered to consumers using basic.get with manual acknowledgment', d.get);
  g('messages_delivered_get_auto_ack_total', 'Total number of messages delivered to consumers using basic.get with automatic acknowledgment', d.get_no_ack);
  g('messages_get_empty_total', 'Total number of times basic.get operations fetched no message', d.get_empty);
  g('messages_redelivered_total', 'Total number of messages redelivered to consumers', d.redeliver);
  g('messages_acknowledged_total', 'Total number of messages acknowledged by consumers', s.acked);
  // rabbit_msg_size_metrics: a cumulative histogram of published body sizes
  const sizes = b.core.messageSizes;
  const bounds = ['100.0', '1000.0', '10000.0', '100000.0', '1e+06', '1e+07', '5e+07', '1e+08', '+Inf'];
  let cumulative = 0;
  bounds.forEach((le, i) => {
    cumulative += sizes.buckets[i]!;
    e.add('rabbitmq_message_size_bytes_bucket', 'histogram', 'Size of messages received from publishers', cumulative, { le }, 'rabbitmq_message_size_bytes');
  });
  e.add('rabbitmq_message_size_bytes_sum', 'histogram', 'Size of messages received from publishers', sizes.sum, {}, 'rabbitmq_message_size_bytes');
  e.add('rabbitmq_message_size_bytes_count', 'histogram', 'Size of messages received from publishers', cumulative, {}, 'rabbitmq_message_size_bytes');
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
  let publishers = 0;
  for (const c of conns) {
    for (const ch of c.channelInfo?.() ?? []) {
      channels++;
      if (ch.publishing) publishers++;
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
  // RabbitMQ 4.x labels the identity with the endpoint that served it (Grafana's dashboards filter on it)
  const endpoint: Labels = core.engineRules.version.startsWith('3.') ? {} : { rabbitmq_endpoint: perObject ? 'per-object' : 'aggregated' };
  const identity = { rabbitmq_node: NODE_NAME, rabbitmq_cluster: NODE_NAME, rabbitmq_cluster_permanent_id: NODE_NAME, ...endpoint };
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
  globalCounters(e, b, consumers, publishers);
  e.add('rabbitmq_queue_messages_expired_total', 'counter', 'Total number of messages that expired in queues (dropped or dead-lettered)', expired);
  e.add('rabbitmq_resident_memory_limit_bytes', 'gauge', 'Memory high watermark in bytes', core.limits.settings.memoryHighWatermark);
  e.add('rabbitmq_process_resident_memory_bytes', 'gauge', 'Memory used in bytes', p.rssBytes);
  e.add('rabbitmq_disk_space_available_bytes', 'gauge', 'Disk space available in bytes', b.diskFree ?? p.diskFreeBytes);
  e.add('rabbitmq_disk_space_available_limit_bytes', 'gauge', 'Free disk space low watermark in bytes', b.diskFreeLimit ?? DEFAULT_DISK_FREE_LIMIT);
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
