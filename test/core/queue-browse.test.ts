import { describe, expect, it } from 'vitest';
import type { QueueBrowse } from '../../src/core/queues/queue-browse.js';
import type { Queue } from '../../src/core/queues/queue.js';
import { ACTIVEMQ_QUEUE_ARG } from '../../src/core/activemq-names.js';
import type { ConsumerSink, Delivery } from '../../src/core/consumer.js';
import type { Broker } from '../../src/core/broker.js';
import { coreBroker, declareQueue, keepingConsumer, publish, texts } from './helpers.js';

/**
 * QueueBrowse (a QueueBrowser's view of a queue, ActiveMQ 5.17's: every message not acked, ready
 * or delivered, in the queue's order) while the queue changes between its slices: deliveries,
 * acks, returns, a purge. `copyMax` bounds how far the ready copy goes at a step, as a browser's
 * window does.
 */
function drain(b: QueueBrowse, copyMax = Infinity, between?: (shown: string[]) => void, stepDeadline = Infinity): string[] {
  const shown: string[] = [];
  for (;;) {
    const e = b.next(Date.now());
    if (e !== undefined) {
      shown.push(`${e.message.body.toString()}${b.lastDelivered ? '*' : ''}`);
      continue;
    }
    if (b.done) return shown;
    between?.(shown);
    if (b.waitingForReturns) {
      // returns on their way when the books were walked (the callers awaited the bulk work: they are back)
      b.whenGathered(() => undefined);
      if (b.waitingForReturns) throw new Error('the browse waits for returns still on their way');
    }
    b.step(stepDeadline, copyMax);
  }
}

function filled(n: number, args = {}) {
  const { broker, vhost } = coreBroker();
  const q = declareQueue(vhost, 'q', args) as Queue;
  for (let i = 0; i < n; i++) publish(vhost, '', 'q', `m${i}`);
  return { broker, vhost, q };
}

const start = (q: Queue): QueueBrowse => q.browseWhenReturned(() => undefined)!;

/**
 * the browse of `q` stepped as the OpenWire browse's slices (no time left, a window of 1024);
 * `act` runs once, with the gathering under way (after the first step), and returns the
 * messages it made leave the queue: `after` is what was shown of them after that
 */
async function shownAfterLeaving(q: Queue, act: () => Promise<string[]>): Promise<{ shown: string[]; left: string[]; after: string[] }> {
  const b = start(q);
  const shown: string[] = [];
  let shownBefore = 0;
  let left: string[] = [];
  for (let steps = 0; ; steps++) {
    for (let e = b.next(Date.now()); e !== undefined; e = b.next(Date.now())) shown.push(`${e.message.body.toString()}${b.lastDelivered ? '*' : ''}`);
    if (b.done) break;
    if (steps === 1) {
      shownBefore = shown.length;
      left = await act();
    }
    if (b.waitingForReturns) b.whenGathered(() => undefined);
    b.step(0, 1024);
  }
  return { shown, left, after: shown.slice(shownBefore).filter((m) => left.includes(m.replace('*', ''))) };
}

/** `got` holds `n` deliveries, or the broker's sliced work (a dispatch going on: DispatchSlices) is over */
async function holding(broker: Broker, got: readonly unknown[], n: number): Promise<void> {
  while (got.length < n && broker.bulkWork.pending > 0) await new Promise((resolve) => setImmediate(resolve));
  expect(got).toHaveLength(n);
}

describe('QueueBrowse', () => {
  it('shows the messages a consumer holds (* delivered) in their places among the ready ones', () => {
    const { broker, vhost, q } = filled(10);
    keepingConsumer(broker, vhost, 'c', 3);
    expect(drain(start(q))).toEqual(['m0*', 'm1*', 'm2*', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
  });

  it('one acked before the browse reaches it is left out; ones returned meanwhile are shown once, in their places', () => {
    const { broker, vhost, q } = filled(10);
    const c = keepingConsumer(broker, vhost, 'c', 3);
    const b = start(q);
    c.session.ack(c.got[1]!.tag, false);
    c.session.close();
    expect(drain(b)).toEqual(['m0', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9']);
  });

  it('ready ones a consumer takes after the browse started: shown if not acked when the browse gets there, left out once acked', () => {
    const { broker, vhost, q } = filled(10);
    let c: ReturnType<typeof keepingConsumer> | undefined;
    const shown = drain(start(q), 2, (sofar) => {
      if (sofar.length !== 2 || c) return;
      // the browse showed m0 m1 (still in the queue); a consumer takes six from the head and acks m3 (its ack lets m6 go to it too)
      c = keepingConsumer(broker, vhost, 'c', 6);
      c.session.ack(c.got[3]!.tag, false);
    });
    expect(c!.bodies()).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6']);
    expect(shown).toEqual(['m0', 'm1', 'm2*', 'm4*', 'm5*', 'm6*', 'm7', 'm8', 'm9']);
  });

  it('held ones acked by an ack multiple of all (a bulk settle) after the start are left out (review-s13-3 B1)', async () => {
    {
      const { broker, vhost, q } = filled(2010);
      const c = keepingConsumer(broker, vhost, 'c', 2000);
      await holding(broker, c.got, 2000);
      const b = start(q);
      // one step first (a browse gathering its held ones a slice at a time has begun its walk)
      b.step(0, Infinity);
      c.session.ack(c.got[1999]!.tag, true);
      await broker.bulkWork.idle();
      // (the consumer's window reopened and it took the 10 ready ones: shown as delivered or ready, depending on whether the copy had reached them)
      expect(drain(b).map((m) => m.replace('*', ''))).toEqual(Array.from({ length: 10 }, (_, i) => `m${2000 + i}`));
    }
  });

  it('the delivered ones are gathered from the books a slice at a time (review-s13-2 F1: 400k in one turn took 232 ms), and what moves meanwhile is shown once or not at all', async () => {
    const n = 40_000;
    const { broker, vhost, q } = filled(n + 10);
    const c = keepingConsumer(broker, vhost, 'c', n);
    await holding(broker, c.got, n);
    expect(c.got).toHaveLength(n);
    const b = start(q);
    const shown: string[] = [];
    const show = () => {
      for (let e = b.next(Date.now()); e !== undefined; e = b.next(Date.now())) shown.push(`${e.message.body.toString()}${b.lastDelivered ? '*' : ''}`);
    };
    // no time left in any step: each gathers one batch (1024) and yields (the 10 ready ones are
    // copied at the first: a step is done once the gathering is); what comes before all those not
    // gathered yet is shown meanwhile
    let steps = 0;
    for (;;) {
      if (steps === 3) {
        // meanwhile (the consumer cancelled: nothing is delivered again): 100 acked, 100 returned
        // (reject with requeue: back in the ready list, not in the copy)
        c.session.cancel('c');
        for (let i = 30_000; i < 30_100; i++) c.session.ack(c.got[i]!.tag, false);
        for (let i = 35_000; i < 35_100; i++) c.session.reject(c.got[i]!.tag, true);
      }
      const gathered = b.step(0, Infinity);
      steps++;
      show();
      if (gathered) break;
    }
    expect(steps).toBeGreaterThan(n / 1024 - 5);
    shown.push(...drain(b));
    const expected = Array.from({ length: n + 10 }, (_, i) => i)
      .filter((i) => i < 30_000 || i >= 30_100)
      .map((i) => `m${i}${i < n && !(i >= 35_000 && i < 35_100) ? '*' : ''}`);
    expect(shown).toEqual(expected);
  });

  it('a channel closing with 2000 held as the gathering has begun (bulk return): each shown once, in order; purged once back: none shown (review-s13-3 B1)', async () => {
    for (const purge of [false, true]) {
      const { broker, vhost, q } = filled(2010);
      const c = keepingConsumer(broker, vhost, 'c', 2000);
      await holding(broker, c.got, 2000);
      const b = start(q);
      // one batch of the book walked (1024), then the close hands the book to a bulk settle (> 512 held)
      b.step(0, Infinity);
      c.session.close();
      await broker.bulkWork.idle();
      if (purge) expect(q.purge()).toBe(2010);
      const shown = drain(b).map((m) => m.replace('*', ''));
      expect(shown, purge ? 'purged' : 'returned').toEqual(purge ? [] : Array.from({ length: 2010 }, (_, i) => `m${i}`));
    }
  });

  it('a sliced nack multiple with requeue taking held ones out of the book before the walk got there: each shown once, back before the walk ends or after (review-s13-3 B2)', async () => {
    for (const [upTo, walkFirst] of [[1800, false], [3000, false], [1800, true], [3000, true]] as const) {
      const { broker, vhost, q } = filled(4010);
      const c = keepingConsumer(broker, vhost, 'c', 4000);
      await holding(broker, c.got, 4000);
      const b = start(q);
      b.step(0, Infinity);
      c.session.cancel('c');
      c.session.nack(c.got[upTo - 1]!.tag, true, true);
      if (walkFirst) {
        // the rest of the book walked while the returns are still on their way (nothing copied yet)
        b.step(Infinity, 0);
        expect(q.returnsInFlight).toBe(true);
      }
      await broker.bulkWork.idle();
      expect(drain(b).map((m) => m.replace('*', '')), `nack up to ${upTo}, walk first ${walkFirst}`).toEqual(Array.from({ length: 4010 }, (_, i) => `m${i}`));
    }
  });

  it('driven from the bulk work (as the OpenWire browse is) while the return it waits for is queued behind it there: waits off it and finishes (review-s13-3 livelock)', async () => {
    const { broker, vhost, q } = filled(2010);
    const c = keepingConsumer(broker, vhost, 'c', 2000);
    await holding(broker, c.got, 2000);
    const b = start(q);
    b.step(0, Infinity);
    const shown: string[] = [];
    const finished = new Promise<void>((resolve) => {
      const task = {
        step(deadline: number): boolean {
          for (;;) {
            for (let e = b.next(Date.now()); e !== undefined; e = b.next(Date.now())) shown.push(e.message.body.toString());
            if (b.done) {
              resolve();
              return true;
            }
            b.step(deadline, 100);
            if (b.waitingForReturns) {
              b.whenGathered(() => broker.bulkWork.add(task));
              return true;
            }
            if (performance.now() >= deadline) return false;
          }
        },
      };
      broker.bulkWork.add(task);
    });
    // its bulk return goes on the bulk work behind the browse's task
    c.session.close();
    await finished;
    expect(shown).toEqual(Array.from({ length: 2010 }, (_, i) => `m${i}`));
  });

  it('the clock is looked at every 1024 deliveries walked, another queue\'s too: a session holding 100k of qa and one of qb, browse of qb (review-s13-3 B3)', async () => {
    const n = 100_000;
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'qa', {});
    const qb = declareQueue(vhost, 'qb', {}) as Queue;
    for (let i = 0; i < n; i++) publish(vhost, '', 'qa', `a${i}`);
    for (let i = 0; i < 3; i++) publish(vhost, '', 'qb', `b${i}`);
    const session = broker.openSession(vhost, {});
    const got: Delivery[] = [];
    const sink: ConsumerSink = { deliver: (d) => got.push(d), isWritable: () => true, cancelledByBroker: () => undefined };
    session.consumerPrefetch = 1;
    session.consume('qb', { tag: 'b', noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
    session.consumerPrefetch = n;
    session.consume('qa', { tag: 'a', noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
    await holding(broker, got, n + 1);
    expect(got).toHaveLength(n + 1);
    const b = qb.browseWhenReturned(() => undefined)!;
    // no time left in any step: each walks one batch of the book and yields
    let steps = 0;
    while (b.next(Date.now()) === undefined && !b.done) {
      b.step(0, Infinity);
      steps++;
    }
    expect(steps).toBeGreaterThan(n / 1024 - 5);
    expect(drain(b)).toEqual(['b1', 'b2']);
  });

  it('requeued ready ones (the ready list\'s requeued part, a snapshot) taken and acked while the held ones are gathered are left out (review-s14-1 R1)', async () => {
    for (const requeued of [10, 3000]) {
      const { broker, vhost, q } = filled(requeued + 3010);
      const a = keepingConsumer(broker, vhost, 'a', requeued + 3000);
      await holding(broker, a.got, requeued + 3000);
      a.session.cancel('a');
      // m0… back one by one (the requeued part of the ready list); a still holds 3000
      for (let i = 0; i < requeued; i++) a.session.reject(a.got[i]!.tag, true);
      const { shown, left: acked, after } = await shownAfterLeaving(q, async () => {
        // b takes the requeued ones from the head and acks them one by one
        const b = keepingConsumer(broker, vhost, 'b', requeued);
        await holding(broker, b.got, requeued);
        b.session.cancel('b');
        for (const d of b.got) b.session.ack(d.tag, false);
        return b.bodies();
      });
      expect(acked).toHaveLength(requeued);
      expect(after, `requeued ${requeued}: shown after their ack`).toEqual([]);
      // the others each once, in order
      expect(shown.map((m) => m.replace('*', '')).filter((m) => !acked.includes(m))).toEqual(Array.from({ length: 3010 }, (_, i) => `m${requeued + i}`));
    }
  });

  it('requeued ready ones leaving without a delivery that waits for an ack while the held ones are gathered (a no-ack consumer, drop-head) are left out (review-s14-1 R1c)', async () => {
    for (const how of ['no-ack', 'drop-head'] as const) {
      const { broker, vhost } = coreBroker();
      const q = declareQueue(vhost, 'q', how === 'drop-head' ? { 'x-max-length': 20, 'x-overflow': 'drop-head' } : {}) as Queue;
      const a = keepingConsumer(broker, vhost, 'a', 3000);
      for (let i = 0; i < (how === 'drop-head' ? 3000 : 3010); i++) publish(vhost, '', 'q', `m${i}`);
      await holding(broker, a.got, 3000);
      a.session.cancel('a');
      // m0…m9 back one by one (the requeued part of the ready list); a still holds 2990
      for (let i = 0; i < 10; i++) a.session.reject(a.got[i]!.tag, true);
      const { left, after } = await shownAfterLeaving(q, async () => {
        const gone: string[] = [];
        if (how === 'drop-head') {
          // 20 new ones: the queue (at most 20) drops its head, the 10 requeued
          for (let i = 0; i < 20; i++) publish(vhost, '', 'q', `n${i}`);
          for (let i = 0; i < 10; i++) gone.push(`m${i}`);
          return gone;
        }
        // a no-ack consumer takes the 10 requeued ones (its window closes after 10)
        const s = broker.openSession(vhost, {});
        const sink: ConsumerSink = {
          deliver: (d) => {
            gone.push(d.message.body.toString());
            if (gone.length === 10) s.cancel('n');
          },
          isWritable: () => gone.length < 10,
          cancelledByBroker: () => undefined,
        };
        s.consume('q', { tag: 'n', noAck: true, exclusive: false, priority: 0, arguments: {} }, sink);
        await holding(broker, gone, 10);
        return gone;
      });
      expect(left, how).toEqual(Array.from({ length: 10 }, (_, i) => `m${i}`));
      expect(after, `${how}: shown after they left`).toEqual([]);
    }
  });

  it('next() passes over held ones settled after the gathering a slice at a time: it yields once its deadline is past (review-s14-1 R2)', async () => {
    const { broker, vhost, q } = filled(20_010);
    const c = keepingConsumer(broker, vhost, 'c', 20_000);
    await holding(broker, c.got, 20_000);
    const b = start(q);
    // gathered, and the first ready one copied: the first next() shows m0, held
    b.step(Infinity, 1);
    expect(b.next(Date.now())?.message.body.toString()).toBe('m0');
    c.session.cancel('c');
    c.session.ack(c.got[19_999]!.tag, true);
    await broker.bulkWork.idle();
    // 19,999 acked ones to pass over, 1024 a call with the deadline past
    let calls = 0;
    let e: ReturnType<QueueBrowse['next']>;
    for (e = b.next(Date.now(), 0); e === undefined; e = b.next(Date.now(), 0)) {
      calls++;
      if (!b.done) b.step(0, 1024);
    }
    expect(calls).toBeGreaterThanOrEqual(Math.floor(19_999 / 1024));
    expect(e.message.body.toString()).toBe('m20000');
  });

  it('a purge midway drops the ready ones not shown yet and keeps the delivered ones', () => {
    const { broker, vhost, q } = filled(10);
    let purged = false;
    const shown = drain(start(q), 3, (sofar) => {
      if (sofar.length !== 3 || purged) return;
      // a consumer takes m0…m5 (m3 m4 m5 ahead of the browse), then the rest is purged
      keepingConsumer(broker, vhost, 'c', 6);
      purged = true;
      expect(q.purge()).toBe(4);
    });
    expect(shown).toEqual(['m0', 'm1', 'm2', 'm3*', 'm4*', 'm5*']);
  });

  it('with priorities: the delivered ones merged in by priority, then arrival', () => {
    const { broker, vhost, q } = (() => {
      const { broker, vhost } = coreBroker();
      const q = declareQueue(vhost, 'q', { 'x-max-priority': 5 }) as Queue;
      for (let i = 0; i < 6; i++) publish(vhost, '', 'q', `m${i}`, { priority: i % 2 ? 5 : 0 });
      return { broker, vhost, q };
    })();
    // the consumer takes m1 and m3 (priority 5 first); the ready ones are m5, then m0 m2 m4
    keepingConsumer(broker, vhost, 'c', 2);
    expect(drain(start(q))).toEqual(['m1*', 'm3*', 'm5', 'm0', 'm2', 'm4']);
  });

  it('expired ones are left out; an ActiveMQ queue\'s browse expires them (to ActiveMQ.DLQ), a RabbitMQ queue keeps them for its head expiry', () => {
    for (const activemq of [false, true]) {
      const { vhost } = coreBroker();
      const q = declareQueue(vhost, 'q', activemq ? { [ACTIVEMQ_QUEUE_ARG]: true } : {}) as Queue;
      // persistent: ActiveMQ dead-letters only those (processNonPersistent false)
      for (let i = 0; i < 6; i++) publish(vhost, '', 'q', `m${i}`, { deliveryMode: 2, ...(i % 2 ? { expiration: '0' } : {}) });
      expect(drain(start(q))).toEqual(['m0', 'm2', 'm4']);
      expect(q.messageCount).toBe(activemq ? 3 : 6);
      expect(texts(vhost, 'ActiveMQ.DLQ')).toEqual(activemq ? ['m1', 'm3', 'm5'] : []);
    }
  });
});
