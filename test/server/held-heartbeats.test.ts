import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { amqpUrl } from '../helpers/amqp.js';
import { FaultyFs } from '../helpers/faulty-fs.js';
import { Raw } from '../helpers/mqtt-raw.js';
import { mqttPort } from '../helpers/mqtt.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { RawStomp } from '../helpers/stomp.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';

/**
 * A connection whose reading is held (the journal's credit flow, the resource alarm) keeps
 * sending heartbeats into its socket, which the broker does not read: its silence is not
 * judged meanwhile, and counts again from the resume. RabbitMQ 3.10's reader pauses its
 * heartbeat monitor while blocked or in flow (rabbit_reader maybe_block ->
 * rabbit_heartbeat:pause_monitor; resume_monitor on unblock). Before, a hold longer than two
 * heartbeat intervals dropped the publisher for "missed heartbeats" (review-s16-1 H2).
 * Real time must pass: the holds outlast the clients' heartbeat periods.
 */

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

/**
 * the broker's side of the one `protocol` connection: its idle rule asked as its timer asks it, on
 * a clock stepped `stepMs` at a time three times (far past the timeout: no sleep), never gone while held
 */
function heldThroughIdleChecks(broker: LocalMQ, protocol: 'amqp' | 'stomp' | 'mqtt', stepMs: number): void {
  const sides = broker.connections().filter((c) => c.protocol === protocol);
  expect(sides).toHaveLength(1);
  const side = sides[0] as unknown as { checkIdle(now: number): boolean };
  for (let k = 1; k <= 3; k++) expect(side.checkIdle(Date.now() + stepMs * k)).toBe(false);
}

async function memoryBroker(): Promise<LocalMQ> {
  const broker = await startBroker();
  cleanup.push(() => broker.stop());
  return broker;
}

describe('a held connection is not taken for dead', () => {
  it('AMQP 0-9-1, heartbeat 1 s: held by the journal (syncs held), stays open through its heartbeat checks and publishes on after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-held-hb-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const fs = new FaultyFs();
    const broker = await startBroker({ dataDir: dir, journal: { fs, backlogBytes: 256 * 1024 } });
    cleanup.push(() => broker.stop());
    cleanup.push(() => fs.releaseFsyncs());
    const conn = await amqplib.connect(`${amqpUrl(broker)}?heartbeat=1`);
    let closed = '';
    conn.on('error', (e: Error) => (closed = `error ${e.message}`));
    conn.on('close', () => (closed ||= 'closed'));
    cleanup.push(() => conn.close().catch(() => undefined));
    const ch = await conn.createChannel();
    await ch.assertQueue('hb', { durable: true });
    fs.holdFsyncs = true;
    const behind = new Promise<void>((resolve) => broker.store.onBacklog!((b) => b && resolve()));
    for (let i = 0; i < 2000; i++) ch.sendToQueue('hb', Buffer.alloc(1024), { persistent: true });
    await behind;
    await fs.fsyncHeld();
    // past two missed heartbeats (2 s) three times over
    heldThroughIdleChecks(broker, 'amqp', 3000);
    expect(closed).toBe('');
    fs.releaseFsyncs();
    // the rest is read, and a round trip after it answered
    expect((await ch.checkQueue('hb')).messageCount).toBe(2000);
    expect(closed).toBe('');
  });

  it('STOMP, heart-beat 500 ms from the client: held by the alarm, stays open through its heart-beat checks and answers after', async () => {
    const broker = await memoryBroker();
    const { client } = await RawStomp.connected(broker, { 'heart-beat': '500,0' });
    cleanup.push(() => client.close());
    broker.core.alarms.setMemory(true);
    cleanup.push(() => broker.core.alarms.setMemory(false));
    const read = new Promise<void>((resolve) => broker.core.once('published', () => resolve()));
    client.send('SEND', { destination: '/queue/hb' }, 'under the alarm');
    await read;
    // past two missed periods (1 s) three times over
    heldThroughIdleChecks(broker, 'stomp', 2500);
    expect(client.closed).toBe(false);
    broker.core.alarms.setMemory(false);
    client.send('SEND', { destination: '/queue/hb', receipt: 'after' }, 'after the alarm');
    await client.receipt('after');
    expect(client.closed).toBe(false);
  });

  it('MQTT 3.1.1, keep-alive 1 s: held by the alarm, stays open through its keep-alive checks and answers PINGREQ after', async () => {
    const broker = await memoryBroker();
    const raw = await Raw.open(mqttPort(broker));
    cleanup.push(() => raw.socket.destroy());
    let closed = false;
    void raw.closed.then(() => (closed = true));
    raw.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'held-hb', clean: true, keepalive: 1, username: 'guest', password: Buffer.from('guest') });
    expect((await raw.next()).cmd).toBe('connack');
    broker.core.alarms.setMemory(true);
    cleanup.push(() => broker.core.alarms.setMemory(false));
    const read = new Promise<void>((resolve) => broker.core.once('published', () => resolve()));
    raw.send({ cmd: 'publish', topic: 'hb', payload: Buffer.from('under the alarm'), qos: 0, retain: false, dup: false });
    await read;
    // past one and a half keep-alives (1.5 s) three times over
    heldThroughIdleChecks(broker, 'mqtt', 2500);
    expect(closed).toBe(false);
    broker.core.alarms.setMemory(false);
    raw.send({ cmd: 'pingreq' });
    expect((await raw.next()).cmd).toBe('pingresp');
    expect(closed).toBe(false);
  });

  it('OpenWire, MaxInactivityDuration 300 ms: held by the journal (syncs held), silent meanwhile, stays open through its inactivity periods and is answered after', async () => {
    // ActiveMQ's InactivityMonitor closes a connection nothing arrived on for a whole period; a
    // connection whose reading is held is not judged (its commands wait unread in the socket)
    const dir = mkdtempSync(join(tmpdir(), 'localmq-held-ow-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const fs = new FaultyFs();
    const broker = await startBroker({ engine: 'activemq', dataDir: dir, journal: { fs, backlogBytes: 256 * 1024 }, ports: { openwire: 0 } });
    cleanup.push(() => broker.stop());
    cleanup.push(() => fs.releaseFsyncs());
    const c = await RawOpenWire.open(Number(new URL(broker.urls.openwire!).port));
    cleanup.push(() => c.close());
    await c.next((s) => s.type === T.WireFormatInfo);
    c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 24, maxInactivityDuration: 300, maxInactivityDurationInitialDelay: 0, providerVersion: 'x' }));
    const conn = `ID:held-ow-${Math.random()}`;
    await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: conn } });
    const message = await c.producer(conn, 'held-ow');
    let closed = false;
    void c.closed.then(() => (closed = true));
    fs.holdFsyncs = true;
    const behind = new Promise<void>((resolve) => broker.store.onBacklog!((b) => b && resolve()));
    // async sends (no Response asked) of persistent messages: 2 MiB, past the journal's bound
    c.writeOneWay(Array.from({ length: 2000 }, (_, i) => ({ ...message(i, 'x'.repeat(1024)), persistent: true })));
    await behind;
    await fs.fsyncHeld();
    // its InactivityMonitor's periods end as its timer ends them (5 of 300 ms, no sleep): nothing
    // read in any (held), it is not taken for gone (test/protocols/idle-checks.test.ts pins the rule)
    const side = broker.connections().find((x) => x.protocol === 'openwire' && (x as unknown as { socket: { remotePort?: number } }).socket.remotePort === c.socket.localPort);
    expect(side).toBeDefined();
    for (let k = 0; k < 5; k++) expect((side as unknown as { inactivityPeriodEnds(): boolean }).inactivityPeriodEnds()).toBe(false);
    expect(closed).toBe(false);
    fs.releaseFsyncs();
    // the rest is read; a request after it answered
    expect((await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: conn, value: 2 } })).type).toBe(T.Response);
    expect(closed).toBe(false);
  });
});
