import { describe, expect, it } from 'vitest';
import { Broker } from '../../src/core/broker.js';
import type { ConsumerSink, Delivery } from '../../src/core/consumer.js';
import { Selector } from '../../src/core/selector/index.js';
import type { VHost } from '../../src/core/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { turnCounter } from '../helpers/turn-counter.js';
import { Collector, deliveredTo } from './helpers.js';

/**
 * Issue 18 point 5: a selector consumer with a large window took every message it had room for
 * in one dispatch (from a durable queue of a million, each read back from the journal: 21-55 ms a
 * dispatch at a window of 1000, the whole queue without a limit). A selective dispatch now stops
 * at its deadline and goes on in the broker's sliced work (DispatchSlices), other work served in
 * between: the same messages in the same order, nothing lost, nothing twice. Shown by what else
 * runs between the deliveries (a turn counter on the event loop), not by timing.
 */
type Kind = 'quorum' | 'classic';

function setup(kind: Kind): { broker: Broker; vhost: VHost } {
  const broker = new Broker(new MemoryStore());
  const vhost = broker.addVhost('/');
  const args = kind === 'quorum' ? { 'x-queue-type': 'quorum' } : { 'x-activemq-queue': true };
  vhost.declareQueue('q', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: args }, null);
  return { broker, vhost };
}

function send(vhost: VHost, body: string, x: number): void {
  vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: { headers: { x } }, body: Buffer.from(body), publishedAt: Date.now() });
}

/** a selector consumer (x = 2) with no window limit; each delivery notes the loop's turn it came in */
function selectorConsumer(broker: Broker, vhost: VHost, turns: { readonly turns: number }) {
  const session = broker.openSession(vhost, {});
  session.consumerPrefetch = 0;
  const got: Delivery[] = [];
  const inTurn: number[] = [];
  const sink: ConsumerSink = {
    deliver: (d) => {
      got.push(d);
      inTurn.push(turns.turns);
    },
    isWritable: () => true,
    cancelledByBroker: () => undefined,
  };
  session.consume('q', { tag: 's', noAck: false, exclusive: false, priority: 0, arguments: {}, selector: new Selector('x = 2') }, sink);
  return { session, got, inTurn, bodies: () => got.map((d) => d.message.body.toString()) };
}

const N = 50_000;
const readyBodies = (vhost: VHost) => vhost.getQueue('q')!.peekMessages().map((e) => e.message.body.toString());

describe.each<Kind>(['quorum', 'classic'])('a selective dispatch goes on a slice at a time (%s queue)', (kind) => {
  it(`50 000 behind a head nobody selects, a consumer without a window limit: other work runs between the parts, all delivered once in order (fails on the old code: one call)`, async () => {
    const { broker, vhost } = setup(kind);
    send(vhost, 'stuck', 1);
    for (let i = 0; i < N; i++) send(vhost, `m${i}`, 2);
    const turns = turnCounter();
    const s = selectorConsumer(broker, vhost, turns);
    // the first part came in the consume call itself; the rest in later turns
    expect(s.got.length).toBeGreaterThan(0);
    expect(s.got.length).toBeLessThan(N);
    await broker.bulkWork.idle();
    turns.stop();
    expect(s.got.length).toBe(N);
    expect(s.bodies().every((b, i) => b === `m${i}`)).toBe(true);
    // the loop turned between the parts (old code: every delivery in turn 0)
    expect(new Set(s.inTurn).size).toBeGreaterThan(2);
    expect(s.inTurn[s.inTurn.length - 1]).toBeGreaterThan(0);
    const q = vhost.getQueue('q')!;
    expect(q.messageCount).toBe(1);
    expect(q.unackedCount).toBe(N);
    expect(readyBodies(vhost)).toEqual(['stuck']);
  });

  it('publishes while it goes on are delivered in their place; a consumer cancelled between parts gets no more and the rest stays ready in order', async () => {
    const { broker, vhost } = setup(kind);
    send(vhost, 'stuck', 1);
    for (let i = 0; i < N; i++) send(vhost, `m${i}`, 2);
    const turns = turnCounter();
    const s = selectorConsumer(broker, vhost, turns);
    const first = s.got.length;
    expect(first).toBeLessThan(N);
    // published while the dispatch is under way: behind the 50 000, each publish a dispatch of its own
    for (let i = N; i < N + 100; i++) send(vhost, `m${i}`, 2);
    await broker.bulkWork.idle();
    expect(s.bodies()).toEqual(Array.from({ length: N + 100 }, (_, i) => `m${i}`));

    // again, cancelled after its first part: the continuation finds no consumer and does nothing
    s.session.cancel('s');
    for (let i = 0; i < N; i++) send(vhost, `n${i}`, 2);
    const t = selectorConsumer(broker, vhost, turns);
    const part = t.got.length;
    expect(part).toBeLessThan(N);
    t.session.cancel('s');
    await broker.bulkWork.idle();
    turns.stop();
    expect(t.got.length).toBe(part);
    expect(t.bodies()).toEqual(Array.from({ length: part }, (_, i) => `n${i}`));
    // the rest ready in order, behind the head; t's unacked ones stay out until settled
    expect(readyBodies(vhost)).toEqual(['stuck', ...Array.from({ length: N - part }, (_, i) => `n${part + i}`)]);
  });
});

describe('a selective dispatch takes its turns while unrelated bulk work runs (review-s13-2 F4)', () => {
  it('an ack multiple of 99,999 of another queue, right after the first part: the selector consumer gets parts in the turns it runs (fails on the old code: nothing until it ended)', async () => {
    const { broker, vhost } = setup('classic');
    vhost.declareQueue('big', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
    send(vhost, 'stuck', 1);
    for (let i = 0; i < N; i++) send(vhost, `m${i}`, 2);
    for (let i = 0; i < 99_999; i++) vhost.publish('', 'big', { exchange: '', routingKey: 'big', properties: {}, body: Buffer.from('b'), publishedAt: Date.now() });
    const other = broker.openSession(vhost, {});
    other.setPrefetch(0, false);
    const otherSink = new Collector();
    other.consume('big', { tag: 'x', noAck: false, exclusive: false, priority: 0, arguments: {} }, otherSink);
    await deliveredTo(broker, otherSink, 99_999);
    expect(otherSink.deliveries).toHaveLength(99_999);
    const turns = turnCounter();
    const s = selectorConsumer(broker, vhost, turns);
    // the unrelated bulk work is queued right behind the first part's continuation
    other.ack(otherSink.deliveries[otherSink.deliveries.length - 1]!.tag, true);
    const big = vhost.getQueue('big')!;
    /** turns in which the selector consumer got a part while the acks were still being settled */
    let servedDuringAcks = 0;
    for (let got = s.got.length; big.unackedCount > 0; ) {
      await new Promise((resolve) => setImmediate(resolve));
      if (s.got.length > got && big.unackedCount > 0) servedDuringAcks++;
      got = s.got.length;
    }
    await broker.bulkWork.idle();
    turns.stop();
    // old code: one part (its continuation was ahead of the acks), then nothing until all 99,999 were settled
    expect(servedDuringAcks).toBeGreaterThanOrEqual(2);
    expect(s.bodies()).toEqual(Array.from({ length: N }, (_, i) => `m${i}`));
  });
});

/**
 * Issue 18 point 5 (s13 leftovers): the plain dispatch (no selector, no groups) had no bound. A
 * consumer with no window whose sink never reports full (in-process: over a socket the socket's
 * writability stops it) took the whole queue in one call. It now stops at its deadline as the
 * selective one does and goes on in the sliced work.
 */
describe.each<Kind>(['quorum', 'classic'])('a plain dispatch goes on a slice at a time (%s queue)', (kind) => {
  const M = 100_000;
  function plainConsumer(broker: Broker, vhost: VHost, turns: { readonly turns: number }, tag: string, prefetch = 0) {
    const session = broker.openSession(vhost, {}, true);
    session.consumerPrefetch = prefetch;
    const got: string[] = [];
    const inTurn: number[] = [];
    session.consume('q', { tag, noAck: false, exclusive: false, priority: 0, arguments: {} }, {
      deliver: (d) => {
        got.push(d.message.body.toString());
        inTurn.push(turns.turns);
      },
      isWritable: () => true,
      cancelledByBroker: () => undefined,
    });
    return { session, got, inTurn };
  }

  it(`${M} ready, a consumer with no window and an always-writable sink: other work runs between the parts, all delivered once in order (fails on the old code: one call)`, async () => {
    const { broker, vhost } = setup(kind);
    for (let i = 0; i < M; i++) send(vhost, `m${i}`, 2);
    const turns = turnCounter();
    const c = plainConsumer(broker, vhost, turns, 'c');
    // the first part in the consume call itself (old code: all of them)
    expect(c.got.length).toBeGreaterThan(0);
    expect(c.got.length).toBeLessThan(M);
    await broker.bulkWork.idle();
    turns.stop();
    expect(c.got).toEqual(Array.from({ length: M }, (_, i) => `m${i}`));
    expect(new Set(c.inTurn).size).toBeGreaterThan(2);
    expect(vhost.getQueue('q')!.unackedCount).toBe(M);
  });

  it('while it goes on, a publish hands out one round at most (not a slice of its own), a consumer with a window of one gets the head at once, and nothing is out of order or lost', async () => {
    const { broker, vhost } = setup(kind);
    for (let i = 0; i < M; i++) send(vhost, `m${i}`, 2);
    const turns = turnCounter();
    const c = plainConsumer(broker, vhost, turns, 'c');
    const first = c.got.length;
    expect(first).toBeLessThan(M);
    // each publish dispatches: one consumer, so one message from the head at most
    for (let i = M; i < M + 10; i++) {
      const before = c.got.length;
      send(vhost, `m${i}`, 2);
      expect(c.got.length - before).toBeLessThanOrEqual(1);
    }
    // a second consumer with room for one (an OpenWire pull's window): served in its consume call
    const one = plainConsumer(broker, vhost, turns, 'one', 1);
    expect(one.got).toHaveLength(1);
    await broker.bulkWork.idle();
    turns.stop();
    // between them, every message once, each consumer's in queue order
    const index = (b: string) => Number(b.slice(1));
    expect([...c.got, ...one.got].map(index).sort((a, b) => a - b)).toEqual(Array.from({ length: M + 10 }, (_, i) => i));
    expect(c.got.map(index)).toEqual([...c.got.map(index)].sort((a, b) => a - b));
    expect(vhost.getQueue('q')!.messageCount).toBe(0);
  });
});

describe('what waits for the next turn of a dispatch (Queue.afterDispatchTurn: AMQP 1.0 drain)', () => {
  it('runs even when that turn throws (a consumer\'s bug: the sliced work drops the task, so the waiter was left until some later dispatch stopped at its deadline: review-s15-2\'s question on 5a4c6a6)', async () => {
    const { broker, vhost } = setup('classic');
    for (let i = 0; i < 100_000; i++) send(vhost, 'b', i);
    const session = broker.openSession(vhost, {});
    session.consumerPrefetch = 0;
    let armed = false;
    const sink: ConsumerSink = {
      deliver: () => {
        if (!armed) return;
        armed = false;
        throw new Error('a consumer bug (expected in this test)');
      },
      isWritable: () => true,
      cancelledByBroker: () => undefined,
    };
    session.consume('q', { tag: 'c', noAck: true, exclusive: false, priority: 0, arguments: {} }, sink);
    const q = vhost.getQueue('q')!;
    // the consume call stopped at its deadline: the rest goes on in the sliced work
    expect(q.dispatchPending).toBe(true);
    armed = true;
    let ran = false;
    q.afterDispatchTurn(() => void (ran = true));
    await broker.bulkWork.idle();
    expect(armed).toBe(false);
    expect(ran).toBe(true);
  });
});
