import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { answersWaiting, requeueHeld } from '../helpers/requeue-held.js';

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
  await ch.assertQueue('t', { durable: false });
  await ch.assertQueue('x', { durable: false });
  broker.publish('', 't', Buffer.from('t'));
  const requeue = await requeueHeld(broker, conn, 'rq', n);

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
  requeue.open();
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

/** the broker's side of amqplib connection `c`: its socket, to see its reading paused */
function serverSocket(c: ChannelModel): { isPaused(): boolean } {
  const port = (c as unknown as { connection: { stream: { localPort: number } } }).connection.stream.localPort;
  const server = broker.connections().find((x) => (x as unknown as { socket: { remotePort: number } }).socket.remotePort === port);
  return (server as unknown as { socket: { isPaused(): boolean } }).socket;
}

/** round trips on `ch` (another connection: they give the broker turns to read) until `socket`'s reading pauses; then it must stay paused */
async function expectPausedAndStaying(socket: { isPaused(): boolean }, ch: Channel, queue: string): Promise<void> {
  let pings = 0;
  while (!socket.isPaused() && pings < 200) {
    await ch.checkQueue(queue);
    pings++;
  }
  // paused, and it stays so (not only a slice's pause between two turns)
  for (let i = 0; i < 5; i++) {
    expect(socket.isPaused()).toBe(true);
    await ch.checkQueue(queue);
  }
}

// review-s10-3 #4: the connection's reading paused only past 1024 held frames, whatever their size
// (1024 body frames of 128 KiB were 128 MiB held for one waiting channel)
it('a channel waiting behind its basic.get pauses the connection\'s reading once more than 1 MiB of its frames are held, and resumes after the answer', async () => {
  const ch = await conn.createChannel();
  const n = 2000;
  await ch.assertQueue('big.b', { durable: false });
  const requeue = await requeueHeld(broker, conn, 'rq.b', n);

  const other = await connect(broker);
  const socket = serverSocket(other);
  const g = await other.createChannel();
  const get = g.get('rq.b', { noAck: true });
  try {
    // 3 publishes of 400 KiB behind the get: ~30 frames, 1.2 MiB
    for (let i = 0; i < 3; i++) g.sendToQueue('big.b', Buffer.alloc(400 * 1024, i));
    await expectPausedAndStaying(socket, ch, 'big.b');
    expect(broker.queue('big.b').messageCount()).toBe(0);
  } finally {
    // the requeue finishes whatever the test saw (a broker left holding it would not stop)
    requeue.open();
  }
  expect((await get) && true).toBe(true);
  while ((await ch.checkQueue('big.b')).messageCount < 3);
  expect(socket.isPaused()).toBe(false);
  await other.close();
});

// review-s10 #5: the limit was per channel: channels of one connection each holding just under it
// (up to 2047 of them, 1 MiB each) never paused the reading
it('the held limit is the connection\'s: three channels each holding 800 KiB behind their basic.get pause its reading, which resumes after the answers', async () => {
  const ch = await conn.createChannel();
  await ch.assertQueue('big.c', { durable: false });
  const requeue = await requeueHeld(broker, conn, 'rq.c', 2000);

  const other = await connect(broker);
  const socket = serverSocket(other);
  const gets: Promise<unknown>[] = [];
  try {
    for (let c = 0; c < 3; c++) {
      const g = await other.createChannel();
      gets.push(g.get('rq.c', { noAck: true }));
      // 2 publishes of 400 KiB behind each get: under 1 MiB for each channel, 2.4 MiB for the connection
      for (let i = 0; i < 2; i++) g.sendToQueue('big.c', Buffer.alloc(400 * 1024, c));
    }
    await expectPausedAndStaying(socket, ch, 'big.c');
    expect(broker.queue('big.c').messageCount()).toBe(0);
  } finally {
    requeue.open();
  }
  expect((await Promise.all(gets)).every(Boolean)).toBe(true);
  while ((await ch.checkQueue('big.c')).messageCount < 6);
  expect(socket.isPaused()).toBe(false);
  await other.close();
});

// Found in the session 10 review (issue 18 #3, its AMQP side): after its wait a basic.get or a
// queue.purge looked its queue up by name again, and so was served by a queue declared under that
// name meanwhile
it('a basic.get and a queue.purge that waited behind a requeue answer for the queue they waited on: deleted and declared again meanwhile, they are 404 NOT_FOUND and the new queue keeps its message', async () => {
  const requeue = await requeueHeld(broker, conn, 'rq.d', 2000);
  const other = await connect(broker);
  const g = await other.createChannel();
  const p = await other.createChannel();
  const gClosed = new Promise<unknown>((resolve) => g.on('error', resolve));
  const pClosed = new Promise<unknown>((resolve) => p.on('error', resolve));
  const get = g.get('rq.d', { noAck: true }).catch((e: unknown) => e);
  const purge = p.purgeQueue('rq.d').catch((e: unknown) => e);
  try {
    const ping = await other.createChannel();
    while (answersWaiting(requeue.queue) < 2) await ping.checkQueue('rq.d');
    // deleted and declared again in one turn (two clients' frames read in one slice), before the waiting answers' turn
    const v = broker.core.vhost('/')!;
    v.deleteQueue('rq.d', false, false, null);
    v.declareQueue('rq.d', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
    broker.publish('', 'rq.d', Buffer.from('of the new queue'));
  } finally {
    requeue.open();
  }
  // the answers: the channels closed with 404 (before: a get-ok of the new queue's message, a purge-ok of 1)
  const notFound = "404 (NOT-FOUND) with message \"NOT_FOUND - no queue 'rq.d' in vhost '/'\"";
  expect(String(await get)).toContain(notFound);
  expect(String(await purge)).toContain(notFound);
  expect(String(await gClosed)).toContain(notFound);
  expect(String(await pClosed)).toContain(notFound);
  expect(broker.queue('rq.d').messages().map((m) => m.text())).toEqual(['of the new queue']);
  await other.close();
});
