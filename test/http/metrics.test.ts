import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { call, getJson } from '../helpers/management.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { T } from '../../src/protocols/openwire/codec/types.js';

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

describe('churn, exchange and consumer figures', () => {
  it('churn_rates in /api/overview count connections, channels and queues as they come and go', async () => {
    const before = (await getJson(broker, '/api/overview')).churn_rates;
    for (const key of ['connection_created', 'connection_closed', 'channel_created', 'channel_closed', 'queue_created', 'queue_declared', 'queue_deleted']) {
      expect(before[key], key).toEqual(expect.any(Number));
      expect(before[`${key}_details`], key).toEqual({ rate: expect.any(Number) });
    }
    await broker.rates.nextSample();
    const c = await connect(broker);
    // the interval that saw the connection open has a connection_created rate
    await broker.rates.nextSample();
    expect((await getJson(broker, '/api/overview')).churn_rates.connection_created_details.rate).toBeGreaterThan(0);
    const x = await c.createChannel();
    await x.assertQueue('churn.q');
    await x.assertQueue('churn.q');
    await x.deleteQueue('churn.q');
    await x.close();
    await c.close();
    // the server counts a connection closed when its socket closes, which may come after amqplib's close-ok
    for (let i = 0; i < 100 && broker.rates.churnCounts().connection_closed === before.connection_closed; i++) await broker.rates.nextSample();
    await broker.rates.nextSample();
    const after = (await getJson(broker, '/api/overview')).churn_rates;
    expect(after.connection_created - before.connection_created).toBe(1);
    expect(after.connection_closed - before.connection_closed).toBe(1);
    expect(after.channel_created - before.channel_created).toBe(1);
    expect(after.channel_closed - before.channel_closed).toBe(1);
    expect(after.queue_created - before.queue_created).toBe(1);
    expect(after.queue_declared - before.queue_declared).toBe(2);
    expect(after.queue_deleted - before.queue_deleted).toBe(1);
    const prom = parsePrometheus(await (await call(broker, 'GET', '/metrics')).text());
    expect(value(prom.samples, 'rabbitmq_connections_opened_total')).toBe(after.connection_created);
    expect(value(prom.samples, 'rabbitmq_queues_declared_total')).toBe(after.queue_declared);
  });

  it('exchange message_stats: publish_in per message, publish_out per queue reached, with rates', async () => {
    await ch.assertExchange('fan.x', 'fanout', { durable: false });
    const fresh = await getJson(broker, '/api/exchanges/%2F/fan.x');
    expect(fresh.message_stats).toBeUndefined();
    await ch.assertQueue('fan.a');
    await ch.assertQueue('fan.b');
    await ch.bindQueue('fan.a', 'fan.x', '');
    await ch.bindQueue('fan.b', 'fan.x', '');
    await broker.rates.nextSample();
    for (let i = 0; i < 5; i++) ch.publish('fan.x', '', Buffer.from('f'));
    await broker.waitFor('fan.b', () => broker.queue('fan.b').messageCount() === 5);
    await broker.rates.nextSample();
    const x = await getJson(broker, '/api/exchanges/%2F/fan.x');
    expect(x.message_stats).toMatchObject({ publish_in: 5, publish_out: 10 });
    expect(x.message_stats.publish_in_details.rate).toBeGreaterThan(0);
    expect(x.message_stats.publish_out_details.rate).toBeGreaterThan(x.message_stats.publish_in_details.rate);
    const listed = (await getJson(broker, '/api/exchanges/%2F')).find((e: { name: string }) => e.name === 'fan.x');
    expect(listed.message_stats.publish_in).toBe(5);
  });

  it('consumer_capacity: 0 without consumers, 1 while consumers keep up, falls while they are at their prefetch limit', async () => {
    await ch.assertQueue('cap.q');
    const idle = await getJson(broker, '/api/queues/%2F/cap.q');
    expect(idle.consumer_capacity).toBe(0);
    expect(idle.consumer_utilisation).toBe(0);
    const c = await connect(broker);
    const x = await c.createChannel();
    await x.prefetch(1);
    const held: unknown[] = [];
    await x.consume('cap.q', (m) => held.push(m));
    for (let i = 0; i < 3; i++) ch.sendToQueue('cap.q', Buffer.from('c'));
    await broker.waitFor('cap.q', () => held.length === 1 && broker.queue('cap.q').messageCount() === 2);
    // the consumer sits at its prefetch of 1 with 2 ready: capacity decays from 1 (half-life 1 s)
    const first = (await getJson(broker, '/api/queues/%2F/cap.q')).consumer_capacity;
    await new Promise((r) => setTimeout(r, 300));
    const later = (await getJson(broker, '/api/queues/%2F/cap.q')).consumer_capacity;
    expect(first).toBeGreaterThan(0);
    expect(later).toBeLessThan(first);
    expect(later).toBeLessThan(1);
    await c.close();
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

  // names as Amazon MQ's "Available CloudWatch metrics" pages list them (RabbitMQ and ActiveMQ)
  it('RabbitMQ: node figures for the broker and for the node, I/O average times, NetworkIn/Out by BrokerId', async () => {
    await broker.rates.nextSample();
    const cw = await getJson(broker, '/api/cloudwatch');
    const datum = (name: string, dims: string[]) => cw.MetricData.find((d: any) => d.MetricName === name && d.Dimensions.map((x: any) => x.Name).join() === dims.join());
    for (const n of ['SystemCpuUtilization', 'RabbitMQMemLimit', 'RabbitMQMemUsed', 'RabbitMQDiskFreeLimit', 'RabbitMQDiskFree', 'RabbitMQFdUsed']) {
      expect(datum(n, ['Broker']), n).toBeDefined();
      expect(datum(n, ['Broker', 'Node']), n).toBeDefined();
    }
    expect(datum('RabbitMQIOReadAverageTime', ['Broker'])).toMatchObject({ Unit: 'Count', Value: expect.any(Number) });
    expect(datum('RabbitMQIOWriteAverageTime', ['Broker'])).toMatchObject({ Unit: 'Count', Value: expect.any(Number) });
    // the amqplib connection's traffic in the last sample interval
    await ch.assertQueue('net.q');
    ch.sendToQueue('net.q', Buffer.alloc(10_000));
    await ch.assertQueue('net.q');
    await broker.rates.nextSample();
    const again = await getJson(broker, '/api/cloudwatch');
    const netIn = again.MetricData.find((d: any) => d.MetricName === 'NetworkIn');
    expect(netIn).toMatchObject({ Unit: 'Bytes', Dimensions: [{ Name: 'BrokerId', Value: expect.any(String) }] });
    expect(netIn.Value).toBeGreaterThan(10_000);
    expect(again.MetricData.find((d: any) => d.MetricName === 'NetworkOut').Value).toBeGreaterThan(0);
    await ch.deleteQueue('net.q');
  });

  it('ActiveMQ: -1 broker instance, EstablishedConnectionsCount, producers per destination from OpenWire, MemoryUsage', async () => {
    const amq = await startBroker({ engine: 'activemq', brokerName: 'metrics-amq', ports: { openwire: 0, http: 0 } });
    try {
      const c = await RawOpenWire.connected(Number(new URL(amq.urls.openwire!).port));
      await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: 'c', value: 1 } });
      const producerId = { type: T.ProducerId, connectionId: 'c', value: 1, sessionId: 1 };
      await c.request({ type: T.ProducerInfo, producerId, destination: { type: T.Queue, physicalName: 'orders' } });
      const answer = await c.request({ type: T.TextMessage, producerId, destination: { type: T.Queue, physicalName: 'orders' }, messageId: { type: T.MessageId, producerId, producerSequenceId: 1, brokerSequenceId: 0 }, text: 'hello', persistent: false, priority: 4 });
      expect(answer.type).toBe(T.Response);
      const cw = await getJson(amq, '/api/cloudwatch');
      expect(cw.Engine).toBe('ActiveMQ');
      const datum = (name: string, queue?: string) =>
        cw.MetricData.find((d: any) => d.MetricName === name && (queue === undefined ? d.Dimensions.length === 1 : d.Dimensions.some((x: any) => x.Name === 'Queue' && x.Value === queue)));
      expect(datum('CurrentConnectionsCount').Dimensions).toEqual([{ Name: 'Broker', Value: 'metrics-amq-1' }]);
      expect(datum('EstablishedConnectionsCount').Value).toBeGreaterThanOrEqual(1);
      expect(datum('TotalProducerCount').Value).toBe(1);
      expect(datum('ProducerCount', 'orders').Value).toBe(1);
      expect(datum('QueueSize', 'orders').Value).toBe(1);
      expect(datum('MemoryUsage', 'orders')).toMatchObject({ Unit: 'Percent', Value: expect.any(Number) });
      for (const n of ['TempPercentUsage', 'NetworkIn', 'NetworkOut', 'TotalConnectionsCount']) expect(datum(n), n).toBeDefined();
      c.close();
    } finally {
      await amq.stop();
    }
  });
});
