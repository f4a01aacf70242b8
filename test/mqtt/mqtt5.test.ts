import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type IConnackPacket, type IDisconnectPacket, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect as amqpConnect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';
import { closed, inbox, mqttConnect, mqttPort } from '../helpers/mqtt.js';
import { Raw } from '../helpers/mqtt-raw.js';
import { stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

// MQTT 5.0 with mqtt.js at protocolVersion 5: each test asserts what the client observes.

const broker = useBroker({ mqtt: { maxKeepAlive: 120 } });

function v5(b: LocalMQ, opts: IClientOptions = {}): Promise<MqttClient> {
  return mqttConnect(b, { protocolVersion: 5, ...opts });
}

/** the CONNACK mqtt.js got */
function connackOf(c: MqttClient): Promise<IConnackPacket> {
  return new Promise((resolve, reject) => {
    c.once('connect', resolve);
    c.once('error', reject);
  });
}

function raw5(b: LocalMQ, clientId: string): Promise<Raw> {
  return Raw.connected(mqttPort(b), 5, clientId);
}

describe('MQTT 5: CONNECT and CONNACK', () => {
  it('CONNACK properties: limits, what is available, an assigned client identifier for an empty one', async () => {
    const c = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: '', username: 'guest', password: 'guest', reconnectPeriod: 0, clean: true });
    const ack = await connackOf(c);
    expect(ack.reasonCode).toBe(0);
    expect(ack.properties).toMatchObject({
      topicAliasMaximum: 16,
      receiveMaximum: 1024,
      retainAvailable: true,
      wildcardSubscriptionAvailable: true,
      subscriptionIdentifiersAvailable: true,
      sharedSubscriptionAvailable: true,
    });
    expect(ack.properties!.maximumPacketSize).toBe(128 * 1024 * 1024 + 65536);
    expect(ack.properties!.assignedClientIdentifier).toMatch(/^localmq-/);
    await c.endAsync();
  });

  it('server keep alive: a client asking for more than the broker allows is told the broker\'s', async () => {
    const c = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: 'ka', keepalive: 600, username: 'guest', password: 'guest', reconnectPeriod: 0 });
    const ack = await connackOf(c);
    expect(ack.properties!.serverKeepAlive).toBe(120);
    await c.endAsync();
  });

  it('request response information: no Response Information in the CONNACK, as Mosquitto 2.0.11 and RabbitMQ 3.13 answer (a server MAY omit it, MQTT 5 §3.2.2.3.15)', async () => {
    const c = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: 'rri', username: 'guest', password: 'guest', reconnectPeriod: 0, properties: { requestResponseInformation: true } });
    const ack = await connackOf(c);
    expect(ack.reasonCode).toBe(0);
    expect(ack.properties?.responseInformation).toBeUndefined();
    await c.endAsync();
  });

  it('AUTH / enhanced authentication is answered as not supported: CONNACK 0x8C bad authentication method', async () => {
    const c = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: 'auth', reconnectPeriod: 0, properties: { authenticationMethod: 'SCRAM-SHA-1' } });
    const err = await new Promise<Error & { code?: number }>((resolve) => c.once('error', resolve));
    c.end(true);
    expect(err.code).toBe(0x8c);
  });

  it('a wrong password is CONNACK 0x86 with a reason string', async () => {
    const c = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: 'badpw', username: 'guest', password: 'nope', reconnectPeriod: 0 });
    const connack = new Promise<IConnackPacket>((resolve) => c.on('packetreceive', (p) => p.cmd === 'connack' && resolve(p as IConnackPacket)));
    const err = await new Promise<Error & { code?: number }>((resolve) => c.once('error', resolve));
    c.end(true);
    expect(err.code).toBe(0x86);
    const reason = (await connack).properties?.reasonString;
    expect(typeof reason === 'string' && reason.length > 0).toBe(true);
  });
});

describe('MQTT 5: reason codes and server DISCONNECT', () => {
  it('PUBACK 0x10 when no subscriber matched; 0 when one did', async () => {
    // mqtt.js takes 0x10 as success without handing the PUBACK over: read it raw
    const r = await raw5(broker(), 'rc-pub');
    r.send({ cmd: 'publish', topic: 'nobody/listens', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 1 }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'puback', messageId: 1, reasonCode: 0x10 });
    r.send({ cmd: 'subscribe', messageId: 2, subscriptions: [{ topic: 'rc/self', qos: 0 }] }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'suback', granted: [0] });
    r.send({ cmd: 'publish', topic: 'rc/self', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 3 }, 5);
    const acks = [await r.next(), await r.next()];
    expect(acks.find((p) => p.cmd === 'puback')).toMatchObject({ messageId: 3, reasonCode: 0 });
    r.socket.destroy();
  });

  it('QoS 2: PUBREC 0x10 when no subscriber matched; PUBCOMP and PUBREL 0x92 for a packet identifier not in flight', async () => {
    // reason codes of the QoS 2 acks (MQTT 5.0 3.5.2.1, 3.6.2.1, 3.7.2.1), read raw as the client sees them
    const r = await raw5(broker(), 'rc-qos2');
    r.send({ cmd: 'publish', topic: 'nobody/listens2', payload: Buffer.from('x'), qos: 2, dup: false, retain: false, messageId: 11 }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'pubrec', messageId: 11, reasonCode: 0x10 });
    r.send({ cmd: 'pubrel', messageId: 11 }, 5);
    expect((await r.next()) as { reasonCode?: number }).toMatchObject({ cmd: 'pubcomp', messageId: 11 });
    // a PUBREL for an identifier never received, a PUBREC for one never sent
    r.send({ cmd: 'pubrel', messageId: 12 }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'pubcomp', messageId: 12, reasonCode: 0x92 });
    r.send({ cmd: 'pubrec', messageId: 13 }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'pubrel', messageId: 13, reasonCode: 0x92 });
    r.socket.destroy();
  });

  it('SUBACK 0x8F for a topic filter that is not valid, beside a valid one granted', async () => {
    const r = await raw5(broker(), 'rc-sub-invalid');
    r.send({ cmd: 'subscribe', messageId: 21, subscriptions: [{ topic: 'a/#/b', qos: 1 }, { topic: 'a/ok', qos: 1 }] }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'suback', messageId: 21, granted: [0x8f, 1] });
    r.socket.destroy();
  });

  it('UNSUBACK 0x11 for a filter never subscribed, 0 for one that was', async () => {
    const c = await v5(broker(), { clientId: 'rc-unsub' });
    await c.subscribeAsync('u/a', { qos: 0 });
    const ack = await c.unsubscribeAsync(['u/a', 'u/never']);
    expect(ack).toMatchObject({ cmd: 'unsuback', granted: [0x00, 0x11] });
    await c.endAsync();
  });

  it('takeover: the first connection gets DISCONNECT 0x8E session taken over', async () => {
    const first = await v5(broker(), { clientId: 'taken' });
    const disconnect = new Promise<IDisconnectPacket>((resolve) => first.once('disconnect', resolve));
    const second = await v5(broker(), { clientId: 'taken' });
    expect((await disconnect).reasonCode).toBe(0x8e);
    await second.endAsync();
    first.end(true);
  });

  it('broker shutdown: DISCONNECT 0x8B server shutting down', async () => {
    const b = await startBroker();
    const c = await v5(b, { clientId: 'shut' });
    const disconnect = new Promise<IDisconnectPacket>((resolve) => c.once('disconnect', resolve));
    await b.stop();
    expect((await disconnect).reasonCode).toBe(0x8b);
    c.end(true);
  });

  it('a publish the user may not write gets PUBACK 0x87 with a reason string, and the connection stays (mqtt.disconnectOnUnauthorized false, as RabbitMQ 4.3 can be told)', async () => {
    const b = await startBroker({ users: [{ name: 'reader', password: 'reader-password', tags: [] }], mqtt: { disconnectOnUnauthorized: false } });
    try {
      b.users.setPermission({ user: 'reader', vhost: '/', configure: '.*', write: '^$', read: '.*' });
      const c = await v5(b, { clientId: 'no-write', username: 'reader', password: 'reader-password' });
      const err = await c.publishAsync('w/x', 'x', { qos: 1 }).catch((e: Error & { code?: number }) => e);
      expect((err as { code?: number }).code).toBe(0x87);
      expect(c.connected).toBe(true);
      const sub = await c.subscribeAsync('w/x', { qos: 1 });
      expect(sub[0]!.qos).toBe(1);
      await c.endAsync();
    } finally {
      await b.stop();
    }
  });

  it('receive maximum (ours): a client with more QoS 1 PUBLISHes unanswered gets DISCONNECT 0x93', async () => {
    // with a data dir each PUBACK waits for the fsync, so PUBLISHes pile up unanswered
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'localmq-rm-'));
    const b = await startBroker({ dataDir: dir, mqtt: { receiveMaximum: 2 } });
    try {
      const r = await raw5(b, 'greedy');
      // the broker answers at once; three in one write are still three in flight when the third is read
      r.socket.cork();
      for (let id = 1; id <= 3; id++) r.send({ cmd: 'publish', topic: 'rm/x', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: id }, 5);
      r.socket.uncork();
      const seen: number[] = [];
      for (;;) {
        const p = await r.next();
        if (p.cmd === 'disconnect') {
          expect(p.reasonCode).toBe(0x93);
          break;
        }
        seen.push(p.cmd === 'puback' ? p.messageId! : -1);
      }
      await r.closed;
      expect(seen.length).toBeLessThanOrEqual(2);
    } finally {
      await b.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('MQTT 5: session expiry interval (the session queue\'s x-expires)', () => {
  it('0: the session ends at disconnect; a later CONNECT without clean start finds none', async () => {
    const a = await v5(broker(), { clientId: 'exp0', clean: false, properties: { sessionExpiryInterval: 0 } });
    await a.subscribeAsync('e0/x', { qos: 1 });
    await a.endAsync();
    await expect.poll(() => broker().queue('mqtt-subscription-exp0qos1').exists()).toBe(false);
    const b = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: 'exp0', clean: false, username: 'guest', password: 'guest', reconnectPeriod: 0, properties: { sessionExpiryInterval: 60 } });
    expect((await connackOf(b)).sessionPresent).toBe(false);
    await b.endAsync();
  });

  it('N seconds: the queue carries x-expires N*1000 and goes once unused that long; 0xFFFFFFFF never', async () => {
    const a = await v5(broker(), { clientId: 'exp1', clean: false, properties: { sessionExpiryInterval: 1 } });
    await a.subscribeAsync('e1/x', { qos: 1 });
    expect(broker().queue('mqtt-subscription-exp1qos1').info()).toMatchObject({ durable: true, arguments: { 'x-expires': 1000 } });
    await a.endAsync();
    await expect.poll(() => broker().queue('mqtt-subscription-exp1qos1').exists(), { timeout: 5000 }).toBe(false);

    const n = await v5(broker(), { clientId: 'expN', clean: false, properties: { sessionExpiryInterval: 0xffffffff } });
    await n.subscribeAsync('eN/x', { qos: 1 });
    await n.endAsync();
    expect(broker().queue('mqtt-subscription-expNqos1').info()!.arguments['x-expires']).toBeUndefined();
    const back = mqtt.connect(broker().urls.mqtt!, { protocolVersion: 5, clientId: 'expN', clean: false, username: 'guest', password: 'guest', reconnectPeriod: 0, properties: { sessionExpiryInterval: 0xffffffff } });
    expect((await connackOf(back)).sessionPresent).toBe(true);
    await back.endAsync();
  });

  it('DISCONNECT may shorten it to 0: the session ends', async () => {
    const a = await v5(broker(), { clientId: 'exp-dis', clean: false, properties: { sessionExpiryInterval: 300 } });
    await a.subscribeAsync('ed/x', { qos: 1 });
    await a.endAsync({ properties: { sessionExpiryInterval: 0 } } as never);
    await expect.poll(() => broker().queue('mqtt-subscription-exp-disqos1').exists()).toBe(false);
  });
});

describe('MQTT 5: message properties', () => {
  it('message expiry interval: the remaining interval is written on delivery; an expired message is never delivered', async () => {
    const away = await v5(broker(), { clientId: 'mexp', clean: false, properties: { sessionExpiryInterval: 300 } });
    await away.subscribeAsync('mexp/#', { qos: 1 });
    await away.endAsync();
    const pub = await v5(broker(), { clientId: 'mexp-pub' });
    await pub.publishAsync('mexp/short', 'gone soon', { qos: 1, properties: { messageExpiryInterval: 1 } });
    await pub.publishAsync('mexp/long', 'kept', { qos: 1, properties: { messageExpiryInterval: 120 } });
    await expect.poll(() => broker().queue('mqtt-subscription-mexpqos1').messageCount(), { timeout: 5000 }).toBe(1);
    const back = await v5(broker(), { clientId: 'mexp', clean: false, properties: { sessionExpiryInterval: 300 } });
    const m = await inbox(back).next();
    expect(m.topic).toBe('mexp/long');
    expect(m.packet.properties!.messageExpiryInterval).toBeGreaterThan(100);
    expect(m.packet.properties!.messageExpiryInterval).toBeLessThanOrEqual(120);
    await back.endAsync();
    await pub.endAsync();
  });

  it('message expiry interval 0: delivered to a subscriber that can take it at once (Mosquitto 2.0.11 and RabbitMQ\'s TTL 0 alike), dropped from a session queued while away', async () => {
    const sub = await v5(broker(), { clientId: 'mexp0' });
    const box = inbox(sub);
    await sub.subscribeAsync('mexp0/#', { qos: 1 });
    const pub = await v5(broker(), { clientId: 'mexp0-pub' });
    await pub.publishAsync('mexp0/zero', 'zero', { qos: 1, properties: { messageExpiryInterval: 0 } });
    await pub.publishAsync('mexp0/marker', 'marker', { qos: 1 });
    const first = await box.next();
    expect([first.topic, first.packet.properties?.messageExpiryInterval]).toEqual(['mexp0/zero', 0]);
    expect((await box.next()).topic).toBe('mexp0/marker');
    await sub.endAsync();
    // §3.3.2.3.3: once the interval has passed without onward delivery the copy is deleted, as
    // RabbitMQ expires a TTL-0 message nobody takes at once. Mosquitto 2.0.11 keeps it for the
    // session instead (it reads 0 as no expiry)
    const away = await v5(broker(), { clientId: 'mexp0-away', clean: false, properties: { sessionExpiryInterval: 300 } });
    await away.subscribeAsync('mexp0-away/#', { qos: 1 });
    await away.endAsync();
    await pub.publishAsync('mexp0-away/zero', 'zero', { qos: 1, properties: { messageExpiryInterval: 0 } });
    await pub.publishAsync('mexp0-away/marker', 'marker', { qos: 1 });
    await expect.poll(() => broker().queue('mqtt-subscription-mexp0-awayqos1').messageCount()).toBe(1);
    const back = await v5(broker(), { clientId: 'mexp0-away', clean: false, properties: { sessionExpiryInterval: 0 } });
    expect((await inbox(back).next()).topic).toBe('mexp0-away/marker');
    await back.endAsync();
    await pub.endAsync();
  });

  it('user properties, content type, response topic and correlation data reach an MQTT 5 subscriber unchanged', async () => {
    const sub = await v5(broker(), { clientId: 'props-sub' });
    const box = inbox(sub);
    await sub.subscribeAsync('props/x', { qos: 1 });
    const pub = await v5(broker(), { clientId: 'props-pub' });
    await pub.publishAsync('props/x', '{"a":1}', {
      qos: 1,
      properties: { userProperties: { tenant: 'acme', tag: ['a', 'b'] }, contentType: 'application/json', responseTopic: 'reply/here', correlationData: Buffer.from('req-42'), payloadFormatIndicator: true },
    });
    const m = await box.next();
    expect(m.packet.properties).toMatchObject({
      userProperties: { tenant: 'acme', tag: ['a', 'b'] },
      contentType: 'application/json',
      responseTopic: 'reply/here',
      correlationData: Buffer.from('req-42'),
      payloadFormatIndicator: true,
    });
    await pub.endAsync();
    await sub.endAsync();
  });

  it('⇄ AMQP: user properties are headers, response topic is reply-to, correlation data the correlation id', async () => {
    const amqp = await amqpConnect(broker());
    const ch = await amqp.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'to.amqp');
    const got = new Promise<import('amqplib').ConsumeMessage>((resolve) => void ch.consume(queue, (m) => m && resolve(m), { noAck: true }));
    const pub = await v5(broker(), { clientId: 'to-amqp5' });
    await pub.publishAsync('to/amqp', 'hi', { qos: 1, properties: { userProperties: { k: 'v' }, contentType: 'text/plain', responseTopic: 'replies/me', correlationData: Buffer.from('c-1') } });
    const m = await got;
    expect(m.properties.headers).toMatchObject({ k: 'v' });
    expect(m.properties.contentType).toBe('text/plain');
    expect(m.properties.replyTo).toBe('replies.me');
    expect(m.properties.correlationId).toBe('c-1');

    const sub = await v5(broker(), { clientId: 'from-amqp5' });
    const box = inbox(sub);
    await sub.subscribeAsync('from/amqp', { qos: 1 });
    ch.publish('amq.topic', 'from.amqp', Buffer.from('hey'), { headers: { h: 'x' }, replyTo: 'back.to', correlationId: 'c-2', contentType: 'text/plain' });
    const r = await box.next();
    expect(r.packet.properties).toMatchObject({ userProperties: { h: 'x' }, responseTopic: 'back/to', correlationData: Buffer.from('c-2'), contentType: 'text/plain' });
    await sub.endAsync();
    await pub.endAsync();
    await amqp.close();
  });

  it('⇄ STOMP: a SEND\'s own headers arrive as user properties', async () => {
    const sub = await v5(broker(), { clientId: 'from-stomp5' });
    const box = inbox(sub);
    await sub.subscribeAsync('from/stomp', { qos: 1 });
    const s = await stompitConnect(broker());
    await stompitSend(s, { destination: '/topic/from.stomp', 'x-order': '7' }, 'from stomp');
    const m = await box.next();
    expect(m.payload.toString()).toBe('from stomp');
    expect(m.packet.properties?.userProperties).toMatchObject({ 'x-order': '7' });
    await stompitDisconnect(s);
    await sub.endAsync();
  });

  it('⇄ STOMP: user properties and content type of an MQTT 5 PUBLISH arrive as a STOMP subscriber\'s headers', async () => {
    const s = await stompitConnect(broker());
    const sub = stompitSubscribe(s, { destination: '/topic/to.stomp', ack: 'auto' });
    // the subscription is in place once a message of its own comes through
    await stompitSend(s, { destination: '/topic/to.stomp' }, 'ready');
    expect((await sub.next()).body).toBe('ready');
    const pub = await v5(broker(), { clientId: 'to-stomp5' });
    await pub.publishAsync('to/stomp', 'to stomp', { qos: 1, properties: { userProperties: { 'x-order': '8', k: 'v' }, contentType: 'text/plain' } });
    const m = await sub.next();
    expect(m.body).toBe('to stomp');
    expect(m.headers).toMatchObject({ 'x-order': '8', k: 'v', 'content-type': 'text/plain' });
    await pub.endAsync();
    await stompitDisconnect(s);
  });

  it('payload format indicator 1 with a payload that is not UTF-8: PUBACK 0x99', async () => {
    const c = await v5(broker(), { clientId: 'pfi' });
    const err = await c.publishAsync('pfi/x', Buffer.from([0xc3, 0x28]), { qos: 1, properties: { payloadFormatIndicator: true } }).catch((e: Error & { code?: number }) => e);
    expect((err as { code?: number }).code).toBe(0x99);
    await c.endAsync();
  });
});

describe('MQTT 5: limits both ways', () => {
  it('receive maximum (theirs): no more QoS 1 deliveries in flight than the client allows', async () => {
    const r = await Raw.open(mqttPort(broker()), 5);
    r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: 'rm-sub', clean: true, keepalive: 60, username: 'guest', password: Buffer.from('guest'), properties: { receiveMaximum: 2 } }, 5);
    expect((await r.next()).cmd).toBe('connack');
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'rm/theirs', qos: 1 }] }, 5);
    expect((await r.next()).cmd).toBe('suback');
    const pub = await v5(broker(), { clientId: 'rm-pub' });
    for (let i = 0; i < 5; i++) await pub.publishAsync('rm/theirs', `m${i}`, { qos: 1 });
    const q = () => broker().queue('mqtt-subscription-rm-subqos1').info()!;
    await expect.poll(() => [q().unacked, q().messages]).toEqual([2, 3]);
    const first = [await r.next(), await r.next()] as { cmd: string; messageId: number; payload: Buffer }[];
    expect(first.map((p) => p.payload.toString())).toEqual(['m0', 'm1']);
    r.send({ cmd: 'puback', messageId: first[0]!.messageId }, 5);
    const third = (await r.next()) as { payload: Buffer };
    expect(third.payload.toString()).toBe('m2');
    await expect.poll(() => [q().unacked, q().messages]).toEqual([2, 2]);
    r.socket.destroy();
    await pub.endAsync();
  });

  it('maximum packet size (theirs): what the client cannot take is dropped, the rest arrives', async () => {
    const sub = await v5(broker(), { clientId: 'mps-sub', properties: { maximumPacketSize: 200 } });
    const box = inbox(sub);
    await sub.subscribeAsync('mps/#', { qos: 1 });
    const pub = await v5(broker(), { clientId: 'mps-pub' });
    await pub.publishAsync('mps/big', Buffer.alloc(500, 0x61), { qos: 1 });
    await pub.publishAsync('mps/small', 'fits', { qos: 1 });
    const m = await box.next();
    expect(m.topic).toBe('mps/small');
    expect(box.messages).toHaveLength(1);
    await expect.poll(() => broker().queue('mqtt-subscription-mps-subqos1').info()?.unacked).toBe(0);
    await pub.endAsync();
    await sub.endAsync();
  });

  it('topic aliases both ways: the client\'s alias is resolved, ours are set within the client\'s maximum', async () => {
    const sub = await v5(broker(), { clientId: 'alias-sub', properties: { topicAliasMaximum: 4 } });
    const box = inbox(sub);
    await sub.subscribeAsync('alias/#', { qos: 0 });
    const pub = await v5(broker(), { clientId: 'alias-pub', autoAssignTopicAlias: true });
    for (let i = 0; i < 3; i++) await pub.publishAsync('alias/one', `m${i}`, { qos: 1 });
    const got = await box.count(3);
    expect(got.map((m) => m.topic)).toEqual(['alias/one', 'alias/one', 'alias/one']);
    // the first delivery set alias 1 with the topic, the next ones used it alone
    expect(got.map((m) => m.packet.properties?.topicAlias)).toEqual([1, 1, 1]);
    await pub.endAsync();
    await sub.endAsync();
  });

  it('a topic alias above our maximum: DISCONNECT 0x94', async () => {
    const r = await raw5(broker(), 'bad-alias');
    r.send({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('x'), qos: 0, dup: false, retain: false, properties: { topicAlias: 17 } }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'disconnect', reasonCode: 0x94 });
    await r.closed;
  });
});

describe('MQTT 5: subscription options', () => {
  it('subscription identifiers come back on each delivery, one per matching subscription', async () => {
    const c = await v5(broker(), { clientId: 'subid' });
    const box = inbox(c);
    await c.subscribeAsync('sid/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await c.subscribeAsync('sid/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    await c.publishAsync('sid/a', 'x', { qos: 1 });
    const m = await box.next();
    expect([m.packet.properties?.subscriptionIdentifier].flat().sort()).toEqual([7, 9]);
    await c.endAsync();
  });

  it('subscription identifiers follow a subscription replaced without one, an unsubscribe and a new one', async () => {
    const c = await v5(broker(), { clientId: 'subid-changes' });
    const box = inbox(c);
    await c.subscribeAsync('sid2/+', { qos: 1, properties: { subscriptionIdentifier: 7 } });
    await c.subscribeAsync('sid2/#', { qos: 1, properties: { subscriptionIdentifier: 9 } });
    // the same filter again without an identifier replaces the subscription: its 7 is gone [MQTT-3.8.4-3]
    await c.subscribeAsync('sid2/+', { qos: 1 });
    await c.publishAsync('sid2/a', 'x', { qos: 1 });
    expect((await box.next()).packet.properties?.subscriptionIdentifier).toBe(9);
    await c.unsubscribeAsync('sid2/#');
    await c.publishAsync('sid2/a', 'y', { qos: 1 });
    const plain = await box.next();
    expect(plain.payload.toString()).toBe('y');
    expect(plain.packet.properties?.subscriptionIdentifier).toBeUndefined();
    await c.subscribeAsync('sid2/#', { qos: 1, properties: { subscriptionIdentifier: 3 } });
    await c.publishAsync('sid2/a', 'z', { qos: 1 });
    const m = await box.next();
    expect(m.payload.toString()).toBe('z');
    expect(m.packet.properties?.subscriptionIdentifier).toBe(3);
    await c.endAsync();
  });

  it('no local: a client does not get its own messages on that subscription; others do', async () => {
    const c = await v5(broker(), { clientId: 'nolocal' });
    const box = inbox(c);
    await c.subscribeAsync('nl/x', { qos: 1, nl: true });
    await c.subscribeAsync('nl/marker', { qos: 1 });
    const other = await v5(broker(), { clientId: 'nolocal-other' });
    await c.publishAsync('nl/x', 'mine', { qos: 1 });
    await other.publishAsync('nl/x', 'theirs', { qos: 1 });
    await c.publishAsync('nl/marker', 'marker', { qos: 1 });
    await box.count(2);
    expect(box.messages.map((m) => m.payload.toString())).toEqual(['theirs', 'marker']);
    await other.endAsync();
    await c.endAsync();
  });

  it('retain as published keeps the RETAIN flag on live deliveries; without it the flag is cleared', async () => {
    const rap = await v5(broker(), { clientId: 'rap' });
    const plain = await v5(broker(), { clientId: 'norap' });
    const rbox = inbox(rap);
    const pbox = inbox(plain);
    await rap.subscribeAsync('rap/x', { qos: 1, rap: true, rh: 2 });
    await plain.subscribeAsync('rap/x', { qos: 1, rh: 2 });
    const pub = await v5(broker(), { clientId: 'rap-pub' });
    await pub.publishAsync('rap/x', 'flagged', { qos: 1, retain: true });
    expect((await rbox.next()).packet.retain).toBe(true);
    expect((await pbox.next()).packet.retain).toBe(false);
    await pub.publishAsync('rap/x', '', { qos: 1, retain: true });
    await pub.endAsync();
    await rap.endAsync();
    await plain.endAsync();
  });

  it('retain handling 0 sends retained messages on every SUBSCRIBE, 1 only on a new subscription, 2 never', async () => {
    const pub = await v5(broker(), { clientId: 'rh-pub' });
    await pub.publishAsync('rh/t', 'kept', { qos: 1, retain: true });
    const c = await v5(broker(), { clientId: 'rh' });
    const box = inbox(c);
    await c.subscribeAsync('rh/t', { qos: 1, rh: 2 });
    await c.subscribeAsync('rh/+', { qos: 1, rh: 1 });
    await c.subscribeAsync('rh/+', { qos: 1, rh: 1 });
    await c.subscribeAsync('rh/#', { qos: 1, rh: 0 });
    await c.subscribeAsync('rh/#', { qos: 1, rh: 0 });
    await pub.publishAsync('rh/marker', 'marker', { qos: 1 });
    await box.count(4);
    expect(box.messages.map((m) => [m.payload.toString(), m.packet.retain])).toEqual([
      ['kept', true], // rh/+ (rh 1), new
      ['kept', true], // rh/# (rh 0)
      ['kept', true], // rh/# again (rh 0)
      ['marker', false],
    ]);
    await pub.publishAsync('rh/t', '', { qos: 1, retain: true });
    await pub.endAsync();
    await c.endAsync();
  });

  it('shared subscriptions $share/{group}/{filter}: one core queue per group, round-robin between members; other groups and plain subscribers get every message', async () => {
    const a = await v5(broker(), { clientId: 'share-a' });
    const b = await v5(broker(), { clientId: 'share-b' });
    const solo = await v5(broker(), { clientId: 'share-solo' });
    const plain = await v5(broker(), { clientId: 'share-plain' });
    const [abox, bbox, sbox, pbox] = [inbox(a), inbox(b), inbox(solo), inbox(plain)];
    await a.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
    await b.subscribeAsync('$share/workers/jobs/#', { qos: 1 });
    await solo.subscribeAsync('$share/audit/jobs/#', { qos: 1 });
    await plain.subscribeAsync('jobs/#', { qos: 1 });
    expect(broker().queue('mqtt-shared-workers-jobs/#').exists()).toBe(true);
    const pub = await v5(broker(), { clientId: 'share-pub' });
    for (let i = 0; i < 6; i++) await pub.publishAsync(`jobs/${i}`, `job${i}`, { qos: 1 });
    await sbox.count(6);
    await pbox.count(6);
    await expect.poll(() => abox.messages.length + bbox.messages.length).toBe(6);
    expect(abox.messages.length).toBe(3);
    expect(bbox.messages.length).toBe(3);
    expect(abox.messages[0]!.topic).toBe('jobs/0');
    for (const c of [a, b, solo, plain, pub]) await c.endAsync();
    await expect.poll(() => broker().queue('mqtt-shared-workers-jobs/#').exists()).toBe(false);
  });
});

describe('MQTT 5: shared subscriptions of a persistent session', () => {
  it('come back when the session resumes: no SUBSCRIBE again, and the group still round-robins', async () => {
    const opts = { clientId: 'share-keep', clean: false, properties: { sessionExpiryInterval: 300 } };
    const a = await v5(broker(), opts);
    await a.subscribeAsync('$share/keepers/kept/#', { qos: 1 });
    await a.endAsync();
    const again = await v5(broker(), opts);
    const box = inbox(again);
    const other = await v5(broker(), { clientId: 'share-keep-b' });
    const obox = inbox(other);
    await other.subscribeAsync('$share/keepers/kept/#', { qos: 1 });
    const pub = await v5(broker(), { clientId: 'share-keep-pub' });
    for (let i = 0; i < 4; i++) await pub.publishAsync(`kept/${i}`, `k${i}`, { qos: 1 });
    await expect.poll(() => box.messages.length + obox.messages.length).toBe(4);
    expect(box.messages.length).toBe(2);
    expect(obox.messages.length).toBe(2);
    // unsubscribed, it stays gone when the session resumes
    await again.unsubscribeAsync('$share/keepers/kept/#');
    await again.endAsync();
    const third = await v5(broker(), opts);
    const tbox = inbox(third);
    for (let i = 4; i < 6; i++) await pub.publishAsync(`kept/${i}`, `k${i}`, { qos: 1 });
    await obox.count(4);
    expect(tbox.messages).toEqual([]);
    for (const c of [third, other, pub]) await c.endAsync();
  });

  it('come back after a restart of the broker on its data dir', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-mqtt-shared-'));
    try {
      const opts = { clientId: 'share-restart', clean: false, properties: { sessionExpiryInterval: 300 } };
      let b = await startBroker({ dataDir: dir, ports: { mqtt: 0 } });
      const a = await v5(b, opts);
      await a.subscribeAsync('$share/g/restart/#', { qos: 1 });
      await a.endAsync();
      await b.stop();
      b = await startBroker({ dataDir: dir, ports: { mqtt: 0 } });
      try {
        const again = await v5(b, opts);
        const box = inbox(again);
        const pub = await v5(b, { clientId: 'share-restart-pub' });
        await pub.publishAsync('restart/x', 'after', { qos: 1 });
        expect((await box.next()).payload.toString()).toBe('after');
        for (const c of [again, pub]) await c.endAsync();
      } finally {
        await b.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the group queue a persistent member makes is durable: what is published while no member is connected waits, across a restart; it goes when the last member unsubscribes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-mqtt-shared-durable-'));
    const name = 'mqtt-shared-dur-orders/#';
    try {
      const opts = { clientId: 'share-durable', clean: false, properties: { sessionExpiryInterval: 300 } };
      let b = await startBroker({ dataDir: dir, ports: { mqtt: 0 } });
      const a = await v5(b, opts);
      await a.subscribeAsync('$share/dur/orders/#', { qos: 1 });
      await a.endAsync();
      // it lasts as long as the member's session (x-expires = its session expiry interval)
      expect(b.queue(name).info()).toMatchObject({ durable: true, autoDelete: false, arguments: { 'x-expires': 300_000 } });
      const pub = await v5(b, { clientId: 'share-durable-pub' });
      await pub.publishAsync('orders/1', 'o1', { qos: 1 });
      await pub.publishAsync('orders/2', 'o2', { qos: 1 });
      await pub.endAsync();
      await b.stop();
      b = await startBroker({ dataDir: dir, ports: { mqtt: 0 } });
      try {
        expect(b.queue(name).messageCount()).toBe(2);
        const again = await v5(b, opts);
        const box = inbox(again);
        expect((await box.count(2)).map((m) => m.payload.toString())).toEqual(['o1', 'o2']);
        await again.unsubscribeAsync('$share/dur/orders/#');
        expect(b.queue(name).exists()).toBe(false);
        await again.endAsync();
      } finally {
        await b.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('3.1.1 persistent member: its group queue is durable and never expires; a new clean session of that client removes it', async () => {
    const name = 'mqtt-shared-g311-t311/#';
    const c = await mqttConnect(broker(), { clientId: 'share-311', clean: false });
    await c.subscribeAsync('$share/g311/t311/#', { qos: 1 });
    await c.endAsync();
    const info = broker().queue(name).info()!;
    expect(info).toMatchObject({ durable: true, autoDelete: false });
    expect(info.arguments['x-expires']).toBeUndefined();
    const pub = await mqttConnect(broker(), { clientId: 'share-311-pub' });
    await pub.publishAsync('t311/x', 'waited', { qos: 1 });
    await pub.endAsync();
    expect(broker().queue(name).messageCount()).toBe(1);
    const again = await mqttConnect(broker(), { clientId: 'share-311', clean: false });
    expect((await inbox(again).next()).payload.toString()).toBe('waited');
    await again.endAsync();
    // the session ends (clean start): nothing needs the group queue any more
    const fresh = await mqttConnect(broker(), { clientId: 'share-311', clean: true });
    expect(broker().queue(name).exists()).toBe(false);
    await fresh.endAsync();
  });
});

describe('MQTT 5: wills', () => {
  let watcher: MqttClient;
  let box: ReturnType<typeof inbox>;
  beforeAll(async () => {
    watcher = await v5(broker(), { clientId: 'will-watcher' });
    box = inbox(watcher);
    await watcher.subscribeAsync('w5/#', { qos: 1 });
  });
  afterAll(async () => {
    await watcher.endAsync();
  });

  it('will properties travel with the will; DISCONNECT 0x04 publishes it too', async () => {
    const c = await v5(broker(), {
      clientId: 'will-props',
      will: { topic: 'w5/props', payload: Buffer.from('bye'), qos: 1, retain: false, properties: { contentType: 'text/plain', userProperties: { why: 'test' } } },
    });
    await c.endAsync({ reasonCode: 0x04 } as never);
    const m = await box.next();
    expect(m.topic).toBe('w5/props');
    expect(m.packet.properties).toMatchObject({ contentType: 'text/plain', userProperties: { why: 'test' } });
  });

  it('will delay interval: the will waits, and a client back in time cancels it', async () => {
    // the cancelled will is armed first, with the same 1 s delay as the one that goes: had it not
    // been cancelled, its timer would fire before the other's, so the will that does arrive is
    // the event that shows it never will (no sleep past the delay)
    const again = await v5(broker(), {
      clientId: 'will-cancel',
      will: { topic: 'w5/cancelled', payload: Buffer.from('never'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
      properties: { sessionExpiryInterval: 60 },
      clean: false,
    });
    const g2 = closed(again);
    again.stream.destroy();
    await g2;
    const back = await v5(broker(), { clientId: 'will-cancel', clean: false, properties: { sessionExpiryInterval: 60 } });

    const first = await v5(broker(), {
      clientId: 'will-delay',
      clean: false,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: 'w5/delayed', payload: Buffer.from('late'), qos: 1, retain: false, properties: { willDelayInterval: 1 } },
    });
    const gone = closed(first);
    first.stream.destroy();
    await gone;
    const sent = Date.now();
    const m = await box.next();
    // the delay itself is what is under test: this wait is the broker's 1 s
    expect(m.topic).toBe('w5/delayed');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(900);
    await back.publishAsync('w5/marker', 'marker', { qos: 1 });
    expect((await box.next()).topic).toBe('w5/marker');
    expect(box.messages.map((x) => x.topic)).not.toContain('w5/cancelled');
    await back.endAsync();
  });
});

describe('MQTT 5: request problem information', () => {
  it('false: error acks carry no reason string', async () => {
    // a refused publish is answered (PUBACK 0x87), not closed: RabbitMQ 4.3's mqtt.disconnect_on_unauthorized = false
    const b = await startBroker({ users: [{ name: 'ro', password: 'ro-password-1', tags: [] }], mqtt: { disconnectOnUnauthorized: false } });
    try {
      b.users.setPermission({ user: 'ro', vhost: '/', configure: '.*', write: '^$', read: '.*' });
      for (const requestProblemInformation of [true, false]) {
        const r = await Raw.open(mqttPort(b), 5);
        r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId: `rpi-${requestProblemInformation}`, clean: true, keepalive: 60, username: 'ro', password: Buffer.from('ro-password-1'), properties: { requestProblemInformation } }, 5);
        await r.next();
        r.send({ cmd: 'publish', topic: 'x/y', payload: Buffer.from('x'), qos: 1, dup: false, retain: false, messageId: 1 }, 5);
        const ack = await r.next();
        expect(ack).toMatchObject({ cmd: 'puback', reasonCode: 0x87 });
        expect(Boolean((ack as { properties?: { reasonString?: string } }).properties?.reasonString)).toBe(requestProblemInformation);
        r.socket.destroy();
      }
    } finally {
      await b.stop();
    }
  });
});
