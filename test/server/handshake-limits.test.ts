import { connect as netConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import mqttPacket from 'mqtt-packet';
import type { Connection as RheaConnection } from 'rhea';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import { PROTOCOL_HEADER, encodeContentHeaderFrame } from '../../src/protocols/amqp/codec/index.js';
import { DEFAULT_AMQP10_TUNING, acceptAmqp10Socket } from '../../src/protocols/amqp10/index.js';
import { Encoder, FRAME_AMQP, HEADER_AMQP, writeFrame } from '../../src/protocols/amqp10/codec/index.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';
import { amqpPort, RawAmqp } from '../helpers/amqp.js';
import { rheaClose, rheaConnect } from '../helpers/amqp10.js';
import { Raw as RawMqtt } from '../helpers/mqtt-raw.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { getHeader, RawStomp, stompPort } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';

/**
 * Issue 18, part 4: a client that opens a socket and does not finish its protocol's
 * handshake within the handshake timeout (RabbitMQ's handshake_timeout, 10 s by default;
 * `limits.handshakeTimeoutMs`) is closed, whichever protocol it speaks; one that did finish
 * is not. Heart-beats / keep-alives drop a client that goes silent after the handshake.
 */

const TIMEOUT_MS = 300;

function portOf(url: string | undefined): number {
  return Number(new URL(url!).port);
}

/** a plain socket: write what we like, learn when the broker closes it */
async function rawSocket(port: number): Promise<{ socket: Socket; closed: Promise<number> }> {
  const socket = netConnect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  socket.on('error', () => undefined);
  socket.on('data', () => undefined);
  const opened = Date.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now() - opened)));
  return { socket, closed };
}

describe('handshake timeout (limits.handshakeTimeoutMs) in every protocol', () => {
  let broker: LocalMQ;
  let activemq: LocalMQ;
  const logs: string[] = [];
  beforeAll(async () => {
    const logger = createLogger('info', (line) => logs.push((JSON.parse(line) as { msg: string }).msg));
    broker = await startBroker({ limits: { handshakeTimeoutMs: TIMEOUT_MS }, logger });
    activemq = await startBroker({ engine: 'activemq', ports: { openwire: 0 }, limits: { handshakeTimeoutMs: TIMEOUT_MS }, logger });
  });
  afterAll(async () => {
    await broker?.stop();
    await activemq?.stop();
  });

  it('the default is 10 s, as RabbitMQ', async () => {
    const { DEFAULT_LIMITS } = await import('../../src/core/limits.js');
    expect(DEFAULT_LIMITS.handshakeTimeoutMs).toBe(10_000);
  });

  it('STOMP: a half-sent CONNECT is closed after the timeout; a logged-in client stays', async () => {
    const ok = await RawStomp.connected(broker);
    const stalled = await rawSocket(stompPort(broker));
    stalled.socket.write('CONNECT\naccept-version:1.2\nlogin:gue');
    const elapsed = await stalled.closed;
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(logs).toContain('STOMP connection closed: no CONNECT in time');
    // opened before the stalled one, so past its own timeout by now: still served
    ok.client.send('SEND', { destination: '/queue/handshake.stomp', receipt: 'r1' }, 'x');
    await ok.client.receipt('r1');
    ok.client.close();
  });

  it('STOMP: a client that sends nothing at all is closed too', async () => {
    const silent = await rawSocket(stompPort(broker));
    expect(await silent.closed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
  });

  it('MQTT 3.1.1 and 5: a half-sent CONNECT is closed after the timeout; a connected client stays', async () => {
    const port = portOf(broker.urls.mqtt);
    const ok = await RawMqtt.connected(port, 4, 'handshake-ok');
    for (const protocolVersion of [4, 5] as const) {
      const connect = mqttPacket.generate(
        { cmd: 'connect', protocolId: 'MQTT', protocolVersion, clientId: `half-${protocolVersion}`, clean: true, keepalive: 0, username: 'guest', password: Buffer.from('guest') },
        { protocolVersion },
      );
      const stalled = await rawSocket(port);
      stalled.socket.write(connect.subarray(0, connect.length - 4));
      expect(await stalled.closed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    }
    expect(logs).toContain('MQTT connection closed: no CONNECT in time');
    ok.send({ cmd: 'pingreq' });
    expect((await ok.next()).cmd).toBe('pingresp');
    ok.socket.destroy();
  });

  it('AMQP 0-9-1: a client that sends the protocol header and never opens is closed; so is half a header', async () => {
    const ok = await RawAmqp.handshake(amqpPort(broker));
    const stalled = await rawSocket(amqpPort(broker));
    stalled.socket.write(PROTOCOL_HEADER);
    expect(await stalled.closed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(logs).toContain('AMQP connection closed: handshake not completed in time');
    const half = await rawSocket(amqpPort(broker));
    half.socket.write('AMQ');
    expect(await half.closed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(ok.closed).toBe(false);
    ok.socket.destroy();
  });

  it('AMQP 1.0: a client that sends the SASL header and stops is closed; an opened connection stays', async () => {
    const port = amqpPort(broker);
    const ok = await rheaConnect(port);
    const stalled = await rawSocket(port);
    stalled.socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]));
    expect(await stalled.closed).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(logs).toContain('AMQP 1.0 connection closed: handshake not completed in time');
    expect(ok.is_open()).toBe(true);
    await rheaClose(ok);
  });

  it('OpenWire: a client that negotiates the wire format but sends no ConnectionInfo is closed; a connected one stays', async () => {
    const port = portOf(activemq.urls.openwire);
    const ok = await RawOpenWire.connected(port);
    const stalled = await RawOpenWire.open(port);
    await stalled.next((s) => s.type === T.WireFormatInfo);
    stalled.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'test' }));
    await stalled.closed;
    expect(logs).toContain('OpenWire connection closed: no ConnectionInfo in time');
    const session = await ok.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: 'x', value: 1 } });
    expect(session.type).toBe(T.Response);
    ok.close();
  });
});

describe('keep-alives enforced after the handshake', () => {
  let broker: LocalMQ;
  beforeAll(async () => {
    broker = await startBroker({ engine: 'activemq', ports: { openwire: 0, mqtt: 0 } });
  });
  afterAll(async () => {
    await broker?.stop();
  });

  it('MQTT: a client silent for 1.5 keep-alive periods is disconnected [MQTT-3.1.2-24]', async () => {
    const port = portOf(broker.urls.mqtt);
    const r = await RawMqtt.open(port, 4);
    const started = Date.now();
    r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: 'silent-ka', clean: true, keepalive: 1, username: 'guest', password: Buffer.from('guest') });
    expect((await r.next()).cmd).toBe('connack');
    await r.closed;
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
  });

  it('AMQP 1.0: a client silent past our idle time-out is closed with local-idle-timeout expired', async () => {
    // the idle time-out is a tuning of the AMQP 1.0 listener (60 s): a listener of our own with 600 ms
    const server = createServer((socket) => acceptAmqp10Socket(socket, broker.context, { ...DEFAULT_AMQP10_TUNING, idleTimeoutMs: 600 }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { socket, closed } = await rawSocket((server.address() as AddressInfo).port);
      const got: Buffer[] = [];
      socket.on('data', (d: Buffer) => got.push(d));
      const e = new Encoder();
      writeFrame(e, FRAME_AMQP, 0, { $: 'open', containerId: 'silent' });
      // no SASL layer on the ActiveMQ profile: anonymous; then not a byte more
      socket.write(Buffer.concat([HEADER_AMQP, e.take()]));
      const elapsed = await closed;
      expect(elapsed).toBeGreaterThanOrEqual(550);
      expect(Buffer.concat(got).toString('latin1')).toContain('local-idle-timeout expired');
    } finally {
      server.close();
    }
  });

  it('OpenWire: a client silent past the negotiated inactivity duration is closed (ActiveMQ InactivityMonitor)', async () => {
    const port = portOf(broker.urls.openwire);
    const c = await RawOpenWire.open(port);
    await c.next((s) => s.type === T.WireFormatInfo);
    c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 300, maxInactivityDurationInitialDelay: 0, providerVersion: 'test' }));
    await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: 'ID:inactive' }, userName: 'guest', password: 'guest' });
    await c.closed;
  });
});

describe('one alarm subscription: 100 connections of each protocol', () => {
  let broker: LocalMQ;
  let activemq: LocalMQ;
  const closers: (() => unknown)[] = [];
  beforeAll(async () => {
    broker = await startBroker();
    activemq = await startBroker({ engine: 'activemq', ports: { openwire: 0 } });
  });
  afterAll(async () => {
    for (const close of closers) await close();
    await broker?.stop();
    await activemq?.stop();
  });

  it('no MaxListenersExceededWarning and no broker listener per connection with 100 AMQP, STOMP, MQTT, AMQP 1.0 and OpenWire connections', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const core = broker.core;
      const amqCore = activemq.core;
      const listenersBefore = [core.listenerCount('alarm'), amqCore.listenerCount('alarm')];
      const opens: Promise<void>[] = [];
      for (let i = 0; i < 100; i++) {
        opens.push(
          RawAmqp.handshake(amqpPort(broker)).then((amqp) => {
            closers.push(() => amqp.socket.destroy());
          }),
        );
        opens.push(
          RawStomp.connected(broker).then(({ client }) => {
            closers.push(() => client.close());
          }),
        );
        opens.push(
          RawMqtt.connected(portOf(broker.urls.mqtt), 4, `alarm-many-${i}`).then((m) => {
            closers.push(() => m.socket.destroy());
          }),
        );
        opens.push(
          rheaConnect(amqpPort(broker)).then((c: RheaConnection) => {
            closers.push(() => rheaClose(c));
          }),
        );
        opens.push(
          RawOpenWire.connected(portOf(activemq.urls.openwire)).then((c) => {
            closers.push(() => c.close());
          }),
        );
      }
      await Promise.all(opens);
      expect(core.alarms.subscribers).toBe(400);
      expect(amqCore.alarms.subscribers).toBe(100);
      expect([core.listenerCount('alarm'), amqCore.listenerCount('alarm')]).toEqual(listenersBefore);
      // every connection hears the alarm go on and off through the one subscription
      core.alarms.setMemory(true);
      amqCore.alarms.setMemory(true);
      core.alarms.setMemory(false);
      amqCore.alarms.setMemory(false);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe('limits checked before buffering over WebSocket', () => {
  const broker = useBroker({ limits: { maxMessageSize: 1024 } });

  it('MQTT over WebSocket: a message larger than the largest packet (max message size + 64 KiB headers) is refused as it arrives (1009), as STOMP over WebSocket already was', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(broker().urls.mqttWs!, 'mqtt');
    await new Promise<void>((resolve, reject) => ws.once('open', () => resolve()).once('error', reject));
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.alloc(1024 + 65536 + 5 + 1));
    expect(await closed).toBe(1009);
  });
});

/**
 * Part 4, "limits checked before buffering", over plain TCP: a client announces more than a
 * limit allows and then sends NOT ONE byte of it. The refusal must come from the announcement
 * alone (a broker that first buffered the announced bytes would wait here for ever). The other
 * protocols are pinned elsewhere the same way: MQTT at the fixed header (test/mqtt/bad-input.test.ts),
 * AMQP 1.0 at the frame's size field (test/amqp10/malformed.test.ts), OpenWire at the size prefix
 * (test/openwire/malformed.test.ts), MQTT and STOMP over WebSocket (above).
 */
describe('limits checked before buffering over TCP: refused from the declared size alone', () => {
  const broker = useBroker({ limits: { maxMessageSize: 1024 } });

  it('AMQP 0-9-1: a frame header announcing more than frame_max, payload never sent: 501 FRAME_ERROR', async () => {
    const c = await RawAmqp.handshake(amqpPort(broker()), { frameMax: 4096 });
    try {
      c.send(1, 'channel.open');
      await c.method('channel.open-ok');
      // 7 bytes: a body frame on channel 1 declaring 1 GiB; nothing follows
      c.write(Buffer.from([3, 0, 1, 0x40, 0, 0, 0]));
      const close = (await c.method('connection.close')).args as { replyCode: number; replyText: string };
      expect(close.replyCode).toBe(501);
      expect(close.replyText).toContain('exceeds frame_max 4096');
    } finally {
      c.close();
    }
  });

  it('AMQP 0-9-1: a content header announcing a body over the max message size, body never sent: 406 on that channel, the connection lives on', async () => {
    const c = await RawAmqp.handshake(amqpPort(broker()));
    try {
      c.send(1, 'channel.open');
      await c.method('channel.open-ok');
      c.send(1, 'basic.publish', { exchange: '', routingKey: 'never-sent', mandatory: false, immediate: false });
      c.write(encodeContentHeaderFrame(1, 1024 * 1024 * 1024, {}));
      const close = (await c.method('channel.close')).args as { replyCode: number; replyText: string };
      expect(close).toMatchObject({ replyCode: 406, replyText: 'PRECONDITION_FAILED - message size 1073741824 is larger than configured max size 1024' });
      c.send(1, 'channel.close-ok');
      c.send(2, 'channel.open');
      await c.method('channel.open-ok');
    } finally {
      c.close();
    }
  });

  it('STOMP: a SEND whose content-length is over the max message size, body never sent: ERROR, then closed', async () => {
    const { client } = await RawStomp.connected(broker());
    client.write('SEND\ndestination:/queue/never-sent\ncontent-length:1073741824\n\n');
    const f = await client.frame('ERROR');
    expect(getHeader(f, 'message')).toMatch(/too large/i);
    await client.whenClosed();
  });
});
