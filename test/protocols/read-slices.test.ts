import type { ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';
import { stompitConnect } from '../helpers/stomp.js';

// A client's input is processed in slices of time (protocols/common/read-slices.ts,
// limits.readSliceMs): once one read has been processed that long, the rest waits for the
// next turn of the event loop, so other sockets, timers and the disk's completions (what
// releases confirms) are not held behind a read of thousands of frames (issue 18 part 3: a
// fresh broker spent 40-73 ms on one 64 KiB read while an ended fsync waited behind it).
// A slice of 1 µs is over at the first look at the clock (every 8 frames): each turn then
// handles about 8 frames, which the tests see as a few messages routed per turn (an AMQP publish
// is 3 frames, a STOMP SEND one) — and every message still arrives, in order, once. Default slices (5 ms) are bench/'s: bench/confirm-latency.ts, traced-broker.ts.

const TINY = 0.001;
/**
 * at most this many messages routed between two ticks: a slice is ~8 frames, and two may fall
 * between ticks (a fresh read in the poll phase, a queued rest in the check phase)
 */
const FEW = 24;
const N = 3000;

const brokers: LocalMQ[] = [];
const conns: ChannelModel[] = [];

afterEach(async () => {
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop();
});

async function start(readSliceMs: number): Promise<LocalMQ> {
  const broker = await startBroker({ limits: { readSliceMs } });
  brokers.push(broker);
  return broker;
}

/**
 * Counts the messages the core routes in each turn of the event loop (a setImmediate
 * ticker) until `total` have been routed; resolves with the most routed in one turn.
 */
function routedPerTurn(broker: LocalMQ, total: number): Promise<number> {
  let routed = 0;
  let lastTick = 0;
  let most = 0;
  const onPublished = () => void routed++;
  broker.core.on('published', onPublished);
  return new Promise((resolve) => {
    const tick = () => {
      most = Math.max(most, routed - lastTick);
      lastTick = routed;
      if (routed >= total) {
        broker.core.off('published', onPublished);
        resolve(most);
      } else setImmediate(tick);
    };
    setImmediate(tick);
  });
}

function bodies(broker: LocalMQ, queue: string): string[] {
  return broker.queue(queue).messages().map((m) => m.body.toString());
}

const expected = Array.from({ length: N }, (_, i) => `m${i}`);

describe('input read in slices of time', () => {
  it('AMQP: a burst of publishes is routed a few frames per turn, every one confirmed, in order', async () => {
    const broker = await start(TINY);
    const conn = await connect(broker);
    conns.push(conn);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('sliced', { durable: false });
    const perTurn = routedPerTurn(broker, N);
    // all written before the broker reads any: it gets them in reads of up to 64 KiB
    for (const body of expected) ch.sendToQueue('sliced', Buffer.from(body));
    await ch.waitForConfirms();
    expect(await perTurn).toBeLessThanOrEqual(FEW);
    expect(bodies(broker, 'sliced')).toEqual(expected);
    // the socket reads again once the last slice is done: a round trip on the same connection
    expect((await ch.checkQueue('sliced')).messageCount).toBe(N);
  });

  it('AMQP: with readSliceMs 0 a read is processed whole (hundreds routed in one turn)', async () => {
    const broker = await start(0);
    const conn = await connect(broker);
    conns.push(conn);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('whole', { durable: false });
    const perTurn = routedPerTurn(broker, N);
    for (const body of expected) ch.sendToQueue('whole', Buffer.from(body));
    await ch.waitForConfirms();
    expect(await perTurn).toBeGreaterThan(100);
    expect(bodies(broker, 'whole')).toEqual(expected);
  });

  it('STOMP: a burst of SENDs is routed a few frames per turn, in order', async () => {
    const broker = await start(TINY);
    const client = await stompitConnect(broker);
    try {
      const perTurn = routedPerTurn(broker, N);
      for (const body of expected) {
        const frame = client.send({ destination: '/queue/sliced-stomp' });
        frame.end(body);
      }
      expect(await perTurn).toBeLessThanOrEqual(FEW);
      expect(bodies(broker, 'sliced-stomp')).toEqual(expected);
    } finally {
      await new Promise<void>((resolve) => client.disconnect(() => resolve()));
    }
  });

  it('MQTT: a burst of QoS 1 PUBLISHes is routed a few packets per turn, every one PUBACKed, delivered in order', async () => {
    const broker = await start(TINY);
    const sub = await mqttConnect(broker, { clientId: 'sliced-sub' });
    const pub = await mqttConnect(broker, { clientId: 'sliced-pub' });
    try {
      await subscribe(sub, 'sliced/mqtt', 1);
      const got = inbox(sub);
      const perTurn = routedPerTurn(broker, N);
      const acked = Promise.all(expected.map((body) => pub.publishAsync('sliced/mqtt', body, { qos: 1 })));
      expect(await perTurn).toBeLessThanOrEqual(FEW);
      await acked;
      expect((await got.count(N)).map((m) => m.payload.toString())).toEqual(expected);
    } finally {
      await pub.endAsync();
      await sub.endAsync();
    }
  });

  it('the alarm pausing the reading while input waits for its slice: the input is handled, the socket resumes only once the alarm clears', async () => {
    const broker = await start(TINY);
    const conn = await connect(broker);
    conns.push(conn);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('paused', { durable: false });
    const alarms = broker.core.alarms;
    let routed = 0;
    let alarmOn = false;
    const onPublished = () => {
      routed++;
      // the alarm goes on mid-burst (the connection published: its reading is paused) and is
      // cleared while what was read already still waits for its slices
      if (routed === 100) {
        alarms.setMemory(true);
        alarmOn = true;
        setImmediate(() => {
          alarms.setMemory(false);
          alarmOn = false;
        });
      }
    };
    broker.core.on('published', onPublished);
    try {
      for (const body of expected) ch.sendToQueue('paused', Buffer.from(body));
      await ch.waitForConfirms();
      expect(alarmOn).toBe(false);
      expect(bodies(broker, 'paused')).toEqual(expected);
      // reading resumed: another publish and a round trip on the same connection are served
      ch.sendToQueue('paused', Buffer.from('after'));
      await ch.waitForConfirms();
      expect((await ch.checkQueue('paused')).messageCount).toBe(N + 1);
    } finally {
      broker.core.off('published', onPublished);
    }
  });
});
