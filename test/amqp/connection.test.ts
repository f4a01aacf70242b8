import { readFileSync } from 'node:fs';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { FRAME_HEARTBEAT, PROTOCOL_HEADER } from '../../src/protocols/amqp/codec/index.js';
import { amqpPort, amqpUrl, connect, RawAmqp } from '../helpers/amqp.js';

const FIXTURES = new URL('../fixtures/rabbitmq/', import.meta.url);

let broker: LocalMQ;
let port: number;
beforeAll(async () => {
  broker = await startBroker({ vhosts: ['other'] });
  port = amqpPort(broker);
  broker.users.addUser('nobody', 'nobody-pass', []); // a user with no permission anywhere
});
afterAll(async () => {
  await broker.stop();
});

type CloseArgs = { replyCode: number; replyText: string; classId: number; methodId: number };

describe('AMQP connection handshake', () => {
  it('answers a wrong protocol header with exactly what RabbitMQ 3.10 sends, then closes (fixture from a real RabbitMQ)', async () => {
    const expected = readFileSync(new URL('rabbitmq-3.10-bad-protocol-header-reply.bin', FIXTURES));
    const c = await RawAmqp.open(port, false);
    c.write(Buffer.from('AMQP\x00\x00\x09\x02', 'latin1'));
    await c.whenClosed();
    expect(Buffer.concat(c.bytes)).toEqual(expected);
  });

  it('sends connection.start with version 0-9, PLAIN AMQPLAIN, en_US and RabbitMQ capabilities', async () => {
    const c = await RawAmqp.open(port);
    c.write(PROTOCOL_HEADER);
    const start = (await c.method('connection.start')).args as Record<string, unknown> & { serverProperties: Record<string, unknown> };
    expect(start.versionMajor).toBe(0);
    expect(start.versionMinor).toBe(9);
    expect(String(start.mechanisms)).toBe('PLAIN AMQPLAIN');
    expect(String(start.locales)).toBe('en_US');
    const caps = start.serverProperties['capabilities'] as Record<string, unknown>;
    // the capability set observed on RabbitMQ 3.10.8 (bench/rabbitmq-observed.md), in wire order
    expect(Object.keys(caps)).toEqual([
      'publisher_confirms',
      'exchange_exchange_bindings',
      'basic.nack',
      'consumer_cancel_notify',
      'connection.blocked',
      'consumer_priorities',
      'authentication_failure_close',
      'per_consumer_qos',
      'direct_reply_to',
    ]);
    for (const v of Object.values(caps)) expect(v).toBe(true);
    expect(String(start.serverProperties['product'])).toBe('RabbitMQ');
    c.close();
  });

  it('proposes channel-max 2047, frame-max 131072, heartbeat 60 in connection.tune (as RabbitMQ 3.10.8 did)', async () => {
    const c = await RawAmqp.open(port);
    c.write(PROTOCOL_HEADER);
    await c.method('connection.start');
    c.send(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' });
    const tune = (await c.method('connection.tune')).args;
    expect(tune).toEqual({ channelMax: 2047, frameMax: 131072, heartbeat: 60 });
    c.close();
  });

  it('logs in with SASL PLAIN (amqplib default) and AMQPLAIN (amqplib credentials.amqplain)', async () => {
    const plain = await connect(broker);
    await plain.close();
    const amqplain = await amqplib.connect(broker.urls.amqp!, { credentials: amqplib.credentials.amqplain('guest', 'guest') });
    const ch = await amqplain.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-/);
    await amqplain.close();
  });

  it('refuses a wrong password with connection.close 403 ACCESS_REFUSED (authentication_failure_close)', async () => {
    const c = await RawAmqp.open(port);
    c.write(PROTOCOL_HEADER);
    await c.method('connection.start');
    c.send(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0guest\0wrong'), locale: 'en_US' });
    const close = (await c.method('connection.close')).args as CloseArgs;
    expect(close.replyCode).toBe(403);
    expect(close.replyText).toBe('ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN. For details see the broker logfile.');
    c.send(0, 'connection.close-ok');
    await c.whenClosed();

    const err = await connect(broker, { user: 'guest', password: 'nope' }).catch((e: Error) => e);
    expect(String((err as Error).message)).toContain('ACCESS_REFUSED');
  });

  it('closes with 530 NOT_ALLOWED for an unknown vhost and for a vhost the user may not use', async () => {
    // amqplib hides the close text during the handshake: ask over a raw socket
    const openClose = async (user: string, pass: string, vhost: string) => {
      const c = await RawAmqp.open(port);
      c.write(PROTOCOL_HEADER);
      await c.method('connection.start');
      c.send(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from(`\0${user}\0${pass}`), locale: 'en_US' });
      await c.method('connection.tune');
      c.send(0, 'connection.tune-ok', { channelMax: 0, frameMax: 131072, heartbeat: 0 });
      c.send(0, 'connection.open', { virtualHost: vhost });
      const close = (await c.method('connection.close')).args as CloseArgs;
      c.close();
      return close;
    };
    expect(await openClose('guest', 'guest', 'no-such-vhost')).toMatchObject({ replyCode: 530, replyText: 'NOT_ALLOWED - vhost no-such-vhost not found' });
    expect(await openClose('nobody', 'nobody-pass', '/')).toMatchObject({ replyCode: 530, replyText: "NOT_ALLOWED - access to vhost '/' refused for user 'nobody'" });
    const refused = await connect(broker, { user: 'nobody', password: 'nobody-pass' }).catch((e: Error) => e);
    expect(refused).toBeInstanceOf(Error);

    const ok = await connect(broker, { vhost: 'other' });
    await ok.close();
  });

  it('refuses a tune-ok frame_max above the server maximum or below 4096 with 530', async () => {
    for (const [frameMax, text] of [
      [200000, 'NOT_ALLOWED - frame_max=200000 > 131072 max size'],
      [1000, 'NOT_ALLOWED - frame_max=1000 < 4096 min size'],
    ] as const) {
      const c = await RawAmqp.open(port);
      c.write(PROTOCOL_HEADER);
      await c.method('connection.start');
      c.send(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' });
      await c.method('connection.tune');
      c.send(0, 'connection.tune-ok', { channelMax: 0, frameMax, heartbeat: 0 });
      const close = (await c.method('connection.close')).args as CloseArgs;
      expect(close.replyCode).toBe(530);
      expect(close.replyText).toBe(text);
      c.close();
    }
  });

  it('splits content over a small frame_max: a 100 KB body with frameMax=4096 goes both ways intact', async () => {
    const conn = await amqplib.connect(`${amqpUrl(broker)}?frameMax=4096`);
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    const body = Buffer.alloc(100 * 1024);
    for (let i = 0; i < body.length; i++) body[i] = (i * 7) & 0xff;
    ch.sendToQueue(queue, body);
    const got = await new Promise<Buffer>((resolve) => void ch.consume(queue, (m) => m && resolve(m.content), { noAck: true, consumerTag: 'big' }));
    expect(got.length).toBe(body.length);
    expect(got.equals(body)).toBe(true);
    await ch.cancel('big');
    ch.sendToQueue(queue, body);
    const viaGet = await waitGet(ch, queue);
    expect(viaGet.content.equals(body)).toBe(true);
    await conn.close();
  });

  it('updates the secret with connection.update-secret (amqplib updateSecret)', async () => {
    const conn = await connect(broker);
    await conn.updateSecret(Buffer.from('guest'), 'rotated');
    const ch = await conn.createChannel();
    await ch.assertQueue('', { exclusive: true });
    await conn.close();
  });

  it('answers update-secret-ok to any new secret of an internal user, as RabbitMQ 3.10 does', async () => {
    // rabbit_access_control:update_state/2 only asks backends whose state can expire
    // (OAuth 2); rabbit_auth_backend_internal:state_can_expire() -> false (v3.10.8)
    const c = await RawAmqp.handshake(port);
    c.send(0, 'connection.update-secret', { newSecret: Buffer.from('not-the-password'), reason: 'r' });
    await c.method('connection.update-secret-ok');
    c.send(1, 'channel.open', {});
    await c.method('channel.open-ok');
    expect(c.closed).toBe(false);
    c.close();
    const conn = await connect(broker);
    await conn.updateSecret(Buffer.from('anything'), 'rotated');
    const ch = await conn.createChannel();
    await ch.assertQueue('', { exclusive: true });
    await conn.close();
  });
});

describe('AMQP heartbeats', () => {
  it('sends heartbeats at the negotiated rate and drops a client that stays silent', async () => {
    const c = await RawAmqp.handshake(port, { heartbeat: 1 });
    // the server writes a heartbeat frame within a second
    await c.seen(FRAME_HEARTBEAT);
    // we never send one back: after two missed intervals the server cuts the socket
    await c.whenClosed();
    expect(c.closed).toBe(true);
  });

  it('keeps a client that sends heartbeats (amqplib heartbeat=1) alive', async () => {
    const conn = await amqplib.connect(`${amqpUrl(broker)}?heartbeat=1`);
    const ch = await conn.createChannel();
    // real time must pass: longer than the 2 s the silent client above survives
    await new Promise((r) => setTimeout(r, 2600));
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-/);
    await conn.close();
  });
});

describe('connection.blocked / unblocked', () => {
  it('blocks publishers while queued bodies exceed the memory high watermark, unblocks once drained', async () => {
    const small = await startBroker({ limits: { memoryHighWatermark: 1000 } });
    try {
      const conn = await connect(small);
      const events: string[] = [];
      const blocked = new Promise<string>((r) => conn.on('blocked', (reason: string) => (events.push('blocked'), r(reason))));
      const unblocked = new Promise<void>((r) => conn.on('unblocked', () => (events.push('unblocked'), r())));
      const ch = await conn.createChannel();
      await ch.assertQueue('big');
      ch.sendToQueue('big', Buffer.alloc(2000));
      expect(await blocked).toBe('low on memory');
      // another connection drains the backlog: memory falls and the publisher is released
      const other = await connect(small);
      const och = await other.createChannel();
      const got = await och.get('big', { noAck: true });
      expect(got && got.content.length).toBe(2000);
      await unblocked;
      // the connection that crossed the watermark still works afterwards
      ch.sendToQueue('big', Buffer.from('after'));
      const after = await waitGet(och, 'big');
      expect(after.content.toString()).toBe('after');
      await other.close();
      expect(events).toEqual(['blocked', 'unblocked']);
      await conn.close();
    } finally {
      await small.stop();
    }
  });
});

describe('broker stop', () => {
  it('closes clients with 320 CONNECTION_FORCED', async () => {
    const b = await startBroker();
    const conn = await connect(b);
    // amqplib reports a server-initiated close as 'close' with the error
    const closed = new Promise<Error & { code?: number }>((r) => conn.on('close', (e: Error) => r(e)));
    await b.stop();
    const err = await closed;
    expect(err.code).toBe(320);
    expect(err.message).toContain('CONNECTION_FORCED');
  });
});

async function waitGet(ch: amqplib.Channel, queue: string): Promise<amqplib.GetMessage> {
  for (;;) {
    const m = await ch.get(queue, { noAck: true });
    if (m) return m;
  }
}
