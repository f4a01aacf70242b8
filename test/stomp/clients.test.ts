import { Client as StompJsClient, type IMessage } from '@stomp/stompjs';
import WebSocket from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

let broker: LocalMQ;

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker.stop();
});

beforeEach(() => broker.reset());

describe('stompit over TCP', () => {
  it('the seed example: persistent send to /queue/orders, client-individual subscribe, ack', async () => {
    const client = await stompitConnect(broker);
    await stompitSend(client, { destination: '/queue/orders', persistent: 'true', 'content-type': 'application/json' }, '{"id":1}');

    const sub = stompitSubscribe(client, { destination: '/queue/orders', ack: 'client-individual' });
    const m = await sub.next();
    expect(m.body).toBe('{"id":1}');
    expect(m.headers['destination']).toBe('/queue/orders');
    expect(m.headers['persistent']).toBe('true');
    expect(m.headers['content-type']).toBe('application/json');
    expect(m.headers['redelivered']).toBe('false');
    expect(m.headers['ack']).toBe(m.headers['message-id']);
    expect(broker.queue('orders').info()).toMatchObject({ durable: true, messages: 0, unacked: 1 });

    await new Promise<void>((resolve, reject) => client.ack(m.raw, {}, { onReceipt: resolve, onError: reject }));
    expect(broker.queue('orders').info()).toMatchObject({ messages: 0, unacked: 0 });
    await stompitDisconnect(client);
  });

  it('gives unacked messages back to the queue, redelivered, when the client goes away', async () => {
    const a = await stompitConnect(broker);
    await stompitSend(a, { destination: '/queue/work' }, 'job-1');
    const first = await stompitSubscribe(a, { destination: '/queue/work', ack: 'client-individual' }).next();
    expect(first.headers['redelivered']).toBe('false');
    await stompitDisconnect(a);

    const b = await stompitConnect(broker);
    const again = await stompitSubscribe(b, { destination: '/queue/work', ack: 'auto' }).next();
    expect(again.body).toBe('job-1');
    expect(again.headers['redelivered']).toBe('true');
    await stompitDisconnect(b);
  });

  it('ack:client acknowledges cumulatively, per subscription', async () => {
    const client = await stompitConnect(broker);
    for (const n of [1, 2, 3]) await stompitSend(client, { destination: '/queue/cumulative' }, `m${n}`);
    const sub = stompitSubscribe(client, { destination: '/queue/cumulative', ack: 'client' });
    await sub.next();
    const second = await sub.next();
    await sub.next();
    expect(broker.queue('cumulative').info()!.unacked).toBe(3);
    await new Promise<void>((resolve, reject) => client.ack(second.raw, {}, { onReceipt: resolve, onError: reject }));
    // m1 and m2 are settled, m3 still out
    expect(broker.queue('cumulative').info()).toMatchObject({ messages: 0, unacked: 1 });
    await stompitDisconnect(client);
    expect(broker.queue('cumulative').info()).toMatchObject({ messages: 1, unacked: 0 });
  });

  it('NACK requeues by default and drops with requeue:false, as RabbitMQ does', async () => {
    const client = await stompitConnect(broker);
    await stompitSend(client, { destination: '/queue/nacked' }, 'again');
    const sub = stompitSubscribe(client, { destination: '/queue/nacked', ack: 'client-individual' });
    const first = await sub.next();
    client.nack(first.raw);
    const second = await sub.next();
    expect(second.body).toBe('again');
    expect(second.headers['redelivered']).toBe('true');
    await new Promise<void>((resolve, reject) => client.nack(second.raw, { requeue: 'false' }, { onReceipt: resolve, onError: reject }));
    expect(broker.queue('nacked').info()).toMatchObject({ messages: 0, unacked: 0 });
    await stompitDisconnect(client);
  });

  it('prefetch-count caps the unacked messages of a subscription', async () => {
    const client = await stompitConnect(broker);
    for (let i = 0; i < 5; i++) await stompitSend(client, { destination: '/queue/prefetched' }, `m${i}`);
    const sub = stompitSubscribe(client, { destination: '/queue/prefetched', ack: 'client-individual', 'prefetch-count': 2 });
    const a = await sub.next();
    await sub.next();
    expect(broker.queue('prefetched').info()).toMatchObject({ messages: 3, unacked: 2 });
    await new Promise<void>((resolve, reject) => client.ack(a.raw, {}, { onReceipt: resolve, onError: reject }));
    const c = await sub.next();
    expect(c.body).toBe('m2');
    expect(broker.queue('prefetched').info()).toMatchObject({ messages: 2, unacked: 2 });
    await stompitDisconnect(client);
  });

  it('transactions: SENDs take effect at COMMIT and vanish at ABORT', async () => {
    const client = await stompitConnect(broker);
    await stompitSend(client, { destination: '/queue/tx' }, 'declare');
    broker.queue('tx').purge();
    const tx = client.begin('t1');
    tx.send({ destination: '/queue/tx' }).end('in-tx');
    const aborted = client.begin('t2');
    aborted.send({ destination: '/queue/tx' }).end('aborted');
    aborted.abort();
    // a receipt on a later frame proves the server has processed the earlier ones
    await stompitSend(client, { destination: '/queue/other' }, 'marker');
    expect(broker.queue('tx').messageCount()).toBe(0);
    tx.commit();
    await stompitSend(client, { destination: '/queue/other' }, 'marker');
    expect(broker.queue('tx').messages().map((m) => m.text())).toEqual(['in-tx']);
    await stompitDisconnect(client);
  });

  it('topics: every subscriber gets each message', async () => {
    const a = await stompitConnect(broker);
    const b = await stompitConnect(broker);
    const subA = stompitSubscribe(a, { destination: '/topic/news.sport' });
    const subB = stompitSubscribe(b, { destination: '/topic/news.*' });
    // wait until both bindings exist: one topic queue each
    await stompitSend(a, { destination: '/queue/sync' }, '.');
    await stompitSend(b, { destination: '/queue/sync' }, '.');
    await stompitSend(a, { destination: '/topic/news.sport' }, 'goal');
    expect((await subA.next()).body).toBe('goal');
    const mb = await subB.next();
    expect(mb.body).toBe('goal');
    expect(mb.headers['destination']).toBe('/topic/news.sport');
    await stompitDisconnect(a);
    await stompitDisconnect(b);
    // the subscriptions' queues went with their clients
    expect(broker.queues().filter((q) => q.name.startsWith('stomp-subscription-'))).toEqual([]);
  });

  it('temp-queue reply-to: rewritten to /reply-queue/…, the reply comes back to the requester', async () => {
    const requester = await stompitConnect(broker);
    const responder = await stompitConnect(broker);
    const requests = stompitSubscribe(responder, { destination: '/queue/rpc' });
    await stompitSend(responder, { destination: '/queue/sync' }, '.');

    const replies: { headers: Record<string, string>; body: string }[] = [];
    const gotReply = new Promise<void>((resolve) => {
      requester.on('message', () => undefined);
      // stompit routes MESSAGE frames by subscription id: register the implicit temp-queue subscription
      (requester as unknown as { setImplicitSubscription(id: string, ack: string, cb: (e: Error | null, m: import('stompit').IncomingMessage) => void): void }).setImplicitSubscription(
        '/temp-queue/replies',
        'auto',
        (_e, m) => m.readString('utf-8', (_e2, body) => {
          replies.push({ headers: m.headers, body: body ?? '' });
          resolve();
        }),
      );
    });
    await stompitSend(requester, { destination: '/queue/rpc', 'reply-to': '/temp-queue/replies', 'correlation-id': 'c1' }, 'ping');
    const req = await requests.next();
    expect(req.headers['reply-to']).toMatch(/^\/reply-queue\/amq\.gen-/);
    await stompitSend(responder, { destination: req.headers['reply-to']!, 'correlation-id': req.headers['correlation-id']! }, 'pong');
    await gotReply;
    expect(replies[0]!.body).toBe('pong');
    expect(replies[0]!.headers['subscription']).toBe('/temp-queue/replies');
    expect(replies[0]!.headers['correlation-id']).toBe('c1');
    await stompitDisconnect(requester);
    await stompitDisconnect(responder);
  });

  it('a bare destination name is a queue, as ActiveMQ treats it; /exchange/x/key publishes to x', async () => {
    const client = await stompitConnect(broker);
    await stompitSend(client, { destination: 'plain.name' }, 'activemq style');
    expect(broker.queue('plain.name').messages().map((m) => m.text())).toEqual(['activemq style']);

    const sub = stompitSubscribe(client, { destination: '/exchange/amq.direct/route-1' });
    await stompitSend(client, { destination: '/queue/sync' }, '.');
    await stompitSend(client, { destination: '/exchange/amq.direct/route-1' }, 'via exchange');
    const m = await sub.next();
    expect(m.body).toBe('via exchange');
    expect(m.headers['destination']).toBe('/exchange/amq.direct/route-1');
    await stompitDisconnect(client);
  });
});

describe('@stomp/stompjs over WebSocket', () => {
  function stompJs(subprotocols: string[] = ['v12.stomp']): Promise<{ client: StompJsClient; ws: () => WebSocket }> {
    let socket: WebSocket | undefined;
    const client = new StompJsClient({
      webSocketFactory: () => (socket = new WebSocket(broker.urls.stompWs!, subprotocols)),
      connectHeaders: { login: 'guest', passcode: 'guest' },
      reconnectDelay: 0,
      heartbeatIncoming: 0,
      heartbeatOutgoing: 0,
    });
    return new Promise((resolve, reject) => {
      client.onConnect = () => resolve({ client, ws: () => socket! });
      client.onStompError = (f) => reject(new Error(f.headers['message']));
      client.onWebSocketError = () => reject(new Error('websocket error'));
      client.activate();
    });
  }

  it('negotiates the client\'s highest STOMP subprotocol', async () => {
    const { client, ws } = await stompJs(['v10.stomp', 'v12.stomp', 'v11.stomp']);
    expect(ws().protocol).toBe('v12.stomp');
    expect(client.connectedVersion).toBe('1.2');
    await client.deactivate();
  });

  it('round-trips a binary body intact, sent as binary WebSocket messages', async () => {
    const { client } = await stompJs();
    const got = new Promise<IMessage>((resolve) => client.subscribe('/queue/ws-binary', (m) => resolve(m), { ack: 'client-individual' }));
    await new Promise<void>((resolve) => {
      client.watchForReceipt('ready', () => resolve());
      client.publish({ destination: '/queue/sync', body: '.', headers: { receipt: 'ready' } });
    });
    const body = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0, 0x80, 10, 13]);
    client.publish({ destination: '/queue/ws-binary', binaryBody: body, headers: { 'content-type': 'application/octet-stream', 'x-trace': 'abc' } });
    const m = await got;
    expect(m.isBinaryBody).toBe(true);
    expect(Buffer.from(m.binaryBody)).toEqual(Buffer.from(body));
    expect(m.headers['x-trace']).toBe('abc');
    expect(m.headers['content-type']).toBe('application/octet-stream');
    m.ack();
    await new Promise<void>((resolve) => {
      client.watchForReceipt('acked', () => resolve());
      client.publish({ destination: '/queue/sync', body: '.', headers: { receipt: 'acked' } });
    });
    expect(broker.queue('ws-binary').info()).toMatchObject({ messages: 0, unacked: 0 });
    await client.deactivate();
  });

  it('web-stomp and TCP clients share the same broker', async () => {
    const { client } = await stompJs();
    const got = new Promise<IMessage>((resolve) => client.subscribe('/topic/mixed', (m) => resolve(m)));
    await new Promise<void>((resolve) => {
      client.watchForReceipt('ready', () => resolve());
      client.publish({ destination: '/queue/sync', body: '.', headers: { receipt: 'ready' } });
    });
    const tcp = await stompitConnect(broker);
    await stompitSend(tcp, { destination: '/topic/mixed' }, 'from tcp');
    expect((await got).body).toBe('from tcp');
    await stompitDisconnect(tcp);
    await client.deactivate();
  });
});
