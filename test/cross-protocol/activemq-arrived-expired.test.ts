import { describe, expect, it } from 'vitest';
import type { IPublishPacket, MqttClient } from 'mqtt';
import type { LocalMQ } from '../../src/index.js';
import { PType, encodePrimitiveMap } from '../../src/protocols/openwire/codec/primitive.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { connect, uniqueName } from '../helpers/amqp.js';
import { openSender, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { useBroker } from '../helpers/broker.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * A message an ActiveMQ-side adapter (STOMP `expires`, OpenWire JMSExpiration, AMQP 1.0
 * absolute-expiry-time) finds already past as it arrives is expired at once in whichever queue it
 * is routed to, never handed to a waiting consumer: ActiveMQ checks Message.isExpired at the
 * destination's send, before any subscription sees it. Asked of ActiveMQ 5.17 (Debian's;
 * /tmp/mends-s17/topic-expired.mjs, raw STOMP): a persistent SEND to /topic/T with `expires` 1 s
 * past, a plain and a durable STOMP subscriber waiting: each got only the next message; one copy
 * on ActiveMQ.DLQ (original-destination:/topic/T, originalExpiration: that `expires`);
 * non-persistent: no copy. The old code did this only in ActiveMQ queues (x-activemq-queue); a
 * queue without that flag (an MQTT subscriber's, a RabbitMQ client's) saw a TTL of 0 and followed
 * RabbitMQ's rule: delivered to a consumer with room. RabbitMQ's rule stays for messages of
 * RabbitMQ-side clients (AMQP 0-9-1 expiration '0': test/core, test/amqp/queue-arguments).
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, mqtt: 0, amqp10: 0, openwire: 0 } });
let seq = 0;

/** an MQTT (3.1.1) subscriber of `topic` at QoS 1, collecting payloads */
async function mqttSubscriber(b: LocalMQ, topic: string): Promise<{ client: MqttClient; next(): Promise<string> }> {
  const client = await mqttConnect(b, { clientId: `exp-sub-${++seq}`, protocolVersion: 4 });
  const got: string[] = [];
  let wake: (() => void) | undefined;
  client.on('message', (_t, payload, _p: IPublishPacket) => {
    got.push(payload.toString());
    wake?.();
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    client,
    async next() {
      while (got.length === 0) await new Promise<void>((r) => (wake = r));
      return got.shift()!;
    },
  };
}

/** a STOMP reader of ActiveMQ.DLQ taking only copies whose `marker` is `marker` */
async function dlqReader(marker: string): Promise<RawStomp> {
  const { client } = await RawStomp.connected(broker());
  client.useVersion('1.2');
  client.send('SUBSCRIBE', { id: 'dlq', destination: '/queue/ActiveMQ.DLQ', selector: `marker = '${marker}'`, receipt: 'dlq' });
  await client.receipt('dlq');
  return client;
}

/**
 * the one ActiveMQ.DLQ copy of `marker`'s expired message (sent before this is called): a sentinel goes to
 * the DLQ behind it, so a missing copy fails at once (the sentinel comes first) and a second one shows
 */
async function expectOneDlqCopy(dlq: RawStomp, marker: string, topic: string, expires: number): Promise<void> {
  const { client } = await RawStomp.connected(broker());
  client.useVersion('1.2');
  client.send('SEND', { destination: '/queue/ActiveMQ.DLQ', persistent: 'true', marker, receipt: 'sentinel' }, 'sentinel');
  await client.receipt('sentinel');
  const copy = await dlq.frame('MESSAGE');
  expect(copy.body.toString()).toBe('x0');
  expect(getHeader(copy, 'original-destination')).toBe(`/topic/${topic}`);
  expect(getHeader(copy, 'originalExpiration')).toBe(String(expires));
  expect((await dlq.frame('MESSAGE')).body.toString()).toBe('sentinel');
  client.close();
}

/**
 * An MQTT subscriber of a fresh topic and a reader of its ActiveMQ.DLQ copies wait; `sendBoth`
 * sends x0 (persistent, expiring at `expires`, 1 s past) and x1 (persistent, no expiry) to the
 * topic, each with the topic's name as property `marker`, and returns its client's close. The
 * subscriber's first message must be x1 (the old code delivered x0 first, its expiry shown as its
 * arrival), and ActiveMQ.DLQ must hold one copy of x0, naming the topic and the client's expiry.
 */
async function arrivesExpiredAtMqttSubscriber(via: string, sendBoth: (topic: string, expires: number) => Promise<() => unknown>): Promise<void> {
  const topic = `arrived.${via}.${++seq}`;
  const sub = await mqttSubscriber(broker(), topic.replace(/\./g, '/'));
  const dlq = await dlqReader(topic);
  const expires = Date.now() - 1000;
  const close = await sendBoth(topic, expires);
  expect(await sub.next()).toBe('x1');
  await expectOneDlqCopy(dlq, topic, topic, expires);
  await close();
  dlq.close();
  await sub.client.endAsync();
}

describe('ActiveMQ: a message already expired as it arrives, to a topic with an MQTT subscriber waiting', () => {
  it('STOMP `expires` in the past: the subscriber gets only the next message; one copy on ActiveMQ.DLQ', async () => {
    await arrivesExpiredAtMqttSubscriber('stomp', async (topic, expires) => {
      const { client } = await RawStomp.connected(broker());
      client.useVersion('1.2');
      client.send('SEND', { destination: `/topic/${topic}`, persistent: 'true', expires: String(expires), marker: topic }, 'x0');
      client.send('SEND', { destination: `/topic/${topic}`, persistent: 'true', marker: topic }, 'x1');
      return () => client.close();
    });
  });

  it('AMQP 1.0 absolute-expiry-time in the past: the subscriber gets only the next message; one copy on ActiveMQ.DLQ', async () => {
    await arrivesExpiredAtMqttSubscriber('amqp10', async (topic, expires) => {
      const conn = await rheaConnect(broker().ports['amqp10']!);
      const tx = await openSender(conn, `topic://${topic}`);
      await sendAwait(tx, { body: 'x0', durable: true, absolute_expiry_time: expires, application_properties: { marker: topic } } as never);
      await sendAwait(tx, { body: 'x1', durable: true, application_properties: { marker: topic } } as never);
      return () => rheaClose(conn);
    });
  });

  it('OpenWire JMSExpiration in the past: the subscriber gets only the next message; one copy on ActiveMQ.DLQ', async () => {
    await arrivesExpiredAtMqttSubscriber('openwire', async (topic, expires) => {
      const ow = await RawOpenWire.connected(broker().ports['openwire']!);
      const message = await ow.producer(ow.connectionId, topic);
      const destination = { type: T.Topic, physicalName: topic };
      // persistent BytesMessages with the marker as a JMS string property
      const marshalledProperties = encodePrimitiveMap(new Map([['marker', { t: PType.String, v: topic }]]));
      await ow.request({ ...message(0, 'x0'), destination, persistent: true, expiration: expires, marshalledProperties });
      await ow.request({ ...message(1, 'x1'), destination, persistent: true, marshalledProperties });
      return () => ow.close();
    });
  });
});

describe('ActiveMQ: a message already expired as it arrives, to a topic nobody subscribes to', () => {
  it('persistent: one copy on ActiveMQ.DLQ all the same; non-persistent: none (ActiveMQ 5.17; the old code had no queue to expire it in: no copy)', async () => {
    // ActiveMQ 5.17 (/tmp/mends-s17/topic-nosub.mjs): a persistent SEND with `expires` 1 s past to a topic without
    // subscribers: one ActiveMQ.DLQ copy, original-destination the topic; a non-persistent one (topic-expired.mjs): none
    const topic = `arrived.nosub.${++seq}`;
    const dlq = await dlqReader(topic);
    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    const expires = Date.now() - 1000;
    client.send('SEND', { destination: `/topic/${topic}`, persistent: 'true', expires: String(expires), marker: topic }, 'x0');
    client.send('SEND', { destination: `/topic/${topic}`, expires: String(expires), marker: topic, receipt: 'sent' }, 'transient');
    await client.receipt('sent');
    await expectOneDlqCopy(dlq, topic, topic, expires);
    client.close();
    dlq.close();
  });
});

describe('ActiveMQ: the exchange counts what the expired-on-arrival message was routed to, not its DLQ copy', () => {
  // review-s17-1 L2: VHost.publish adds the routed count (lastAccepted) to the exchange's publish_out after the
  // routing, and the ActiveMQ.DLQ copy's own publish, made inside it, overwrote that count with the DLQ's 1
  async function publishOutDelta(topic: string, subscribers: number): Promise<number> {
    const x = broker().core.vhost('/')!.getExchange('amq.topic')!;
    const subs: RawStomp[] = [];
    for (let i = 0; i < subscribers; i++) {
      const { client } = await RawStomp.connected(broker());
      client.useVersion('1.2');
      client.send('SUBSCRIBE', { id: `s${i}`, destination: `/topic/${topic}`, receipt: `s${i}` });
      await client.receipt(`s${i}`);
      subs.push(client);
    }
    const before = x.stats.publishOut;
    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    client.send('SEND', { destination: `/topic/${topic}`, persistent: 'true', expires: String(Date.now() - 1000), receipt: 'sent' }, 'x0');
    await client.receipt('sent');
    for (const c of [client, ...subs]) c.close();
    return x.stats.publishOut - before;
  }

  it('a topic nobody subscribes to: publish_out does not move (was 1)', async () => {
    expect(await publishOutDelta(`po.nosub.${++seq}`, 0)).toBe(0);
  });

  it('a topic two clients subscribe to: publish_out 2 (was 1, the copy\'s)', async () => {
    expect(await publishOutDelta(`po.two.${++seq}`, 2)).toBe(2);
  });
});

describe('engine all: an OpenWire message already expired as it arrives, to a RabbitMQ client\'s queue with a consumer waiting', () => {
  const all = useBroker({ engine: 'all', ports: { amqp: 0, openwire: 0 } });

  it('is not delivered but expired, its copy on ActiveMQ.DLQ (the old code handed it over under RabbitMQ\'s TTL-0 rule)', async () => {
    const conn = await connect(all());
    const ch = await conn.createChannel();
    const q = uniqueName('arrived.rabbit');
    await ch.assertQueue(q, { durable: true });
    const got: string[] = [];
    let wake: (() => void) | undefined;
    await ch.consume(q, (m) => {
      if (!m) return;
      got.push(m.content.toString());
      wake?.();
    }, { noAck: true });
    const ow = await RawOpenWire.connected(all().ports['openwire']!);
    const message = await ow.producer(ow.connectionId, q);
    await ow.request({ ...message(0, 'x0'), persistent: true, expiration: Date.now() - 1000 });
    await ow.request({ ...message(1, 'x1'), persistent: true });
    while (got.length === 0) await new Promise<void>((r) => (wake = r));
    expect(got[0]).toBe('x1');
    expect(all().core.vhost('/')!.getQueue(q)!.stats.expired).toBe(1);
    // dead-lettered as its sender's broker would (persistent: ActiveMQ.DLQ); the queue has no dead-letter exchange of its own
    expect(all().queue('ActiveMQ.DLQ').messages().map((m) => m.text())).toContain('x0');
    ow.close();
    await conn.close();
  });
});
