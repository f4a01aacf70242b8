import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';

// Found in the session 10 review (review-s10-3 #1): a channel's frames held behind its waiting
// basic.get (AmqpConnection.holdChannel) were replayed after the broker closed that channel
// (consumer timeout); a publish among them was a 504 CHANNEL_ERROR closing the whole connection.
// RabbitMQ discards what a client sends on a channel it closed until the close-ok.
let broker: LocalMQ;
let conn: ChannelModel;
beforeAll(async () => {
  broker = await startBroker();
  conn = await connect(broker);
});
afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await broker?.stop();
});

it('a channel closed by the server (consumer timeout) while its basic.get waits behind a requeue: its held frames are dropped, the connection stays', async () => {
  const ch = await conn.createChannel();
  const n = 2000;
  await ch.assertQueue('rq', { durable: false });
  await ch.assertQueue('t', { durable: false });
  await ch.assertQueue('x', { durable: false });
  for (let i = 0; i < n + 5; i++) broker.publish('', 'rq', Buffer.from(String(i)));
  broker.publish('', 't', Buffer.from('t'));
  const a = await conn.createChannel();
  await a.prefetch(n);
  let got = 0;
  await new Promise<void>((resolve) => void a.consume('rq', () => ++got === n && resolve()));
  let opened = false;
  broker.core.bulkWork.add({ step: () => opened });
  await a.close();

  const other = await connect(broker);
  const connClosed = new Promise<unknown>((resolve) => other.on('close', resolve));
  const connError = new Promise<unknown>((resolve) => other.on('error', resolve));
  const g = await other.createChannel();
  const chanError = new Promise<unknown>((resolve) => g.on('error', resolve));
  broker.core.consumerTimeoutMs = 200;
  // an unacked basic.get: the consumer timeout closes this channel (406)
  expect(await g.get('t', { noAck: false })).toBeTruthy();
  const held = g.get('rq', { noAck: true }).catch((e) => e);
  g.sendToQueue('x', Buffer.from('held'));
  const err = await chanError;
  expect(String(err)).toContain('406');
  await held;
  broker.core.consumerTimeoutMs = 1_800_000;
  // let the requeue finish: the held get's answer comes and the held frames are replayed
  opened = true;
  const ping = await conn.createChannel();
  while (broker.core.vhost('/')!.getQueue('rq')!.returnsInFlight) await ping.checkQueue('rq');
  // a round trip on the other connection after the replay
  const r = await Promise.race([
    other.createChannel().then(async (c) => (await c.checkQueue('rq')).messageCount),
    connClosed.then(() => 'connection closed'),
    connError.then((e) => `connection error: ${String(e)}`),
  ]);
  expect(r).toBe(n + 5);
  await other.close();
});
