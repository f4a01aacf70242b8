import type { Delivery } from 'rhea';
import { describe, expect, it } from 'vitest';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';
import { once, openReceiver, openSender, pending, receiveN, rheaClose, rheaConnect, sendAwait, declareQueue } from '../helpers/amqp10.js';

// credit, drain, settlement and outcomes against the core (the `all` profile: RabbitMQ 4's semantics)
const broker = useBroker();
const port = () => broker().ports['amqp']!;

const declare = (name: string, args: Record<string, unknown> = {}) => declareQueue(broker(), name, args);

function fill(queue: string, n: number): void {
  for (let i = 0; i < n; i++) broker().publish('', queue, `m${i}`);
}

type Releasable = Delivery & { release(o?: { delivery_failed?: boolean; undeliverable_here?: boolean }): void; reject(e?: object): void; accept(): void };

describe('AMQP 1.0 link credit and drain', () => {
  it('a receiver gets only as many messages as its credit allows, more when it grants more', async () => {
    await declare('a10-credit');
    fill('a10-credit', 5);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/a10-credit' }, credit_window: 0 });
    rx.add_credit(2);
    expect((await receiveN(rx, 2)).map((g) => g.message.body.content.toString())).toEqual(['m0', 'm1']);
    // a flow echo round trip proves nothing more is on its way
    expect(broker().queue('a10-credit').info()).toMatchObject({ messages: 3 });
    expect(pending(rx)).toBe(0);
    rx.add_credit(3);
    expect((await receiveN(rx, 3)).map((g) => g.message.body.content.toString())).toEqual(['m2', 'm3', 'm4']);
    await rheaClose(conn);
  });

  it('drain: the broker sends what it has, then uses up the rest of the credit and says so', async () => {
    await declare('a10-drain');
    fill('a10-drain', 3);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/a10-drain' }, credit_window: 0 });
    const drained = once(rx, 'receiver_drained');
    rx.add_credit(10);
    rx.drain_credit();
    await drained;
    expect(pending(rx)).toBe(3);
    expect((rx as unknown as { credit: number }).credit).toBe(0);
    await rheaClose(conn);
  });
});

describe('AMQP 1.0 outcomes end where the core sends them', () => {
  it('released: back to the queue in its place, redelivered (first-acquirer false), delivery-count unchanged', async () => {
    await declare('a10-released');
    fill('a10-released', 2);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/a10-released' }, autoaccept: false, credit_window: 0 });
    rx.add_credit(1);
    const [first] = await receiveN(rx, 1);
    expect(first!.message.first_acquirer).toBeFalsy();
    (first!.delivery as Releasable).release();
    rx.add_credit(1);
    const [again] = await receiveN(rx, 1);
    expect(again!.message.body.content.toString()).toBe('m0');
    expect(again!.message.first_acquirer).toBe(false);
    expect(again!.message.delivery_count ?? 0).toBe(0);
    (again!.delivery as Releasable).accept();
    await rheaClose(conn);
  });

  it('modified delivery-failed: requeued with its delivery-count counted up', async () => {
    await declare('a10-modified');
    fill('a10-modified', 1);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/a10-modified' }, autoaccept: false, credit_window: 0 });
    rx.add_credit(1);
    const [first] = await receiveN(rx, 1);
    (first!.delivery as Releasable).release({ delivery_failed: true });
    rx.add_credit(1);
    const [second] = await receiveN(rx, 1);
    expect(second!.message.delivery_count).toBe(1);
    (second!.delivery as Releasable).release({ delivery_failed: true });
    rx.add_credit(1);
    const [third] = await receiveN(rx, 1);
    expect(third!.message.delivery_count).toBe(2);
    (third!.delivery as Releasable).accept();
    await rheaClose(conn);
  });

  it('rejected and modified undeliverable-here dead-letter through the queue\'s DLX, with x-death', async () => {
    await declare('a10-dlq');
    const amqp = await connect(broker());
    const ch = await amqp.createChannel();
    await ch.assertExchange('a10-dlx', 'fanout', { durable: true });
    await ch.bindQueue('a10-dlq', 'a10-dlx', '');
    await amqp.close();
    await declare('a10-work', { 'x-dead-letter-exchange': 'a10-dlx' });
    fill('a10-work', 2);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/a10-work' }, autoaccept: false });
    const [a, b] = await receiveN(rx, 2);
    (a!.delivery as Releasable).reject({ condition: 'app:bad', description: 'no good' });
    (b!.delivery as Releasable).release({ undeliverable_here: true });
    const dead = await openReceiver(conn, { source: { address: '/queues/a10-dlq' } });
    const got = await receiveN(dead, 2);
    expect(got.map((g) => g.message.body.content.toString())).toEqual(['m0', 'm1']);
    const deaths = got[0]!.message.message_annotations?.['x-death'] as { queue: string; reason: string }[];
    expect(deaths[0]).toMatchObject({ queue: 'a10-work', reason: 'rejected' });
    expect(broker().queue('a10-work').info()).toMatchObject({ messages: 0, unacked: 0 });
    await rheaClose(conn);
  });

  it('unsettled deliveries go back to the queue when the receiver detaches or the connection drops', async () => {
    await declare('a10-unsettled');
    fill('a10-unsettled', 2);
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, { source: { address: '/queues/a10-unsettled' }, autoaccept: false });
    await receiveN(rx, 2);
    expect(broker().queue('a10-unsettled').info()).toMatchObject({ messages: 0, unacked: 2 });
    rx.close();
    await once(rx, 'receiver_close');
    expect(broker().queue('a10-unsettled').info()).toMatchObject({ messages: 2, unacked: 0 });
    const rx2 = await openReceiver(conn, { source: { address: '/queues/a10-unsettled' }, autoaccept: false });
    await receiveN(rx2, 2);
    (conn as unknown as { socket: { destroy(): void } }).socket.destroy();
    await new Promise<void>((resolve) => {
      const check = () => (broker().queue('a10-unsettled').info()!.unacked === 0 ? resolve() : setImmediate(check));
      check();
    });
    expect(broker().queue('a10-unsettled').info()).toMatchObject({ messages: 2 });
  });

  it('a persistent message to a durable queue is accepted once it is in the store', async () => {
    await declare('a10-durable');
    const conn = await rheaConnect(port());
    const s = await openSender(conn, '/queues/a10-durable');
    const r = await sendAwait(s, { body: 'kept', durable: true });
    expect(r.outcome).toBe('accepted');
    await rheaClose(conn);
  });

  it('a queue at its max-length with reject-publish rejects the message with amqp:resource-limit-exceeded', async () => {
    await declare('a10-full', { 'x-max-length': 1, 'x-overflow': 'reject-publish' });
    const conn = await rheaConnect(port());
    const s = await openSender(conn, '/queues/a10-full');
    expect((await sendAwait(s, { body: '1' })).outcome).toBe('accepted');
    const r = await sendAwait(s, { body: '2' });
    expect(r.outcome).toBe('rejected');
    expect(r.error?.condition).toBe('amqp:resource-limit-exceeded');
    await rheaClose(conn);
  });
});

describe('AMQP 1.0 links and the broker going away', () => {
  it('deleting the queue under a receiver detaches it with amqp:resource-deleted', async () => {
    await declare('a10-doomed');
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, '/queues/a10-doomed');
    const detached = once(rx, 'receiver_error');
    const amqp = await connect(broker());
    const ch = await amqp.createChannel();
    await ch.deleteQueue('a10-doomed');
    await amqp.close();
    await detached;
    expect((rx as unknown as { error: { condition: string } }).error.condition).toBe('amqp:resource-deleted');
    await rheaClose(conn);
  });
});

