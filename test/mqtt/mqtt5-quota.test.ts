import mqtt, { type IClientOptions, type IConnackPacket, type MqttClient } from 'mqtt';
import type { IPubackPacket, ISubackPacket } from 'mqtt-packet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { call } from '../helpers/management.js';
import { connackRefusal, mqttConnect } from '../helpers/mqtt.js';

/*
 * MQTT 5 "quota exceeded" (0x97) where RabbitMQ answers it, and the other refusals next to
 * it, as rabbit_mqtt_processor has them in 3.13 and 4.2 (read in its source):
 * - CONNECT over a vhost's or user's max-connections: check_vhost_connection_limit /
 *   check_user_connection_limit return {error, ?RC_QUOTA_EXCEEDED}: CONNACK 0x97; MQTT 3.1.1
 *   gets connect_reason_code_to_return_code(?RC_QUOTA_EXCEEDED) = CONNACK_NOT_AUTHORIZED (5).
 * - SUBSCRIBE whose queue the vhost's max-queues refuses: subscribe_result_to_reason_codes maps
 *   queue_limit_exceeded to ?RC_QUOTA_EXCEEDED (0x97) for MQTT 5, 0x80 for 3.1.1; the
 *   connection closes after the SUBACK.
 * - PUBLISH QoS 1 refused by a queue with x-overflow reject-publish: the {rejected, ...} queue
 *   action sends PUBACK ?RC_IMPLEMENTATION_SPECIFIC_ERROR (0x83) to MQTT 5 (not 0x97); 3.1.1
 *   has no negative PUBACK, so none is sent.
 * (The memory alarm blocks the connection's reading in every version: no reason code.)
 */

let broker: LocalMQ;

beforeAll(async () => {
  broker = await startBroker();
  expect((await call(broker, 'PUT', '/api/vhosts/quota')).status).toBe(201);
  expect((await call(broker, 'PUT', '/api/permissions/quota/guest', { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBe(204);
  expect((await call(broker, 'PUT', '/api/users/bob', { body: { password: 'bob-pw', tags: '' } })).status).toBe(201);
  expect((await call(broker, 'PUT', '/api/permissions/%2F/bob', { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBe(201);
});

afterAll(async () => {
  await broker?.stop();
});

/** what mqtt.js 5 got for its CONNECT: the CONNACK's reason code (0 when accepted) */
function connack5(opts: IClientOptions): Promise<{ code: number | undefined; reason?: string }> {
  const c = mqtt.connect(broker.urls.mqtt!, { protocolVersion: 5, reconnectPeriod: 0, ...opts });
  return new Promise((resolve) => {
    c.once('connect', (ack: IConnackPacket) => {
      c.end(true);
      resolve({ code: ack.reasonCode ?? 0 });
    });
    c.once('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve({ code: err.code, reason: err.message });
    });
  });
}

/** the SUBACK codes of a refused subscription (mqtt.js reports a failure code as an error carrying the SUBACK) */
function refusedSuback(c: MqttClient, topic: string): Promise<ISubackPacket['granted']> {
  return new Promise((resolve, reject) =>
    c.subscribe(topic, { qos: 1 }, (err) => {
      const suback = (err as (Error & { packet?: ISubackPacket }) | null)?.packet;
      if (suback) resolve(suback.granted);
      else reject(err ?? new Error('the subscription was granted'));
    }),
  );
}

describe('MQTT 5 quota exceeded (0x97)', () => {
  it("CONNACK 0x97 when the vhost's max-connections is reached; 3.1.1 gets 5 (not authorized)", async () => {
    expect((await call(broker, 'PUT', '/api/vhost-limits/quota/max-connections', { body: { value: 1 } })).status).toBe(204);
    const first = await mqttConnect(broker, { protocolVersion: 5, username: 'quota:guest', password: 'guest', clientId: 'q-first' });
    try {
      const refused = await connack5({ username: 'quota:guest', password: 'guest', clientId: 'q-second' });
      expect(refused.code).toBe(0x97);
      expect(refused.reason).toBe('Connection refused: Quota exceeded');
      expect(await connackRefusal(broker, { username: 'quota:guest', password: 'guest', clientId: 'q-third' })).toBe(5);
    } finally {
      await first.endAsync();
      expect((await call(broker, 'DELETE', '/api/vhost-limits/quota/max-connections')).status).toBe(204);
    }
  });

  it("CONNACK 0x97 when the user's max-connections is reached", async () => {
    expect((await call(broker, 'PUT', '/api/user-limits/bob/max-connections', { body: { value: 0 } })).status).toBe(204);
    try {
      expect((await connack5({ username: 'bob', password: 'bob-pw', clientId: 'bob-1' })).code).toBe(0x97);
      expect(await connackRefusal(broker, { username: 'bob', password: 'bob-pw', clientId: 'bob-2' })).toBe(5);
    } finally {
      expect((await call(broker, 'DELETE', '/api/user-limits/bob/max-connections')).status).toBe(204);
    }
  });

  it("SUBACK 0x97 when the vhost's max-queues refuses the subscription's queue, then the connection closes; 3.1.1 gets 0x80", async () => {
    const amqp = await connect(broker, { vhost: 'quota' });
    const ch = await amqp.createChannel();
    await ch.assertQueue('taken');
    expect((await call(broker, 'PUT', '/api/vhost-limits/quota/max-queues', { body: { value: 1 } })).status).toBe(204);
    try {
      const c = await mqttConnect(broker, { protocolVersion: 5, username: 'quota:guest', password: 'guest', clientId: 'q-sub5', clean: true });
      const closed = new Promise<void>((resolve) => c.once('close', () => resolve()));
      expect(await refusedSuback(c, 'quota/t')).toEqual([0x97]);
      await closed;
      c.end(true);

      const c4 = await mqttConnect(broker, { protocolVersion: 4, username: 'quota:guest', password: 'guest', clientId: 'q-sub4', clean: true });
      expect(await refusedSuback(c4, 'quota/t')).toEqual([0x80]);
      c4.end(true);
    } finally {
      expect((await call(broker, 'DELETE', '/api/vhost-limits/quota/max-queues')).status).toBe(204);
      await ch.deleteQueue('taken');
      await amqp.close();
    }
  });
});

describe('MQTT 5 PUBACK for a publish a reject-publish queue refused', () => {
  it('PUBACK 0x83 once the queue is full; 0x00 (and the message) while it has room', async () => {
    const amqp = await connect(broker);
    const ch = await amqp.createChannel();
    await ch.assertQueue('q.reject', { arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    await ch.bindQueue('q.reject', 'amq.topic', 'full.topic');
    const c = await mqttConnect(broker, { protocolVersion: 5, clientId: 'q-pub5', clean: true });
    try {
      const publish = (payload: string) =>
        new Promise<number>((resolve) => {
          c.publish('full/topic', payload, { qos: 1 }, (err, packet) => {
            const ack = packet as IPubackPacket | undefined;
            resolve(err ? ((err as Error & { code?: number }).code ?? -1) : (ack?.reasonCode ?? 0));
          });
        });
      expect(await publish('fits')).toBe(0);
      expect(await publish('refused')).toBe(0x83);
      const got = await ch.get('q.reject', { noAck: true });
      expect(got && got.content.toString()).toBe('fits');
      expect(await ch.get('q.reject', { noAck: true })).toBe(false);
      // the connection stays; with room again, the next publish is taken
      expect(await publish('again')).toBe(0);
      await ch.purgeQueue('q.reject');

      // 3.1.1: no PUBACK for the refused one; the one after it is answered
      const c4 = await mqttConnect(broker, { protocolVersion: 4, clientId: 'q-pub4', clean: true });
      let refusedAnswered = false;
      await new Promise<void>((resolve) => c4.publish('full/topic', 'fits', { qos: 1 }, () => resolve()));
      c4.publish('full/topic', 'refused', { qos: 1 }, () => (refusedAnswered = true));
      await ch.purgeQueue('q.reject');
      await new Promise<void>((resolve) => c4.publish('full/topic', 'after', { qos: 1 }, () => resolve()));
      expect(refusedAnswered).toBe(false);
      c4.end(true);
    } finally {
      c.end(true);
      await ch.deleteQueue('q.reject');
      await amqp.close();
    }
  });
});
