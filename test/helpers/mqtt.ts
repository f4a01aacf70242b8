import { connect as netConnect } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient, type IPublishPacket } from 'mqtt';
import type { LocalMQ } from '../../src/index.js';

export function mqttPort(broker: LocalMQ): number {
  return Number(new URL(broker.urls.mqtt!).port);
}

/** an mqtt.js client, connected (resolves on CONNACK 0), as guest unless told otherwise */
export function mqttConnect(broker: LocalMQ, opts: IClientOptions = {}, url = broker.urls.mqtt!): Promise<MqttClient> {
  const client = mqtt.connect(url, { username: 'guest', password: 'guest', reconnectPeriod: 0, protocolVersion: 4, ...opts });
  keepEarlyMessages(client);
  return new Promise((resolve, reject) => {
    client.once('connect', () => {
      client.removeListener('error', onError);
      resolve(client);
    });
    const onError = (err: Error) => {
      client.end(true);
      reject(err);
    };
    client.once('error', onError);
  });
}

/** the CONNACK return code an mqtt.js connection attempt ends with */
export function connackRefusal(broker: LocalMQ, opts: IClientOptions): Promise<number | undefined> {
  const client = mqtt.connect(broker.urls.mqtt!, { reconnectPeriod: 0, protocolVersion: 4, ...opts });
  return new Promise((resolve) => {
    client.once('connect', () => {
      client.end(true);
      resolve(0);
    });
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(err.code);
    });
  });
}

export interface Received {
  topic: string;
  payload: Buffer;
  packet: IPublishPacket;
}

/**
 * Messages a session holds may arrive with the CONNACK, before mqtt.js has emitted
 * 'connect' (it flushes its own store first): keep them for the inbox made afterwards.
 */
const early = new WeakMap<MqttClient, Received[]>();

function keepEarlyMessages(client: MqttClient): void {
  const got: Received[] = [];
  early.set(client, got);
  const keep = (topic: string, payload: Buffer, packet: IPublishPacket) => got.push({ topic, payload, packet });
  client.on('message', keep);
  client.once('connect', () => setImmediate(() => client.removeListener('message', keep)));
}

/** collect every message the client receives (also those that came with its CONNACK) */
export function inbox(client: MqttClient) {
  const got: Received[] = early.get(client)?.splice(0) ?? [];
  early.delete(client);
  let waiters: (() => void)[] = [];
  client.on('message', (topic, payload, packet) => {
    got.push({ topic, payload, packet });
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  });
  let cursor = 0;
  return {
    messages: got,
    /** resolves once `n` messages in total have arrived */
    async count(n: number): Promise<Received[]> {
      while (got.length < n) await new Promise<void>((r) => waiters.push(r));
      return got.slice(0, n);
    },
    /** the first message not yet taken with next() (already arrived or still to come) */
    async next(): Promise<Received> {
      const n = ++cursor;
      await this.count(n);
      return got[n - 1]!;
    },
  };
}

export function subscribe(client: MqttClient, topic: string | string[], qos: 0 | 1 | 2 = 0) {
  return client.subscribeAsync(topic, { qos });
}

export function closed(client: MqttClient): Promise<void> {
  return new Promise((resolve) => {
    if (client.disconnected) resolve();
    else client.once('close', () => resolve());
  });
}

/** a raw CONNECT (MQTT fixed header + variable header + client id); resolves with the server's first bytes */
export function rawConnect(broker: LocalMQ, opts: { level: number; clientId: string; clean: boolean; protocolName?: string }): Promise<Buffer> {
  const name = Buffer.from(opts.protocolName ?? (opts.level === 3 ? 'MQIsdp' : 'MQTT'));
  const id = Buffer.from(opts.clientId);
  const flags = opts.clean ? 0x02 : 0x00;
  const variable = Buffer.concat([u16(name.length), name, Buffer.from([opts.level, flags]), u16(60)]);
  const props = opts.level === 5 ? Buffer.from([0]) : Buffer.alloc(0);
  const body = Buffer.concat([variable, props, u16(id.length), id]);
  const packet = Buffer.concat([Buffer.from([0x10, body.length]), body]);
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: '127.0.0.1', port: mqttPort(broker) }, () => s.write(packet));
    const chunks: Buffer[] = [];
    s.on('data', (c) => {
      chunks.push(c);
      if (Buffer.concat(chunks).length >= 4) s.destroy();
    });
    s.on('close', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
}
