import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { call } from '../helpers/management.js';

// Issue 18 part 5: an operation on a queue of ≥ 500 k messages must not hold the event loop
// — other clients keep being served while the broker works through it (the queue settles
// what a purge or a mass expiry took out a slice at a time, a bounded number of messages per
// turn of the event loop). Asserted by what another connection sees, not by timing: its
// round trips are answered while the work is still under way. Durations are bench/'s
// (bench/big-queue-blocking.ts). queue.delete lets go of a queue's messages at once (no
// work left behind): test/amqp/huge-queues.test.ts deletes a million.

const COUNT = 500_000;
/** dead-lettering makes a copy of each message: fewer keep the suite's time down, still many slices */
const NACKED = 100_000;
/** the management API's get answers a JSON array of them (~150 bytes each): fewer keep the test's parsing down */
const GOT = 100_000;

let broker: LocalMQ;
let conn: ChannelModel;
let ch: Channel;
/** the other client, which only asks queue.declare(passive) round trips */
let other: ChannelModel;
let ping: Channel;

beforeAll(async () => {
  // no cap on a connection's unacked deliveries (RabbitMQ has none): the tests hold 500 k unacked on one
  broker = await startBroker({ limits: { maxUnackedPerConnection: 0 } });
  conn = await connect(broker);
  ch = await conn.createChannel();
  other = await connect(broker);
  ping = await other.createChannel();
  await ping.assertQueue('ping', { durable: false });
});

afterAll(async () => {
  await other?.close();
  await conn?.close();
  await broker?.stop();
});

/** resolves once `queue` holds `n` messages: checked now and each time the core routes a message (a dead-letter is one) */
function untilHolds(queue: string, n: number): Promise<void> {
  const q = broker.core.vhost('/')!.getQueue(queue)!;
  if (q.messageCount >= n) return Promise.resolve();
  return new Promise((resolve) => {
    const check = () => {
      if (q.messageCount < n) return;
      broker.core.off('published', check);
      resolve();
    };
    broker.core.on('published', check);
  });
}

/** COUNT messages published from the server side (one body object) */
function fill(queue: string): void {
  const body = Buffer.from('m');
  for (let i = 0; i < COUNT; i++) broker.publish('', queue, body);
  expect(broker.queue(queue).messageCount()).toBe(COUNT);
}

/**
 * until `q` has `n` unacked: an in-process consumer with no window whose sink never pushes back is
 * handed them a slice at a time (the dispatch goes on in the broker's sliced work past its deadline)
 */
async function untilUnacked(q: { readonly unackedCount: number }, n: number): Promise<void> {
  while (q.unackedCount < n) await new Promise((resolve) => setImmediate(resolve));
}

/**
 * The other client's round trips while `busy()` says the broker is still at it: returns how
 * many were answered in the middle (each records `progress()` when its answer came).
 */
async function servedWhile(busy: () => boolean, progress: () => number): Promise<number[]> {
  const seen: number[] = [];
  while (busy()) {
    await ping.checkQueue('ping');
    if (busy()) seen.push(progress());
  }
  return seen;
}

describe(`a queue of ${COUNT} messages stays responsive`, () => {
  it('queue.purge answers purge-ok with the count at once, drops the messages in slices while another client is served, and later messages stay', async () => {
    await ch.assertQueue('big.purge', { durable: false });
    fill('big.purge');
    const q = () => broker.core.vhost('/')!.getQueue('big.purge')!;
    let dropped = 0;
    const onSettled = (queue: { name: string }, _e: unknown, how: string) => {
      if (queue.name === 'big.purge' && how === 'dropped') dropped++;
    };
    broker.core.on('settled', onSettled);
    try {
      expect(await ch.purgeQueue('big.purge')).toEqual({ messageCount: COUNT });
      // the queue is empty for every later operation at once
      expect(broker.queue('big.purge').messageCount()).toBe(0);
      ch.sendToQueue('big.purge', Buffer.from('after the purge'));
      const seen = await servedWhile(() => q().settling > 0, () => dropped);
      // answered between slices: some of the purged messages were settled, not all
      expect(seen.some((n) => n > 0 && n < COUNT)).toBe(true);
      expect(dropped).toBe(COUNT);
    } finally {
      broker.core.off('settled', onSettled);
    }
    // the message published after the purge was not taken by it
    const got = await ch.get('big.purge', { noAck: true });
    expect(got && got.content.toString()).toBe('after the purge');
    expect(got && got.fields.messageCount).toBe(0);
  });

  it('TTL expiry of every message at once takes them off a slice at a time while another client is served', async () => {
    await ch.assertQueue('big.ttl', { durable: false, arguments: { 'x-message-ttl': 1 } });
    fill('big.ttl');
    const q = broker.core.vhost('/')!.getQueue('big.ttl')!;
    // the queue's expiry timer fires once the fill (synchronous) is over
    const seen = await servedWhile(() => q.messageCount > 0 || q.settling > 0, () => q.messageCount);
    expect(seen.some((n) => n > 0 && n < COUNT)).toBe(true);
    expect(q.stats.expired).toBe(COUNT);
    expect((await ch.checkQueue('big.ttl')).messageCount).toBe(0);
  });

  it('a channel closing with all of them unacked returns them in slices while another client is served; order holds', async () => {
    await ch.assertQueue('big.requeue', { durable: false });
    for (let i = 0; i < COUNT; i++) broker.publish('', 'big.requeue', Buffer.from(String(i)));
    const v = broker.core.vhost('/')!;
    const q = v.getQueue('big.requeue')!;
    // a consumer in the broker's own process takes every message unacked (its sink never pushes back)
    const takeAll = async () => {
      const session = broker.core.openSession(v, {});
      session.consume('big.requeue', { tag: 'all', noAck: false, exclusive: false, priority: 0, arguments: {} }, {
        deliver: () => undefined,
        isWritable: () => true,
        cancelledByBroker: () => undefined,
      });
      await untilUnacked(q, COUNT);
      expect(q.unackedCount).toBe(COUNT);
      return session;
    };
    (await takeAll()).close();
    const seen = await servedWhile(() => q.messageCount < COUNT, () => q.messageCount);
    expect(seen.some((n) => n > 0 && n < COUNT)).toBe(true);
    expect(q.unackedCount).toBe(0);
    // a basic.get while they are still coming back finds the first one in its place, redelivered
    (await takeAll()).close();
    expect(q.messageCount).toBeLessThan(COUNT);
    const got = await ch.get('big.requeue', { noAck: true });
    expect(got && [got.content.toString(), got.fields.redelivered, got.fields.messageCount]).toEqual(['0', true, COUNT - 1]);
  });
  it('peek() through the test API returns every message ready when called, in order, copied and built in slices while another client is served and a consumer takes from the head', async () => {
    await ch.assertQueue('big.peek', { durable: false });
    for (let i = 0; i < COUNT; i++) broker.publish('', 'big.peek', Buffer.from(String(i)));
    let done = false;
    let built = 0;
    const peek = broker.queue('big.peek').peek().then((all) => {
      done = true;
      built = all.length;
      return all;
    });
    // meanwhile a consumer takes (and acks) from the head, and a message is published behind
    const c = await conn.createChannel();
    await c.prefetch(50);
    let taken = 0;
    const tookSome = new Promise<void>((resolve) => {
      void c.consume('big.peek', (m) => {
        c.ack(m!);
        if (++taken === 2_000) resolve();
      });
    });
    broker.publish('', 'big.peek', Buffer.from('later'));
    const seen = await servedWhile(() => !done, () => built);
    // answered while the peek was still being built
    expect(seen.length).toBeGreaterThan(0);
    await tookSome;
    await c.close();
    const all = await peek;
    expect(all.length).toBe(COUNT);
    let outOfPlace = 0;
    for (let i = 0; i < COUNT; i++) if (all[i]!.text() !== String(i) || all[i]!.redelivered) outOfPlace++;
    expect(outOfPlace).toBe(0);
    // nothing was consumed by the peek: what is left is what the consumer did not take, and the later one
    const left = broker.queue('big.peek').messageCount();
    expect(left).toBe(COUNT + 1 - broker.core.vhost('/')!.getQueue('big.peek')!.stats.acked);
    expect(left).toBeLessThanOrEqual(COUNT + 1 - 2_000);
    expect((await broker.queue('big.peek').peek(2)).map((m) => m.text())).toEqual(broker.queue('big.peek').messages(2).map((m) => m.text()));
    await ch.deleteQueue('big.peek');
  });

  it('a queue deleted while peek() copies it: peek() answers the messages it had copied, the first ones in order; the delete copies none of the rest (it copied them all in one turn: 14.9 s at 1M)', async () => {
    await ch.assertQueue('big.peek.del', { durable: false });
    for (let i = 0; i < COUNT; i++) broker.publish('', 'big.peek.del', Buffer.from(String(i)));
    const peek = broker.queue('big.peek.del').peek();
    // the copy's first slice runs in this check phase (peek() queued it): the delete comes right after it
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(broker.core.vhost('/')!.deleteQueue('big.peek.del', false, false, null)).toBe(COUNT);
    const got = await peek;
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(COUNT);
    let outOfPlace = 0;
    for (let i = 0; i < got.length; i++) if (got[i]!.text() !== String(i) || got[i]!.redelivered) outOfPlace++;
    expect(outOfPlace).toBe(0);
  });

  it(`basic.nack multiple of ${NACKED} unacked (requeue=false) dead-letters each once, in order, in slices while another client is served`, async () => {
    const COUNT = NACKED;
    await ch.assertQueue('big.nack.dlq', { durable: false });
    await ch.assertQueue('big.nack', { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'big.nack.dlq' } });
    for (let i = 0; i < COUNT; i++) broker.publish('', 'big.nack', Buffer.from(String(i)));
    const v = broker.core.vhost('/')!;
    const q = v.getQueue('big.nack')!;
    const dlq = v.getQueue('big.nack.dlq')!;
    // a consumer in the broker's own process takes every message unacked
    const session = broker.core.openSession(v, {});
    let last = 0;
    session.consume('big.nack', { tag: 'all', noAck: false, exclusive: false, priority: 0, arguments: {} }, {
      deliver: (d) => {
        last = d.tag;
      },
      isWritable: () => true,
      cancelledByBroker: () => undefined,
    });
    await untilUnacked(q, COUNT);
    expect(q.unackedCount).toBe(COUNT);
    session.nack(last, true, false);
    // the client's tags are settled at once: a second ack of one is an unknown tag (406, as RabbitMQ)
    expect(session.unackedCount).toBe(0);
    expect(() => session.ack(1, false)).toThrow(/unknown delivery tag 1/);
    const seen = await servedWhile(() => dlq.messageCount < COUNT, () => dlq.messageCount);
    expect(seen.some((n) => n > 0 && n < COUNT)).toBe(true);
    expect(q.unackedCount).toBe(0);
    expect(q.messageCount).toBe(0);
    // every message dead-lettered once, in the order it was published
    const bodies = dlq.peekMessages();
    expect(bodies.length).toBe(COUNT);
    let outOfPlace = 0;
    for (let i = 0; i < COUNT; i++) if (bodies[i]!.message.body.toString() !== String(i)) outOfPlace++;
    expect(outOfPlace).toBe(0);
    session.close();
    await ch.deleteQueue('big.nack');
    await ch.deleteQueue('big.nack.dlq');
  });
});

describe('messages that leave in bulk keep their order', () => {
  it('a mass expiry dead-letters them in publish order', async () => {
    const n = 5_000; // several settle chunks: goes through the sliced path
    await ch.assertQueue('order.dlq', { durable: false });
    await ch.assertQueue('order.src', {
      durable: false,
      arguments: { 'x-message-ttl': 1, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'order.dlq' },
    });
    for (let i = 0; i < n; i++) broker.publish('', 'order.src', Buffer.from(String(i)));
    await untilHolds('order.dlq', n);
    const bodies = broker.queue('order.dlq').messages().map((m) => Number(m.text()));
    expect(bodies).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(broker.queue('order.src').messageCount()).toBe(0);
  });

  it('basic.nack multiple to a DLX over a real channel, then a reject of a later one: each dead-lettered once, in the client\'s order', async () => {
    const n = 2_000; // more than one settle chunk: the nack goes through the sliced path
    await ch.assertQueue('nack.dlq', { durable: false });
    await ch.assertQueue('nack.src', { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'nack.dlq' } });
    for (let i = 0; i <= n; i++) broker.publish('', 'nack.src', Buffer.from(String(i)));
    const c = await conn.createChannel();
    const got: import('amqplib').ConsumeMessage[] = [];
    const all = new Promise<void>((resolve) => {
      void c.consume('nack.src', (m) => {
        got.push(m!);
        if (got.length === n + 1) resolve();
      });
    });
    await all;
    c.nack(got[n - 1]!, true, false);
    c.reject(got[n]!, false);
    await untilHolds('nack.dlq', n + 1);
    expect(broker.queue('nack.dlq').messages().map((m) => Number(m.text()))).toEqual(Array.from({ length: n + 1 }, (_, i) => i));
    // the channel is still open and the source empty, nothing unacked
    expect(await c.checkQueue('nack.src')).toMatchObject({ messageCount: 0 });
    await c.close();
    expect(broker.core.vhost('/')!.getQueue('nack.src')!.unackedCount).toBe(0);
  });

  it('basic.nack multiple with requeue of two queues\' deliveries on one channel: each queue gets its own back in order; a queue whose deliveries were all acked before is not held', async () => {
    const n = 1_500; // two queues' worth past one settle chunk: the nack goes through the sliced path
    for (const name of ['rq.a', 'rq.b', 'rq.c']) await ch.assertQueue(name, { durable: false });
    for (let i = 0; i < n; i++) {
      broker.publish('', 'rq.a', Buffer.from(`a${i}`));
      broker.publish('', 'rq.b', Buffer.from(`b${i}`));
    }
    for (let i = 0; i < 10; i++) broker.publish('', 'rq.c', Buffer.from(`c${i}`));
    const c = await conn.createChannel();
    const got: import('amqplib').ConsumeMessage[] = [];
    const tags: string[] = [];
    // rq.c's deliveries first, each acked: the channel's books held rq.c and hold none of it now
    const cTaken = new Promise<void>((resolve) => {
      let k = 0;
      void c.consume('rq.c', (m) => {
        c.ack(m!);
        if (++k === 10) resolve();
      }).then((ok) => tags.push(ok.consumerTag));
    });
    await cTaken;
    const all = new Promise<void>((resolve) => {
      const take = (m: import('amqplib').ConsumeMessage | null) => {
        got.push(m!);
        if (got.length === 2 * n) resolve();
      };
      void c.consume('rq.a', take).then((ok) => tags.push(ok.consumerTag));
      void c.consume('rq.b', take).then((ok) => tags.push(ok.consumerTag));
    });
    await all;
    for (const t of tags) await c.cancel(t);
    const v = broker.core.vhost('/')!;
    expect(v.getQueue('rq.a')!.unackedCount + v.getQueue('rq.b')!.unackedCount).toBe(2 * n);
    // opened first: its basic.get follows the nack on the same socket
    const other = await conn.createChannel();
    // how many of rq.a's and rq.b's were back when the broker served rq.c's get (its 'delivered' comes within the get)
    let backWhenServed = -1;
    const onDelivered = (q: { name: string }) => {
      if (q.name === 'rq.c') backWhenServed = v.getQueue('rq.a')!.messageCount + v.getQueue('rq.b')!.messageCount;
    };
    broker.core.on('delivered', onDelivered);
    // bulk work that lasts until rq.c's get is served: the requeue queued behind it cannot have run by then
    // unless a queue it holds finishes it at once (which is what a held rq.c would do)
    broker.core.bulkWork.add({ step: () => backWhenServed >= 0 });
    c.nack(got[got.length - 1]!, true, true);
    // rq.c is served meanwhile: a message published to it now is there for a basic.get
    broker.publish('', 'rq.c', Buffer.from('c-after'));
    const fromC = await other.get('rq.c', { noAck: true });
    broker.core.off('delivered', onDelivered);
    expect(fromC && [fromC.content.toString(), fromC.fields.redelivered]).toEqual(['c-after', false]);
    // ... before any of the requeue: a queue held by it would have finished it first
    expect(backWhenServed).toBe(0);
    // requeues are not publishes: wait with the other client's round trips
    await servedWhile(() => v.getQueue('rq.a')!.messageCount < n || v.getQueue('rq.b')!.messageCount < n, () => 0);
    // every message back in its place, flagged redelivered, nothing unacked
    for (const [name, prefix] of [['rq.a', 'a'], ['rq.b', 'b']] as const) {
      const back = broker.queue(name).messages();
      expect(back.map((m) => m.text())).toEqual(Array.from({ length: n }, (_, i) => `${prefix}${i}`));
      expect(back.every((m) => m.redelivered)).toBe(true);
      expect(v.getQueue(name)!.unackedCount).toBe(0);
    }
    const first = await other.get('rq.a', { noAck: true });
    expect(first && [first.content.toString(), first.fields.redelivered]).toEqual(['a0', true]);
    await other.close();
    await c.close();
    for (const name of ['rq.a', 'rq.b', 'rq.c']) await ch.deleteQueue(name);
  });

  it('basic.nack multiple with requeue up to a tag holds only the queues of the deliveries it takes: a queue the channel also consumes from, whose deliveries come after the tag, is not held', async () => {
    const v = broker.core.vhost('/')!;
    // older first, then newer: the nack covers the older queue's deliveries only (taken side copied,
    // then the kept side copied: both ways the book is split)
    for (const [older, newer, n, m] of [['rq.old', 'rq.new', 600, 10], ['rq.old2', 'rq.new2', 10, 600]] as const) {
      for (const name of [older, newer]) await ch.assertQueue(name, { durable: false });
      for (let i = 0; i < n; i++) broker.publish('', older, Buffer.from(`o${i}`));
      const c = await conn.createChannel();
      const got: import('amqplib').ConsumeMessage[] = [];
      const tags: string[] = [];
      await new Promise<void>((resolve) => {
        void c.consume(older, (msg) => got.push(msg!) === n && resolve()).then((ok) => tags.push(ok.consumerTag));
      });
      for (let i = 0; i < m; i++) broker.publish('', newer, Buffer.from(`n${i}`));
      await new Promise<void>((resolve) => {
        void c.consume(newer, (msg) => got.push(msg!) === n + m && resolve()).then((ok) => tags.push(ok.consumerTag));
      });
      for (const t of tags) await c.cancel(t);
      const getter = await other.createChannel();
      broker.publish('', newer, Buffer.from('after'));
      // the requeue is held back in the bulk work until the newer queue's get is served
      let backWhenServed = -1;
      const onDelivered = (q: { name: string }) => {
        if (q.name === newer) backWhenServed = v.getQueue(older)!.messageCount;
      };
      broker.core.on('delivered', onDelivered);
      broker.core.bulkWork.add({ step: () => backWhenServed >= 0 });
      c.nack(got[n - 1]!, true, true);
      const fromNewer = await getter.get(newer, { noAck: true });
      broker.core.off('delivered', onDelivered);
      expect(fromNewer && fromNewer.content.toString()).toBe('after');
      // served before any of the requeue ran: the newer queue was not held by it
      expect(backWhenServed).toBe(0);
      await servedWhile(() => v.getQueue(older)!.messageCount < n, () => 0);
      expect(broker.queue(older).messages().map((x) => `${x.text()}${x.redelivered ? 'r' : ''}`)).toEqual(Array.from({ length: n }, (_, i) => `o${i}r`));
      expect(v.getQueue(newer)!.unackedCount).toBe(m);
      await getter.close();
      await c.close();
      for (const name of [older, newer]) await ch.deleteQueue(name);
    }
  });

  it('peek() right after a channel closed with many unacked shows them back in their places, flagged redelivered', async () => {
    const n = 2_000; // past one settle chunk: the close returns them in slices
    await ch.assertQueue('rq.peek', { durable: false });
    for (let i = 0; i < n + 5; i++) broker.publish('', 'rq.peek', Buffer.from(String(i)));
    const c = await conn.createChannel();
    await c.prefetch(n);
    let got = 0;
    await new Promise<void>((resolve) => void c.consume('rq.peek', () => ++got === n && resolve()));
    // the bulk work is held until peek() is called: the returns are still on their way then
    let called = false;
    broker.core.bulkWork.add({ step: () => called });
    await c.close();
    const q = broker.core.vhost('/')!.getQueue('rq.peek')!;
    const inFlight = q.returnsInFlight;
    const peek = broker.queue('rq.peek').peek();
    called = true;
    const all = await peek;
    expect(all.map((m) => `${m.text()}${m.redelivered ? 'r' : ''}`)).toEqual([...Array.from({ length: n }, (_, i) => `${i}r`), ...[0, 1, 2, 3, 4].map((k) => String(n + k))]);
    // the returns were still on their way when peek() was called (the case this pins)
    expect(inFlight).toBe(true);
    await ch.deleteQueue('rq.peek');
  });

  it('basic.nack multiple with requeue of the older half after the newer half was acked one by one: all of it back in order, the broker goes on (it hung)', async () => {
    const n = 600; // past one settle chunk: the nack goes through the sliced path
    await ch.assertQueue('rq.split', { durable: false });
    for (let i = 0; i < 2 * n; i++) broker.publish('', 'rq.split', Buffer.from(`s${i}`));
    const c = await conn.createChannel();
    const got: import('amqplib').ConsumeMessage[] = [];
    let tag = '';
    await new Promise<void>((resolve) => {
      void c.consume('rq.split', (m) => {
        got.push(m!);
        if (got.length === 2 * n) resolve();
      }).then((ok) => (tag = ok.consumerTag));
    });
    await c.cancel(tag);
    // the newer half acked one at a time: the channel's book keeps its holes after the older half
    for (const m of got.slice(n)) c.ack(m);
    c.nack(got[n - 1]!, true, true);
    const v = broker.core.vhost('/')!;
    await servedWhile(() => v.getQueue('rq.split')!.messageCount < n, () => 0);
    const back = broker.queue('rq.split').messages();
    expect(back.map((m) => m.text())).toEqual(Array.from({ length: n }, (_, i) => `s${i}`));
    expect(back.every((m) => m.redelivered)).toBe(true);
    expect(v.getQueue('rq.split')!.unackedCount).toBe(0);
    // the channel goes on: a new delivery and its ack
    broker.publish('', 'rq.split', Buffer.from('after'));
    const last = await c.get('rq.split', { noAck: false });
    expect(last && last.content.toString()).toBe('s0');
    c.ack(last as import('amqplib').GetMessage);
    await c.close();
    await ch.deleteQueue('rq.split');
  });

  it('a channel that took a basic.get from one queue, acked it, then closes with many unacked of another: the first queue\'s consumer keeps receiving while they come back (it was held for the whole requeue)', async () => {
    const n = 2_000; // past one settle chunk: the close returns them through the sliced path
    for (const name of ['rq.getb', 'rq.geta']) await ch.assertQueue(name, { durable: false });
    const v = broker.core.vhost('/')!;
    const [qa, qb] = [v.getQueue('rq.geta')!, v.getQueue('rq.getb')!];
    for (let i = 0; i < n; i++) broker.publish('', 'rq.geta', Buffer.from(`a${i}`));
    broker.publish('', 'rq.getb', Buffer.from('b0'));
    const x = await conn.createChannel();
    const got = await x.get('rq.getb', { noAck: false });
    expect(got && got.content.toString()).toBe('b0');
    x.ack(got as import('amqplib').GetMessage);
    await new Promise<void>((resolve) => {
      let k = 0;
      void x.consume('rq.geta', () => ++k === n && resolve());
    });
    const y = await other.createChannel();
    const fromB: string[] = [];
    let onB: () => void = () => undefined;
    await y.consume('rq.getb', (m) => {
      fromB.push(m!.content.toString());
      y.ack(m!);
      onB();
    });
    // the bulk work is held until opened: the close's requeue waits behind it
    let open = false;
    broker.core.bulkWork.add({ step: () => open });
    try {
      await x.close();
      expect([qa.returnsInFlight, qb.returnsInFlight]).toEqual([true, false]);
      // rq.getb delivers at once, none of rq.geta's being back yet
      const delivered = qb.stats.delivered;
      const three = new Promise<void>((resolve) => (onB = () => fromB.length === 3 && resolve()));
      for (let i = 1; i <= 3; i++) broker.publish('', 'rq.getb', Buffer.from(`b${i}`));
      expect(qb.stats.delivered - delivered).toBe(3);
      await three;
      expect(fromB).toEqual(['b1', 'b2', 'b3']);
      expect(qa.messageCount).toBe(0);
    } finally {
      // failed or not, the bulk work goes on (the broker's stop finishes it)
      open = true;
    }
    await servedWhile(() => qa.messageCount < n, () => 0);
    expect(broker.queue('rq.geta').messages().map((m) => `${m.text()}${m.redelivered ? 'r' : ''}`)).toEqual(Array.from({ length: n }, (_, i) => `a${i}r`));
    await y.close();
    for (const name of ['rq.getb', 'rq.geta']) await ch.deleteQueue(name);
  });

  it('a channel closing with many unacked while another consumer of the queue keeps acking: the other gets them first, in order, flagged redelivered, then the rest; its ack does not make the queue finish the requeue at once', async () => {
    // RabbitMQ 3.10.8, asked (amqplib, a classic queue, A prefetch n then closed, B prefetch 1 acking;
    // also with A's basic.nack multiple requeue): B got n, then 0r 1r … (n-1)r, then n+1, n+2 …
    const n = 2_000; // past one settle chunk: the close returns them through the sliced path
    await ch.assertQueue('rq.busy', { durable: false });
    for (let i = 0; i < n + 50; i++) broker.publish('', 'rq.busy', Buffer.from(String(i)));
    const q = broker.core.vhost('/')!.getQueue('rq.busy')!;
    const a = await conn.createChannel();
    await a.prefetch(n);
    let aGot = 0;
    await new Promise<void>((resolve) => void a.consume('rq.busy', () => ++aGot === n && resolve()));
    const b = await other.createChannel();
    await b.prefetch(1);
    const seq: string[] = [];
    let held: import('amqplib').ConsumeMessage | undefined;
    let onB: () => void = () => undefined;
    await new Promise<void>((resolve) => {
      onB = resolve;
      void b.consume('rq.busy', (m) => {
        seq.push(`${m!.content.toString()}${m!.fields.redelivered ? 'r' : ''}`);
        if (!held) held = m!;
        else b.ack(m!);
        onB();
      });
    });
    expect(seq).toEqual([String(n)]);
    // the bulk work is held until the broker has taken B's ack: the requeue cannot have run by then
    const acked = q.stats.acked;
    let whenAcked: { delivered: number; ready: number } | undefined;
    broker.core.bulkWork.add({
      step: () => {
        if (q.stats.acked === acked) return false;
        whenAcked = { delivered: q.stats.delivered, ready: q.messageCount };
        return true;
      },
    });
    const delivered = q.stats.delivered;
    await a.close();
    const all = new Promise<void>((resolve) => (onB = () => seq.length === n + 6 && resolve()));
    b.ack(held!);
    await all;
    // B's ack neither finished the requeue nor got B a later message: nothing delivered, nothing back yet
    expect(whenAcked).toEqual({ delivered, ready: 49 });
    expect(seq.slice(0, 3)).toEqual([String(n), '0r', '1r']);
    expect(seq).toEqual([String(n), ...Array.from({ length: n }, (_, i) => `${i}r`), ...[1, 2, 3, 4, 5].map((k) => String(n + k))]);
    await b.close();
    await ch.deleteQueue('rq.busy');
  });

  /**
   * `n + 5` messages in `queue`, the first n taken unacked by a channel that then closes while the
   * broker's bulk work is held by a gate: the requeue waits behind it until `open()`
   */
  async function requeueHeld(queue: string, n: number): Promise<{ open: () => void }> {
    await ch.assertQueue(queue, { durable: false });
    for (let i = 0; i < n + 5; i++) broker.publish('', queue, Buffer.from(String(i)));
    const a = await conn.createChannel();
    await a.prefetch(n);
    let got = 0;
    await new Promise<void>((resolve) => void a.consume(queue, () => ++got === n && resolve()));
    let opened = false;
    broker.core.bulkWork.add({ step: () => opened });
    // a failed test must not leave the broker's bulk work held for the next ones
    openGate = () => (opened = true);
    await a.close();
    expect(broker.core.vhost('/')!.getQueue(queue)!.returnsInFlight).toBe(true);
    return { open: openGate };
  }
  let openGate: (() => void) | undefined;
  afterEach(() => openGate?.());

  it('basic.get while a closed channel\'s unacked are coming back waits its turn behind the requeue (it made the queue put them all back at once: 133-176 ms at 1M), then gets the first one back in its place; the channel\'s later frames wait behind it, its connection\'s other channels go on', async () => {
    // RabbitMQ 3.10.8, asked (amqplib: A prefetch n closes, B basic.get at once): B gets 0, redelivered, message count n + 4
    const n = 2_000; // past one settle chunk: the close returns them in slices
    const { open } = await requeueHeld('rq.get', n);
    await ch.assertQueue('rq.get.after', { durable: false });
    const q = broker.core.vhost('/')!.getQueue('rq.get')!;
    const g = await other.createChannel();
    let answered = false;
    const get = g.get('rq.get', { noAck: true }).then((m) => {
      answered = true;
      return m;
    });
    // sent after the get on the same channel: handled after its answer
    g.sendToQueue('rq.get.after', Buffer.from('after the get'));
    // a round trip on another channel of the same connection: by its answer the broker has read the get and the publish
    const g2 = await other.createChannel();
    expect((await g2.checkQueue('rq.get')).messageCount).toBe(5);
    expect(answered).toBe(false);
    // none back: the get did not make the queue finish the requeue; the publish behind it waits
    expect(q.messageCount).toBe(5);
    expect(broker.queue('rq.get.after').messageCount()).toBe(0);
    // 600 more publishes behind the get (1800 frames: past 1024 held, the connection's reading pauses until it answers)
    for (let i = 0; i < 600; i++) g.sendToQueue('rq.get.after', Buffer.from(String(i)));
    open();
    const m = await get;
    expect(m && [m.content.toString(), m.fields.redelivered, m.fields.messageCount]).toEqual(['0', true, n + 4]);
    await untilHolds('rq.get.after', 601);
    expect(broker.queue('rq.get.after').messages().map((x) => x.text())).toEqual(['after the get', ...Array.from({ length: 600 }, (_, i) => String(i))]);
    // the channel goes on
    expect(await g.checkQueue('rq.get')).toMatchObject({ messageCount: n + 4 });
    await g.close();
    await g2.close();
    await ch.deleteQueue('rq.get');
    await ch.deleteQueue('rq.get.after');
  });

  it('queue.purge (and the management API\'s purge) while a closed channel\'s unacked are coming back wait for them, then purge them too', async () => {
    // RabbitMQ 3.10.8, asked (amqplib: A prefetch n closes, B queue.purge at once): purge-ok message count n + 5
    const n = 2_000;
    const { open } = await requeueHeld('rq.purge', n);
    const q = broker.core.vhost('/')!.getQueue('rq.purge')!;
    const p = await other.createChannel();
    let answered = false;
    const purge = p.purgeQueue('rq.purge').then((r) => {
      answered = true;
      return r;
    });
    const p2 = await other.createChannel();
    await p2.checkQueue('rq.purge');
    expect(answered).toBe(false);
    expect(q.messageCount).toBe(5);
    open();
    expect(await purge).toEqual({ messageCount: n + 5 });
    expect(q.messageCount).toBe(0);
    await p.close();
    await p2.close();

    // the management API's purge: whenever its request is read, the returning ones are purged too
    const again = await requeueHeld('rq.purge', n);
    const res = call(broker, 'DELETE', '/api/queues/%2F/rq.purge/contents');
    again.open();
    expect((await res).status).toBe(204);
    expect(q.messageCount).toBe(0);
    expect(q.unackedCount).toBe(0);
    await ch.deleteQueue('rq.purge');
  });

  it('the management API\'s get while a closed channel\'s unacked are coming back answers them back in their places, redelivered', async () => {
    const n = 2_000;
    const { open } = await requeueHeld('rq.mget', n);
    const answer = call(broker, 'POST', '/api/queues/%2F/rq.mget/get', { body: { count: 3, ackmode: 'ack_requeue_false', encoding: 'auto' } });
    open();
    const body = (await (await answer).json()) as { payload: string; redelivered: boolean; message_count: number }[];
    expect(body.map((m) => [m.payload, m.redelivered, m.message_count])).toEqual([
      ['0', true, n + 4],
      ['1', true, n + 3],
      ['2', true, n + 2],
    ]);
    await ch.deleteQueue('rq.mget');
  });

  it(`the management API's get of ${GOT} (ack_requeue_true) answers every one in order, taken in slices while another client is served; all are back after`, async () => {
    await ch.assertQueue('big.mget', { durable: false });
    for (let i = 0; i < GOT; i++) broker.publish('', 'big.mget', Buffer.from(String(i)));
    const q = broker.core.vhost('/')!.getQueue('big.mget')!;
    let done = false;
    const answer = call(broker, 'POST', '/api/queues/%2F/big.mget/get', { body: { count: GOT * 2, ackmode: 'ack_requeue_true', encoding: 'auto' } }).then(async (res) => {
      const body = (await res.json()) as { payload: string; redelivered: boolean; message_count: number; payload_bytes: number }[];
      done = true;
      return { status: res.status, body };
    });
    // progress: how many the get has taken so far (they are unacked until it settles them)
    const seen = await servedWhile(() => !done, () => q.unackedCount);
    expect(seen.some((n) => n > 0 && n < GOT)).toBe(true);
    const { status, body } = await answer;
    expect(status).toBe(200);
    expect(body.length).toBe(GOT);
    let wrong = 0;
    for (let i = 0; i < GOT; i++) {
      const m = body[i]!;
      if (m.payload !== String(i) || m.redelivered || m.message_count !== GOT - 1 - i || m.payload_bytes !== String(i).length) wrong++;
    }
    expect(wrong).toBe(0);
    // RabbitMQ's field order (rabbit_mgmt_wm_queue_get:basic_get), delivery_tag removed
    expect(Object.keys(body[0]!)).toEqual(['payload_bytes', 'redelivered', 'exchange', 'routing_key', 'message_count', 'properties', 'payload', 'payload_encoding']);
    // answered once they were requeued: all back, in order, each flagged redelivered
    expect(q.unackedCount).toBe(0);
    expect(q.messageCount).toBe(GOT);
    const first = await ch.get('big.mget', { noAck: true });
    expect(first && [first.content.toString(), first.fields.redelivered]).toEqual(['0', true]);
    await ch.deleteQueue('big.mget');
  });

  it('the management API\'s get with reject_requeue_false dead-letters what it took, in order; ack_requeue_false leaves the rest', async () => {
    const N = 20_000;
    await ch.assertQueue('big.mget.dlq', { durable: false });
    await ch.assertQueue('big.mget.rej', { durable: false, arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'big.mget.dlq' } });
    for (let i = 0; i < N; i++) broker.publish('', 'big.mget.rej', Buffer.from(String(i)));
    const rejected = await call(broker, 'POST', '/api/queues/%2F/big.mget.rej/get', { body: { count: N - 100, ackmode: 'reject_requeue_false', encoding: 'auto' } });
    expect(rejected.status).toBe(200);
    const rej = (await rejected.json()) as { payload: string }[];
    expect(rej.length).toBe(N - 100);
    const dlq = broker.core.vhost('/')!.getQueue('big.mget.dlq')!;
    // dead-lettered before the answer, in the order taken
    expect(dlq.messageCount).toBe(N - 100);
    expect(dlq.peekMessages().map((m) => m.message.body.toString())).toEqual(rej.map((m) => m.payload));
    expect(broker.queue('big.mget.rej').messageCount()).toBe(100);

    const taken = await call(broker, 'POST', '/api/queues/%2F/big.mget.dlq/get', { body: { count: N - 200, ackmode: 'ack_requeue_false', encoding: 'base64' } });
    const tk = (await taken.json()) as { payload: string; payload_encoding: string }[];
    expect(tk.length).toBe(N - 200);
    expect(tk[0]).toMatchObject({ payload: Buffer.from('0').toString('base64'), payload_encoding: 'base64' });
    expect(Buffer.from(tk.at(-1)!.payload, 'base64').toString()).toBe(String(N - 201));
    expect(dlq.messageCount).toBe(100);
    await ch.deleteQueue('big.mget.rej');
    await ch.deleteQueue('big.mget.dlq');
  });
});
