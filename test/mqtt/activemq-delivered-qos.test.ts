import mqtt, { type IConnackPacket } from 'mqtt';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { inbox, mqttConnect } from '../helpers/mqtt.js';
import { RawStomp } from '../helpers/stomp.js';

/**
 * ActiveMQ engine, MQTT 3.1.1, as ActiveMQ 5.17.2 answers (asked, /tmp/s18-fidelity/mqtt-qos.mjs, its MQTT connector
 * given the mqtt-client codec jar):
 * - a message that no MQTT client published goes out at QoS 0 when persistent and QoS 1 when not (then capped by
 *   the subscription): MQTTProtocolConverter's inverted rule. STOMP persistent:true -> QoS 0 at a QoS 1 and a QoS 2
 *   subscription; no persistent header -> QoS 1 at both; MQTT QoS 0/1/2 -> 0/1/1 at QoS 1, 0/1/2 at QoS 2. The old
 *   code sent the STOMP messages at the subscription's QoS (1, 2);
 * - CONNACK's session present is always 0, also when a clean-session-false client's subscription is still there
 *   and delivers (the old code: 1).
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, mqtt: 0 } });

describe('ActiveMQ engine over MQTT: delivered QoS and session present (ActiveMQ 5.17)', () => {
  it('a message from STOMP: persistent at QoS 0, non-persistent at QoS 1; an MQTT one at its own, capped', async () => {
    const t = `dq${Date.now()}`;
    const q1 = await mqttConnect(broker(), { clientId: `${t}-1` });
    const q2 = await mqttConnect(broker(), { clientId: `${t}-2` });
    await q1.subscribeAsync(`${t}/x`, { qos: 1 });
    await q2.subscribeAsync(`${t}/x`, { qos: 2 });
    const in1 = inbox(q1);
    const in2 = inbox(q2);
    const { client: stomp } = await RawStomp.connected(broker());
    stomp.send('SEND', { destination: `/topic/${t}.x`, persistent: 'true', receipt: 'a' }, 'stomp-pers');
    await stomp.receipt('a');
    stomp.send('SEND', { destination: `/topic/${t}.x`, receipt: 'b' }, 'stomp-nonpers');
    await stomp.receipt('b');
    const pub = await mqttConnect(broker(), { clientId: `${t}-p` });
    for (const qos of [0, 1, 2] as const) await pub.publishAsync(`${t}/x`, `mqtt-q${qos}`, { qos });
    const seen = async (box: ReturnType<typeof inbox>) => (await box.count(5)).map((m) => `${m.payload.toString()}:${m.packet.qos}`);
    expect(await seen(in1)).toEqual(['stomp-pers:0', 'stomp-nonpers:1', 'mqtt-q0:0', 'mqtt-q1:1', 'mqtt-q2:1']);
    expect(await seen(in2)).toEqual(['stomp-pers:0', 'stomp-nonpers:1', 'mqtt-q0:0', 'mqtt-q1:1', 'mqtt-q2:2']);
    stomp.close();
    await Promise.all([q1.endAsync(), q2.endAsync(), pub.endAsync()]);
  });

  it('session present is 0 on a clean-session-false reconnect whose subscription is kept', async () => {
    const clientId = `sp${Date.now()}`;
    const first = await mqttConnect(broker(), { clientId, clean: false });
    await first.subscribeAsync(`${clientId}/x`, { qos: 1 });
    await first.endAsync();
    const again = mqtt.connect(broker().urls.mqtt!, { clientId, clean: false, username: 'guest', password: 'guest', reconnectPeriod: 0, protocolVersion: 4 });
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      again.once('connect', resolve);
      again.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(false);
    const box = inbox(again);
    const { client: stomp } = await RawStomp.connected(broker());
    stomp.send('SEND', { destination: `/topic/${clientId}.x`, receipt: 'r' }, 'still subscribed');
    await stomp.receipt('r');
    expect((await box.next()).payload.toString()).toBe('still subscribed');
    stomp.close();
    await again.endAsync();
  });
});
