import { describe, expect, it } from 'vitest';
import { closed, connackRefusal, inbox, mqttConnect, rawConnect, subscribe } from '../helpers/mqtt.js';
import { useBroker } from '../helpers/broker.js';

const broker = useBroker();

describe('MQTT 3.1.1 basics', () => {
  it('subscribe test/topic, publish, receive', async () => {
    const c = await mqttConnect(broker(), { clientId: 'seed' });
    const box = inbox(c);
    const granted = await subscribe(c, 'test/topic');
    expect(granted[0]!.qos).toBe(0);
    await c.publishAsync('test/topic', 'hello');
    const m = await box.next();
    expect(m.topic).toBe('test/topic');
    expect(m.payload.toString()).toBe('hello');
    expect(m.packet.qos).toBe(0);
    expect(m.packet.retain).toBe(false);
    await c.endAsync();
  });

  it('QoS 1 and QoS 2 end to end, delivered at min(publish, subscription) QoS', async () => {
    const sub = await mqttConnect(broker(), { clientId: 'qos-sub' });
    const box = inbox(sub);
    await sub.subscribeAsync({ 'q/two': { qos: 2 }, 'q/one': { qos: 1 } });
    const pub = await mqttConnect(broker(), { clientId: 'qos-pub' });
    await pub.publishAsync('q/two', 'exactly once', { qos: 2 });
    await pub.publishAsync('q/one', 'two-to-one', { qos: 2 });
    await pub.publishAsync('q/two', 'one', { qos: 1 });
    const got = await box.count(3);
    const byPayload = Object.fromEntries(got.map((m) => [m.payload.toString(), m.packet.qos]));
    expect(byPayload).toEqual({ 'exactly once': 2, 'two-to-one': 1, one: 1 });
    await pub.endAsync();
    await sub.endAsync();
    // every delivery was acknowledged: nothing left in the session queue
    await expect.poll(() => broker().queue('mqtt-subscription-qos-subqos1').info()).toBeUndefined();
  });

  it('accepts protocol level 5 with an MQTT 5 CONNACK (reason code 0, then properties)', async () => {
    const connack = await rawConnect(broker(), { level: 5, clientId: 'v5', clean: true });
    expect([connack[0], connack[2], connack[3]]).toEqual([0x20, 0x00, 0x00]);
  });

  it('accepts MQTT 3.1 (MQIsdp, level 3)', async () => {
    expect([...(await rawConnect(broker(), { level: 3, clientId: 'v3', clean: true }))]).toEqual([0x20, 0x02, 0x00, 0x00]);
  });

  it('mqtt.js at protocol version 3 (MQTT 3.1, MQIsdp): QoS 0/1/2 publish and subscribe', async () => {
    const c = await mqttConnect(broker(), { clientId: 'v31', protocolVersion: 3, protocolId: 'MQIsdp' });
    const box = inbox(c);
    await c.subscribeAsync({ 'v31/#': { qos: 2 } });
    for (const qos of [0, 1, 2] as const) await c.publishAsync(`v31/q${qos}`, `at ${qos}`, { qos });
    const got = await box.count(3);
    expect(got.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
      ['v31/q0', 'at 0', 0],
      ['v31/q1', 'at 1', 1],
      ['v31/q2', 'at 2', 2],
    ]);
    await c.endAsync();
  });

  it('refuses protocol levels other than 3, 4, 5 (6, 2) with CONNACK 1, as Mosquitto 2.0.11 does (measured)', async () => {
    expect([...(await rawConnect(broker(), { level: 6, clientId: 'v6', clean: true }))]).toEqual([0x20, 0x02, 0x00, 0x01]);
    expect([...(await rawConnect(broker(), { level: 2, clientId: 'v2', clean: true }))]).toEqual([0x20, 0x02, 0x00, 0x01]);
  });

  it('refuses an empty client id without clean session with CONNACK 2', async () => {
    expect([...(await rawConnect(broker(), { level: 4, clientId: '', clean: false }))]).toEqual([0x20, 0x02, 0x00, 0x02]);
  });

  it('bad password gets CONNACK 4; no credentials are guest on loopback (RabbitMQ, Mosquitto local-only)', async () => {
    expect(await connackRefusal(broker(), { username: 'guest', password: 'nope' })).toBe(4);
    expect(await connackRefusal(broker(), {})).toBe(0);
  });

  it('client id takeover disconnects the first connection', async () => {
    const first = await mqttConnect(broker(), { clientId: 'same' });
    const gone = closed(first);
    const second = await mqttConnect(broker(), { clientId: 'same' });
    await gone;
    expect(second.connected).toBe(true);
    await second.endAsync();
  });
});
