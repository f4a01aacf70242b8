import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { encodeMethodFrame } from '../../src/protocols/amqp/codec/index.js';
import { amqpPort, channelClosed, connect, RawAmqp } from '../helpers/amqp.js';

let broker: LocalMQ;
let port: number;
let bystander: ChannelModel;
let bystanderCh: Channel;
beforeAll(async () => {
  broker = await startBroker();
  port = amqpPort(broker);
  // a connection that lives through every malformed one below and must keep working
  bystander = await connect(broker);
  bystanderCh = await bystander.createChannel();
  await bystanderCh.assertQueue('bystander');
});
afterAll(async () => {
  await bystander.close();
  await broker.stop();
});

type CloseArgs = { replyCode: number; replyText: string; classId: number; methodId: number };

/** the bystander's publish → get round trip still works */
async function bystanderStillServed(tag: string): Promise<void> {
  bystanderCh.sendToQueue('bystander', Buffer.from(tag));
  for (;;) {
    const m = await bystanderCh.get('bystander', { noAck: true });
    if (m) {
      expect(m.content.toString()).toBe(tag);
      return;
    }
  }
}

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(7);
  h[0] = type;
  h.writeUInt16BE(channel, 1);
  h.writeUInt32BE(payload.length, 3);
  return Buffer.concat([h, payload, Buffer.from([0xce])]);
}

const methodPayload = (classId: number, methodId: number) => Buffer.from([classId >> 8, classId & 255, methodId >> 8, methodId & 255]);

/** open a raw connection, do something wrong, return the connection.close the server sent */
async function connectionCloseAfter(act: (c: RawAmqp) => void, tune: { frameMax?: number } = {}): Promise<CloseArgs> {
  const c = await RawAmqp.handshake(port, tune);
  act(c);
  const close = (await c.method('connection.close')).args as CloseArgs;
  c.send(0, 'connection.close-ok');
  await c.whenClosed();
  return close;
}

describe('malformed input closes the connection with a reply code; other connections keep being served', () => {
  it('garbage bytes after the handshake: 501 FRAME_ERROR', async () => {
    const close = await connectionCloseAfter((c) => c.write(Buffer.from('hello world, this is garbage!!')));
    // RabbitMQ 3.10.8 answered this very input with 501 too ("FRAME_ERROR - type 104, ...")
    expect(close.replyCode).toBe(501);
    expect(close.replyText).toMatch(/^FRAME_ERROR - /);
    await bystanderStillServed('after garbage');
  });

  it('a frame larger than the negotiated frame_max: 501 FRAME_ERROR', async () => {
    const close = await connectionCloseAfter(
      (c) => {
        c.send(1, 'channel.open');
        c.write(frame(3, 1, Buffer.alloc(5000)));
      },
      { frameMax: 4096 },
    );
    expect(close.replyCode).toBe(501);
    expect(close.replyText).toContain('exceeds frame_max 4096');
    await bystanderStillServed('after oversize');
  });

  it('a bad frame-end octet: 501 FRAME_ERROR', async () => {
    const close = await connectionCloseAfter((c) => {
      const f = encodeMethodFrame(1, 'channel.open', {});
      f[f.length - 1] = 0;
      c.write(f);
    });
    expect(close.replyCode).toBe(501);
    await bystanderStillServed('after bad frame end');
  });

  it("a method on a channel never opened: 504 CHANNEL_ERROR - expected 'channel.open' (text as RabbitMQ 3.10.8 sends)", async () => {
    const close = await connectionCloseAfter((c) => c.send(5, 'queue.declare', { queue: 'x' }));
    expect(close).toEqual({ replyCode: 504, replyText: "CHANNEL_ERROR - expected 'channel.open'", classId: 50, methodId: 10 });
    await bystanderStillServed('after unopened');
  });

  it('a method on a channel already closed: 504 CHANNEL_ERROR, as RabbitMQ 3.10.8 does', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.send(1, 'channel.close', { replyCode: 200, replyText: 'bye', classId: 0, methodId: 0 });
      c.send(1, 'queue.declare', { queue: 'x' });
    });
    expect(close).toEqual({ replyCode: 504, replyText: "CHANNEL_ERROR - expected 'channel.open'", classId: 50, methodId: 10 });
    await bystanderStillServed('after closed channel');
  });

  it('an unknown class: 540 NOT_IMPLEMENTED (RabbitMQ 3.10.8 just drops the socket; LocalMQ says why)', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.write(frame(1, 1, methodPayload(99, 10)));
    });
    expect(close).toMatchObject({ replyCode: 540, classId: 99, methodId: 10 });
    expect(close.replyText).toBe('NOT_IMPLEMENTED - unknown class id 99');
    await bystanderStillServed('after unknown class');
  });

  it('an unknown method of a known class: 503 COMMAND_INVALID', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.write(frame(1, 1, methodPayload(50, 99)));
    });
    expect(close).toMatchObject({ replyCode: 503, classId: 50, methodId: 99 });
  });

  it('a body frame with no publish before it: 505 UNEXPECTED_FRAME (text as RabbitMQ 3.10.8)', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.write(frame(3, 1, Buffer.from('abc')));
    });
    expect(close).toMatchObject({ replyCode: 505, replyText: 'UNEXPECTED_FRAME - expected method frame, got non method frame instead' });
  });

  it('a heartbeat on a non-zero channel: 505 UNEXPECTED_FRAME (as RabbitMQ 3.10.8)', async () => {
    const close = await connectionCloseAfter((c) => c.write(frame(8, 1, Buffer.alloc(0))));
    expect(close).toMatchObject({ replyCode: 505, replyText: 'UNEXPECTED_FRAME - type 8, all octets = <<>>' });
  });

  it("a second channel.open on an open channel: 504 CHANNEL_ERROR - second 'channel.open' seen (as RabbitMQ 3.10.8)", async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.send(1, 'channel.open');
    });
    expect(close).toEqual({ replyCode: 504, replyText: "CHANNEL_ERROR - second 'channel.open' seen", classId: 20, methodId: 10 });
  });

  it("reusing a consumer tag: 530 NOT_ALLOWED - attempt to reuse consumer tag (as RabbitMQ 3.10.8)", async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.send(1, 'queue.declare', { queue: '', exclusive: true });
      c.send(1, 'basic.consume', { queue: '', consumerTag: 't' });
      c.send(1, 'basic.consume', { queue: '', consumerTag: 't' });
    });
    expect(close).toEqual({ replyCode: 530, replyText: "NOT_ALLOWED - attempt to reuse consumer tag 't'", classId: 60, methodId: 20 });
  });

  it('channel.flow active=false: connection closed with 540 NOT_IMPLEMENTED - active=false (as RabbitMQ 3.10.8)', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.send(1, 'channel.flow', { active: false });
    });
    expect(close).toEqual({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - active=false', classId: 20, methodId: 20 });
  });

  it('basic.recover requeue=false: 540 NOT_IMPLEMENTED - requeue=false (observed on RabbitMQ 3.10.8)', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.send(1, 'basic.recover', { requeue: false });
    });
    expect(close).toEqual({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - requeue=false', classId: 60, methodId: 110 });
  });

  it('basic.qos prefetch_size=10: 540 NOT_IMPLEMENTED - prefetch_size!=0 (10) (observed on RabbitMQ 3.10.8)', async () => {
    const close = await connectionCloseAfter((c) => {
      c.send(1, 'channel.open');
      c.send(1, 'basic.qos', { prefetchSize: 10, prefetchCount: 0, global: false });
    });
    expect(close).toEqual({ replyCode: 540, replyText: 'NOT_IMPLEMENTED - prefetch_size!=0 (10)', classId: 60, methodId: 10 });
  });
});

describe('channel errors seen through amqplib (texts as a real RabbitMQ 3.10.8 answered them)', () => {
  let conn: ChannelModel;
  beforeAll(async () => {
    conn = await connect(broker);
  });
  afterAll(async () => {
    await conn.close();
  });

  async function channelError(act: (ch: Channel) => Promise<unknown> | void): Promise<{ code?: number; message: string }> {
    const ch = await conn.createChannel();
    const closed = channelClosed(ch);
    void Promise.resolve(act(ch)).catch(() => undefined);
    const err = await closed;
    // the connection is fine: a fresh channel works
    const ok = await conn.createChannel();
    await ok.checkQueue('bystander');
    await ok.close();
    return err;
  }

  const cases: [string, (ch: Channel) => Promise<unknown> | void, number, string][] = [
    ['passive declare of a missing queue', (ch) => ch.checkQueue('missing.q'), 404, "NOT_FOUND - no queue 'missing.q' in vhost '/'"],
    ['publish to a missing exchange (asynchronous, after the content)', (ch) => ch.publish('no.such.x', 'k', Buffer.from('x')), 404, "NOT_FOUND - no exchange 'no.such.x' in vhost '/'"],
    ['ack of an unknown delivery tag', (ch) => ch.ack({ fields: { deliveryTag: 42 } } as never), 406, 'PRECONDITION_FAILED - unknown delivery tag 42'],
    ['ack multiple of an unknown tag', (ch) => ch.ack({ fields: { deliveryTag: 42 } } as never, true), 406, 'PRECONDITION_FAILED - unknown delivery tag 42'],
    ['nack of an unknown delivery tag', (ch) => ch.nack({ fields: { deliveryTag: 7 } } as never), 406, 'PRECONDITION_FAILED - unknown delivery tag 7'],
    ['reject of an unknown delivery tag', (ch) => ch.reject({ fields: { deliveryTag: 7 } } as never), 406, 'PRECONDITION_FAILED - unknown delivery tag 7'],
    ['bind of a missing queue', (ch) => ch.bindQueue('no.such.q', 'amq.direct', 'k'), 404, "NOT_FOUND - no queue 'no.such.q' in vhost '/'"],
    ['bind to a missing exchange', (ch) => ch.bindQueue('bystander', 'no.such.x', 'k'), 404, "NOT_FOUND - no exchange 'no.such.x' in vhost '/'"],
    ['consume from a missing queue', (ch) => ch.consume('p2.missing', () => undefined), 404, "NOT_FOUND - no queue 'p2.missing' in vhost '/'"],
    [
      'a user-id that is not the authenticated user',
      (ch) => ch.publish('', 'bystander', Buffer.from('x'), { userId: 'bob' }),
      406,
      "PRECONDITION_FAILED - user_id property set to 'bob' but authenticated user was 'guest'",
    ],
    ['reply-to amq.rabbitmq.reply-to without consuming it', (ch) => ch.sendToQueue('bystander', Buffer.from('x'), { replyTo: 'amq.rabbitmq.reply-to' }), 406, 'PRECONDITION_FAILED - fast reply consumer does not exist'],
    ['a queue name with the reserved amq. prefix', (ch) => ch.assertQueue('amq.foo'), 403, "ACCESS_REFUSED - queue name 'amq.foo' contains reserved prefix 'amq.*'"],
    ['deleting a system exchange', (ch) => ch.deleteExchange('amq.direct'), 403, "ACCESS_REFUSED - deletion of system exchange 'amq.direct' in vhost '/' not allowed"],
  ];
  for (const [what, act, code, text] of cases) {
    it(`${what}: ${code}`, async () => {
      const err = await channelError(act);
      expect(err.code).toBe(code);
      expect(err.message).toContain(text);
    });
  }

  it('ack with tag 0 and multiple=true when nothing is outstanding is silently accepted (as RabbitMQ 3.10.8)', async () => {
    const ch = await conn.createChannel();
    let failed = false;
    ch.on('error', () => (failed = true));
    ch.ack({ fields: { deliveryTag: 0 } } as never, true);
    await ch.checkQueue('bystander');
    expect(failed).toBe(false);
    await ch.close();
  });

  it('acking the same delivery twice: 406 unknown delivery tag', async () => {
    const ch = await conn.createChannel();
    const { queue } = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(queue, Buffer.from('x'));
    let m = await ch.get(queue);
    while (!m) m = await ch.get(queue);
    const closed = channelClosed(ch);
    ch.ack(m);
    ch.ack(m);
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain(`PRECONDITION_FAILED - unknown delivery tag ${m.fields.deliveryTag}`);
  });
});
