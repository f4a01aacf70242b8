import { beforeAll, describe, expect, it } from 'vitest';
import { addTopicUser, useBroker } from '../helpers/broker.js';
import { closed, inbox, mqttConnect } from '../helpers/mqtt.js';

/**
 * RabbitMQ's topic permissions over MQTT (rabbit_mqtt_processor check_topic_access, pinned by
 * rabbitmq_mqtt's auth_SUITE topic_read_permission / topic_write_permission /
 * topic_write_permission_variable_expansion): checked on amq.topic with the topic as an AMQP
 * routing key (`/` -> `.`, `+` -> `*`), `{username}`, `{vhost}` and `{client_id}` expanded.
 * A refused subscription gets the SUBACK failure code (0x80, MQTT 5: 0x87 not authorized);
 * a refused PUBLISH closes an MQTT 3.1.1 connection (RabbitMQ: "closing due to an
 * authorization failure"); MQTT 5 QoS 1 gets PUBACK 0x87, LocalMQ's answer for any refused
 * publish (RabbitMQ 4.3 with mqtt.disconnect_on_unauthorized = false).
 */
const broker = useBroker();
const USER = { username: 'sensor', password: 'sensor-password-1' };

beforeAll(() => {
  addTopicUser(broker(), USER.username, USER.password, { write: '^{username}\\.{client_id}\\.', read: '^allow-read\\.' });
});

/** the SUBACK codes of a subscription mqtt.js rejects (it rejects on any failure code) */
async function refusedSubscription(p: Promise<unknown>): Promise<number[]> {
  const err = (await p.then(
    () => undefined,
    (e: { packet?: { granted?: number[] } }) => e,
  )) as { packet?: { granted?: number[] } } | undefined;
  return err?.packet?.granted ?? [];
}

describe('MQTT: topic permissions (RabbitMQ MQTT plugin)', () => {
  it('3.1.1: a subscription outside the read pattern gets SUBACK 0x80; an allowed one is granted', async () => {
    const c = await mqttConnect(broker(), { ...USER, clientId: 'sub-v4' });
    expect((await c.subscribeAsync('allow-read/some/topic', { qos: 1 }))[0]!.qos).toBe(1);
    expect(await refusedSubscription(c.subscribeAsync('test/nosubscribe', { qos: 2 }))).toEqual([0x80]);
    c.end(true);
  });

  it('MQTT 5: the refused subscription\'s reason code is 0x87 not authorized', async () => {
    const c = await mqttConnect(broker(), { ...USER, clientId: 'sub-v5', protocolVersion: 5 });
    expect(await refusedSubscription(c.subscribeAsync('test/topic', { qos: 1 }))).toEqual([0x87]);
    c.end(true);
  });

  it('publishing where {username} and {client_id} expand to the topic works; another client id is refused (3.1.1: closed)', async () => {
    const reader = await mqttConnect(broker(), { clientId: 'reader' });
    const box = inbox(reader);
    await reader.subscribeAsync('sensor/#', { qos: 1 });
    const c = await mqttConnect(broker(), { ...USER, clientId: 'my_client' });
    await c.publishAsync('sensor/my_client/temp', '21', { qos: 1 });
    expect((await box.next()).payload.toString()).toBe('21');
    const gone = closed(c);
    c.publish('sensor/other_client/temp', 'no', { qos: 1 });
    await gone;
    reader.end(true);
  });

  it('MQTT 5: a refused QoS 1 publish gets PUBACK 0x87 and the connection stays', async () => {
    const c = await mqttConnect(broker(), { ...USER, clientId: 'pub-v5', protocolVersion: 5 });
    const err = await c.publishAsync('elsewhere/x', 'no', { qos: 1 }).catch((e: Error & { code?: number }) => e);
    expect((err as { code?: number }).code).toBe(0x87);
    expect(c.connected).toBe(true);
    await c.publishAsync('sensor/pub-v5/ok', 'yes', { qos: 1 });
    await c.endAsync();
  });
});
