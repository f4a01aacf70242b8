import { AMQPClient, type AMQPMessage } from '@cloudamqp/amqp-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { amqpPort } from '../helpers/amqp.js';

let broker: LocalMQ;
let client: AMQPClient;
beforeAll(async () => {
  broker = await startBroker();
  client = new AMQPClient(`amqp://guest:guest@127.0.0.1:${amqpPort(broker)}/%2F`);
  await client.connect();
});
afterAll(async () => {
  await client.close();
  await broker.stop();
});

describe('@cloudamqp/amqp-client against LocalMQ', () => {
  it('publishes, consumes and acks a message', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('', { exclusive: true });
    expect(q.name).toMatch(/^amq\.gen-/);
    const got = new Promise<AMQPMessage>((resolve) => {
      void ch.basicConsume(q.name, { noAck: false }, async (msg) => {
        await msg.ack();
        resolve(msg);
      });
    });
    await ch.basicPublish('', q.name, 'hello', { contentType: 'text/plain', headers: { n: 1 } });
    const msg = await got;
    expect(msg.bodyToString()).toBe('hello');
    expect(msg.properties.contentType).toBe('text/plain');
    expect(msg.properties.headers).toEqual({ n: 1 });
    expect(msg.redelivered).toBe(false);
    expect((await ch.queueDeclare(q.name, { passive: true })).messageCount).toBe(0);
    await ch.close();
  });

  it('confirms publishes (basicPublish resolves once acked)', async () => {
    const ch = await client.channel();
    await ch.confirmSelect();
    const q = await ch.queueDeclare('', { exclusive: true });
    const tags = await Promise.all([1, 2, 3].map((i) => ch.basicPublish('', q.name, `m${i}`)));
    expect(tags).toEqual([1, 2, 3]);
    expect((await ch.queueDeclare(q.name, { passive: true })).messageCount).toBe(3);
    await ch.close();
  });

  it('basic.get returns the message with the ready count left, then null', async () => {
    const ch = await client.channel();
    const q = await ch.queueDeclare('', { exclusive: true });
    await ch.basicPublish('', q.name, 'g1');
    await ch.basicPublish('', q.name, 'g2');
    await ch.queueDeclare(q.name, { passive: true });
    const m1 = await ch.basicGet(q.name, { noAck: true });
    expect(m1?.bodyToString()).toBe('g1');
    expect(m1?.messageCount).toBe(1);
    const m2 = await ch.basicGet(q.name, { noAck: false });
    expect(m2?.bodyToString()).toBe('g2');
    await m2!.nack(true);
    const again = await ch.basicGet(q.name, { noAck: true });
    expect([again?.bodyToString(), again?.redelivered]).toEqual(['g2', true]);
    expect(await ch.basicGet(q.name)).toBeNull();
    await ch.close();
  });

  it('sees a channel error with its code: 404 on a passive declare of a missing queue', async () => {
    const ch = await client.channel();
    const err = await ch.queueDeclare('no.such.queue', { passive: true }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('404');
    expect((err as Error).message).toContain("NOT_FOUND - no queue 'no.such.queue' in vhost '/'");
    expect(ch.closed).toBe(true);
    // the connection still serves new channels
    const ok = await client.channel();
    await ok.queueDeclare('', { exclusive: true });
    await ok.close();
  });
});
