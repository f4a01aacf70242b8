import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { useBroker } from '../helpers/broker.js';
import { once, openReceiver, rheaRefusal, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

// dynamic nodes, durable subscriptions, TLS and SASL, in both profiles
const rabbit = useBroker();
const activemq = useBroker({ engine: 'activemq', ports: { stomp: false, stomps: false, mqtt: false, mqtts: false, wss: false, console: false } });

describe('AMQP 1.0 dynamic nodes: temporary reply queues', () => {
  for (const [profile, broker, portKey, service] of [
    ['RabbitMQ', rabbit, 'amqp', '/queue/a10-service'],
    ['ActiveMQ', activemq, 'amqp10', 'queue://a10-service'],
  ] as const) {
    it(`request/reply through a dynamic receiver (${profile} profile)`, async () => {
      const port = broker().ports[portKey]!;
      // the service: reads requests, answers to reply-to through the anonymous terminus
      const svc = await rheaConnect(port);
      const requests = await openReceiver(svc, service);
      const replies = await openSender(svc, { target: {} });
      requests.on('message', (ctx) => {
        replies.send({ to: ctx.message!.reply_to, correlation_id: ctx.message!.correlation_id, body: `answer to ${String(ctx.message!.body)}` });
      });
      // the client: a dynamic receiver names its own temporary queue
      const client = await rheaConnect(port);
      const inbox = await openReceiver(client, { source: { dynamic: true } as never });
      const replyTo = inbox.source.address;
      // RabbitMQ 3.x's plugin: a server-named amq.gen- queue; ActiveMQ: a temp-queue:// named by connection id
      expect(replyTo).toMatch(profile === 'RabbitMQ' ? /^\/queues\/amq\.gen-/ : /^temp-queue:\/\/ID:/);
      const out = await openSender(client, service);
      await sendAwait(out, { body: 'question', reply_to: replyTo, correlation_id: 'c1' });
      const [{ message }] = await receiveN(inbox, 1);
      expect(message.body).toBe('answer to question');
      expect(message.correlation_id).toBe('c1');
      // the temporary queue goes with its link
      const tempName = profile === 'RabbitMQ' ? decodeURIComponent(replyTo.slice('/queues/'.length)) : replyTo.slice('temp-queue://'.length);
      expect(broker().queue(tempName).exists()).toBe(true);
      inbox.close();
      await once(inbox, 'receiver_close');
      expect(broker().queue(tempName).exists()).toBe(false);
      await rheaClose(client);
      await rheaClose(svc);
    });
  }
});

describe('AMQP 1.0 durable subscriptions by link name', () => {
  it('a durable topic subscriber gets what was published while it was away, and unsubscribes by closing its link (ActiveMQ)', async () => {
    const port = activemq().ports['amqp10']!;
    const sub = { name: 'prices-sub', source: { address: 'topic://a10.prices', durable: 2, expiry_policy: 'never' } };
    let conn = await rheaConnect(port, { container_id: 'durable-client-1' });
    let rx = await openReceiver(conn, sub);
    await rheaClose(conn); // a disconnect: the subscription stays

    const pub = await rheaConnect(port);
    const s = await openSender(pub, 'topic://a10.prices');
    await sendAwait(s, { body: 'while away', durable: true });

    conn = await rheaConnect(port, { container_id: 'durable-client-1' });
    rx = await openReceiver(conn, sub);
    expect((await receiveN(rx, 1))[0]!.message.body).toBe('while away');
    // JMS unsubscribe: detach with closed=true ends the subscription
    rx.close();
    await once(rx, 'receiver_close');
    await sendAwait(s, { body: 'after unsubscribe' });
    expect(activemq().queues().filter((q) => q.name.includes('prices-sub'))).toEqual([]);
    await rheaClose(conn);
    await rheaClose(pub);
  });

  it('the same link name from another container id is another subscription (RabbitMQ /topic/)', async () => {
    const port = rabbit().ports['amqp']!;
    const sub = { name: 'shared-name', source: { address: '/topic/a10.durable', durable: 2, expiry_policy: 'never' } };
    const a = await rheaConnect(port, { container_id: 'container-a' });
    const b = await rheaConnect(port, { container_id: 'container-b' });
    await openReceiver(a, sub);
    await openReceiver(b, sub);
    await rheaClose(a);
    await rheaClose(b);
    const names = rabbit().queues().map((q) => q.name).filter((n) => n.includes('shared-name'));
    expect(names.sort()).toEqual(['amqp10-sub-container-a-shared-name', 'amqp10-sub-container-b-shared-name']);
    rabbit().publish('amq.topic', 'a10.durable', 'x');
    expect(rabbit().queue('amqp10-sub-container-a-shared-name').messageCount()).toBe(1);
    expect(rabbit().queue('amqp10-sub-container-b-shared-name').messageCount()).toBe(1);
  });
});

describe('AMQP 1.0 security', () => {
  it('a wrong password fails SASL (outcome auth) and the broker carries on', async () => {
    const port = rabbit().ports['amqp']!;
    await expect(rheaConnect(port, { password: 'wrong' })).rejects.toThrow();
    const ok = await rheaConnect(port);
    await rheaClose(ok);
  });

  it('ANONYMOUS logs in as guest where guest may log in (RabbitMQ 4\'s anonymous_login_user)', async () => {
    const port = rabbit().ports['amqp']!;
    const conn = await rheaConnect(port, { username: undefined, password: undefined, sasl_mechanisms: undefined } as never);
    expect(rabbit().connections().some((c) => c.protocol === 'amqp10' && c.user === 'guest')).toBe(true);
    await rheaClose(conn);
  });

  it('a broker without guest refuses ANONYMOUS and takes its own users over PLAIN', async () => {
    const b: LocalMQ = await startBroker({ users: [{ name: 'app', password: 'app-secret-1' }] });
    try {
      const port = b.ports['amqp']!;
      expect(await rheaRefusal(port, { username: undefined, password: undefined })).toMatch(/unauthorized-access|authenticat/i);
      const conn = await rheaConnect(port, { username: 'app', password: 'app-secret-1' });
      await rheaClose(conn);
    } finally {
      await b.stop();
    }
  });

  it('TLS: amqp+ssl in the ActiveMQ profile and AMQP 1.0 on amqps in the RabbitMQ one', async () => {
    for (const [broker, key] of [
      [activemq, 'amqp10s'],
      [rabbit, 'amqps'],
    ] as const) {
      const { ca } = await broker().certificates();
      const conn = await rheaConnect(broker().ports[key]!, { transport: 'tls', host: 'localhost', servername: 'localhost', ca } as never);
      const address = key === 'amqp10s' ? 'queue://a10-tls' : '/queue/a10-tls';
      const s = await openSender(conn, address);
      expect((await sendAwait(s, { body: 'over tls' })).outcome).toBe('accepted');
      const rx = await openReceiver(conn, address);
      expect((await receiveN(rx, 1))[0]!.message.body).toBe('over tls');
      await rheaClose(conn);
    }
  });
});

describe('AMQP 1.0 and broker shutdown', () => {
  it('stopping the broker closes AMQP 1.0 clients with amqp:connection:forced', async () => {
    const b = await startBroker();
    const conn = await rheaConnect(b.ports['amqp']!);
    const closed = new Promise<string | undefined>((resolve) => conn.once('connection_error', (ctx) => resolve((ctx.connection.error as { condition?: string })?.condition)));
    await b.stop();
    expect(await closed).toBe('amqp:connection:forced');
  });
});


describe('AMQP 1.0 and the resource alarm', () => {
  it('a sender attached while the memory alarm is on gets its credit, its session begins with the window shut: the send goes once the alarm clears (RabbitMQ 4: grant_link_credit has no alarm term)', async () => {
    const b = await startBroker({ limits: { memoryHighWatermark: 1000 } });
    try {
      b.core.vhost('/')!.declareQueue('a10-alarm', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
      b.publish('', 'a10-alarm', Buffer.alloc(2000));
      expect(b.core.alarmed).toBe(true);
      const conn = await rheaConnect(b.ports['amqp']!);
      const s = await openSender(conn, '/queues/a10-alarm');
      expect((s as unknown as { credit: number }).credit).toBe(170);
      const sent = sendAwait(s, { body: 'after the alarm' });
      // rhea obeys the window (0 from the begin): a second attach is answered with nothing taken
      await openSender(conn, '/queues/a10-alarm');
      expect(b.queue('a10-alarm').messageCount()).toBe(1);
      b.queue('a10-alarm').purge();
      expect((await sent).outcome).toBe('accepted');
      await rheaClose(conn);
    } finally {
      await b.stop();
    }
  });
});
