import type { Engine } from '../../server/options.js';
import type { ManagementBackend } from '../backend.js';
import { NODE_NAME } from '../management/shapes.js';
import { processStats } from './process-stats.js';

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
    { MetricName: 'SystemCpuUtilization', Dimensions: node, Unit: 'Percent', Value: p.cpuPercent },
    { MetricName: 'RabbitMQMemLimit', Dimensions: node, Unit: 'Bytes', Value: b.core.limits.settings.memoryHighWatermark },
    { MetricName: 'RabbitMQMemUsed', Dimensions: node, Unit: 'Bytes', Value: p.rssBytes },
    { MetricName: 'RabbitMQDiskFreeLimit', Dimensions: node, Unit: 'Bytes', Value: 50_000_000 },
    { MetricName: 'RabbitMQDiskFree', Dimensions: node, Unit: 'Bytes', Value: p.diskFreeBytes },
    { MetricName: 'RabbitMQFdUsed', Dimensions: node, Unit: 'Count', Value: p.openFds },
  ];
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

function activeMqMetrics(b: ManagementBackend, brokerName: string): MetricDatum[] {
  const t = totals(b);
  const p = processStats(b.dataDir);
  const broker = [{ Name: 'Broker', Value: brokerName }];
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
    { MetricName: 'TotalConnectionsCount', Dimensions: broker, Unit: 'Count', Value: t.connections },
    { MetricName: 'TotalConsumerCount', Dimensions: broker, Unit: 'Count', Value: t.consumers },
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
      );
    }
  }
  return out;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
