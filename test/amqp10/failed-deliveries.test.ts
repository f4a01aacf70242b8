import amqplib from 'amqplib';
import type { Connection, Delivery, Receiver, ReceiverOptions, Session } from 'rhea';
import { describe, expect, it, vi } from 'vitest';
import type { LocalMQ } from '../../src/index.js';
import { useBroker } from '../helpers/broker.js';
import { declareQueue, once, openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

/**
 * The header's delivery-count is the core's count of failed deliveries of the queue entry
 * (QueueEntry.failedDeliveries, counted in Queue.returned), whatever protocol failed them.
 * What counts, read from RabbitMQ's source:
 * - quorum queues (4.2 and 4.3): rabbit_fifo incr_msg_headers adds to delivery_count for a return
 *   with delivery_failed: AMQP 1.0 modified delivery-failed, and a consumer whose session or
 *   channel went down (return_all with Reason == down); a link detached (cancel reason `remove`)
 *   or a released delivery returns unfailed; mc_amqp update_header_from_anns writes
 *   delivery_count as the header's delivery-count;
 * - classic queues: 4.3 counts the same failures, and a detached link's deliveries too
 *   (rabbit_variable_queue maybe_inc_delivery_count; rabbit_amqqueue_process requeue_and_run/3 on a
 *   channel down or a removed consumer; 4.3.0 notes "Classic queues now implement AMQP 1.0
 *   delivery-count"); 4.2 counts nothing there (delivery-count 0); rabbit_channel 4.3 maps
 *   basic.reject with requeue to modify delivery_failed;
 * - ActiveMQ: the message's redelivery counter (AmqpSender: modified delivery-failed adds one,
 *   released does not; Queue.removeSubscription adds one for a consumer that went with it).
 */

type Settleable = Delivery & { release(o?: { delivery_failed?: boolean; undeliverable_here?: boolean }): void; accept(): void };

async function sessionReceiver(conn: Connection, options: ReceiverOptions): Promise<{ session: Session; rx: Receiver }> {
  const session = conn.create_session();
  session.begin();
  const rx = await openReceiver(session as unknown as Connection, options);
  return { session, rx };
}

/** the next delivery of `queue` on a fresh receiver; settled by the caller */
async function next(conn: Connection, address: string): Promise<{ count: number; firstAcquirer: boolean | undefined; body: string; rx: Receiver; delivery: Settleable }> {
  const rx = await openReceiver(conn, { source: { address }, autoaccept: false, credit_window: 0 });
  rx.add_credit(1);
  const [got] = await receiveN(rx, 1);
  const m = got!.message;
  const body = typeof m.body === 'string' ? m.body : (m.body as { content: Buffer }).content.toString();
  return { count: m.delivery_count ?? 0, firstAcquirer: m.first_acquirer, body, rx, delivery: got!.delivery as Settleable };
}

/** the session ends (END frame) with one delivery of `address` unsettled */
async function endSessionHolding(conn: Connection, address: string): Promise<void> {
  const { session, rx } = await sessionReceiver(conn, { source: { address }, autoaccept: false, credit_window: 0 });
  rx.add_credit(1);
  await receiveN(rx, 1);
  const closed = once(session, 'session_close');
  session.close();
  await closed;
}

/** the link detaches with one delivery of `address` unsettled */
async function detachHolding(conn: Connection, address: string): Promise<void> {
  const rx = await openReceiver(conn, { source: { address }, autoaccept: false, credit_window: 0 });
  rx.add_credit(1);
  await receiveN(rx, 1);
  const closed = once(rx, 'receiver_close');
  rx.close();
  await closed;
}

function amqpPort(b: LocalMQ): number {
  return b.ports['amqp']!;
}

describe('failed deliveries on RabbitMQ 4.2 (the default)', () => {
  const broker = useBroker();

  it('quorum: a session that ends with a delivery unsettled gives it back failed (delivery-count 1); a detached link does not', async () => {
    await declareQueue(broker(), 'a10-fd-qq');
    broker().publish('', 'a10-fd-qq', 'x');
    const conn = await rheaConnect(amqpPort(broker()));
    await endSessionHolding(conn, '/queues/a10-fd-qq');
    const a = await next(conn, '/queues/a10-fd-qq');
    expect([a.body, a.count, a.firstAcquirer]).toEqual(['x', 1, false]);
    a.delivery.release({ delivery_failed: true });
    a.rx.close();
    await detachHolding(conn, '/queues/a10-fd-qq'); // rabbit_fifo: cancel reason remove, returned unfailed
    const b = await next(conn, '/queues/a10-fd-qq');
    expect(b.count).toBe(2);
    b.delivery.accept();
    await rheaClose(conn);
  });

  it('quorum: a connection that drops with a delivery unsettled gives it back failed', async () => {
    await declareQueue(broker(), 'a10-fd-drop');
    broker().publish('', 'a10-fd-drop', 'y');
    const dropped = await rheaConnect(amqpPort(broker()));
    const rx = await openReceiver(dropped, { source: { address: '/queues/a10-fd-drop' }, autoaccept: false, credit_window: 0 });
    rx.add_credit(1);
    await receiveN(rx, 1);
    (dropped as unknown as { socket: { destroy(): void } }).socket.destroy();
    await vi.waitFor(() => expect(broker().queue('a10-fd-drop').info()).toMatchObject({ messages: 1, unacked: 0 }));
    const conn = await rheaConnect(amqpPort(broker()));
    const again = await next(conn, '/queues/a10-fd-drop');
    expect([again.body, again.count]).toEqual(['y', 1]);
    again.delivery.accept();
    await rheaClose(conn);
  });

  it('classic: 4.2 counts no failed delivery (delivery-count stays 0, first-acquirer false)', async () => {
    await declareQueue(broker(), 'a10-fd-cq42', { 'x-queue-type': 'classic' });
    broker().publish('', 'a10-fd-cq42', 'z');
    const conn = await rheaConnect(amqpPort(broker()));
    const a = await next(conn, '/queues/a10-fd-cq42');
    a.delivery.release({ delivery_failed: true });
    a.rx.close();
    await endSessionHolding(conn, '/queues/a10-fd-cq42');
    const b = await next(conn, '/queues/a10-fd-cq42');
    expect([b.body, b.count, b.firstAcquirer]).toEqual(['z', 0, false]);
    b.delivery.accept();
    await rheaClose(conn);
  });
});

describe('failed deliveries on RabbitMQ 4.3', () => {
  const broker = useBroker({ engineVersion: '4.3' });

  it('classic: modified delivery-failed, an ended session and a detached link each count; released does not', async () => {
    await declareQueue(broker(), 'a10-fd-cq43', { 'x-queue-type': 'classic' });
    broker().publish('', 'a10-fd-cq43', 'c');
    const conn = await rheaConnect(amqpPort(broker()));
    const a = await next(conn, '/queues/a10-fd-cq43');
    expect([a.count, a.firstAcquirer]).toEqual([0, undefined]);
    a.delivery.release({ delivery_failed: true });
    a.rx.close();
    const b = await next(conn, '/queues/a10-fd-cq43');
    expect(b.count).toBe(1);
    b.delivery.release();
    b.rx.close();
    await endSessionHolding(conn, '/queues/a10-fd-cq43');
    await detachHolding(conn, '/queues/a10-fd-cq43');
    const c = await next(conn, '/queues/a10-fd-cq43');
    expect([c.body, c.count, c.firstAcquirer]).toEqual(['c', 3, false]);
    c.delivery.accept();
    await rheaClose(conn);
  });

  it('the count lives in the core: basic.reject with requeue and a closed AMQP 0-9-1 channel are failed deliveries an AMQP 1.0 consumer sees', async () => {
    await declareQueue(broker(), 'a10-fd-091', { 'x-queue-type': 'classic' });
    broker().publish('', 'a10-fd-091', 'r');
    const amqp = await amqplib.connect(broker().urls.amqp!);
    const ch = await amqp.createChannel();
    let m = await ch.get('a10-fd-091');
    while (!m) m = await ch.get('a10-fd-091');
    ch.reject(m, true); // rabbit_channel 4.3: modify delivery_failed=true
    const ch2 = await amqp.createChannel();
    let m2 = await ch2.get('a10-fd-091');
    while (!m2) m2 = await ch2.get('a10-fd-091');
    await ch2.close(); // unacked, its channel goes down: requeue_and_run/3, failed
    await amqp.close();
    const conn = await rheaConnect(amqpPort(broker()));
    const got = await next(conn, '/queues/a10-fd-091');
    expect([got.body, got.count]).toEqual(['r', 2]);
    got.delivery.accept();
    await rheaClose(conn);
  });
});

describe('failed deliveries on ActiveMQ', () => {
  const broker = useBroker({ engine: 'activemq', ports: { amqp10: 0 } });

  it('a session that ends with a delivery unsettled adds to its redelivery count, as a failed modified does; released does not', async () => {
    const q = `fd.${Date.now()}`;
    const conn = await rheaConnect(broker().ports['amqp10']!);
    expect((await sendAwait(await openSender(conn, `queue://${q}`), { body: 'amq' })).outcome).toBe('accepted');
    await endSessionHolding(conn, `queue://${q}`);
    const a = await next(conn, `queue://${q}`);
    expect([a.body, a.count]).toEqual(['amq', 1]);
    a.delivery.release();
    a.rx.close();
    const b = await next(conn, `queue://${q}`);
    expect(b.count).toBe(1);
    b.delivery.release({ delivery_failed: true });
    b.rx.close();
    const c = await next(conn, `queue://${q}`);
    expect(c.count).toBe(2);
    c.delivery.accept();
    await rheaClose(conn);
  });
});
