import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IPublishPacket } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { mqttConnect, mqttPort } from '../helpers/mqtt.js';
import { Raw } from '../helpers/mqtt-raw.js';

/**
 * MQTT 5 no-local is about the client id [MQTT-3.8.3-3]: the client's own messages are not
 * delivered to its no-local subscription, however they reach it: still queued in its session
 * when it reconnects, or read back from the journal after being paged out. (Review s11-3 F7;
 * Mosquitto 2.0.11 delivered only the other client's messages across a reconnect.) A receive
 * maximum of 1 holds the session queue back while the client publishes to its own filter.
 */
async function persistentSubscriber(b: LocalMQ, clientId: string, topic?: string): Promise<Raw> {
  const r = await Raw.open(mqttPort(b), 5);
  r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: false, keepalive: 60, username: 'guest', password: Buffer.from('guest'), properties: { receiveMaximum: 1, sessionExpiryInterval: 300 } }, 5);
  expect((await r.next()).cmd).toBe('connack');
  if (topic !== undefined) {
    r.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic, qos: 1, nl: true }] }, 5);
    expect((await r.next()).cmd).toBe('suback');
  }
  return r;
}

/** publishes received (each PUBACKed) up to and including `last` */
async function receivedUpTo(r: Raw, last: string): Promise<string[]> {
  const got: string[] = [];
  for (;;) {
    const p = await r.next();
    if (p.cmd !== 'publish') continue;
    const text = (p as IPublishPacket).payload.toString();
    got.push(text);
    r.send({ cmd: 'puback', messageId: (p as IPublishPacket).messageId! }, 5);
    if (text === last) return got;
  }
}

/** `count` QoS 1 publishes of our own on `topic`, each PUBACKed */
async function publishOwn(r: Raw, topic: string, count: number): Promise<void> {
  for (let id = 1; id <= count; id++) {
    r.send({ cmd: 'publish', topic, payload: Buffer.from(`mine${id}`), qos: 1, dup: false, retain: false, messageId: id }, 5);
    expect((await r.next()).cmd).toBe('puback');
  }
}

describe('MQTT 5 no-local follows the client id', () => {
  it('own messages still queued when the client reconnects are not delivered to it', async () => {
    const b = await startBroker({ ports: { mqtt: 0 } });
    try {
      const r = await persistentSubscriber(b, 'nl-reconnect', 'nl/reconnect');
      const other = await mqttConnect(b, { protocolVersion: 5, clientId: 'nl-reconnect-other' });
      await other.publishAsync('nl/reconnect', 'theirs', { qos: 1 });
      expect(((await r.next()) as IPublishPacket).payload.toString()).toBe('theirs');
      // the window is full (receive maximum 1, no PUBACK): ours wait in the session queue
      await publishOwn(r, 'nl/reconnect', 2);
      r.socket.destroy();
      await r.closed;
      const again = await persistentSubscriber(b, 'nl-reconnect');
      await other.publishAsync('nl/reconnect', 'marker', { qos: 1 });
      // 'theirs' again (never PUBACKed), then the marker: never ours
      expect(await receivedUpTo(again, 'marker')).toEqual(['theirs', 'marker']);
      await other.endAsync();
      again.socket.destroy();
    } finally {
      await b.stop();
    }
  });

  it('own messages paged out of a durable session queue and read back are not delivered to it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-no-local-'));
    const b = await startBroker({ dataDir: dir, ports: { mqtt: 0 }, journal: { pageThreshold: 4 } });
    try {
      const r = await persistentSubscriber(b, 'nl-paged', 'nl/paged');
      const other = await mqttConnect(b, { protocolVersion: 5, clientId: 'nl-paged-other' });
      await other.publishAsync('nl/paged', 'theirs', { qos: 1 });
      const theirs = (await r.next()) as IPublishPacket;
      expect(theirs.payload.toString()).toBe('theirs');
      // 12 of ours behind a full window, past the page threshold of 4
      await publishOwn(r, 'nl/paged', 12);
      r.send({ cmd: 'puback', messageId: theirs.messageId! }, 5);
      await other.publishAsync('nl/paged', 'marker', { qos: 1 });
      expect(await receivedUpTo(r, 'marker')).toEqual(['marker']);
      await other.endAsync();
      r.socket.destroy();
    } finally {
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the publisher header stays the broker\'s: not a user property of the delivery to another MQTT 5 client', async () => {
    const b = await startBroker({ ports: { mqtt: 0 } });
    try {
      const r = await persistentSubscriber(b, 'nl-header', 'nl/header');
      const watcher = await mqttConnect(b, { protocolVersion: 5, clientId: 'nl-header-watcher' });
      const seen = new Promise<IPublishPacket>((resolve) => watcher.on('message', (_t, _p, packet) => resolve(packet)));
      await watcher.subscribeAsync('nl/header', { qos: 1 });
      await publishOwn(r, 'nl/header', 1);
      expect((await seen).properties?.userProperties).toBeUndefined();
      await watcher.endAsync();
      r.socket.destroy();
    } finally {
      await b.stop();
    }
  });
});
