import rhea from 'rhea';
import { describe, expect, it, vi } from 'vitest';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait, declareQueue } from '../helpers/amqp10.js';

// RabbitMQ 4's AMQP 1.0 (the `all` profile, like `rabbitmq`, serves it on the AMQP port)
const broker = useBroker();
const port = () => broker().ports['amqp']!;

const declare = (name: string, args: Record<string, unknown> = {}) => declareQueue(broker(), name, args);

describe('AMQP 1.0 on the AMQP port, chosen by the protocol header (RabbitMQ 4)', () => {
  it('rhea sends to /queues/q (unsettled: accepted) and amqplib reads body and properties as RabbitMQ 4 maps them', async () => {
    await declare('a10-in');
    const conn = await rheaConnect(port());
    const sender = await openSender(conn, { target: { address: '/queues/a10-in' } });
    const r = await sendAwait(sender, {
      body: rheaData('{"n":1}'),
      durable: true,
      priority: 6,
      ttl: 60000,
      message_id: 'm-1',
      correlation_id: 'c-1',
      reply_to: '/queues/replies',
      content_type: 'application/json',
      group_id: 'app-1',
      creation_time: new Date(1700000000000),
      application_properties: { tenant: 'acme', n: 7 },
      message_annotations: { 'x-custom': 'y' },
    });
    expect(r.outcome).toBe('accepted');
    await rheaClose(conn);

    const amqp = await connect(broker());
    const ch = await amqp.createChannel();
    const got = await ch.get('a10-in', { noAck: true });
    expect(got).not.toBe(false);
    const m = got as Exclude<typeof got, false>;
    expect(m.content.toString()).toBe('{"n":1}');
    expect(m.fields.routingKey).toBe('a10-in');
    expect(m.properties).toMatchObject({
      deliveryMode: 2,
      priority: 6,
      expiration: '60000',
      messageId: 'm-1',
      correlationId: 'c-1',
      replyTo: 'replies',
      contentType: 'application/json',
      appId: 'app-1',
      timestamp: 1700000000,
    });
    expect(m.properties.headers).toMatchObject({ tenant: 'acme', n: 7, 'x-custom': 'y' });
    await amqp.close();
  });

  it('amqplib publishes, a rhea receiver on /queues/q gets a data section with the properties mapped back', async () => {
    await declare('a10-out');
    const amqp = await connect(broker());
    const ch = await amqp.createChannel();
    ch.sendToQueue('a10-out', Buffer.from('hello'), {
      persistent: true,
      messageId: 'x1',
      correlationId: 'c9',
      contentType: 'text/plain',
      replyTo: 'back',
      headers: { h: 'v', 'x-h': 'xv' },
      type: 't1',
    });
    await ch.close();
    await amqp.close();

    const conn = await rheaConnect(port());
    const receiver = await openReceiver(conn, { source: { address: '/queues/a10-out' } });
    const [{ message, delivery }] = await receiveN(receiver, 1);
    expect(Buffer.from((message.body as { content: Buffer }).content).toString()).toBe('hello');
    expect(message.durable).toBe(true);
    expect(message.message_id).toBe('x1');
    expect(message.correlation_id).toBe('c9');
    expect(message.content_type).toBe('text/plain');
    expect(message.reply_to).toBe('/queues/back');
    expect(message.application_properties).toEqual({ h: 'v' });
    expect(message.message_annotations).toMatchObject({ 'x-h': 'xv', 'x-basic-type': 't1', 'x-exchange': '', 'x-routing-key': 'a10-out' });
    expect(message.first_acquirer).toBeFalsy();
    void delivery;
    await rheaClose(conn);
    // rhea auto-accepts: the message is gone
    expect(broker().queue('a10-out').messageCount()).toBe(0);
  });

  it('AMQP 1.0 to AMQP 1.0 keeps the message as sent: amqp-value body, annotations, properties', async () => {
    await declare('a10-same');
    const conn = await rheaConnect(port());
    const sender = await openSender(conn, '/queues/a10-same');
    await sendAwait(sender, { body: { deep: [1, 'two'] }, subject: 's', application_properties: { k: 1.5 }, message_annotations: { 'x-opt-a': 'b' } });
    const receiver = await openReceiver(conn, '/queues/a10-same');
    const [{ message }] = await receiveN(receiver, 1);
    expect(message.body).toEqual({ deep: [1, 'two'] });
    expect(message.subject).toBe('s');
    expect(message.application_properties).toEqual({ k: 1.5 });
    expect(message.message_annotations).toMatchObject({ 'x-opt-a': 'b', 'x-routing-key': 'a10-same' });
    await rheaClose(conn);
  });

  it('v1 addresses: /queue/x declares x, /topic/k and /exchange/e/k subscribe, as RabbitMQ 3.10\'s plugin does', async () => {
    const conn = await rheaConnect(port());
    const topicRx = await openReceiver(conn, '/topic/a10.news');
    const fanRx = await openReceiver(conn, '/exchange/amq.direct/a10-key');
    const s1 = await openSender(conn, '/queue/a10-v1');
    expect((await sendAwait(s1, { body: 'to queue' })).outcome).toBe('accepted');
    expect(broker().queue('a10-v1').messageCount()).toBe(1);
    const s2 = await openSender(conn, '/topic/a10.news');
    const s3 = await openSender(conn, '/exchange/amq.direct/a10-key');
    await sendAwait(s2, { body: 'topic' });
    await sendAwait(s3, { body: 'direct' });
    const [t] = await receiveN(topicRx, 1);
    const [d] = await receiveN(fanRx, 1);
    expect(t!.message.body).toBe('topic');
    expect(d!.message.body).toBe('direct');
    const qRx = await openReceiver(conn, '/queue/a10-v1');
    expect((await receiveN(qRx, 1))[0]!.message.body).toBe('to queue');
    await rheaClose(conn);
  });

  it('a message nothing takes is released to an unsettled sender (RabbitMQ 4)', async () => {
    const conn = await rheaConnect(port());
    const sender = await openSender(conn, '/exchanges/amq.direct/nobody-binds-this');
    expect((await sendAwait(sender, { body: 'x' })).outcome).toBe('released');
    await rheaClose(conn);
  });

  it('a source or target on a queue that does not exist is refused with amqp:not-found', async () => {
    const conn = await rheaConnect(port());
    await expect(openReceiver(conn, '/queues/no-such-queue')).rejects.toMatchObject({ condition: 'amqp:not-found' });
    await expect(openSender(conn, '/queues/no-such-queue')).rejects.toMatchObject({ condition: 'amqp:not-found' });
    // the connection carries on
    await declare('a10-after');
    const s = await openSender(conn, '/queues/a10-after');
    expect((await sendAwait(s, { body: 'ok' })).outcome).toBe('accepted');
    await rheaClose(conn);
  });

  it('settled senders and settled receivers (snd-settle-mode settled)', async () => {
    await declare('a10-settled');
    const conn = await rheaConnect(port());
    const sender = await openSender(conn, { target: { address: '/queues/a10-settled' }, snd_settle_mode: 1 });
    for (let i = 0; i < 5; i++) sender.send({ body: `m${i}` });
    // an amqp-value body travels AMQP-encoded (RabbitMQ 4's `amqp-1.0` type), so look for its bytes
    await broker().waitFor('a10-settled', (m) => m.body.includes('m4'));
    const receiver = await openReceiver(conn, { source: { address: '/queues/a10-settled' }, snd_settle_mode: 1 } as never);
    const got = await receiveN(receiver, 5);
    expect(got.map((g) => g.message.body)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    expect(got.every((g) => (g.delivery as unknown as { remote_settled: boolean }).remote_settled)).toBe(true);
    await rheaClose(conn);
    expect(broker().queue('a10-settled').info()).toMatchObject({ messages: 0, unacked: 0 });
  });

  it('multi-frame transfers: a 300 KiB message in (over our 128 KiB max-frame-size) and out to a client with 512-byte frames', async () => {
    await declare('a10-big');
    const big = Buffer.alloc(300 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const sender = await rheaConnect(port());
    const s = await openSender(sender, '/queues/a10-big');
    expect((await sendAwait(s, { body: rheaDataBytes(big) })).outcome).toBe('accepted');
    expect(broker().queue('a10-big').messages()[0]!.body.equals(big)).toBe(true);
    const small = await rheaConnect(port(), { max_frame_size: 512 });
    const rx = await openReceiver(small, '/queues/a10-big');
    const [{ message }] = await receiveN(rx, 1);
    expect(Buffer.from((message.body as { content: Buffer }).content).equals(big)).toBe(true);
    await rheaClose(small);
    await rheaClose(sender);
  });

  it('the connection closes cleanly and the broker lists it while open', async () => {
    const conn = await rheaConnect(port());
    expect(broker().connections().some((c) => c.protocol === 'amqp10')).toBe(true);
    await rheaClose(conn);
    await vi.waitFor(() => expect(broker().connections().some((c) => c.protocol === 'amqp10')).toBe(false));
  });
});

/** a data section body, as rhea builds one */
function rheaData(text: string) {
  return rheaDataBytes(Buffer.from(text));
}

function rheaDataBytes(b: Buffer) {
  return (rhea as unknown as { message: { data_section(b: Buffer): unknown } }).message.data_section(b);
}
