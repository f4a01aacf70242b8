import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnChildBroker, type ChildBroker } from '../helpers/child-broker.js';
import { inbox } from '../helpers/mqtt.js';
import { Raw } from '../helpers/mqtt-raw.js';

/**
 * A broker killed with SIGKILL (no shutdown) on a data dir: what its MQTT sessions had in
 * flight is there when a new broker opens the dir. The wills of clients connected at the
 * crash are published (their connections did not end cleanly), MQTT 5's after its delay;
 * a will removed by a clean DISCONNECT is not. QoS 2 exchanges in mid-handshake carry on:
 * a resent PUBLISH whose PUBREC went out is not routed again and its PUBREL is known; a
 * PUBREL the broker sent goes again, and what it released is not delivered again.
 */
describe('MQTT across a kill -9 of the broker (data dir)', () => {
  const dirs: string[] = [];
  const children: ChildBroker[] = [];
  afterEach(async () => {
    for (const c of children.splice(0)) await c.kill();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  async function start(dir: string): Promise<ChildBroker> {
    const c = await spawnChildBroker(dir);
    children.push(c);
    return c;
  }

  /** an mqtt.js client; what it receives is kept from the start (a session's messages come with the CONNACK) */
  const boxes = new WeakMap<MqttClient, ReturnType<typeof inbox>>();
  function connect(url: string, opts: IClientOptions): Promise<MqttClient> {
    const c = mqtt.connect(url, { username: 'guest', password: 'guest', reconnectPeriod: 0, protocolVersion: 4, ...opts });
    boxes.set(c, inbox(c));
    c.on('error', () => undefined);
    return new Promise((resolve, reject) => {
      c.once('connect', () => resolve(c));
      c.once('error', reject);
    });
  }

  /** a raw client's CONNECT, resolving with its CONNACK */
  async function rawConnect(url: string, version: 4 | 5, clientId: string): Promise<{ r: Raw; connack: Packet }> {
    const r = await Raw.open(Number(new URL(url).port), version);
    r.send(
      { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId, clean: false, keepalive: 0, username: 'guest', password: Buffer.from('guest'), ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}) },
      version,
    );
    return { r, connack: await r.next() };
  }

  it('wills are published and QoS 2 packet ids kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-mqtt-crash-'));
    dirs.push(dir);
    let broker = await start(dir);
    let url = broker.mqttUrl;

    // persistent watchers, away during the crash: one for the wills, one for a QoS 2 topic
    const watch = await connect(url, { clientId: 'will-watch', clean: false });
    await watch.subscribeAsync('wills/#', { qos: 1 });
    await watch.endAsync();
    const q2watch = await connect(url, { clientId: 'q2-watch', clean: false });
    await q2watch.subscribeAsync('q2/in', { qos: 1 });
    await q2watch.endAsync();

    // wills: 3.1.1, MQTT 5 with a will delay, and one removed by a clean DISCONNECT
    await connect(url, { clientId: 'w4', will: { topic: 'wills/w4', payload: Buffer.from('w4 gone'), qos: 1, retain: false } });
    await connect(url, {
      clientId: 'w5',
      protocolVersion: 5,
      properties: { sessionExpiryInterval: 60 },
      will: { topic: 'wills/w5', payload: Buffer.from('w5 gone'), qos: 1, retain: false, properties: { willDelayInterval: 1, userProperties: { why: 'crash' } } },
    });
    const clean = await connect(url, { clientId: 'wc', will: { topic: 'wills/clean', payload: Buffer.from('never'), qos: 1, retain: false } });
    await clean.endAsync();

    // QoS 2 in: PUBLISH answered with PUBREC, no PUBREL yet (MQTT 5, session never ends)
    const { r: inbound } = await rawConnect(url, 5, 'q2in');
    inbound.send({ cmd: 'publish', topic: 'q2/in', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: false }, 5);
    expect(await inbound.next()).toMatchObject({ cmd: 'pubrec', messageId: 7 });

    // QoS 2 out: PUBLISH to the client, its PUBREC, our PUBREL; no PUBCOMP yet (3.1.1, clean session off)
    const { r: outbound } = await rawConnect(url, 4, 'q2out');
    outbound.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'q2/out', qos: 2 }] });
    expect(await outbound.next()).toMatchObject({ cmd: 'suback', granted: [2] });
    const pub = await connect(url, { clientId: 'pub' });
    await pub.publishAsync('q2/out', 'released once', { qos: 2 });
    const delivered = await outbound.next();
    expect(delivered).toMatchObject({ cmd: 'publish', topic: 'q2/out', qos: 2 });
    const outId = (delivered as { messageId: number }).messageId;
    outbound.send({ cmd: 'pubrec', messageId: outId });
    expect(await outbound.next()).toMatchObject({ cmd: 'pubrel', messageId: outId });
    // a QoS 1 round trip through the store: everything before it has been written
    await pub.publishAsync('sync', 'x', { qos: 1 });

    await broker.kill();
    broker = await start(dir);
    url = broker.mqttUrl;

    // the inbound exchange: the resent PUBLISH is answered, not routed; its PUBREL is known
    const again = await rawConnect(url, 5, 'q2in');
    expect(again.connack).toMatchObject({ cmd: 'connack', sessionPresent: true, reasonCode: 0 });
    again.r.send({ cmd: 'publish', topic: 'q2/in', payload: Buffer.from('once'), qos: 2, messageId: 7, retain: false, dup: true }, 5);
    expect(await again.r.next()).toMatchObject({ cmd: 'pubrec', messageId: 7 });
    again.r.send({ cmd: 'pubrel', messageId: 7 }, 5);
    const pubcomp = await again.r.next();
    expect(pubcomp).toMatchObject({ cmd: 'pubcomp', messageId: 7 });
    expect((pubcomp as { reasonCode?: number }).reasonCode ?? 0).toBe(0);
    const q2 = await connect(url, { clientId: 'q2-watch', clean: false });
    const q2box = boxes.get(q2)!;
    const marker = await connect(url, { clientId: 'marker' });
    await marker.publishAsync('q2/in', 'marker', { qos: 1 });
    expect((await q2box.count(2)).map((m) => m.payload.toString())).toEqual(['once', 'marker']);

    // the outbound exchange: PUBREL again, first thing; the released message does not come back
    const out2 = await rawConnect(url, 4, 'q2out');
    expect(out2.connack).toMatchObject({ cmd: 'connack', sessionPresent: true, returnCode: 0 });
    expect(await out2.r.next()).toMatchObject({ cmd: 'pubrel', messageId: outId });
    out2.r.send({ cmd: 'pubcomp', messageId: outId });
    out2.r.send({ cmd: 'pingreq' });
    expect(await out2.r.next()).toMatchObject({ cmd: 'pingresp' });

    // the wills of w4 and w5 (w5's a second after the restart, with its properties); not wc's
    const w = await connect(url, { clientId: 'will-watch', clean: false, protocolVersion: 4 });
    const box = boxes.get(w)!;
    const wills = await box.count(2);
    expect(wills.map((m) => `${m.topic}=${m.payload.toString()}`).sort()).toEqual(['wills/w4=w4 gone', 'wills/w5=w5 gone']);
    await marker.publishAsync('wills/marker', 'end', { qos: 1 });
    expect((await box.count(3))[2]!.topic).toBe('wills/marker');

    for (const c of [q2, marker, w]) await c.endAsync();
    for (const r of [again.r, out2.r]) r.socket.end();
    expect(await broker.stop()).toBe(0);
  }, 60_000);
});
