import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, afterEach, beforeAll } from 'vitest';
import type { Queue } from '../../src/core/queues/queue.js';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from './amqp.js';

/**
 * `queue` (declared here) with n + `ready` messages (5 unless given), the first n taken unacked by a channel of `conn`
 * that then closes: they come back in slices (BulkSettle), and the broker's bulk work is gated
 * so that they stay on their way back until `open()`. Anything that waits for them
 * (Queue.whenReturned: basic.get, a purge, the management get) waits meanwhile.
 */
export async function requeueHeld(
  broker: LocalMQ,
  conn: ChannelModel,
  queue: string,
  n: number,
  /** run once the bulk work is gated, before the channel closes: bulk work it queues runs ahead of the requeue */
  beforeClose?: () => Promise<void>,
  ready = 5,
): Promise<{ queue: Queue; open(): void }> {
  const a = await conn.createChannel();
  await a.assertQueue(queue, { durable: false });
  for (let i = 0; i < n + ready; i++) broker.publish('', queue, Buffer.from(String(i)));
  await a.prefetch(n);
  let got = 0;
  await new Promise<void>((resolve) => void a.consume(queue, () => ++got === n && resolve()));
  let opened = false;
  broker.core.bulkWork.add({ step: () => opened });
  await beforeClose?.();
  await a.close();
  return {
    queue: broker.core.vhost('/')!.getQueue(queue)!,
    open: () => {
      opened = true;
    },
  };
}

/** how many answers wait for `q`'s messages on their way back (Queue.whenReturned) */
export function answersWaiting(q: Queue): number {
  return (q as unknown as { afterReturns: { length: number } }).afterReturns.length;
}

/**
 * A test file's broker (started before its tests) with an AMQP connection and channel, and
 * `held(...)`: requeueHeld on it, whose gate a failed test does not leave closed (the broker would not stop).
 */
export function brokerForHeldRequeues() {
  const t = {} as { broker: LocalMQ; conn: ChannelModel; ch: Channel; held(queue: string, n: number, ready?: number): ReturnType<typeof requeueHeld> };
  let open: (() => void) | undefined;
  t.held = async (queue, n, ready) => {
    const h = await requeueHeld(t.broker, t.conn, queue, n, undefined, ready);
    open = h.open;
    return h;
  };
  beforeAll(async () => {
    t.broker = await startBroker();
    t.conn = await connect(t.broker);
    t.ch = await t.conn.createChannel();
  });
  afterEach(() => open?.());
  afterAll(async () => {
    await t.conn?.close().catch(() => undefined);
    await t.broker?.stop();
  });
  return t;
}
