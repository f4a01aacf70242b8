import { describe, expect, it } from 'vitest';
import type { Queue } from '../../src/core/queues/queue.js';
import type { Session } from '../../src/core/session.js';
import { Collector, coreBroker, declareQueue, publish } from './helpers.js';

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
    s.consume('a', opts('ca'), new Collector());
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
