import { describe, expect, it } from 'vitest';
import type { Broker } from '../../src/core/broker.js';
import type { Delivery } from '../../src/core/consumer.js';
import type { Queue } from '../../src/core/queues/queue.js';
import type { Session } from '../../src/core/session.js';
import { Collector, coreBroker, declareQueue, deliveredTo, publish } from './helpers.js';

// Found in the session 9 review (8a323bc, d7c2b74): a session's book of consumers and the bulk
// settles that put messages back in their queues.

const opts = (tag: string) => ({ tag, noAck: false, exclusive: false, priority: 0, arguments: {} });
const booked = (s: Session): number => (s as unknown as { bookConsumers: Set<unknown> }).bookConsumers.size;

describe('a session book of consumers', () => {
  it('lets a cancelled consumer go: at its cancel with none unacked, or when its last unacked is settled', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q');
    const s = broker.openSession(vhost, {});
    // consume/cancel churn on one long-lived channel (reply consumers, STOMP subscribe/unsubscribe)
    for (let i = 0; i < 500; i++) {
      s.consume('q', opts(`t${i}`), new Collector());
      s.cancel(`t${i}`);
    }
    expect(booked(s)).toBe(0);
    // cancelled with two unacked: it stays until both are acked, one by one
    const sink = new Collector();
    s.consume('q', opts('c'), sink);
    publish(vhost, '', 'q', 'm1');
    publish(vhost, '', 'q', 'm2');
    expect(sink.texts).toEqual(['m1', 'm2']);
    s.cancel('c');
    expect(booked(s)).toBe(1);
    s.ack(sink.deliveries[0]!.tag, false);
    expect(booked(s)).toBe(1);
    s.ack(sink.deliveries[1]!.tag, false);
    expect(booked(s)).toBe(0);
  });
});

describe('a bulk requeue', () => {
  it('one settle that throws is reported and the rest go on: the queue delivers again, to its other consumer too', async () => {
    const { broker, vhost } = coreBroker();
    const q = declareQueue(vhost, 'a') as Queue;
    for (let i = 0; i < 3000; i++) publish(vhost, '', 'a', `a${i}`);
    const s = broker.openSession(vhost, {});
    const held = new Collector();
    s.consume('a', opts('ca'), held);
    // all 3000 held (a dispatch of more than a slice's worth goes on in the sliced work)
    await deliveredTo(broker, held, 3000);
    const other = broker.openSession(vhost, {});
    const sink = new Collector();
    other.consume('a', opts('cb'), sink);
    // a bug in one delivery's settle (the first): before, the whole task was dropped and the queue waited for ever
    const settle = q.settleDelivered.bind(q);
    let thrown = false;
    q.settleDelivered = (...args: Parameters<Queue['settleDelivered']>) => {
      if (!thrown) {
        thrown = true;
        throw new Error('a bug in one settle');
      }
      settle(...args);
    };
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    s.close();
    await broker.bulkWork.idle();
    expect((await warned).message).toBe('a bug in one settle');
    publish(vhost, '', 'a', 'late');
    // the 2999 requeued, in order and redelivered, then the late one
    expect(sink.texts).toHaveLength(3000);
    expect(sink.texts[0]).toBe('a1');
    expect(sink.texts.at(-1)).toBe('late');
    expect(sink.deliveries[0]!.redelivered).toBe(true);
  });
});

// Found in the session 10 review (review-s10-2 #1): a queue let go in the middle of a batch
// delivers inside BulkSettle.step's loop; a consumer that threw there dropped the whole task.
describe('a consumer that throws as a queue is let go mid-batch', () => {
  it('is reported; the rest of the batch still comes back and the other queue delivers again', async () => {
    const { broker, vhost } = coreBroker();
    const a = declareQueue(vhost, 'a') as Queue;
    const b = declareQueue(vhost, 'b') as Queue;
    publish(vhost, '', 'b', 'b0');
    for (let i = 0; i < 3000; i++) publish(vhost, '', 'a', `a${i}`);
    const s = broker.openSession(vhost, {});
    // b first in the book (its one message comes back first and lets b go mid-batch), then 3000 of a
    s.get('b', false);
    const held = new Collector();
    s.consume('a', opts('ca'), held);
    // all 3000 held (a dispatch of more than a slice's worth goes on in the sliced work)
    await deliveredTo(broker, held, 3000);
    class Throwing extends Collector {
      override deliver(d: Delivery): void {
        super.deliver(d);
        throw new Error('a consumer that throws');
      }
    }
    const other = broker.openSession(vhost, {});
    other.consume('b', opts('cb'), new Throwing());
    const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
    s.close();
    await broker.bulkWork.idle();
    expect((await warned).message).toBe('a consumer that throws');
    // before: 1 of a's 3000 back, 2999 in no book and no ready list, a held for ever
    expect({ aBack: a.messageCount, aHeld: a.returnsInFlight, aUnacked: a.unackedCount, bulkPending: broker.bulkWork.pending }).toEqual({ aBack: 3000, aHeld: false, aUnacked: 0, bulkPending: 0 });
    expect(b.unackedCount).toBe(1);
  });
});

// Found in the session 9 review (review-s9-2 #3, #4): a bulk settle that puts messages back holds
// the queues it names (their deliveries wait for the messages coming back); it must name exactly
// the queues it brings messages back to, and hold each only until its own are back.
describe('a bulk requeue holds only the queues it brings messages back to', () => {
  /** a consumer's sink that records, at each delivery, how many of queue `a`'s messages were back */
  class Watching extends Collector {
    readonly aBack: number[] = [];
    constructor(private readonly a: Queue) {
      super();
    }
    override deliver(d: Delivery): void {
      super.deliver(d);
      this.aBack.push(this.a.messageCount);
    }
  }
  /** bulk work that holds the broker's sliced work (anything queued behind it) until opened */
  const gate = (broker: Broker) => {
    let open = false;
    broker.bulkWork.add({ step: () => open });
    return () => {
      open = true;
    };
  };

  it('a queue the channel only took a basic.get from, acked, is not held by its close: its other consumer keeps receiving while the other queue\'s unacked come back', async () => {
    const { broker, vhost } = coreBroker();
    const a = declareQueue(vhost, 'a') as Queue;
    const b = declareQueue(vhost, 'b') as Queue;
    for (let i = 0; i < 3000; i++) publish(vhost, '', 'a', `a${i}`);
    publish(vhost, '', 'b', 'b0');
    const s = broker.openSession(vhost, {});
    const got = s.get('b', false)!;
    const held = new Collector();
    s.consume('a', opts('ca'), held);
    // all 3000 held (a dispatch of more than a slice's worth goes on in the sliced work)
    await deliveredTo(broker, held, 3000);
    s.ack(got.delivery.tag, false);
    const other = broker.openSession(vhost, {});
    const sink = new Collector();
    other.consume('b', opts('cb'), sink);
    const open = gate(broker);
    // 3000 unacked of 'a' go back in the bulk work (held behind the gate): 'a' waits for them, 'b' does not
    s.close();
    expect([a.returnsInFlight, b.returnsInFlight]).toEqual([true, false]);
    for (let i = 1; i <= 3; i++) publish(vhost, '', 'b', `b${i}`);
    expect(sink.texts).toEqual(['b1', 'b2', 'b3']);
    expect(a.messageCount).toBe(0);
    open();
    await broker.bulkWork.idle();
    expect(a.returnsInFlight).toBe(false);
    expect(a.messageCount).toBe(3000);
  });

  it('a basic.get still unacked at the close holds its queue only until it is back, not until the other queue\'s are', async () => {
    const { broker, vhost } = coreBroker();
    const a = declareQueue(vhost, 'a') as Queue;
    const b = declareQueue(vhost, 'b') as Queue;
    for (let i = 0; i < 3000; i++) publish(vhost, '', 'a', `a${i}`);
    publish(vhost, '', 'b', 'b0');
    publish(vhost, '', 'b', 'b1');
    const s = broker.openSession(vhost, {});
    const acked = s.get('b', false)!;
    s.get('b', false);
    const held = new Collector();
    s.consume('a', opts('ca'), held);
    // all 3000 held (a dispatch of more than a slice's worth goes on in the sliced work)
    await deliveredTo(broker, held, 3000);
    s.ack(acked.delivery.tag, false);
    const other = broker.openSession(vhost, {});
    const sink = new Watching(a);
    other.consume('b', opts('cb'), sink);
    s.close();
    expect([a.returnsInFlight, b.returnsInFlight]).toEqual([true, true]);
    // held: nothing overtakes the message on its way back
    publish(vhost, '', 'b', 'b2');
    expect(sink.texts).toEqual([]);
    await broker.bulkWork.idle();
    // b1 back first and redelivered, then b2: both delivered before 'a' had its 3000 back
    expect(sink.texts).toEqual(['b1', 'b2']);
    expect(sink.deliveries[0]!.redelivered).toBe(true);
    expect(Math.max(...sink.aBack)).toBeLessThan(3000);
    expect(a.messageCount).toBe(3000);
  });

  for (const nack of ['up to a tag', 'of all'] as const) {
    it(`a nack multiple with requeue ${nack} after an ack multiple of another queue's deliveries (still being settled) does not hold that queue`, async () => {
      const { broker, vhost } = coreBroker();
      const a = declareQueue(vhost, 'a') as Queue;
      const b = declareQueue(vhost, 'b') as Queue;
      for (let i = 0; i < 3000; i++) publish(vhost, '', 'a', `a${i}`);
      for (let i = 0; i < 10; i++) publish(vhost, '', 'b', `b${i}`);
      const s = broker.openSession(vhost, {});
      const fromA = new Collector();
      s.consume('a', opts('ca'), fromA);
      await deliveredTo(broker, fromA, 3000);
      s.cancel('ca');
      const fromB = new Collector();
      s.consume('b', opts('cb'), fromB);
      s.cancel('cb');
      const other = broker.openSession(vhost, {});
      const sink = new Collector();
      other.consume('a', opts('oa'), sink);
      const open = gate(broker);
      // every delivery of 'a' acked at once: settled in the bulk work (behind the gate), out of the book now
      s.ack(fromA.deliveries.at(-1)!.tag, true);
      // then b's (8 of 10, the 2 kept copied; or all) given back: only 'b' gets messages back
      s.nack(nack === 'of all' ? 0 : fromB.deliveries[7]!.tag, true, true);
      expect([a.returnsInFlight, b.returnsInFlight]).toEqual([false, true]);
      publish(vhost, '', 'a', 'late');
      expect(sink.texts).toEqual(['late']);
      open();
      await broker.bulkWork.idle();
      expect(b.returnsInFlight).toBe(false);
      expect(a.unackedCount).toBe(1);
      expect(b.messageCount).toBe(nack === 'of all' ? 10 : 8);
    });
  }
});

// Found in the session 10 review (issue 18, review finding #6): the book's clean-ups and its counts
describe('a session book at close, and its counts checked', () => {
  it('a closed session keeps no consumer in its book (one with none unacked stayed there)', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q');
    const s = broker.openSession(vhost, {});
    s.consume('q', opts('idle'), new Collector());
    expect(booked(s)).toBe(1);
    s.close();
    expect(booked(s)).toBe(0);
  });

  /** the process warnings emitted while `work` runs (they come on the next tick: a turn after it is over) */
  const warnedWhile = async (work: () => Promise<void>): Promise<string[]> => {
    const seen: string[] = [];
    const listener = (w: Error) => seen.push(w.message);
    process.on('warning', listener);
    try {
      await work();
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', listener);
    }
    return seen;
  };

  /** a session holding 3000 of `q`'s messages unacked through consumer 'c', whose book count `skew` puts wrong (a bug simulated) */
  const miscounted = async (skew: number) => {
    const { broker, vhost } = coreBroker();
    const q = declareQueue(vhost, 'q') as Queue;
    for (let i = 0; i < 3000; i++) publish(vhost, '', 'q', `m${i}`);
    const s = broker.openSession(vhost, {});
    const sink = new Collector();
    const c = s.consume('q', opts('c'), sink);
    await deliveredTo(broker, sink, 3000);
    c.booked += skew;
    return { broker, q, s };
  };

  it('more deliveries coming back than the book counted is reported (it let the queue go early, silently); the requeue still ends', async () => {
    const { broker, q, s } = await miscounted(-1);
    const warnings = await warnedWhile(async () => {
      s.close();
      await broker.bulkWork.idle();
    });
    expect(warnings).toEqual([`BulkSettle miscount for queue 'q' in vhost '/': 1 more of its deliveries came back than were counted`]);
    expect({ back: q.messageCount, held: q.returnsInFlight }).toEqual({ back: 3000, held: false });
  });

  it('fewer coming back than counted is reported (silent before); the queue is let go at the end of the batch', async () => {
    const { broker, q, s } = await miscounted(+2);
    const warnings = await warnedWhile(async () => {
      s.close();
      await broker.bulkWork.idle();
    });
    expect(warnings).toEqual([`BulkSettle miscount for queue 'q' in vhost '/': 2 of its deliveries counted never came back`]);
    expect({ back: q.messageCount, held: q.returnsInFlight }).toEqual({ back: 3000, held: false });
  });
});
