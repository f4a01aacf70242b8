import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { body, isDispatchTo } from '../helpers/openwire-browser.js';

/**
 * A prefetch-0 consumer's no-wait pull (the ActiveMQ JMS client's receiveNoWait: a MessagePull with
 * timeout -1) while another consumer of the queue is handed it a slice at a time (the bounded
 * dispatch goes on in the broker's sliced work, DispatchSlices). ActiveMQ 5.17 (Debian, on
 * loopback, asked with its JMS client and consumer.prefetchSize=0): receiveNoWait returned a
 * message on every call while the queue held one (2000 and 20,000 queued: 0 null); beside a
 * listener consumer (prefetch 1000) taking a queue of 100,000, 500 calls got 438 / 351 / 500
 * messages in three runs, a null only once no more than the listener's prefetch was left. Its pull
 * pages the queue and dispatches at once (PrefetchSubscription.pullMessage: Destination.iterate,
 * then the empty dispatch only if nothing went). So a no-wait pull gets a message whenever one is ready, however
 * busy the queue's dispatch is; LocalMQ's pull hands out a round of the round robin during the
 * continuation for that (a guard: an empty answer here would be "nothing" with the queue full).
 */
describe('OpenWire no-wait pull during another consumer\'s sliced dispatch', () => {
  let broker: LocalMQ;
  let port: number;
  beforeAll(async () => {
    broker = await startBroker({ engine: 'all', ports: { openwire: 0 } });
    port = Number(new URL(broker.urls.openwire!).port);
  });
  afterAll(() => broker.stop());

  it('each no-wait pull answered while the queue holds messages carries one, in queue order (ActiveMQ 5.17: a message on every receiveNoWait while one is ready)', async () => {
    const name = 'ow.nowait.busy';
    const vhost = broker.core.vhost('/')!;
    vhost.declareQueue(name, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
    for (let i = 0; i < 400_000; i++) broker.publish('', name, Buffer.from(String(i)));
    const queue = vhost.getQueue(name)!;
    const destination = { type: T.Queue, physicalName: name };
    const c = await RawOpenWire.connected(port);
    await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: c.connectionId, value: 1 } });
    const consumerId = { type: T.ConsumerId, connectionId: c.connectionId, sessionId: 1, value: 1 };
    await c.request({ type: T.ConsumerInfo, consumerId, destination, prefetchSize: 0 });
    // an in-process consumer with no window: its dispatch goes on a slice at a time
    const session = broker.core.openSession(vhost, {});
    session.consume(name, { tag: 'busy', noAck: true, exclusive: false, priority: 0, arguments: {} }, { deliver: () => undefined, isWritable: () => true, cancelledByBroker: () => undefined });
    expect(queue.dispatchPending).toBe(true);
    // five no-wait pulls in one write: the broker reads them in one turn, all while the other's dispatch goes on
    const seen = c.log.length;
    c.writeOneWay(Array.from({ length: 5 }, () => ({ type: T.MessagePull, consumerId, destination, timeout: -1 })));
    for (let i = 0; i < 5; i++) await c.next((s) => isDispatchTo(s, consumerId) && c.log.indexOf(s) >= seen);
    const left = queue.messageCount;
    const answers = c.log.slice(seen).filter((s) => isDispatchTo(s, consumerId));
    session.close();
    // not vacuous: the queue still held messages once all five were answered
    expect(left).toBeGreaterThan(0);
    const got = answers.map((d) => (d['message'] === null ? null : body(d)));
    expect(got.map((b) => b === null)).toEqual([false, false, false, false, false]);
    const taken = got.map(Number);
    expect(taken).toEqual([...taken].sort((a, b) => a - b));
    c.close();
  });
});
