import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { declareQueue, once, openReceiver, pending, rheaClose, rheaConnect } from '../helpers/amqp10.js';

/**
 * AMQP 1.0 drain (part 2.6.7): the sender uses up the link's credit only when it has no message
 * for it. A queue's dispatch stops at its deadline and goes on in the broker's sliced work
 * (DispatchSlices), so a drain answered right after the flow's own dispatch told the receiver
 * "no more" with the queue full (review-s14-2 D2: 512 of a credit of 20,000 with 60,000 ready; a
 * drain of 100 got 1 while another consumer's dispatch went on). It is answered once the queue's
 * dispatch is done or can give this link nothing more, or once a turn of it gave this link nothing
 * (review-s14-2 D2b: a link that is not the single active consumer waited for the active one's whole
 * continuation; RabbitMQ answers such a drain at once, nothing being available to that link).
 */
const broker = useBroker();
const port = () => broker().ports['amqp']!;

describe('an AMQP 1.0 drain while the queue still has messages for it', () => {
  it('a credit of 20,000 on a queue of 60,000: at least the 2048 a session window allows before the drain ends (it got 512)', async () => {
    await declareQueue(broker(), 'drain.big');
    const body = 'x'.repeat(200);
    for (let i = 0; i < 60_000; i++) broker().publish('', 'drain.big', body);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/drain.big' }, credit_window: 0, autoaccept: false });
    const drained = once(rx, 'receiver_drained');
    rx.add_credit(20_000);
    rx.drain_credit();
    await drained;
    expect(pending(rx)).toBeGreaterThanOrEqual(2048);
    await rheaClose(conn);
  });

  it('a drain of 100 while an in-process consumer with no window is handed the queue a slice at a time: all 100 (it got 1)', async () => {
    await declareQueue(broker(), 'drain.shared');
    for (let i = 0; i < 200_000; i++) broker().publish('', 'drain.shared', 'y');
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/drain.shared' }, credit_window: 0, autoaccept: false });
    const session = broker().core.openSession(broker().core.vhost('/')!, {});
    session.consume('drain.shared', { tag: 'all', noAck: true, exclusive: false, priority: 0, arguments: {} }, { deliver: () => undefined, isWritable: () => true, cancelledByBroker: () => undefined });
    const drained = once(rx, 'receiver_drained');
    rx.add_credit(100);
    rx.drain_credit();
    await drained;
    expect(pending(rx)).toBe(100);
    session.close();
    await rheaClose(conn);
  });

  it('a drain on a link that is not the single active consumer, while the active one is handed 400,000 a slice at a time: answered with none, before the active one has them all (it waited for all)', async () => {
    await declareQueue(broker(), 'drain.sac', { 'x-single-active-consumer': true });
    for (let i = 0; i < 400_000; i++) broker().publish('', 'drain.sac', 'z');
    const session = broker().core.openSession(broker().core.vhost('/')!, {});
    let writable = false;
    session.consume('drain.sac', { tag: 'active', noAck: true, exclusive: false, priority: 0, arguments: {} }, { deliver: () => undefined, isWritable: () => writable, cancelledByBroker: () => undefined });
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/drain.sac' }, credit_window: 0, autoaccept: false });
    // the active consumer can take again: its dispatch goes on a slice at a time
    writable = true;
    session.resume();
    const drained = once(rx, 'receiver_drained');
    rx.add_credit(10);
    rx.drain_credit();
    await drained;
    const left = broker().queue('drain.sac').info()!.messages;
    session.close();
    expect(pending(rx)).toBe(0);
    // answered after a turn of the active consumer's dispatch, not after its last (8 ms each; 400,000 take many)
    expect(left).toBeGreaterThan(0);
    await rheaClose(conn);
  });
});
