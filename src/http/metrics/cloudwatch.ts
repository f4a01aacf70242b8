import type { Engine } from '../../server/options.js';
import type { ManagementBackend } from '../backend.js';
import type { Queue } from '../../core/queues/queue.js';
import { IoStats } from '../../store/file/measured-fs.js';
import { MESSAGE_OVERHEAD_BYTES, NODE_NAME } from '../management/shapes.js';
import { processStats } from './process-stats.js';
import { DEFAULT_DISK_FREE_LIMIT } from '../../server/disk-monitor.js';

/** one datum as CloudWatch's PutMetricData / GetMetricData speak of it */
export interface MetricDatum {
  MetricName: string;
  Dimensions: { Name: string; Value: string }[];
  Unit: 'Count' | 'Count/Second' | 'Percent' | 'Bytes' | 'None';
  Value: number;
}

export interface CloudWatchView {
  Namespace: 'AWS/AmazonMQ';
  Engine: 'RabbitMQ' | 'ActiveMQ';
  Timestamp: string;
  MetricData: MetricDatum[];
}

/**
 * The figures Amazon MQ publishes to CloudWatch (namespace AWS/AmazonMQ), under its metric
 * names, units and dimensions for each engine, as a JSON document shaped like
 * PutMetricData's MetricData: what a dashboard or alarm on the real broker would read.
 */
export function cloudWatchView(b: ManagementBackend, engine: Engine, brokerName: string): CloudWatchView {
  const activemq = engine === 'activemq';
  return {
    Namespace: 'AWS/AmazonMQ',
    Engine: activemq ? 'ActiveMQ' : 'RabbitMQ',
    Timestamp: new Date().toISOString(),
    MetricData: activemq ? activeMqMetrics(b, brokerName) : rabbitMqMetrics(b, brokerName),
  };
}

function totals(b: ManagementBackend) {
  let queues = 0;
  let exchanges = 0;
  let consumers = 0;
  let ready = 0;
  let unacked = 0;
  for (const v of b.core.vhosts.values()) {
    exchanges += v.exchanges.size;
    for (const q of v.queues.values()) {
      queues++;
      consumers += q.consumerCount;
      ready += q.messageCount;
      unacked += q.unackedCount;
    }
  }
  let channels = 0;
  for (const c of b.connections()) channels += c.channelInfo?.().length ?? 0;
  return { queues, exchanges, consumers, ready, unacked, channels, connections: b.connections().length };
}

function rabbitMqMetrics(b: ManagementBackend, brokerName: string): MetricDatum[] {
  const t = totals(b);
  const p = processStats(b.dataDir);
  const broker = [{ Name: 'Broker', Value: brokerName }];
  const node = [...broker, { Name: 'Node', Value: NODE_NAME }];
  const out: MetricDatum[] = [
    { MetricName: 'ExchangeCount', Dimensions: broker, Unit: 'Count', Value: t.exchanges },
    { MetricName: 'QueueCount', Dimensions: broker, Unit: 'Count', Value: t.queues },
    { MetricName: 'ConnectionCount', Dimensions: broker, Unit: 'Count', Value: t.connections },
    { MetricName: 'ChannelCount', Dimensions: broker, Unit: 'Count', Value: t.channels },
    { MetricName: 'ConsumerCount', Dimensions: broker, Unit: 'Count', Value: t.consumers },
    { MetricName: 'MessageCount', Dimensions: broker, Unit: 'Count', Value: t.ready + t.unacked },
    { MetricName: 'MessageReadyCount', Dimensions: broker, Unit: 'Count', Value: t.ready },
    { MetricName: 'MessageUnacknowledgedCount', Dimensions: broker, Unit: 'Count', Value: t.unacked },
    { MetricName: 'PublishRate', Dimensions: broker, Unit: 'Count/Second', Value: b.rates.brokerRate('publish') },
    { MetricName: 'ConfirmRate', Dimensions: broker, Unit: 'Count/Second', Value: b.rates.brokerRate('confirm') },
    { MetricName: 'AckRate', Dimensions: broker, Unit: 'Count/Second', Value: b.rates.brokerRate('ack') },
  ];
  // the node figures come twice, as Amazon MQ publishes them: for the broker (one node: the
  // broker's sums are the node's) and for the node
  for (const dims of [broker, node]) {
    out.push(
      { MetricName: 'SystemCpuUtilization', Dimensions: dims, Unit: 'Percent', Value: p.cpuPercent },
      { MetricName: 'RabbitMQMemLimit', Dimensions: dims, Unit: 'Bytes', Value: b.core.limits.settings.memoryHighWatermark },
      { MetricName: 'RabbitMQMemUsed', Dimensions: dims, Unit: 'Bytes', Value: p.rssBytes },
      { MetricName: 'RabbitMQDiskFreeLimit', Dimensions: dims, Unit: 'Bytes', Value: b.diskFreeLimit ?? DEFAULT_DISK_FREE_LIMIT },
      { MetricName: 'RabbitMQDiskFree', Dimensions: dims, Unit: 'Bytes', Value: b.diskFree ?? p.diskFreeBytes },
      { MetricName: 'RabbitMQFdUsed', Dimensions: dims, Unit: 'Count', Value: p.openFds },
    );
  }
  // average milliseconds per journal read / write (Amazon MQ's unit for them is Count)
  out.push(
    { MetricName: 'RabbitMQIOReadAverageTime', Dimensions: broker, Unit: 'Count', Value: IoStats.avgMs(b.io.readMicros, b.io.readCount) },
    { MetricName: 'RabbitMQIOWriteAverageTime', Dimensions: broker, Unit: 'Count', Value: IoStats.avgMs(b.io.writeMicros, b.io.writeCount) },
    ...network(b, [{ Name: 'BrokerId', Value: brokerName }]),
  );
  for (const v of b.core.vhosts.values()) {
    for (const q of v.queues.values()) {
      const dims = [...broker, { Name: 'VirtualHost', Value: v.name }, { Name: 'Queue', Value: q.name }];
      out.push(
        { MetricName: 'ConsumerCount', Dimensions: dims, Unit: 'Count', Value: q.consumerCount },
        { MetricName: 'MessageReadyCount', Dimensions: dims, Unit: 'Count', Value: q.messageCount },
        { MetricName: 'MessageUnacknowledgedCount', Dimensions: dims, Unit: 'Count', Value: q.unackedCount },
        { MetricName: 'MessageCount', Dimensions: dims, Unit: 'Count', Value: q.messageCount + q.unackedCount },
      );
    }
  }
  return out;
}

/**
 * Bytes the client connections received (NetworkIn) and sent (NetworkOut) over the last
 * sample interval (5 s by default): CloudWatch's figures are sums over a period too.
 */
function network(b: ManagementBackend, dims: MetricDatum['Dimensions']): MetricDatum[] {
  const n = b.rates.network;
  return [
    { MetricName: 'NetworkIn', Dimensions: dims, Unit: 'Bytes', Value: n.lastIn },
    { MetricName: 'NetworkOut', Dimensions: dims, Unit: 'Bytes', Value: n.lastOut },
  ];
}

function activeMqMetrics(b: ManagementBackend, brokerName: string): MetricDatum[] {
  const t = totals(b);
  const p = processStats(b.dataDir);
  // Amazon MQ names an ActiveMQ broker's instances with -1 (and -2 for the standby of a pair)
  const broker = [{ Name: 'Broker', Value: /-[12]$/.test(brokerName) ? brokerName : `${brokerName}-1` }];
  const established = b.rates.churnCounts().connection_created;
  const producers = b.producerCounts?.() ?? new Map<string, number>();
  let totalProducers = 0;
  for (const n of producers.values()) totalProducers += n;
  let enqueued = 0;
  let dequeued = 0;
  for (const v of b.core.vhosts.values()) {
    for (const q of v.queues.values()) {
      enqueued += q.stats.published;
      dequeued += q.stats.acked;
    }
  }
  const limits = b.core.limits.settings;
  const out: MetricDatum[] = [
    { MetricName: 'CpuUtilization', Dimensions: broker, Unit: 'Percent', Value: p.cpuPercent },
    { MetricName: 'HeapUsage', Dimensions: broker, Unit: 'Percent', Value: round((p.heapUsedBytes / p.heapLimitBytes) * 100) },
    { MetricName: 'StorePercentUsage', Dimensions: broker, Unit: 'Percent', Value: p.diskTotalBytes ? round(((p.diskTotalBytes - p.diskFreeBytes) / p.diskTotalBytes) * 100) : 0 },
    { MetricName: 'CurrentConnectionsCount', Dimensions: broker, Unit: 'Count', Value: t.connections },
    // every connection established since start, open or closed (ActiveMQ's TotalConnectionsCount too)
    { MetricName: 'EstablishedConnectionsCount', Dimensions: broker, Unit: 'Count', Value: established },
    { MetricName: 'TotalConnectionsCount', Dimensions: broker, Unit: 'Count', Value: established },
    { MetricName: 'TotalConsumerCount', Dimensions: broker, Unit: 'Count', Value: t.consumers },
    { MetricName: 'TotalProducerCount', Dimensions: broker, Unit: 'Count', Value: totalProducers },
    // LocalMQ never spools non-persistent messages to a temp store, has no job scheduler store and no network of brokers
    { MetricName: 'TempPercentUsage', Dimensions: broker, Unit: 'Percent', Value: 0 },
    { MetricName: 'NetworkConnectorConnectionCount', Dimensions: broker, Unit: 'Count', Value: 0 },
    ...network(b, broker),
    { MetricName: 'TotalMessageCount', Dimensions: broker, Unit: 'Count', Value: t.ready + t.unacked },
    { MetricName: 'TotalEnqueueCount', Dimensions: broker, Unit: 'Count', Value: enqueued },
    { MetricName: 'TotalDequeueCount', Dimensions: broker, Unit: 'Count', Value: dequeued },
    { MetricName: 'StompMaximumConnections', Dimensions: broker, Unit: 'Count', Value: limits.maxConnectionsPerProtocol },
    { MetricName: 'MqttMaximumConnections', Dimensions: broker, Unit: 'Count', Value: limits.maxConnectionsPerProtocol },
    { MetricName: 'OpenwireMaximumConnections', Dimensions: broker, Unit: 'Count', Value: limits.maxConnectionsPerProtocol },
    { MetricName: 'AmqpMaximumConnections', Dimensions: broker, Unit: 'Count', Value: limits.maxConnectionsPerProtocol },
    { MetricName: 'WsMaximumConnections', Dimensions: broker, Unit: 'Count', Value: limits.maxConnectionsPerProtocol },
  ];
  for (const v of b.core.vhosts.values()) {
    for (const q of v.queues.values()) {
      const dims = [...broker, { Name: 'Queue', Value: q.name }];
      out.push(
        { MetricName: 'ConsumerCount', Dimensions: dims, Unit: 'Count', Value: q.consumerCount },
        { MetricName: 'EnqueueCount', Dimensions: dims, Unit: 'Count', Value: q.stats.published },
        { MetricName: 'DequeueCount', Dimensions: dims, Unit: 'Count', Value: q.stats.acked },
        { MetricName: 'DispatchCount', Dimensions: dims, Unit: 'Count', Value: q.stats.delivered },
        { MetricName: 'ExpiredCount', Dimensions: dims, Unit: 'Count', Value: q.stats.expired },
        { MetricName: 'InFlightCount', Dimensions: dims, Unit: 'Count', Value: q.unackedCount },
        { MetricName: 'QueueSize', Dimensions: dims, Unit: 'Count', Value: q.messageCount },
        { MetricName: 'ProducerCount', Dimensions: dims, Unit: 'Count', Value: producers.get(`queue:${q.name}`) ?? 0 },
        // the share of the broker's memory limit this queue's messages take
        { MetricName: 'MemoryUsage', Dimensions: dims, Unit: 'Percent', Value: round((queueBytes(q) / limits.memoryHighWatermark) * 100) },
      );
    }
  }
  return out;
}

/** what a queue's messages take in memory: bodies and LocalMQ's measured overhead per message */
function queueBytes(q: Queue): number {
  return q.ready.bytes + q.unackedBytes + (q.messageCount + q.unackedCount) * MESSAGE_OVERHEAD_BYTES;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
