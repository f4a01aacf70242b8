import type { Channel, ConfirmChannel } from 'amqplib';
import { beforeEach, describe, expect, it } from 'vitest';
import { nextMessage, uniqueName, useBrokerConnection } from '../helpers/amqp.js';

const { broker, conn } = useBrokerConnection();
let ch: Channel;
beforeEach(async () => {
  ch = await conn().createChannel();
});

const next = (queue: string) => nextMessage(ch, queue);

describe('TTL', () => {
  it('x-message-ttl expires messages into the dead-letter queue with reason expired', async () => {
    const dlq = uniqueName('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    const src = (await ch.assertQueue(uniqueName('ttl'), { exclusive: true, arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })).queue;
    ch.sendToQueue(src, Buffer.from('old'));
    const m = await next(dlq);
    expect(m.content.toString()).toBe('old');
    const death = (m.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!;
    expect(death).toMatchObject({ count: 1, reason: 'expired', queue: src, exchange: '', 'routing-keys': [src] });
    expect((await ch.checkQueue(src)).messageCount).toBe(0);
  });

  it('per-message expiration: removed on dead-lettering and kept as original-expiration (as RabbitMQ 3.10.8)', async () => {
    const dlq = uniqueName('dlq');
    await ch.assertQueue(dlq, { exclusive: true });
    const src = (await ch.assertQueue(uniqueName('exp'), { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })).queue;
    ch.sendToQueue(src, Buffer.from('short'), { expiration: '20' });
    const m = await next(dlq);
    expect(m.properties.expiration).toBeUndefined();
    const death = (m.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!;
    expect(death['reason']).toBe('expired');
    expect(String(death['original-expiration'])).toBe('20');
    expect(Object.keys(death)).toEqual(['count', 'reason', 'queue', 'time', 'exchange', 'routing-keys', 'original-expiration']);
  });

  it('a TTL of 0 (expiration "0", x-message-ttl 0) is delivered to a consumer that can take it at once, and expires otherwise (as RabbitMQ 3.10.8)', async () => {
    // RabbitMQ 3.10.8, the same three cases over amqplib: {"live":["zero","marker"],"queueTtl0":["qttl0"],"full":["first"],"fullQueueReady":1}
    const seen: string[] = [];
    const live = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.consume(live, (m) => m && seen.push(m.content.toString()), { noAck: true });
    const zeroTtl = (await ch.assertQueue('', { exclusive: true, arguments: { 'x-message-ttl': 0 } })).queue;
    await ch.consume(zeroTtl, (m) => m && seen.push(m.content.toString()), { noAck: true });
    ch.sendToQueue(live, Buffer.from('zero'), { expiration: '0' });
    ch.sendToQueue(zeroTtl, Buffer.from('queue ttl 0'));
    ch.sendToQueue(live, Buffer.from('marker'));
    await expect.poll(() => seen.includes('marker')).toBe(true);
    expect(seen).toEqual(['zero', 'queue ttl 0', 'marker']);
    // a consumer with no room (prefetch 1, nothing acked): the second expires, the third (no TTL) waits
    const full = await conn().createChannel();
    await full.prefetch(1);
    const q = (await full.assertQueue('', { exclusive: true })).queue;
    const got: string[] = [];
    await full.consume(q, (m) => m && got.push(m.content.toString()), { noAck: false });
    for (const [body, expiration] of [['first', '0'], ['second', '0'], ['third', undefined]] as const) full.sendToQueue(q, Buffer.from(body), expiration ? { expiration } : {});
    // on the same channel: answered after the three publishes were routed
    expect((await full.checkQueue(q)).messageCount).toBe(1);
    expect(got).toEqual(['first']);
    await full.close();
  });

  it('x-expires deletes an unused queue', async () => {
    const q = uniqueName('expiring');
    const core = broker().core;
    const deleted = new Promise<void>((resolve) => {
      const onDeleted = (queue: { name: string }) => {
        if (queue.name !== q) return;
        core.off('queueDeleted', onDeleted);
        resolve();
      };
      core.on('queueDeleted', onDeleted);
    });
    await ch.assertQueue(q, { arguments: { 'x-expires': 30 } });
    await deleted;
    expect(broker().queue(q).exists()).toBe(false);
  });
});

describe('dead-lettering', () => {
  it('writes x-death as RabbitMQ does across two hops: rejected then expired (compare bench/rabbitmq-observed.md)', async () => {
    const src = uniqueName('src');
    const dlq = uniqueName('dlq');
    const final = uniqueName('final');
    await ch.assertQueue(final, { exclusive: true });
    await ch.assertQueue(dlq, { exclusive: true, arguments: { 'x-message-ttl': 20, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': final } });
    await ch.assertQueue(src, { exclusive: true, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } });
    ch.sendToQueue(src, Buffer.from('x'), { messageId: 'mid-1', headers: { app: 'v' } });
    let got = await ch.get(src);
    while (!got) got = await ch.get(src);
    ch.reject(got, false);
    const m = await next(final);
    expect(m.fields).toMatchObject({ exchange: '', routingKey: final, redelivered: false });
    expect(m.properties.messageId).toBe('mid-1');
    const h = m.properties.headers!;
    expect(h['app']).toBe('v');
    const deaths = h['x-death'] as unknown as Record<string, unknown>[];
    expect(deaths).toHaveLength(2);
    expect(deaths[0]).toMatchObject({ count: 1, exchange: '', queue: dlq, reason: 'expired', 'routing-keys': [dlq] });
    expect(deaths[1]).toMatchObject({ count: 1, reason: 'rejected', queue: src, exchange: '', 'routing-keys': [src] });
    // a field of type timestamp [T] in seconds, as RabbitMQ writes it (amqplib shows its type tag)
    expect(deaths[0]!['time']).toMatchObject({ '!': 'timestamp' });
    expect(Math.abs((deaths[0]!['time'] as { value: number }).value - Date.now() / 1000)).toBeLessThan(60);
    expect(h).toMatchObject({ 'x-first-death-exchange': '', 'x-first-death-queue': src, 'x-first-death-reason': 'rejected' });
    // RabbitMQ 3.10.8 wrote no x-last-death-*; RabbitMQ 3.13+ does (rabbitmq-server dead_lettering_SUITE asserts
    // x-last-death-reason/-queue/-exchange of the latest death), and LocalMQ follows the newest.
    expect(h).toMatchObject({ 'x-last-death-exchange': '', 'x-last-death-queue': dlq, 'x-last-death-reason': 'expired' });
  });

  it('without a dead-letter routing key the original routing keys are kept', async () => {
    await ch.assertExchange('dlx.topic', 'topic', { autoDelete: true });
    const dlq = (await ch.assertQueue(uniqueName('dlq'), { exclusive: true })).queue;
    await ch.bindQueue(dlq, 'dlx.topic', 'orders.#');
    const src = (await ch.assertQueue(uniqueName('src'), { exclusive: true, arguments: { 'x-dead-letter-exchange': 'dlx.topic' } })).queue;
    await ch.bindQueue(src, 'amq.topic', 'orders.*');
    ch.publish('amq.topic', 'orders.new', Buffer.from('o'));
    let got = await ch.get(src);
    while (!got) got = await ch.get(src);
    ch.nack(got, false, false);
    const m = await next(dlq);
    expect(m.fields.routingKey).toBe('orders.new');
    expect(m.fields.exchange).toBe('dlx.topic');
    expect((m.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]).toMatchObject({ exchange: 'amq.topic', 'routing-keys': ['orders.new'], reason: 'rejected' });
  });

  it('x-max-length drop-head dead-letters the oldest with reason maxlen', async () => {
    const dlq = (await ch.assertQueue(uniqueName('dlq'), { exclusive: true })).queue;
    const q = (await ch.assertQueue(uniqueName('maxlen'), { exclusive: true, arguments: { 'x-max-length': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })).queue;
    for (const b of ['1', '2', '3']) ch.sendToQueue(q, Buffer.from(b));
    const m = await next(dlq);
    expect(m.content.toString()).toBe('1');
    expect((m.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!['reason']).toBe('maxlen');
    expect((await ch.checkQueue(q)).messageCount).toBe(2);
  });

  it('x-max-length-bytes drops from the head by body bytes', async () => {
    const q = (await ch.assertQueue(uniqueName('maxbytes'), { exclusive: true, arguments: { 'x-max-length-bytes': 10 } })).queue;
    for (const b of ['aaaaa', 'bbbbb', 'ccccc']) ch.sendToQueue(q, Buffer.from(b));
    await ch.checkQueue(q);
    const out: string[] = [];
    for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
    expect(out).toEqual(['bbbbb', 'ccccc']);
  });

  it('x-overflow reject-publish: the publisher gets a nack and the queue keeps its first messages', async () => {
    const cch: ConfirmChannel = await conn().createConfirmChannel();
    const q = (await cch.assertQueue(uniqueName('rp'), { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } })).queue;
    const outcome = (body: string) => new Promise<string>((resolve) => cch.sendToQueue(q, Buffer.from(body), {}, (err) => resolve(err ? 'nack' : 'ack')));
    expect(await outcome('first')).toBe('ack');
    expect(await outcome('second')).toBe('nack');
    const m = await cch.get(q, { noAck: true });
    expect(m && m.content.toString()).toBe('first');
    await cch.close();
  });

  it('x-overflow reject-publish-dlx: refused messages are nacked and dead-lettered with reason maxlen', async () => {
    const dlq = (await ch.assertQueue(uniqueName('dlq'), { exclusive: true })).queue;
    const cch = await conn().createConfirmChannel();
    const q = (await cch.assertQueue(uniqueName('rpd'), { exclusive: true, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': dlq } })).queue;
    cch.sendToQueue(q, Buffer.from('kept'));
    const nacked = await new Promise<boolean>((resolve) => cch.sendToQueue(q, Buffer.from('refused'), {}, (err) => resolve(!!err)));
    expect(nacked).toBe(true);
    const m = await next(dlq);
    expect(m.content.toString()).toBe('refused');
    expect((m.properties.headers!['x-death'] as unknown as Record<string, unknown>[])[0]!['reason']).toBe('maxlen');
    await cch.close();
  });

  it('x-max-priority delivers higher priorities first, FIFO within one', async () => {
    const q = (await ch.assertQueue(uniqueName('prio'), { exclusive: true, arguments: { 'x-max-priority': 5 } })).queue;
    const sends: [string, number][] = [['low1', 1], ['high', 5], ['low2', 1], ['over', 9], ['none', 0]];
    for (const [b, p] of sends) ch.sendToQueue(q, Buffer.from(b), { priority: p });
    await ch.checkQueue(q);
    const out: string[] = [];
    for (let m = await ch.get(q, { noAck: true }); m; m = await ch.get(q, { noAck: true })) out.push(m.content.toString());
    // priority above the maximum counts as the maximum
    expect(out).toEqual(['high', 'over', 'low1', 'low2', 'none']);
  });
});
