import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { call, getJson } from '../helpers/management.js';

/*
 * Metrics: Prometheus text under rabbitmq_prometheus's names (parsed, not grepped), the
 * management API's rates sampled on an interval (5 s by default, as RabbitMQ; shortened
 * here), and Amazon MQ's CloudWatch metric names per engine at /api/cloudwatch.
 */

let broker: LocalMQ;
let conn: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  broker = await startBroker({ management: { sampleIntervalMs: 200 } });
  conn = await connect(broker);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await conn?.close();
  await broker?.stop();
});

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text exposition 0.0.4: families declared by TYPE, samples as name{labels} value */
function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\(.)/g, '$1');
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return { types, samples };
}

async function scrape(path = '/metrics') {
  const res = await call(broker, 'GET', path, { auth: null });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheus(await res.text());
}

const value = (s: Sample[], name: string, labels: Record<string, string> = {}) =>
  s.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;

describe('Prometheus /metrics', () => {
  it('uses rabbitmq_prometheus names and types, and its counts move as messages flow', async () => {
    await ch.assertQueue('metrics.q');
    const before = await scrape();
    expect(before.types.get('rabbitmq_connections')).toBe('gauge');
    expect(before.types.get('rabbitmq_channel_messages_published_total')).toBe('counter');
    expect(value(before.samples, 'rabbitmq_connections')).toBe(1);
    expect(value(before.samples, 'rabbitmq_channels')).toBe(1);
    expect(value(before.samples, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(value(before.samples, 'rabbitmq_identity_info')).toBe(1);
    expect(value(before.samples, 'rabbitmq_queues_created_total')).toBe(1);
    const published = value(before.samples, 'rabbitmq_channel_messages_published_total')!;
    const ready = value(before.samples, 'rabbitmq_queue_messages_ready')!;

    for (let i = 0; i < 4; i++) ch.sendToQueue('metrics.q', Buffer.from(`m${i}`));
    await broker.waitFor('metrics.q', (m) => m.text() === 'm3');
    const after = await scrape();
    expect(value(after.samples, 'rabbitmq_channel_messages_published_total')).toBe(published + 4);
    expect(value(after.samples, 'rabbitmq_queue_messages_ready')).toBe(ready + 4);

    const got = await ch.get('metrics.q');
    expect(got).not.toBe(false);
    const unacked = await scrape();
    expect(value(unacked.samples, 'rabbitmq_queue_messages_unacked')).toBe(1);
    expect(value(unacked.samples, 'rabbitmq_queue_messages_ready')).toBe(ready + 3);
    ch.ack(got as never);
    await ch.purgeQueue('metrics.q');
    const perObject = await scrape('/metrics/per-object');
    expect(value(perObject.samples, 'rabbitmq_queue_messages_published_total', { vhost: '/', queue: 'metrics.q' })).toBe(4);
    expect(value(perObject.samples, 'rabbitmq_queue_messages_ready', { vhost: '/', queue: 'metrics.q' })).toBe(0);
  });
});

describe('rates', () => {
  it('samples publish, deliver and ack rates on the interval (publish_details.rate)', async () => {
    await ch.assertQueue('rates.q');
    await broker.rates.nextSample();
    for (let i = 0; i < 20; i++) ch.sendToQueue('rates.q', Buffer.from('x'));
    await broker.waitFor('rates.q', () => broker.queue('rates.q').messageCount() === 20);
    await broker.rates.nextSample();
    const o = await getJson(broker, '/api/overview');
    expect(o.message_stats.publish_details.rate).toBeGreaterThan(0);
    const q = await getJson(broker, '/api/queues/%2F/rates.q');
    expect(q.message_stats.publish).toBe(20);
    expect(q.message_stats.publish_details.rate).toBeGreaterThan(0);
    expect(q.messages_details.rate).toBeGreaterThan(0);
    // nothing more happens: the next interval's rate is 0
    await broker.rates.nextSample();
    expect((await getJson(broker, '/api/queues/%2F/rates.q')).message_stats.publish_details.rate).toBe(0);
  });
});

describe('CloudWatch view', () => {
  it('names the RabbitMQ engine metrics and dimensions as Amazon MQ does', async () => {
    const cw = await getJson(broker, '/api/cloudwatch');
    expect(cw).toMatchObject({ Namespace: 'AWS/AmazonMQ', Engine: 'RabbitMQ' });
    const names = new Set(cw.MetricData.map((d: any) => d.MetricName));
    for (const n of ['ConnectionCount', 'ChannelCount', 'QueueCount', 'ConsumerCount', 'ExchangeCount', 'MessageCount', 'MessageReadyCount', 'MessageUnacknowledgedCount', 'PublishRate', 'ConfirmRate', 'AckRate', 'SystemCpuUtilization', 'RabbitMQMemUsed', 'RabbitMQDiskFree']) {
      expect(names.has(n), n).toBe(true);
    }
    const conns = cw.MetricData.find((d: any) => d.MetricName === 'ConnectionCount');
    expect(conns).toMatchObject({ Unit: 'Count', Value: 1, Dimensions: [{ Name: 'Broker', Value: expect.any(String) }] });
    const perQueue = cw.MetricData.find((d: any) => d.MetricName === 'MessageCount' && d.Dimensions.some((x: any) => x.Name === 'Queue' && x.Value === 'rates.q'));
    expect(perQueue.Dimensions.map((x: any) => x.Name)).toEqual(['Broker', 'VirtualHost', 'Queue']);
    expect(perQueue.Value).toBe(20);
  });

  it('names the ActiveMQ engine metrics per destination', async () => {
    const cw = await getJson(broker, '/api/cloudwatch?engine=activemq');
    expect(cw.Engine).toBe('ActiveMQ');
    const names = new Set(cw.MetricData.map((d: any) => d.MetricName));
    for (const n of ['TotalConnectionsCount', 'TotalMessageCount', 'CpuUtilization', 'HeapUsage', 'StorePercentUsage', 'EnqueueCount', 'DequeueCount', 'DispatchCount', 'ExpiredCount', 'InFlightCount', 'QueueSize', 'ConsumerCount']) {
      expect(names.has(n), n).toBe(true);
    }
    const size = cw.MetricData.find((d: any) => d.MetricName === 'QueueSize' && d.Dimensions.some((x: any) => x.Value === 'rates.q'));
    expect(size.Value).toBe(20);
    expect((await call(broker, 'GET', '/api/cloudwatch?engine=kafka')).status).toBe(400);
  });
});
