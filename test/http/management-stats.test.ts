import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { call, getJson } from '../helpers/management.js';

/*
 * The figures RabbitMQ's management API shows beyond counts (checked field by field against
 * Debian's RabbitMQ 3.10.8 on loopback: same keys, same meaning): a queue's messages and bytes
 * by state (ready/unacked, in RAM, persistent), deliveries by kind (consume with and without
 * ack, get with and without ack, empty gets), the node's garbage collections, context
 * switches and journal I/O with their rates, and rabbit_global_counters in Prometheus.
 */

let broker: LocalMQ;
let dir: string;
let conn: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'localmq-stats-'));
  broker = await startBroker({ dataDir: dir, management: { sampleIntervalMs: 200 } });
  conn = await connect(broker);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await conn?.close();
  await broker?.stop();
  await rm(dir, { recursive: true, force: true });
});

const nextSample = () => broker.rates.nextSample();

describe('queue memory and message figures', () => {
  it('splits messages and bytes into ready / unacked / persistent, all in RAM (nothing paged out)', async () => {
    // classic: on 4.2 (the default version) a durable queue is a quorum queue unless told
    await ch.assertQueue('stats.durable', { durable: true, arguments: { 'x-queue-type': 'classic' } });
    // 3 persistent messages of 100 bytes and 2 transient ones of 50
    for (let i = 0; i < 3; i++) ch.sendToQueue('stats.durable', Buffer.alloc(100, 1), { persistent: true });
    for (let i = 0; i < 2; i++) ch.sendToQueue('stats.durable', Buffer.alloc(50, 2), { persistent: false });
    const consumer = await conn.createChannel();
    await consumer.prefetch(2);
    const held: unknown[] = [];
    const two = new Promise<void>((resolve) => {
      void consumer.consume('stats.durable', (m) => {
        held.push(m);
        if (held.length === 2) resolve();
      });
    });
    await two;
    await nextSample();
    const q = await getJson(broker, '/api/queues/%2F/stats.durable');
    // the consumer holds the first two (persistent, 100 B each); three wait: one persistent, two transient
    expect(q).toMatchObject({
      messages: 5,
      messages_ready: 3,
      messages_unacknowledged: 2,
      message_bytes: 400,
      message_bytes_ready: 200,
      message_bytes_unacknowledged: 200,
      message_bytes_ram: 400,
      message_bytes_persistent: 300,
      message_bytes_paged_out: 0,
      messages_ram: 5,
      messages_ready_ram: 3,
      messages_unacknowledged_ram: 2,
      messages_persistent: 3,
      messages_paged_out: 0,
    });
    expect(q.memory).toBeGreaterThan(400);
    // RabbitMQ 4.x's classic queue status (the default version here is 4.2)
    expect(q.backing_queue_status).toMatchObject({ version: 2, len: 3, q_head: 3, next_seq_id: 5, num_pending_acks: 2 });
    await consumer.close();
    await nextSample();
    const back = await getJson(broker, '/api/queues/%2F/stats.durable');
    expect(back).toMatchObject({ messages_ready: 5, messages_unacknowledged: 0, message_bytes_unacknowledged: 0, messages_persistent: 3, message_bytes_persistent: 300, message_bytes_ready: 400 });
    await ch.deleteQueue('stats.durable');
  });

  it('a quorum queue reports its bytes, none of them in RAM, as rabbit_quorum_queue does', async () => {
    await ch.assertQueue('stats.quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('stats.quorum', Buffer.alloc(70), { persistent: true });
    await ch.assertQueue('stats.quorum', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await nextSample();
    const q = await getJson(broker, '/api/queues/%2F/stats.quorum');
    expect(q).toMatchObject({ type: 'quorum', messages: 1, message_bytes: 70, message_bytes_ready: 70, message_bytes_unacknowledged: 0, messages_ram: 0, message_bytes_ram: 0, messages_dlx: 0, message_bytes_dlx: 0 });
    expect(q).not.toHaveProperty('backing_queue_status');
    expect(q).not.toHaveProperty('messages_persistent');
    await ch.deleteQueue('stats.quorum');
  });

  it('a transient queue holds no persistent messages, whatever the delivery mode (as RabbitMQ)', async () => {
    await ch.assertQueue('stats.transient', { durable: false });
    ch.sendToQueue('stats.transient', Buffer.alloc(10), { persistent: true });
    await nextSample();
    const q = await getJson(broker, '/api/queues/%2F/stats.transient');
    expect(q).toMatchObject({ messages: 1, messages_persistent: 0, message_bytes_persistent: 0, message_bytes: 10 });
    await ch.deleteQueue('stats.transient');
  });

  it('counts deliveries by kind: consume with and without ack, get with and without ack, empty get, redeliver', async () => {
    await ch.assertQueue('stats.kinds', { durable: false });
    for (let i = 0; i < 6; i++) ch.sendToQueue('stats.kinds', Buffer.from(`m${i}`));
    const g1 = await ch.get('stats.kinds', { noAck: false });
    const g2 = await ch.get('stats.kinds', { noAck: true });
    expect(g1 && g2).toBeTruthy();
    ch.nack(g1 as never, false, true); // back to the queue: its next delivery is a redelivery
    const autoAck = await conn.createChannel();
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      void autoAck.consume(
        'stats.kinds',
        (m) => {
          got.push(m!.content.toString());
          if (got.length === 5) resolve();
        },
        { noAck: true },
      );
    });
    await autoAck.close();
    expect(await ch.get('stats.kinds')).toBe(false);
    await nextSample();
    const q = await getJson(broker, '/api/queues/%2F/stats.kinds');
    expect(q.message_stats).toMatchObject({ publish: 6, deliver_get: 7, get: 1, get_no_ack: 1, deliver_no_ack: 5, deliver: 0, get_empty: 1, redeliver: 1 });
    const o = await getJson(broker, '/api/overview');
    expect(o.message_stats.get_empty).toBeGreaterThanOrEqual(1);
    expect(o.message_stats.deliver_no_ack).toBeGreaterThanOrEqual(5);
    await ch.deleteQueue('stats.kinds');
    // a deleted queue's deliveries stay in the node's totals
    const after = await getJson(broker, '/api/overview');
    expect(after.message_stats.deliver_no_ack).toBeGreaterThanOrEqual(5);
  });

  it('a mandatory message routed nowhere counts as return_unroutable, a non-mandatory one as drop_unroutable', async () => {
    const before = (await getJson(broker, '/api/overview')).message_stats;
    const returned = new Promise((resolve) => ch.once('return', resolve));
    ch.publish('amq.direct', 'nowhere', Buffer.from('x'), { mandatory: true });
    await returned;
    ch.publish('amq.direct', 'nowhere', Buffer.from('y'));
    await ch.assertQueue('stats.sync'); // a round trip: both publishes were handled
    const after = (await getJson(broker, '/api/overview')).message_stats;
    expect(after.return_unroutable - before.return_unroutable).toBe(1);
    expect(after.drop_unroutable - before.drop_unroutable).toBe(1);
  });
});

describe('node figures', () => {
  it('garbage collections, context switches and the journal\'s I/O, each with its rate', async () => {
    const first = await getJson(broker, '/api/nodes/' + encodeURIComponent((await getJson(broker, '/api/overview')).node));
    await ch.assertQueue('stats.io', { durable: true });
    const confirm = await conn.createConfirmChannel();
    for (let i = 0; i < 20; i++) confirm.sendToQueue('stats.io', Buffer.alloc(1000), { persistent: true });
    await confirm.waitForConfirms();
    // garbage for the collector: ~100 MB of short-lived objects overflow V8's young generation many times over
    let keep: object[] = [];
    for (let i = 0; i < 3_000_000; i++) {
      keep.push({ i, s: `x${i}` });
      if (keep.length === 10_000) keep = [];
    }
    await nextSample();
    await nextSample();
    const [n] = await getJson(broker, '/api/nodes');
    expect(n.io_write_count).toBeGreaterThan(first.io_write_count);
    expect(n.io_write_bytes).toBeGreaterThanOrEqual(first.io_write_bytes + 20_000);
    expect(n.io_sync_count).toBeGreaterThan(first.io_sync_count);
    expect(n.io_write_avg_time).toBeGreaterThan(0);
    expect(n.io_seek_count).toBe(0);
    expect(n.gc_num).toBeGreaterThan(0);
    expect(n.gc_bytes_reclaimed).toBeGreaterThan(0);
    expect(n.context_switches).toBeGreaterThan(0);
    for (const key of ['mem_used', 'fd_used', 'sockets_used', 'disk_free', 'gc_num', 'io_write_count', 'io_sync_count', 'connection_created', 'queue_declared']) {
      expect(n[`${key}_details`], key).toEqual({ rate: expect.any(Number) });
    }
    expect(n.connection_created).toBeGreaterThanOrEqual(1);
    expect(n.mem_calculation_strategy).toBe('queued');
    expect(n.contexts).toContainEqual(expect.objectContaining({ description: 'RabbitMQ Management', port: String(new URL(broker.urls.http!).port) }));
    await confirm.close();
    await ch.deleteQueue('stats.io');
  });
});

describe('Prometheus rabbit_global_counters and the message size histogram', () => {
  const value = (text: string, name: string, labels = '') => {
    const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };

  it('serves the rabbitmq_global_* counters Grafana\'s RabbitMQ-Overview reads, and they move', async () => {
    const before = await (await call(broker, 'GET', '/metrics', { auth: null })).text();
    await ch.assertQueue('stats.prom', { durable: false });
    const confirm = await conn.createConfirmChannel();
    confirm.sendToQueue('stats.prom', Buffer.alloc(500));
    confirm.sendToQueue('stats.prom', Buffer.alloc(5000));
    await confirm.waitForConfirms();
    const m = await ch.get('stats.prom', { noAck: false });
    ch.ack(m as never);
    await ch.get('stats.prom', { noAck: true });
    const text = await (await call(broker, 'GET', '/metrics', { auth: null })).text();
    const moved = (name: string, labels = '') => value(text, name, labels)! - value(before, name, labels)!;
    expect(moved('rabbitmq_global_messages_received_total')).toBe(2);
    expect(moved('rabbitmq_global_messages_received_confirm_total')).toBe(2);
    expect(moved('rabbitmq_global_messages_confirmed_total')).toBe(2);
    expect(moved('rabbitmq_global_messages_routed_total')).toBe(2);
    expect(moved('rabbitmq_global_messages_delivered_get_manual_ack_total')).toBe(1);
    expect(moved('rabbitmq_global_messages_delivered_get_auto_ack_total')).toBe(1);
    expect(moved('rabbitmq_global_messages_delivered_total')).toBe(2);
    expect(moved('rabbitmq_global_messages_acknowledged_total')).toBe(2);
    expect(moved('rabbitmq_message_size_bytes_bucket', '{le="1000.0"}')).toBe(1);
    expect(moved('rabbitmq_message_size_bytes_bucket', '{le="10000.0"}')).toBe(2);
    expect(moved('rabbitmq_message_size_bytes_count')).toBe(2);
    expect(moved('rabbitmq_message_size_bytes_sum')).toBe(5500);
    expect(text).toContain('# TYPE rabbitmq_message_size_bytes histogram');
    // publishers: channels that have published (the confirm channel, and `ch` from the earlier tests)
    expect(value(text, 'rabbitmq_global_publishers')).toBeGreaterThanOrEqual(1);
    expect(value(text, 'rabbitmq_global_consumers')).toBe(0);
    // RabbitMQ 4.x names the endpoint in the identity (the dashboards' $endpoint variable)
    expect(text).toMatch(/^rabbitmq_identity_info\{[^}]*rabbitmq_endpoint="aggregated"/m);
    await confirm.close();
    await ch.deleteQueue('stats.prom');
  });
});
