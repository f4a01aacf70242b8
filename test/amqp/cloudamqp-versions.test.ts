import { AMQPClient, AMQPError, type AMQPChannel, type AMQPMessage } from '@cloudamqp/amqp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { amqpPort } from '../helpers/amqp.js';

/**
 * The version rules seen through @cloudamqp/amqp-client, under each RabbitMQ version Amazon MQ
 * runs (test/server/engine-versions.test.ts has the same through amqplib). Texts from
 * RabbitMQ's source at the tag each version reports: rabbit_quorum_queue:declare/2,
 * rabbit_fifo's delivery limit, rabbit_channel:handle_consumer_timed_out/3.
 */
describe.each(['3.13', '4.2', '4.3'])('RabbitMQ %s through @cloudamqp/amqp-client', (engineVersion) => {
  let broker: LocalMQ;
  let client: AMQPClient;
  beforeAll(async () => {
    broker = await startBroker({ engineVersion });
    client = new AMQPClient(`amqp://guest:guest@127.0.0.1:${amqpPort(broker)}/%2F`);
    await client.connect();
  });
  afterAll(async () => {
    await client.close().catch(() => undefined);
    await broker.stop();
  });

  /** the channel-level error `op` ends in */
  async function refusal(op: (ch: AMQPChannel) => Promise<unknown>): Promise<string> {
    const ch = await client.channel();
    try {
      await op(ch);
    } catch (err) {
      expect(err).toBeInstanceOf(AMQPError);
      return (err as Error).message;
    }
    throw new Error('expected a refusal');
  }

  it('refuses exclusive quorum queues and streams with 406 and RabbitMQ\'s texts', async () => {
    expect(await refusal((ch) => ch.queueDeclare('cq-excl', { exclusive: true }, { 'x-queue-type': 'quorum' }))).toContain(
      "PRECONDITION_FAILED - invalid property 'exclusive-owner' for queue 'cq-excl' in vhost '/'",
    );
    expect(await refusal((ch) => ch.queueDeclare('cq-stream', { durable: true }, { 'x-queue-type': 'stream' }))).toContain(
      "PRECONDITION_FAILED - invalid arg 'x-queue-type' for queue 'cq-stream' in vhost '/': streams are not supported by Amazon MQ",
    );
  });

  it('a durable queue that names no type is quorum on 4.2 and 4.3, classic on 3.13', async () => {
    const ch = await client.channel();
    await ch.queueDeclare('cq-implicit', { durable: true });
    expect(broker.queue('cq-implicit').info()).toMatchObject({ type: engineVersion === '3.13' ? 'classic' : 'quorum' });
    await ch.close();
  });

  it('x-delivery-limit: x-delivery-count on redeliveries, then the DLQ with x-death reason delivery_limit', async () => {
    const ch = await client.channel();
    await ch.queueDeclare('cq-dlq', { durable: true }, { 'x-queue-type': 'classic' });
    await ch.queueDeclare('cq-limited', { durable: true }, { 'x-queue-type': 'quorum', 'x-delivery-limit': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'cq-dlq' });
    await ch.basicPublish('', 'cq-limited', 'poison', { deliveryMode: 2 });
    const counts: unknown[] = [];
    await new Promise<void>((resolve) => {
      void ch.basicConsume('cq-limited', { noAck: false }, async (m: AMQPMessage) => {
        counts.push(m.properties.headers?.['x-delivery-count']);
        // basic.reject with requeue fails the delivery in every version (4.3 does not count a
        // basic.nack requeue: its quorum_queue_SUITE rejects too)
        await m.reject(true);
        if (counts.length === 2) resolve();
      });
    });
    const dead = await broker.waitFor('cq-dlq');
    expect(counts).toEqual([undefined, 1]);
    expect((dead.properties.headers?.['x-death'] as unknown as Record<string, unknown>[])[0]).toMatchObject({ queue: 'cq-limited', reason: 'delivery_limit' });
    await ch.close();
  });

  it('x-dead-letter-strategy at-least-once: a rejected message is held until a queue bound to the DLX takes it (rabbit_fifo_dlx)', async () => {
    broker.core.deadLetterRetryMs = 100; // dead_letter_worker_publisher_confirm_timeout, 180 s in RabbitMQ
    const ch = await client.channel();
    await ch.exchangeDeclare('cq-alo-dlx', 'fanout', { durable: true });
    await ch.queueDeclare('cq-alo', { durable: true }, {
      'x-queue-type': 'quorum',
      'x-dead-letter-exchange': 'cq-alo-dlx',
      'x-dead-letter-strategy': 'at-least-once',
      'x-overflow': 'reject-publish',
    });
    await ch.basicPublish('', 'cq-alo', 'keep me', { deliveryMode: 2 });
    const m = await ch.basicGet('cq-alo', { noAck: false });
    expect(m?.bodyToString()).toBe('keep me');
    await m!.reject(false); // dead-lettered: the DLX routes it nowhere yet
    // a round trip on the same channel: the reject has been handled, and the message is not ready
    expect(await ch.basicGet('cq-alo', { noAck: true })).toBeNull();
    const src = broker.core.vhost('/')!.getQueue('cq-alo')!;
    expect(src.dlxHeldCount).toBe(1);
    expect(src.messageCount).toBe(0);
    await ch.queueDeclare('cq-alo-dlq', { durable: true }, { 'x-queue-type': 'classic' });
    await ch.queueBind('cq-alo-dlq', 'cq-alo-dlx', '');
    const dead = await broker.waitFor('cq-alo-dlq');
    expect(dead.text()).toBe('keep me');
    expect(src.dlxHeldCount).toBe(0);
    broker.core.deadLetterRetryMs = 180_000;
    await ch.close();
  });

  it('consumer timeout: 3.13 and 4.2 close the channel with 406; 4.3 does not for a classic queue', async () => {
    broker.core.consumerTimeoutMs = 150;
    const ch = await client.channel();
    await ch.queueDeclare('cq-slow', { durable: true }, { 'x-queue-type': 'classic' });
    await ch.basicPublish('', 'cq-slow', 'held');
    const closed = new Promise<string>((resolve) => {
      const watch = setInterval(() => {
        if (ch.closed) {
          clearInterval(watch);
          resolve('closed');
        }
      }, 20);
      setTimeout(() => {
        clearInterval(watch);
        resolve('open');
      }, 1500);
    });
    await ch.basicConsume('cq-slow', { noAck: false }, () => undefined);
    expect(await closed).toBe(engineVersion === '4.3' ? 'open' : 'closed');
    broker.core.consumerTimeoutMs = 1_800_000;
    if (!ch.closed) await ch.close();
  });
});
