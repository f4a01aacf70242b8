import type { ConsumeMessage } from 'amqplib';
import type { Delivery as RheaDelivery } from 'rhea';
import { describe, expect, it } from 'vitest';
import type { LocalMQ } from '../../src/index.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { amqpPort, connect, uniqueName } from '../helpers/amqp.js';
import { declareQueue, openReceiver, pending, receiveN, rheaClose, rheaConnect } from '../helpers/amqp10.js';
import { useBroker } from '../helpers/broker.js';
import { call } from '../helpers/management.js';
import { mqttPort } from '../helpers/mqtt.js';
import { RawOpenWire } from '../helpers/openwire.js';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { AckType, T } from '../../src/protocols/openwire/codec/types.js';
import { Raw as RawMqtt } from '../helpers/mqtt-raw.js';
import { getHeader, RawStomp } from '../helpers/stomp.js';

/**
 * Issue 18 point 4: one connection holds at most `limits.maxUnackedPerConnection` unacknowledged
 * deliveries that nothing bounds, over all its channels / sessions / subscriptions: those of
 * consumers that asked for no bound (AMQP basic.qos 0 with no global qos, STOMP ack:client without
 * prefetch-count) and basic.gets with ack (RabbitMQ's qos does not bound basic.get). At the cap
 * nothing more is delivered to them (the queue keeps the messages ready), and each settle lets one
 * more through, to the sessions refused at the cap in turn; consumers without acks are not held
 * back. A client that bounded itself (a prefetch, AMQP 1.0 link credit, OpenWire prefetch, the
 * MQTT prefetch) gets exactly what it asked for, as from RabbitMQ (review-s13-1 C2). RabbitMQ has
 * no such cap (LocalMQ's own, against a reader that never acks taking the broker past its memory
 * watermark: bench/unacked-reader.ts); below it, deliveries are as RabbitMQ makes them.
 *
 * "Nothing more" is asserted after a round trip on the same connection: the broker writes a
 * delivery as it makes it, so one made before the round trip's answer arrives ahead of it.
 */

const CAP = 5;
const N = 8;

/** messages as they arrive, and a wait for the n-th (no polling) */
function inbox<T>(): { got: T[]; push(m: T): void; reach(n: number): Promise<void> } {
  const got: T[] = [];
  let waiters: (() => boolean)[] = [];
  return {
    got,
    push(m) {
      got.push(m);
      waiters = waiters.filter((w) => !w());
    },
    reach(n) {
      return new Promise((resolve) => {
        const check = () => (got.length >= n ? (resolve(), true) : false);
        if (!check()) waiters.push(check);
      });
    },
  };
}

/**
 * An MQTT 3.1.1 client subscribed at QoS 1 that holds its PUBACKs, N messages published to its
 * topic: it gets `window` PUBLISHes (a PINGREQ round trip shows nothing more was sent), then
 * one more for a PUBACK; the rest stay ready in its subscription queue.
 */
async function mqttWindow(broker: LocalMQ, clientId: string, window: number): Promise<void> {
  const r = await RawMqtt.connected(mqttPort(broker), 4, clientId);
  r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: `${clientId}/t`, qos: 1 }] });
  expect((await r.next()).cmd).toBe('suback');
  const conn = await connect(broker);
  const ch = await conn.createConfirmChannel();
  for (let i = 0; i < N; i++) ch.publish('amq.topic', `${clientId}.t`, Buffer.from(String(i)));
  await ch.waitForConfirms();
  await conn.close();
  const got = [];
  for (let i = 0; i < window; i++) got.push((await r.next()) as { cmd: string; messageId: number; payload: Buffer });
  expect(got.map((p) => p.cmd)).toEqual(Array(window).fill('publish'));
  r.send({ cmd: 'pingreq' });
  expect((await r.next()).cmd).toBe('pingresp');
  const queue = broker.queue(`mqtt-subscription-${clientId}qos1`);
  expect(queue.messageCount()).toBe(N - window);
  r.send({ cmd: 'puback', messageId: got[0]!.messageId });
  const next = (await r.next()) as { cmd: string; payload: Buffer };
  expect([next.cmd, next.payload.toString()]).toEqual(['publish', String(window)]);
  r.send({ cmd: 'pingreq' });
  expect((await r.next()).cmd).toBe('pingresp');
  expect(queue.messageCount()).toBe(N - window - 1);
  r.socket.destroy();
}

describe('MQTT 3.1.1 in-flight window without the cap', () => {
  // RabbitMQ's mqtt.prefetch (10 by default; LocalMQ's default is 1000) bounds a 3.1.1 client's QoS 1/2 deliveries in flight
  const broker = useBroker({ mqtt: { prefetch: 3 }, limits: { maxUnackedPerConnection: 0 } });

  it('is the mqtt prefetch: 3 PUBLISHes, then one per PUBACK', async () => {
    await mqttWindow(broker(), 'unacked-window', 3);
  });
});

describe('MQTT 3.1.1 in-flight window above the cap', () => {
  const broker = useBroker({ mqtt: { prefetch: 7 }, limits: { maxUnackedPerConnection: CAP } });

  // the old code counted the bounded window against the cap: 5 PUBLISHes
  it('is the mqtt prefetch, not the connection cap (a bound the adapter asked for): 7 PUBLISHes, then one per PUBACK', async () => {
    await mqttWindow(broker(), 'unacked-window-7', 7);
  });
});

describe('limits.maxUnackedPerConnection', () => {
  const broker = useBroker({ limits: { maxUnackedPerConnection: CAP } });

  async function filled(name: string, n = N): Promise<void> {
    const conn = await connect(broker());
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue(name, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    for (let i = 0; i < n; i++) ch.sendToQueue(name, Buffer.from(String(i)));
    await ch.waitForConfirms();
    await conn.close();
  }

  /** two queues filled with na / nb messages, and one connection with two channels to consume them */
  async function twoChannels(nameA: string, na: number, nameB: string, nb: number) {
    const qa = uniqueName(nameA);
    const qb = uniqueName(nameB);
    await filled(qa, na);
    await filled(qb, nb);
    const conn = await connect(broker());
    return { qa, qb, conn, a: await conn.createChannel(), b: await conn.createChannel() };
  }

  it('defaults to 100 000 unbounded unacked deliveries per connection, far below a broker-filling backlog', () => {
    expect(DEFAULT_LIMITS.maxUnackedPerConnection).toBe(100_000);
  });

  it('AMQP 0-9-1, prefetch 0: a consumer gets CAP deliveries, then one more per ack; basic.get finds nothing at the cap', async () => {
    const q = uniqueName('unacked-amqp');
    await filled(q);
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    await ch.prefetch(0);
    const box = inbox<ConsumeMessage>();
    await ch.consume(q, (m) => box.push(m!), { noAck: false });
    await box.reach(CAP);
    // the old code handed all N out at once: the queue had 0 ready
    expect((await ch.checkQueue(q)).messageCount).toBe(N - CAP);
    expect(box.got).toHaveLength(CAP);
    expect(broker().queue(q).messageCount()).toBe(N - CAP);
    // a get that would be acked is a delivery too: none at the cap (get-empty)
    expect(await ch.get(q, { noAck: false })).toBe(false);

    ch.ack(box.got[0]!);
    await box.reach(CAP + 1);
    expect((await ch.checkQueue(q)).messageCount).toBe(N - CAP - 1);
    expect(box.got).toHaveLength(CAP + 1);
    expect(box.got.map((m) => m.content.toString())).toEqual(['0', '1', '2', '3', '4', '5']);

    // a nack with requeue settles as well: the message comes back and goes out again
    ch.nack(box.got[1]!, false, true);
    await box.reach(CAP + 2);
    expect((await ch.checkQueue(q)).messageCount).toBe(N - CAP - 1);
    expect(box.got).toHaveLength(CAP + 2);
    await conn.close();
  });

  it('AMQP 0-9-1: the cap is the connection\'s, shared by its channels; acks and a closed channel let the others go on; no-ack consumers and other connections are not held back', async () => {
    const [a, b, free, other] = ['a', 'b', 'free', 'other'].map((s) => uniqueName(`unacked-share-${s}`));
    await filled(a!, CAP);
    await filled(b!);
    await filled(free!);
    await filled(other!);
    const conn = await connect(broker());
    const chA = await conn.createChannel();
    const boxA = inbox<ConsumeMessage>();
    await chA.consume(a!, (m) => boxA.push(m!), { noAck: false });
    await boxA.reach(CAP);

    const chB = await conn.createChannel();
    const boxB = inbox<ConsumeMessage>();
    await chB.consume(b!, (m) => boxB.push(m!), { noAck: false });
    // the connection is at its cap: channel B gets nothing
    expect((await chB.checkQueue(b!)).messageCount).toBe(N);
    expect(boxB.got).toHaveLength(0);

    // without acks nothing waits: a no-ack consumer of the same connection takes everything
    const chFree = await conn.createChannel();
    const boxFree = inbox<ConsumeMessage>();
    await chFree.consume(free!, (m) => boxFree.push(m!), { noAck: true });
    await boxFree.reach(N);

    // another connection has a cap of its own
    const conn2 = await connect(broker());
    const ch2 = await conn2.createChannel();
    const box2 = inbox<ConsumeMessage>();
    await ch2.consume(other!, (m) => box2.push(m!), { noAck: false });
    await box2.reach(CAP);
    await conn2.close();

    // an ack on channel A (whose queue has nothing more) lets channel B take one
    chA.ack(boxA.got[0]!);
    await boxB.reach(1);
    expect((await chB.checkQueue(b!)).messageCount).toBe(N - 1);
    expect(boxB.got).toHaveLength(1);

    // channel A closes: its CAP - 1 go back to their queue and B takes up to the cap
    await chA.close();
    await boxB.reach(CAP);
    expect((await chB.checkQueue(b!)).messageCount).toBe(N - CAP);
    expect(boxB.got).toHaveLength(CAP);
    expect(broker().queue(a!).messageCount()).toBe(CAP - 1);
    await conn.close();
  });

  it('AMQP 0-9-1: channels that asked for a prefetch get their windows in full, whatever the cap (review-s13-1 C2; RabbitMQ has no cap)', async () => {
    // two windows of 4 together above the cap of 5: the old code gave 4 + 1, and a consumer that
    // acks (multiple) once its window is full waited for ever
    const [a, b, g] = ['a', 'b', 'global'].map((s) => uniqueName(`unacked-bounded-${s}`));
    await filled(a!);
    await filled(b!);
    await filled(g!);
    const conn = await connect(broker());
    const boxes = [];
    for (const q of [a!, b!]) {
      const ch = await conn.createChannel();
      await ch.prefetch(4);
      const box = inbox<ConsumeMessage>();
      await ch.consume(q, (m) => box.push(m!), { noAck: false });
      boxes.push({ ch, box, q });
    }
    for (const { box } of boxes) await box.reach(4);
    for (const { ch, box, q } of boxes) {
      expect((await ch.checkQueue(q)).messageCount).toBe(N - 4);
      expect(box.got).toHaveLength(4);
    }
    // basic.qos global=true (a channel-wide window of 6, above the cap) bounds too
    const chG = await conn.createChannel();
    await chG.prefetch(6, true);
    const boxG = inbox<ConsumeMessage>();
    await chG.consume(g!, (m) => boxG.push(m!), { noAck: false });
    await boxG.reach(6);
    expect((await chG.checkQueue(g!)).messageCount).toBe(N - 6);
    expect(boxG.got).toHaveLength(6);
    await conn.close();
  });

  it('AMQP 0-9-1: basic.get with ack counts against the cap even on a channel with a prefetch (RabbitMQ\'s qos does not bound basic.get); bounded deliveries do not', async () => {
    const [held, got] = ['held', 'got'].map((s) => uniqueName(`unacked-get-${s}`));
    await filled(held!);
    await filled(got!);
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    await ch.prefetch(4);
    const box = inbox<ConsumeMessage>();
    await ch.consume(held!, (m) => box.push(m!), { noAck: false });
    await box.reach(4);
    // the 4 bounded deliveries leave the whole cap to the gets (the old code: 1 get, then get-empty)
    for (let i = 0; i < CAP; i++) expect(await ch.get(got!, { noAck: false })).not.toBe(false);
    expect(await ch.get(got!, { noAck: false })).toBe(false);
    expect((await ch.checkQueue(got!)).messageCount).toBe(N - CAP);
    await conn.close();
  });

  it('AMQP 0-9-1: at the cap, a channel that acks as it goes does not starve another channel of the connection: the freed slots go to each in turn (review-s13-1 C1)', async () => {
    const { qa: busy, qb: quiet, conn, a, b } = await twoChannels('unacked-busy', 1000, 'unacked-quiet', 10);
    const boxA = inbox<ConsumeMessage>();
    await a.consume(busy, (m) => {
      boxA.push(m!);
      a.ack(m!);
    });
    await boxA.reach(CAP);
    // B asks once A holds the connection at the cap
    const boxB = inbox<ConsumeMessage>();
    await b.consume(quiet, (m) => {
      boxB.push(m!);
      b.ack(m!);
    });
    await boxB.reach(10);
    // the old code gave B nothing until A's queue was empty: A had all 1000 first
    expect(boxA.got.length).toBeLessThan(100);
    await boxA.reach(1000);
    expect((await a.checkQueue(busy)).messageCount).toBe(0);
    await conn.close();
  });

  it('AMQP 0-9-1: at the cap, a channel that rejects with requeue as it goes (a poison-message loop) does not keep the freed slots: another channel gets its turn (review-s13-3 U2)', async () => {
    const { qa, qb, conn, a, b } = await twoChannels('unacked-poison', 20, 'unacked-poison-other', 20);
    let aGot = 0;
    let aHeld!: () => void;
    const aAtCap = new Promise<void>((r) => (aHeld = r));
    let stopA = false;
    await a.consume(qa, (m) => {
      if (++aGot === CAP) aHeld();
      if (!stopA) a.reject(m!, true);
    }, { noAck: false });
    await aAtCap;
    const boxB = inbox<ConsumeMessage>();
    await b.consume(qb, (m) => boxB.push(m!), { noAck: false });
    // the old code (requeue dispatched before the waiting channels' turn): B got 0 over 300 of A's deliveries
    await boxB.reach(1);
    stopA = true;
    expect(aGot).toBeLessThan(300);
    await conn.close();
  });

  it('the management API\'s get (ack_requeue_true) of more than the cap returns count messages: it holds nothing for a client (review-s13-1 C3; RabbitMQ returns count)', async () => {
    const q = uniqueName('unacked-mget');
    await filled(q, 2 * CAP);
    const res = await call(broker(), 'POST', `/api/queues/%2F/${q}/get`, { body: { count: 2 * CAP, ackmode: 'ack_requeue_true', encoding: 'auto' } });
    expect(res.status).toBe(200);
    // the old code returned CAP
    expect((await res.json()) as unknown[]).toHaveLength(2 * CAP);
    expect(broker().queue(q).messageCount()).toBe(2 * CAP);
  });

  it('STOMP ack:client without prefetch-count: CAP MESSAGE frames, then one more per ACK', async () => {
    const q = uniqueName('unacked-stomp');
    await filled(q);
    const empty = uniqueName('unacked-stomp-empty');
    await filled(empty, 0);
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { id: 's1', destination: `/amq/queue/${q}`, ack: 'client' });
    const messages = [];
    for (let i = 0; i < CAP; i++) messages.push(await client.frame('MESSAGE'));
    // a round trip: a delivery made before it would arrive ahead of the receipt
    client.send('SUBSCRIBE', { id: 's2', destination: `/amq/queue/${empty}`, ack: 'client', receipt: 'r1' });
    await client.receipt('r1');
    expect(client.frames).toHaveLength(0);
    expect(broker().queue(q).messageCount()).toBe(N - CAP);

    // ack:client is cumulative: acking the first settles that one only
    client.send('ACK', { id: getHeader(messages[0]!, 'ack')! });
    const next = await client.frame('MESSAGE');
    expect(next.body.toString()).toBe(String(CAP));
    client.send('UNSUBSCRIBE', { id: 's2', receipt: 'r2' });
    await client.receipt('r2');
    expect(client.frames).toHaveLength(0);
    expect(broker().queue(q).messageCount()).toBe(N - CAP - 1);
    client.close();
  });

  it('STOMP ack:client with prefetch-count 7 (above the cap): 7 MESSAGE frames, the window it asked for (RabbitMQ: no cap)', async () => {
    const q = uniqueName('unacked-stomp-window');
    await filled(q);
    const empty = uniqueName('unacked-stomp-window-empty');
    await filled(empty, 0);
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { id: 's1', destination: `/amq/queue/${q}`, ack: 'client', 'prefetch-count': '7' });
    // the old code stopped at CAP frames
    for (let i = 0; i < 7; i++) expect((await client.frame('MESSAGE')).body.toString()).toBe(String(i));
    // a round trip: a delivery made before it would arrive ahead of the receipt
    client.send('SUBSCRIBE', { id: 's2', destination: `/amq/queue/${empty}`, ack: 'client', receipt: 'r1' });
    await client.receipt('r1');
    expect(client.frames).toHaveLength(0);
    expect(broker().queue(q).messageCount()).toBe(N - 7);
    client.close();
  });

  // link credit bounds transfers in flight, not unsettled ones (rhea tops it up as messages arrive):
  // a link counts, as a prefetch-0 consumer does (review-s13-3 U1: exempt, a window-10 receiver took 2000)
  it('AMQP 1.0, link credit far above the cap: CAP transfers, then one more per accepted delivery', async () => {
    const q = uniqueName('unacked-amqp10');
    await declareQueue(broker(), q, { 'x-queue-type': 'classic' });
    await filled(q);
    const empty = uniqueName('unacked-amqp10-empty');
    await declareQueue(broker(), empty, { 'x-queue-type': 'classic' });
    const conn = await rheaConnect(amqpPort(broker()));
    const rx = await openReceiver(conn, { source: { address: `/queues/${q}` }, autoaccept: false, credit_window: 1000 });
    const first = await receiveN(rx, CAP);
    // a round trip: attaching another link is answered after any transfer made before it
    await openReceiver(conn, { source: { address: `/queues/${empty}` }, autoaccept: false, credit_window: 10 });
    expect(pending(rx)).toBe(0);
    expect(broker().queue(q).messageCount()).toBe(N - CAP);

    (first[0]!.delivery as RheaDelivery & { accept(): void }).accept();
    const [next] = await receiveN(rx, 1);
    expect(Buffer.from((next!.message.body as { content: Buffer }).content).toString()).toBe(String(CAP));
    await openReceiver(conn, { source: { address: `/queues/${empty}` }, autoaccept: false, credit_window: 10 });
    expect(pending(rx)).toBe(0);
    expect(broker().queue(q).messageCount()).toBe(N - CAP - 1);
    await rheaClose(conn);
  });
});

describe('limits.maxUnackedPerConnection, ActiveMQ engine', () => {
  const broker = useBroker({ engine: 'activemq', ports: { openwire: 0 }, limits: { maxUnackedPerConnection: CAP } });

  it('OpenWire: the consumer\'s prefetch is its bound, not counted against the cap: all N dispatches with prefetch 1000 (ActiveMQ: no cap)', async () => {
    const conn = 'ID:unacked-ow';
    const dest = { type: T.Queue, physicalName: 'unacked.ow' };
    const c = await RawOpenWire.connected(broker().ports['openwire']!);
    const message = await c.producer(conn, dest.physicalName);
    for (let n = 0; n < N; n++) expect((await c.request(message(n, String(n)))).type).toBe(T.Response);
    const consumerId = { type: T.ConsumerId, connectionId: conn, sessionId: 1, value: 1 };
    const mine = (s: OwStruct) => s.type === T.MessageDispatch && s['message'] !== null;
    await c.request({ type: T.ConsumerInfo, consumerId, destination: dest, prefetchSize: 1000 });
    const got: string[] = [];
    // the old code stopped at CAP dispatches
    for (let i = 0; i < N; i++) got.push(Buffer.from(((await c.next(mine))['message'] as OwStruct)['content'] as Buffer).toString());
    expect(got).toEqual(['0', '1', '2', '3', '4', '5', '6', '7']);
    expect(broker().queue('unacked.ow').messageCount()).toBe(0);
    c.close();
  });
});
