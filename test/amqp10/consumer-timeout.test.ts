import amqplib from 'amqplib';
import rhea, { type Connection, type Delivery, type EventContext, type Receiver, type ReceiverOptions } from 'rhea';
import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { declareQueue, openReceiver, openSender, pending, receiveN, rheaClose, rheaConnect } from '../helpers/amqp10.js';
import { call } from '../helpers/management.js';

/**
 * RabbitMQ's consumer timeout as an AMQP 1.0 client meets it, per version (RabbitMQ's source at
 * v3.13.7, v4.2.9, v4.3.5):
 * - 4.3: the timeout lives in quorum queues. rabbit_fifo's evaluate_consumer_timeout returns a
 *   consumer's deliveries past their deadline to the queue (not a failed delivery: delivery-count
 *   unchanged) and puts the consumer in `timeout` status; rabbit_amqp_session's
 *   handle_stashed_consumer_timeout sends a disposition `released`, settled=false, for each
 *   (part 2.6.12), and the link gets nothing more until the client has settled every one of them
 *   (rabbit_fifo maybe_untimeout, whatever the outcome). The timeout is the link property
 *   rabbitmq:consumer-timeout, else the queue's (argument or policy), else consumer_timeout.
 *   Pinned as RabbitMQ's own amqp_client_SUITE consumer_timeout_quorum_queue_* cases do.
 *   Classic queues have none.
 * - 4.2: native AMQP 1.0 (rabbit_amqp_session) has no consumer timeout, nor has rabbit_fifo.
 * - 3.13: the rabbitmq_amqp1_0 plugin consumes on a direct AMQP 0-9-1 channel (channel 1 of the
 *   session's own connection): rabbit_channel's timeout closes it with 406 and
 *   rabbit_amqp1_0_session_process ends the session with amqp:precondition-failed and the
 *   channel's text; the connection stays, the message goes back to its queue.
 */

type Settleable = Delivery & { accept(): void; release(): void; remote_state?: { constructor: { composite_type?: string } } | undefined };
const isReleased = (state: unknown) => (rhea as unknown as { message: { is_released(o: unknown): boolean } }).message.is_released(state);

async function withBroker(engineVersion: string, timeoutMs: number, body: (broker: LocalMQ, port: number) => Promise<void>): Promise<void> {
  const broker = await startBroker({ engineVersion });
  try {
    broker.core.consumerTimeoutMs = timeoutMs;
    await body(broker, broker.ports['amqp']!);
  } finally {
    await broker.stop();
  }
}

/**
 * the dispositions the broker sends for deliveries it sent (role=sender), as rhea reads them;
 * `next(n)` waits for dispositions covering n deliveries (deliveries sent a millisecond apart
 * reach their deadlines apart, each timer its own disposition)
 */
function dispositionsFromSender(receiver: Receiver): { next(n: number): Promise<Record<string, unknown>[]> } {
  const session = (receiver as unknown as { session: { on_disposition(frame: { performative: Record<string, unknown> }): void } }).session;
  const got: Record<string, unknown>[] = [];
  let wake: (() => void) | undefined;
  const original = session.on_disposition.bind(session);
  // rhea records a sender's unsettled disposition on the delivery without an event: listen beside it
  session.on_disposition = (frame) => {
    original(frame);
    if (!frame.performative['role']) {
      got.push(frame.performative);
      wake?.();
    }
  };
  return {
    next: (n) =>
      new Promise((resolve) => {
        const check = () => {
          let covered = 0;
          for (let i = 0; i < got.length; i++) {
            covered += ids(got[i]!).length;
            if (covered < n) continue;
            wake = undefined;
            resolve(got.splice(0, i + 1));
            return;
          }
        };
        wake = check;
        check();
      }),
  };
}

/** the delivery ids a disposition covers */
function ids(d: Record<string, unknown>): number[] {
  const first = d['first'] as number;
  const last = (d['last'] as number | undefined) ?? first;
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

/** a round trip through the broker on this connection (a link attached): whatever it would have sent before is in */
async function roundTrip(conn: Connection, queue: string): Promise<void> {
  const s = await openSender(conn, { target: { address: `/queues/${queue}` } });
  s.close();
}

async function fill(broker: LocalMQ, queue: string, args: Record<string, unknown>, bodies: string[]): Promise<void> {
  await declareQueue(broker, queue, args);
  for (const b of bodies) broker.publish('', queue, b);
}

const body = (m: { message: { body: unknown } }) => String((m.message.body as { content?: Buffer }).content ?? m.message.body);

describe('AMQP 1.0 consumer timeout, RabbitMQ 4.3 quorum queues', () => {
  it('timed-out deliveries are released (unsettled dispositions), nothing more comes until the client settles them, then redelivered in order, delivery-count 0', async () => {
    await withBroker('4.3', 150, async (broker, port) => {
      await fill(broker, 'a10-qq-timeout', { 'x-queue-type': 'quorum' }, ['msg1', 'msg2', 'msg3']);
      const conn = await rheaConnect(port);
      const rx = await openReceiver(conn, { source: { address: '/queues/a10-qq-timeout' }, autoaccept: false, credit_window: 0 });
      const dispositions = dispositionsFromSender(rx);
      const started = Date.now();
      rx.add_credit(2);
      const [m1, m2] = await receiveN(rx, 2);
      expect([body(m1!), body(m2!)]).toEqual(['msg1', 'msg2']);

      // past 150 ms both go back: dispositions `released`, unsettled, naming the two deliveries
      const got = await dispositions.next(2);
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      const released = got.flatMap(ids);
      expect(released.sort()).toEqual([(m1!.delivery as unknown as { id: number }).id, (m2!.delivery as unknown as { id: number }).id].sort());
      expect(got.every((d) => d['settled'] !== true && isReleased(d['state']))).toBe(true);
      // as rhea records it on the delivery
      expect((m1!.delivery as Settleable).remote_state?.constructor.composite_type).toBe('released');
      // both are ready again, none unacked
      expect(broker.queue('a10-qq-timeout').info()).toMatchObject({ messages: 3, unacked: 0 });

      // the consumer is timed out: credit brings nothing while a released delivery is unsettled
      rx.add_credit(1);
      await roundTrip(conn, 'a10-qq-timeout');
      expect(pending(rx)).toBe(0);
      (m1!.delivery as Settleable).release();
      await roundTrip(conn, 'a10-qq-timeout');
      expect(pending(rx)).toBe(0);
      // the last one settled (even as accepted: the message is no longer the client's) lets it go on
      (m2!.delivery as Settleable).accept();
      const [again1] = await receiveN(rx, 1);
      expect(body(again1!)).toBe('msg1');
      // a timeout is not a failed delivery (amqp_client_SUITE: delivery_count 0, first_acquirer false)
      expect(again1!.message.delivery_count ?? 0).toBe(0);
      expect(again1!.message.first_acquirer).toBe(false);
      (again1!.delivery as Settleable).accept();
      rx.add_credit(2);
      const [again2, m3] = await receiveN(rx, 2);
      expect([body(again2!), body(m3!)]).toEqual(['msg2', 'msg3']);
      expect(again2!.message.delivery_count ?? 0).toBe(0);
      (again2!.delivery as Settleable).accept();
      (m3!.delivery as Settleable).accept();
      await roundTrip(conn, 'a10-qq-timeout');
      expect(broker.queue('a10-qq-timeout').info()).toMatchObject({ messages: 0, unacked: 0 });
      await rheaClose(conn);
    });
  });

  it('a consumer-timeout policy, or the link property rabbitmq:consumer-timeout, sets the timeout over consumer_timeout', async () => {
    await withBroker('4.3', 3_600_000, async (broker, port) => {
      const put = await call(broker, 'PUT', '/api/policies/%2F/ct', { body: { pattern: '^a10-pol$', definition: { 'consumer-timeout': 120 }, 'apply-to': 'quorum_queues' } });
      expect(put.status).toBe(201);
      await fill(broker, 'a10-pol', { 'x-queue-type': 'quorum' }, ['p']);
      await fill(broker, 'a10-prop', { 'x-queue-type': 'quorum' }, ['q']);
      const conn = await rheaConnect(port);
      const byPolicy = await openReceiver(conn, { source: { address: '/queues/a10-pol' }, autoaccept: false, credit_window: 0 });
      const byProperty = await openReceiver(conn, {
        source: { address: '/queues/a10-prop' },
        autoaccept: false,
        credit_window: 0,
        properties: { 'rabbitmq:consumer-timeout': rhea.types.wrap_uint(120) },
      } as ReceiverOptions);
      const policyReleases = dispositionsFromSender(byPolicy);
      byPolicy.add_credit(1);
      byProperty.add_credit(1);
      await receiveN(byPolicy, 1);
      await receiveN(byProperty, 1);
      // one session: both links' dispositions come through it, each naming its delivery
      const got = await policyReleases.next(2);
      expect(got.flatMap(ids)).toHaveLength(2);
      expect(broker.queue('a10-pol').info()).toMatchObject({ messages: 1, unacked: 0 });
      expect(broker.queue('a10-prop').info()).toMatchObject({ messages: 1, unacked: 0 });
      await rheaClose(conn);
    });
  });

  it('classic queues have no consumer timeout on 4.3 (a quorum delivery made later on the same session times out; the classic one does not)', async () => {
    await withBroker('4.3', 100, async (broker, port) => {
      await fill(broker, 'a10-cq43', { 'x-queue-type': 'classic' }, ['c']);
      await fill(broker, 'a10-cq43-witness', { 'x-queue-type': 'quorum' }, ['w']);
      const conn = await rheaConnect(port);
      const rx = await openReceiver(conn, { source: { address: '/queues/a10-cq43' }, autoaccept: false, credit_window: 0 });
      const witness = await openReceiver(conn, { source: { address: '/queues/a10-cq43-witness' }, autoaccept: false, credit_window: 0 });
      // one session: the dispositions of both links come through it
      const dispositions = dispositionsFromSender(rx);
      rx.add_credit(1);
      const [m] = await receiveN(rx, 1);
      witness.add_credit(1);
      const [w] = await receiveN(witness, 1);
      // the witness was delivered after the classic message: its release proves the classic
      // delivery's deadline has passed too, and the one disposition names the witness only
      const got = await dispositions.next(1);
      await roundTrip(conn, 'a10-cq43');
      expect(got.flatMap(ids)).toEqual([(w!.delivery as unknown as { id: number }).id]);
      expect(broker.queue('a10-cq43').info()).toMatchObject({ messages: 0, unacked: 1 });
      expect(broker.queue('a10-cq43-witness').info()).toMatchObject({ messages: 1, unacked: 0 });
      (m!.delivery as Settleable).accept();
      await rheaClose(conn);
    });
  });
});

describe('AMQP 1.0 consumer timeout, RabbitMQ 4.2 and 3.13', () => {
  it('4.2: native AMQP 1.0 has none, on a quorum queue either (an AMQP 0-9-1 consumer on the same broker, delivered later, times out; the AMQP 1.0 one does not)', async () => {
    await withBroker('4.2', 100, async (broker, port) => {
      await fill(broker, 'a10-qq42', { 'x-queue-type': 'quorum' }, ['k']);
      await fill(broker, 'a10-qq42-witness', { 'x-queue-type': 'quorum' }, ['w']);
      const conn = await rheaConnect(port);
      let ended = false;
      conn.on('session_error', () => (ended = true));
      const rx = await openReceiver(conn, { source: { address: '/queues/a10-qq42' }, autoaccept: false, credit_window: 0 });
      const dispositions = dispositionsFromSender(rx);
      let any = false;
      void dispositions.next(1).then(() => (any = true));
      rx.add_credit(1);
      const [m] = await receiveN(rx, 1);
      // 4.2 times AMQP 0-9-1 consumers out (channel 406): one delivered after the AMQP 1.0
      // message is the witness that the AMQP 1.0 delivery's deadline has passed
      const amqp = await amqplib.connect(broker.urls.amqp!);
      amqp.on('error', () => {});
      const ch = await amqp.createChannel();
      const closed = new Promise<Error>((resolve) => ch.once('error', resolve));
      await ch.consume('a10-qq42-witness', () => {}, { noAck: false });
      expect(String(await closed)).toMatch(/PRECONDITION_FAILED/);
      await amqp.close().catch(() => {});
      await roundTrip(conn, 'a10-qq42');
      expect({ any, ended }).toEqual({ any: false, ended: false });
      expect(broker.queue('a10-qq42').info()).toMatchObject({ messages: 0, unacked: 1 });
      (m!.delivery as Settleable).accept();
      await rheaClose(conn);
    });
  });

  it('3.13: the session ends with amqp:precondition-failed and rabbit_channel\'s text (channel 1); the message goes back, the connection stays', async () => {
    await withBroker('3.13', 150, async (broker, port) => {
      await fill(broker, 'a10-cq313', {}, ['s']);
      const conn = await rheaConnect(port);
      const ended = new Promise<{ condition?: string; description?: string }>((resolve) =>
        conn.once('session_error', (ctx: EventContext) => resolve(ctx.session!.error as { condition?: string; description?: string })),
      );
      const rx = await openReceiver(conn, { source: { address: '/queues/a10-cq313' }, autoaccept: false, credit_window: 0 });
      rx.add_credit(1);
      const started = Date.now();
      await receiveN(rx, 1);
      const err = await ended;
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      expect(err).toMatchObject({
        condition: 'amqp:precondition-failed',
        description:
          'PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 150 ms. This timeout value can be configured, see consumers doc guide to learn more',
      });
      expect(broker.queue('a10-cq313').info()).toMatchObject({ messages: 1, unacked: 0 });
      // the connection carries on: a new session receives the message again, redelivered
      const rx2 = await openReceiver(conn, { source: { address: '/queues/a10-cq313' }, credit_window: 0 });
      rx2.add_credit(1);
      const [again] = await receiveN(rx2, 1);
      expect(body(again!)).toBe('s');
      expect(again!.message.first_acquirer).toBe(false);
      await rheaClose(conn);
    });
  });
});
