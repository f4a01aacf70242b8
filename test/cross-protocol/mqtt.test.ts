import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { closed, connackRefusal, inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';
import { stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

let broker: LocalMQ;
beforeAll(async () => {
  broker = await startBroker({ mqtt: { allowAnonymous: true } });
});
afterAll(async () => {
  await broker.stop();
});

describe('MQTT and AMQP over the same queues', () => {
  it('an MQTT publish reaches an AMQP queue bound to amq.topic, payload untouched', async () => {
    const amqp = await connect(broker);
    const ch = await amqp.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    await ch.bindQueue(queue, 'amq.topic', 'sensors.*.temp');
    const got = new Promise<import('amqplib').ConsumeMessage>((resolve) => void ch.consume(queue, (m) => m && resolve(m), { noAck: true }));
    const c = await mqttConnect(broker, { clientId: 'to-amqp' });
    const payload = Buffer.from([0, 1, 2, 0xff, 0xfe]);
    await c.publishAsync('sensors/v1.2/temp', payload, { qos: 1 });
    const m = await got;
    expect(m.fields.routingKey).toBe('sensors.v1/2.temp');
    expect(m.content.equals(payload)).toBe(true);
    expect(m.properties.deliveryMode).toBe(2);
    expect(m.properties.headers?.['x-mqtt-publish-qos']).toBe(1);
    await c.endAsync();
    await amqp.close();
  });

  it('an AMQP publish to amq.topic reaches MQTT subscribers at the QoS of their subscription', async () => {
    const s1 = await mqttConnect(broker, { clientId: 'from-amqp-1' });
    const s0 = await mqttConnect(broker, { clientId: 'from-amqp-0' });
    const b1 = inbox(s1);
    const b0 = inbox(s0);
    await subscribe(s1, 'orders/+/new', 1);
    await subscribe(s0, 'orders/#', 0);
    const amqp = await connect(broker);
    const ch = await amqp.createChannel();
    ch.publish('amq.topic', 'orders.eu.new', Buffer.from('{"id":1}'), { persistent: true, contentType: 'application/json' });
    const m1 = await b1.next();
    const m0 = await b0.next();
    expect([m1.topic, m1.payload.toString(), m1.packet.qos]).toEqual(['orders/eu/new', '{"id":1}', 1]);
    expect([m0.topic, m0.payload.toString(), m0.packet.qos]).toEqual(['orders/eu/new', '{"id":1}', 0]);
    await amqp.close();
    await s1.endAsync();
    await s0.endAsync();
  });

  it('the MQTT session queue is visible to AMQP tools under RabbitMQ’s name', async () => {
    const c = await mqttConnect(broker, { clientId: 'visible', clean: false });
    await subscribe(c, 'v/#', 1);
    await c.endAsync();
    broker.publish('amq.topic', 'v.a', 'while away');
    const [m] = broker.queue('mqtt-subscription-visibleqos1').messages();
    expect(m!.text()).toBe('while away');
    broker.queue('mqtt-subscription-visibleqos1').purge();
  });

  it('serves MQTT over WebSocket at /ws', async () => {
    expect(broker.urls.mqttWs).toMatch(/^ws:\/\/localhost:\d+\/ws$/);
    const ws = await mqttConnect(broker, { clientId: 'over-ws' }, broker.urls.mqttWs!);
    const box = inbox(ws);
    await subscribe(ws, 'ws/topic', 2);
    const tcp = await mqttConnect(broker, { clientId: 'over-tcp' });
    await tcp.publishAsync('ws/topic', 'via websocket', { qos: 2 });
    const m = await box.next();
    expect([m.payload.toString(), m.packet.qos]).toEqual(['via websocket', 2]);
    await tcp.endAsync();
    await ws.endAsync();
  });

  it('anonymous clients connect when the broker allows it', async () => {
    expect(await connackRefusal(broker, { clientId: 'anon' })).toBe(0);
  });

  it('vhost permissions: no read gets SUBACK 0x80 and the connection closes (RabbitMQ), no write closes it', async () => {
    broker.users.addUser('reader', 'reader-password-1', []);
    broker.users.setPermission({ user: 'reader', vhost: '/', configure: '.*', write: '^$', read: '.*' });
    broker.users.addUser('writer', 'writer-password-1', []);
    broker.users.setPermission({ user: 'writer', vhost: '/', configure: '.*', write: '.*', read: '^$' });
    const w = await mqttConnect(broker, { clientId: 'perm-w', username: 'writer', password: 'writer-password-1' });
    // mqtt.js turns a SUBACK failure (0x80) into an error carrying the packet
    const wGone = closed(w);
    await expect(w.subscribeAsync('perm/x', { qos: 1 })).rejects.toMatchObject({ packet: { cmd: 'suback', granted: [128] } });
    await wGone;
    w.end(true);
    const r = await mqttConnect(broker, { clientId: 'perm-r', username: 'reader', password: 'reader-password-1' });
    const gone = closed(r);
    r.publish('perm/x', 'refused', { qos: 0 });
    await gone;
    const noVhost = await connackRefusal(broker, { username: 'nowhere:guest', password: 'guest' });
    expect(noVhost).toBe(5);
  });
});

describe('MQTT and STOMP /topic/… over amq.topic (RabbitMQ mapping)', () => {
  it('an MQTT publish on a/b reaches a STOMP /topic/a.b subscriber, payload untouched', async () => {
    const stomp = await stompitConnect(broker);
    const sub = stompitSubscribe(stomp, { destination: '/topic/plant.line1.temp', ack: 'auto' });
    // a SEND with a receipt after the SUBSCRIBE: once it is confirmed, the subscription's binding exists
    await stompitSend(stomp, { destination: '/topic/plant.barrier', receipt: 'barrier' }, 'x');
    const c = await mqttConnect(broker, { clientId: 'mqtt-to-stomp' });
    await c.publishAsync('plant/line1/temp', '21.5', { qos: 1 });
    const m = await sub.next();
    expect(m.body).toBe('21.5');
    expect(m.headers['destination']).toBe('/topic/plant.line1.temp');
    await c.endAsync();
    await stompitDisconnect(stomp);
  });

  it('a STOMP SEND to /topic/a.b reaches an MQTT subscriber of a/+ at its subscription QoS', async () => {
    const c = await mqttConnect(broker, { clientId: 'stomp-to-mqtt' });
    const box = inbox(c);
    await subscribe(c, 'plant/+', 1);
    const stomp = await stompitConnect(broker);
    await stompitSend(stomp, { destination: '/topic/plant.line2', receipt: 'sent' }, 'from stomp');
    const [m] = await box.count(1);
    expect(m!.topic).toBe('plant/line2');
    expect(m!.payload.toString()).toBe('from stomp');
    expect(m!.packet.qos).toBe(1);
    await stompitDisconnect(stomp);
    await c.endAsync();
  });
});
