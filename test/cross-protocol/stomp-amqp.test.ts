import type { ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { connect } from '../helpers/amqp.js';
import { RawStomp, getHeader, stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';

const broker = useBroker();

describe('STOMP ⇄ AMQP 0-9-1', () => {
  it('a STOMP SEND to /queue/x reaches amqplib with its properties and headers intact', async () => {
    const stomp = await stompitConnect(broker());
    await stompitSend(
      stomp,
      {
        destination: '/queue/stomp-to-amqp',
        persistent: 'true',
        'content-type': 'application/json',
        'content-encoding': 'utf-8',
        'correlation-id': 'corr-1',
        'reply-to': '/queue/answers',
        expiration: '60000',
        priority: '7',
        'amqp-message-id': 'msg-42',
        timestamp: '1700000000',
        type: 'order.created',
        'app-id': 'shop',
        'x-tenant': 'acme',
      },
      '{"order":1}',
    );
    await stompitDisconnect(stomp);

    const conn = await connect(broker());
    const ch = await conn.createChannel();
    const got = await ch.get('stomp-to-amqp', { noAck: true });
    expect(got).not.toBe(false);
    const m = got as Exclude<typeof got, false>;
    expect(m.content.toString()).toBe('{"order":1}');
    expect(m.fields.exchange).toBe('');
    expect(m.fields.routingKey).toBe('stomp-to-amqp');
    expect(m.properties).toMatchObject({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      correlationId: 'corr-1',
      replyTo: '/queue/answers',
      expiration: '60000',
      priority: 7,
      messageId: 'msg-42',
      timestamp: 1700000000,
      type: 'order.created',
      appId: 'shop',
    });
    // stompit asks a receipt: RabbitMQ keeps it as a header (rabbit_stomp_util:user_header; rabbitmq-user-headers.test.ts)
    expect(m.properties.headers).toEqual({ 'x-tenant': 'acme', receipt: expect.any(String) });
    await conn.close();
  });

  it('an amqplib publish to amq.topic key a.b reaches a STOMP /topic/a.b subscriber, properties mapped back', async () => {
    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    client.send('SUBSCRIBE', { destination: '/topic/a.b', id: 'ab', receipt: 's' });
    await client.receipt('s');

    const conn = await connect(broker());
    const ch = await conn.createChannel();
    ch.publish('amq.topic', 'a.b', Buffer.from('from amqp'), {
      contentType: 'text/plain',
      correlationId: 'c-9',
      messageId: 'amqp-id-1',
      replyTo: 'amq.gen-reply',
      priority: 3,
      persistent: true,
      timestamp: 1700000001,
      headers: { 'x-count': 5, 'x-name': 'n' },
    });
    const m = await client.frame('MESSAGE');
    expect(m.body.toString()).toBe('from amqp');
    expect(getHeader(m, 'subscription')).toBe('ab');
    expect(getHeader(m, 'destination')).toBe('/topic/a.b');
    expect(getHeader(m, 'redelivered')).toBe('false');
    expect(getHeader(m, 'content-type')).toBe('text/plain');
    expect(getHeader(m, 'correlation-id')).toBe('c-9');
    expect(getHeader(m, 'amqp-message-id')).toBe('amqp-id-1');
    // a bare queue name in reply-to reads back as a STOMP destination, as RabbitMQ writes it
    expect(getHeader(m, 'reply-to')).toBe('/reply-queue/amq.gen-reply');
    expect(getHeader(m, 'priority')).toBe('3');
    expect(getHeader(m, 'persistent')).toBe('true');
    expect(getHeader(m, 'timestamp')).toBe('1700000001');
    expect(getHeader(m, 'x-count')).toBe('5');
    expect(getHeader(m, 'x-name')).toBe('n');
    expect(getHeader(m, 'message-id')).toMatch(/^T_ab@@session-/);
    await conn.close();
    client.close();
  });

  it('a durable STOMP topic subscription keeps messages published while its client is away', async () => {
    // RabbitMQ's documented recipe: durable:true and auto-delete:false (3.10 defaults auto-delete to true)
    const headers = { destination: '/topic/audit.#', id: 'auditor', durable: 'true', 'auto-delete': 'false', ack: 'client-individual' };
    const first = await stompitConnect(broker());
    const sub = stompitSubscribe(first, { ...headers });
    await stompitSend(first, { destination: '/topic/audit.login' }, 'while here');
    const m1 = await sub.next();
    expect(m1.body).toBe('while here');
    await new Promise<void>((resolve, reject) => first.ack(m1.raw, {}, { onReceipt: resolve, onError: reject }));
    await stompitDisconnect(first);

    // the client is away: an AMQP publisher keeps publishing
    const conn = await connect(broker());
    const ch = await conn.createConfirmChannel();
    ch.publish('amq.topic', 'audit.logout', Buffer.from('while away'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    const durableQueues = broker().queues().filter((q) => q.name.startsWith('stomp-subscription-'));
    expect(durableQueues).toHaveLength(1);
    expect(durableQueues[0]).toMatchObject({ durable: true, exclusive: false, messages: 1 });

    const second = await stompitConnect(broker());
    const again = stompitSubscribe(second, { ...headers });
    const m2 = await again.next();
    expect(m2.body).toBe('while away');
    expect(m2.headers['destination']).toBe('/topic/audit.logout');
    await new Promise<void>((resolve, reject) => second.ack(m2.raw, {}, { onReceipt: resolve, onError: reject }));

    // UNSUBSCRIBE with durable:true ends the subscription for good
    again.subscription.unsubscribe({ durable: 'true' });
    await stompitSend(second, { destination: '/queue/sync' }, '.');
    expect(broker().queues().filter((q) => q.name.startsWith('stomp-subscription-'))).toEqual([]);
    await stompitDisconnect(second);
  });

  it('an amqplib consumer gets STOMP messages from /exchange/… and STOMP gets messages from an AMQP queue via /amq/queue', async () => {
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    await ch.assertExchange('events', 'direct', { durable: false });
    const { queue } = await ch.assertQueue('amqp-side', { durable: true });
    await ch.bindQueue(queue, 'events', 'k1');
    const consumed = new Promise<ConsumeMessage>((resolve) => void ch.consume(queue, (m) => m && resolve(m), { noAck: true }));

    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    client.send('SEND', { destination: '/exchange/events/k1', 'x-origin': 'stomp', receipt: 'r' }, 'hello amqp');
    await client.receipt('r');
    const m = await consumed;
    expect(m.content.toString()).toBe('hello amqp');
    expect(m.properties.headers).toEqual({ 'x-origin': 'stomp', receipt: 'r' });

    await ch.assertQueue('made-by-amqp', { durable: true });
    ch.sendToQueue('made-by-amqp', Buffer.from('for stomp'));
    client.send('SUBSCRIBE', { destination: '/amq/queue/made-by-amqp', id: 'q', ack: 'client' });
    const s = await client.frame('MESSAGE');
    expect(s.body.toString()).toBe('for stomp');
    expect(getHeader(s, 'destination')).toBe('/queue/made-by-amqp');
    expect(getHeader(s, 'ack')).toBe(getHeader(s, 'message-id'));
    client.send('ACK', { id: getHeader(s, 'ack')!, receipt: 'a' });
    await client.receipt('a');
    expect(broker().queue('made-by-amqp').info()).toMatchObject({ messages: 0, unacked: 0 });
    client.close();
    await conn.close();
  });

  it("a STOMP priority or timestamp out of AMQP 0-9-1's range reaches amqplib as its low byte / low 64 bits (RabbitMQ 3.10.8)", async () => {
    // review-s18-2 F4, asked: STOMP priority:300 -> basic.deliver priority 44, -1 -> 255; timestamp:-5 -> 2^64-5
    // (rabbit_binary_generator writes <<P:8>> / <<T:64>>). The old code's encoder threw: 541 INTERNAL_ERROR for
    // every consumer of the queue, the message back at its head
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/stomp-range', priority: '300', receipt: 'a' }, 'p300');
    client.send('SEND', { destination: '/queue/stomp-range', priority: '-1', receipt: 'b' }, 'p-1');
    client.send('SEND', { destination: '/queue/stomp-range', timestamp: '-5', receipt: 'c' }, 'ts-5');
    for (const r of ['a', 'b', 'c']) await client.receipt(r);
    client.close();
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await ch.get('stomp-range', { noAck: true });
      if (m) got.push(`${m.content.toString()} ${m.properties.priority ?? '-'} ${m.properties.timestamp ?? '-'}`);
    }
    // amqplib reads a 64-bit timestamp as a JS number: 2^64-5 rounds to 2^64 (order: the queue type's priorities)
    expect(got.sort()).toEqual(['p-1 255 -', 'p300 44 -', `ts-5 - ${2 ** 64}`]);
    await conn.close();
  });
});
