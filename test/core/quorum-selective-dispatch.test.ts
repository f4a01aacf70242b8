import { describe, expect, it } from 'vitest';
import { Broker } from '../../src/core/broker.js';
import { PASS_LIMIT } from '../../src/core/queues/queue.js';
import { keepingConsumer } from './helpers.js';
import type { VHost } from '../../src/core/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';

/**
 * Selector consumers on a quorum queue (issue 18 point 5): its ready list keeps returned
 * messages apart (rabbit_fifo's returns), so dispatch takes a selected message out of the
 * middle in place (QuorumReadyList.takeWhere) instead of putting passed ones back, and passes
 * over at most PASS_LIMIT, as the classic queue's selective dispatch does (ActiveMQ's paged-in
 * window, test/core/selective-dispatch.test.ts). It copied the whole list for every dispatch and
 * rewrote it for every message taken: O(ready) per publish or ack of a queue of a million.
 */
function setup(): { vhost: VHost; broker: Broker } {
  const broker = new Broker(new MemoryStore());
  const vhost = broker.addVhost('/');
  vhost.declareQueue('q', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-queue-type': 'quorum' } }, null);
  return { broker, vhost };
}

function send(vhost: VHost, body: string, x: number): void {
  vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: { headers: { x } }, body: Buffer.from(body), publishedAt: Date.now() });
}

const consumer = keepingConsumer;

const readyBodies = (vhost: VHost) => vhost.getQueue('q')!.peekMessages().map((e) => e.message.body.toString());

describe('selector consumers on a quorum queue', () => {
  it(`take from the middle in place, the passed ones keeping their order; a dispatch passes over at most ${PASS_LIMIT} (fails on the walk of the whole list)`, () => {
    const { broker, vhost } = setup();
    expect(vhost.getQueue('q')!.config.queueType).toBe('quorum');
    for (let i = 0; i < PASS_LIMIT - 1; i++) send(vhost, `x${i}`, 1);
    send(vhost, 'near', 2);
    send(vhost, `x${PASS_LIMIT - 1}`, 1);
    send(vhost, 'far', 2);
    const s = consumer(broker, vhost, 's', 10, 'x = 2');
    // `near` is behind 399 messages the consumer passes over, `far` behind 400
    expect(s.bodies()).toEqual(['near']);
    expect(vhost.getQueue('q')!.messageCount).toBe(PASS_LIMIT + 1);
    expect(readyBodies(vhost)).toEqual([...Array.from({ length: PASS_LIMIT }, (_, i) => `x${i}`), 'far']);
    // another consumer takes one off the head: `far` comes into the window
    const other = consumer(broker, vhost, 'o', 1, 'x = 1');
    expect(other.bodies()).toEqual(['x0']);
    s.ackAll();
    expect(s.bodies()).toEqual(['near', 'far']);
    expect(readyBodies(vhost).slice(0, 2)).toEqual(['x1', 'x2']);
    expect(vhost.getQueue('q')!.messageCount).toBe(PASS_LIMIT - 1);
  });

  it('returned messages are offered first, in the order they came back; the ones not selected stay returned, ahead of the rest', () => {
    const { broker, vhost } = setup();
    send(vhost, 'm0', 1);
    send(vhost, 'm1', 2);
    send(vhost, 'm2', 1);
    send(vhost, 'm3', 2);
    send(vhost, 'm4', 1);
    const c = consumer(broker, vhost, 'c', 3);
    expect(c.bodies()).toEqual(['m0', 'm1', 'm2']);
    const s = consumer(broker, vhost, 's', 10, 'x = 2');
    expect(s.bodies()).toEqual(['m3']);
    // c stops consuming and gives its three back one by one, m2 first: each goes to the returns
    c.session.cancel('c');
    for (const d of [c.got[2]!, c.got[0]!, c.got[1]!]) c.session.nack(d.tag, false, true);
    expect(s.bodies()).toEqual(['m3', 'm1']);
    expect(s.got[1]!.redelivered).toBe(true);
    // returned first (m2, m0, in the order they came back), then the rest
    expect(readyBodies(vhost)).toEqual(['m2', 'm0', 'm4']);
    const all = consumer(broker, vhost, 'all', 0);
    expect(all.bodies()).toEqual(['m2', 'm0', 'm4']);
    expect(vhost.getQueue('q')!.messageCount).toBe(0);
  });

  it('one message nobody selects at the head, 50 000 behind it that a consumer selects: all delivered in order, the head stays, counts right', async () => {
    const { broker, vhost } = setup();
    const n = 50_000;
    send(vhost, 'stuck', 1);
    for (let i = 0; i < n; i++) send(vhost, `m${i}`, 2);
    const s = consumer(broker, vhost, 's', 0, 'x = 2');
    // the dispatch goes on a slice at a time (test/core/dispatch-slices.test.ts)
    await broker.bulkWork.idle();
    expect(s.got.length).toBe(n);
    expect(s.got.every((d, i) => d.message.body.toString() === `m${i}`)).toBe(true);
    const q = vhost.getQueue('q')!;
    expect(q.messageCount).toBe(1);
    expect(q.unackedCount).toBe(n);
    // and the ones published while it consumes go straight to it, past the head
    for (let i = n; i < n + 1000; i++) send(vhost, `m${i}`, 2);
    expect(s.got.length).toBe(n + 1000);
    expect(readyBodies(vhost)).toEqual(['stuck']);
    const all = consumer(broker, vhost, 'all', 0);
    expect(all.bodies()).toEqual(['stuck']);
  });
});
