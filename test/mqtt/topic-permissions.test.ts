import { beforeAll, describe, expect, it } from 'vitest';
import { addTopicUser, useBroker } from '../helpers/broker.js';
import { closed, inbox, mqttConnect } from '../helpers/mqtt.js';

/**
 * RabbitMQ's topic permissions over MQTT (rabbit_mqtt_processor check_topic_access, pinned by
 * rabbitmq_mqtt's auth_SUITE topic_read_permission / topic_write_permission /
 * topic_write_permission_variable_expansion): checked on amq.topic with the topic as an AMQP
 * routing key (`/` -> `.`, `+` -> `*`), `{username}`, `{vhost}` and `{client_id}` expanded.
 * A refused subscription gets the SUBACK failure code (0x80, MQTT 5: 0x87 not authorized,
 * subscribe_result_to_reason_codes). What follows a refusal is RabbitMQ's too:
 * - 3.13.7, 4.0-4.2 (rabbit_mqtt_processor process_request(?SUBSCRIBE), rabbit_mqtt_reader
 *   "closing due to an authorization failure"): the filters after a refused one in the same
 *   SUBSCRIBE fail with the same code, the SUBACK goes, then the connection closes (no
 *   DISCONNECT, the will is published); a refused PUBLISH closes it, with no PUBACK, at any
 *   QoS and protocol version;
 * - 4.3 adds `mqtt.disconnect_on_unauthorized` (default true, the above); false keeps the
 *   connection: the other filters are made, MQTT 5 QoS 1 gets PUBACK 0x87, QoS 0 is dropped.
 *   LocalMQ's option `mqtt.disconnectOnUnauthorized`.
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
  it('3.1.1: a subscription outside the read pattern gets SUBACK 0x80, the filters after it too, then the connection closes', async () => {
    const c = await mqttConnect(broker(), { ...USER, clientId: 'sub-v4' });
    expect((await c.subscribeAsync('allow-read/some/topic', { qos: 1 }))[0]!.qos).toBe(1);
    const gone = closed(c);
    // the allowed filter after the refused one is not made either (same code)
    expect(await refusedSubscription(c.subscribeAsync(['test/nosubscribe', 'allow-read/other'], { qos: 2 }))).toEqual([0x80, 0x80]);
    await gone;
    c.end(true);
  });

  it('MQTT 5: the refused subscription\'s reason code is 0x87 not authorized; a filter before it is granted; then the connection closes', async () => {
    const c = await mqttConnect(broker(), { ...USER, clientId: 'sub-v5', protocolVersion: 5 });
    const gone = closed(c);
    expect(await refusedSubscription(c.subscribeAsync(['allow-read/first', 'test/topic', 'allow-read/after'], { qos: 1 }))).toEqual([1, 0x87, 0x87]);
    await gone;
    c.end(true);
  });

  it('the will of a client closed after a refused subscription is published', async () => {
    const reader = await mqttConnect(broker(), { clientId: 'will-reader' });
    const box = inbox(reader);
    await reader.subscribeAsync('sensor/#', { qos: 1 });
    const c = await mqttConnect(broker(), { ...USER, clientId: 'will-writer', will: { topic: 'sensor/will-writer/status', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const gone = closed(c);
    await refusedSubscription(c.subscribeAsync('not/allowed', { qos: 1 }));
    await gone;
    expect((await box.next()).payload.toString()).toBe('gone');
    c.end(true);
    reader.end(true);
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

  it('MQTT 5: a refused QoS 1 publish gets no PUBACK: the connection closes, with no DISCONNECT', async () => {
    const c = await mqttConnect(broker(), { ...USER, clientId: 'pub-v5', protocolVersion: 5 });
    let disconnect = false;
    c.on('disconnect', () => (disconnect = true));
    const gone = closed(c);
    c.publish('elsewhere/x', 'no', { qos: 1 });
    await gone;
    expect(disconnect).toBe(false);
    c.end(true);
  });
});

describe('MQTT: topic permissions with mqtt.disconnectOnUnauthorized false (RabbitMQ 4.3 mqtt.disconnect_on_unauthorized = false)', () => {
  const kept = useBroker({ mqtt: { disconnectOnUnauthorized: false } });
  beforeAll(() => {
    addTopicUser(kept(), USER.username, USER.password, { write: '^{username}\\.{client_id}\\.', read: '^allow-read\\.' });
  });

  it('3.1.1 and MQTT 5: the refused filter fails, the others are made, the connection stays', async () => {
    for (const [protocolVersion, code] of [[4, 0x80], [5, 0x87]] as const) {
      const c = await mqttConnect(kept(), { ...USER, clientId: `kept-sub-${protocolVersion}`, protocolVersion });
      expect(await refusedSubscription(c.subscribeAsync(['test/nosubscribe', 'allow-read/after'], { qos: 1 }))).toEqual([code, 1]);
      expect(c.connected).toBe(true);
      expect((await c.subscribeAsync('allow-read/more', { qos: 0 }))[0]!.qos).toBe(0);
      await c.endAsync();
    }
  });

  it('MQTT 5: a refused QoS 1 publish gets PUBACK 0x87, a refused QoS 0 one is dropped, and the connection stays', async () => {
    const reader = await mqttConnect(kept(), { clientId: 'kept-reader' });
    const box = inbox(reader);
    await reader.subscribeAsync('#', { qos: 1 });
    const c = await mqttConnect(kept(), { ...USER, clientId: 'pub-v5', protocolVersion: 5 });
    const err = await c.publishAsync('elsewhere/x', 'no', { qos: 1 }).catch((e: Error & { code?: number }) => e);
    expect((err as { code?: number }).code).toBe(0x87);
    c.publish('elsewhere/y', 'dropped', { qos: 0 });
    expect(c.connected).toBe(true);
    await c.publishAsync('sensor/pub-v5/ok', 'yes', { qos: 1 });
    expect((await box.next()).payload.toString()).toBe('yes');
    await c.endAsync();
    reader.end(true);
  });
});
