import { describe, expect, it } from 'vitest';
import { Broker } from '../../src/core/broker.js';
import { PASS_LIMIT } from '../../src/core/queues/queue.js';
import { keepingConsumer } from './helpers.js';
import type { VHost } from '../../src/core/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';

/**
 * Dispatch on an ActiveMQ queue when a message waits for a particular consumer (a JMS selector,
 * a message group whose owner is full): the messages behind it go on, the waiting ones keep
 * their places, and a dispatch passes over at most PASS_LIMIT of them, as ActiveMQ dispatches
 * only from the messages it has paged in. Measured on ActiveMQ 5.17.2 (JMS client, prefetch 1):
 * a selector consumer gets a message behind 199 it does not select, not one behind 200; a
 * second consumer gets the first message of group B behind 399 of group A (owned by a consumer
 * holding one unacked), not behind 400. LocalMQ's limit is the larger window (400).
 */
function setup(): { vhost: VHost; broker: Broker } {
  const broker = new Broker(new MemoryStore());
  const vhost = broker.addVhost('/');
  vhost.declareQueue('q', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: { 'x-activemq-queue': true } }, null);
  return { broker, vhost };
}

function send(vhost: VHost, body: string, headers: Record<string, string | number> = {}): void {
  vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: { headers }, body: Buffer.from(body), publishedAt: Date.now() });
}

const consumer = keepingConsumer;

const readyBodies = (vhost: VHost) => vhost.getQueue('q')!.peekMessages().map((e) => e.message.body.toString());

describe('dispatch past messages that wait for one consumer (selectors, message groups)', () => {
  it('a group waits for its full owner in order while the messages behind it go to another consumer', () => {
    const { broker, vhost } = setup();
    const a = consumer(broker, vhost, 'a', 1);
    send(vhost, 'A1', { JMSXGroupID: 'A' });
    expect(a.bodies()).toEqual(['A1']);
    for (const b of ['A2', 'B1', 'A3', 'U1', 'B2', 'A4']) send(vhost, b, b.startsWith('U') ? {} : { JMSXGroupID: b[0]! });
    const b = consumer(broker, vhost, 'b', 10);
    expect(b.bodies()).toEqual(['B1', 'U1', 'B2']);
    // A's messages kept their places and order
    expect(readyBodies(vhost)).toEqual(['A2', 'A3', 'A4']);
    for (let i = 0; i < 3; i++) a.ackAll();
    expect(a.bodies()).toEqual(['A1', 'A2', 'A3', 'A4']);
    expect(vhost.getQueue('q')!.messageCount).toBe(0);
  });

  it(`a selector consumer takes a message behind ${PASS_LIMIT - 1} it does not select, not one behind ${PASS_LIMIT} until the head moves`, () => {
    const { broker, vhost } = setup();
    for (let i = 0; i < PASS_LIMIT - 1; i++) send(vhost, `x${i}`, { x: 1 });
    send(vhost, 'near', { x: 2 });
    send(vhost, `x${PASS_LIMIT - 1}`, { x: 1 });
    send(vhost, 'far', { x: 2 });
    const s = consumer(broker, vhost, 's', 10, 'x = 2');
    // `near` is behind 399 messages the consumer passes over, `far` behind 400
    expect(s.bodies()).toEqual(['near']);
    expect(vhost.getQueue('q')!.messageCount).toBe(PASS_LIMIT + 1);
    // another consumer takes one message off the head: `far` comes into the window
    const other = consumer(broker, vhost, 'o', 1, 'x = 1');
    expect(other.bodies()).toEqual(['x0']);
    s.ackAll();
    expect(s.bodies()).toEqual(['near', 'far']);
    expect(readyBodies(vhost).slice(0, 2)).toEqual(['x1', 'x2']);
  });

  it(`a free consumer takes the first message of another group behind ${PASS_LIMIT - 1} of a full owner's group, not behind ${PASS_LIMIT}`, () => {
    for (const [ahead, expected] of [
      [PASS_LIMIT - 1, ['B']],
      [PASS_LIMIT, []],
    ] as const) {
      const { broker, vhost } = setup();
      const a = consumer(broker, vhost, 'a', 1);
      send(vhost, 'A0', { JMSXGroupID: 'A' });
      for (let i = 1; i <= ahead; i++) send(vhost, `A${i}`, { JMSXGroupID: 'A' });
      send(vhost, 'B', { JMSXGroupID: 'B' });
      const b = consumer(broker, vhost, 'b', 10);
      expect(a.bodies()).toEqual(['A0']);
      expect(b.bodies()).toEqual(expected);
    }
  });
});
