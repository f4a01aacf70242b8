import { connect as netConnect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { Encoder, FRAME_AMQP, FrameReader, HEADER_AMQP, decodeFrameBody, uint, ushort, writeFrame, type Composite } from '../../src/protocols/amqp10/codec/index.js';
import { RawClient } from '../helpers/amqp10-raw.js';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

// Bad input gets the spec's error on that connection (or session, or link) only.
const broker = useBroker({ engine: 'activemq', ports: { stomp: false, stomps: false, mqtt: false, mqtts: false, wss: false, console: false } });
const port = () => broker().ports['amqp10']!;

/** another client, sending and receiving meanwhile: bad input elsewhere must not touch it */
async function bystanderWorks(): Promise<void> {
  const conn = await rheaConnect(port());
  const s = await openSender(conn, 'queue://a10-bystander');
  expect((await sendAwait(s, { body: 'still served' })).outcome).toBe('accepted');
  const rx = await openReceiver(conn, 'queue://a10-bystander');
  expect((await receiveN(rx, 1))[0]!.message.body).toBe('still served');
  await rheaClose(conn);
}

describe('AMQP 1.0 malformed input', () => {
  it('garbage where a performative should be: close with amqp:decode-error, others unaffected', async () => {
    const c = await RawClient.open(port());
    c.socket.write(Buffer.from([0, 0, 0, 12, 2, 0, 0, 0, 0xff, 0xfe, 0xfd, 0xfc]));
    const err = await c.error('close');
    expect(err.condition).toBe('amqp:decode-error');
    await c.closed();
    await bystanderWorks();
  });

  it('a frame over max-frame-size is refused from its size field alone: amqp:connection:framing-error', async () => {
    const c = await RawClient.open(port());
    // announce 1 MiB and send nothing more: the broker must not wait to buffer it
    c.socket.write(Buffer.from([0, 0x10, 0, 0]));
    const err = await c.error('close');
    expect(err).toMatchObject({ condition: 'amqp:connection:framing-error', description: 'frame size (1048576 bytes) > maximum frame size (131072 bytes)' });
    await c.closed();
    await bystanderWorks();
  });

  it('a client max-frame-size under 512 is refused with amqp:frame-size-too-small', async () => {
    const socket = netConnect(port(), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const got: Composite[] = [];
    const reader = new FrameReader(
      {
        header: () => undefined,
        frame: (_t, _c, body) => {
          if (!body.length) return;
          const p = decodeFrameBody(body).performative;
          got.push(p);
          if (p.$ === 'close') {
            const e = new Encoder();
            writeFrame(e, FRAME_AMQP, 0, { $: 'close' });
            socket.write(e.take());
          }
        },
      },
      1 << 20,
    );
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.on('data', (d) => reader.push(d));
    socket.write(HEADER_AMQP);
    const e = new Encoder();
    writeFrame(e, FRAME_AMQP, 0, { $: 'open', containerId: 'tiny', maxFrameSize: uint(256) });
    socket.write(e.take());
    await closed;
    const close = got.find((p) => p.$ === 'close')!;
    expect(close['error']).toMatchObject({ condition: 'amqp:frame-size-too-small', description: 'max_frame_size (256) < minimum maximum frame size (512)' });
  });

  it('an unknown performative: amqp:decode-error', async () => {
    const c = await RawClient.open(port());
    // described type 0x99 with an empty list
    c.socket.write(Buffer.from([0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x99, 0x45]));
    expect((await c.error('close')).condition).toBe('amqp:decode-error');
  });

  it('a transfer on an unattached handle ends the session with amqp:session:unattached-handle; the connection stays', async () => {
    const c = await RawClient.open(port());
    c.frame(1, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(100), outgoingWindow: uint(100) });
    await c.next((g) => 'performative' in g && g.performative.$ === 'begin');
    c.frame(1, { $: 'transfer', handle: uint(5), deliveryId: uint(0), deliveryTag: Buffer.from('t') }, Buffer.from([0x00, 0x53, 0x77, 0x40]));
    const err = await c.error('end');
    expect(err.condition).toBe('amqp:session:unattached-handle');
    c.frame(1, { $: 'end' });
    // a new session on the same connection works
    c.frame(2, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(100), outgoingWindow: uint(100) });
    await c.next((g) => 'performative' in g && g.performative.$ === 'begin' && g.channel === 2);
    c.socket.destroy();
  });

  it('a begin beyond the negotiated channel-max closes with amqp:connection:framing-error', async () => {
    const c = await RawClient.open(port(), { channelMax: ushort(1) });
    c.frame(5, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(100), outgoingWindow: uint(100) });
    expect(await c.error('close')).toMatchObject({ condition: 'amqp:connection:framing-error', description: 'channel 5 exceeds the negotiated channel-max 1' });
  });

  it('idle timeout: the broker sends empty frames within half the client\'s idle-time-out', async () => {
    const c = await RawClient.open(port(), { idleTimeOut: uint(1000) });
    const open = c.got.find((g) => 'performative' in g && g.performative.$ === 'open') as { performative: Composite };
    expect(open.performative['idleTimeOut']).toBe(15000); // ActiveMQ: half its 30 s idle timeout (proton-j)
    await c.next((g) => 'empty' in g);
    c.socket.destroy();
  });

  it('a header the broker does not speak (AMQP TLS, 2 1 0 0) gets the SASL header back, then the socket closes', async () => {
    const socket = netConnect(port(), '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (d) => chunks.push(d));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 2, 1, 0, 0]));
    await closed;
    expect(Buffer.concat(chunks)).toEqual(Buffer.from([0x41, 0x4d, 0x51, 0x50, 3, 1, 0, 0]));
  });
});

