import type { ChannelModel } from 'amqplib';
import type { Queue } from '../../src/core/queues/queue.js';
import type { LocalMQ } from '../../src/index.js';

/**
 * `queue` (declared here) with n + 5 messages, the first n taken unacked by a channel of `conn`
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
): Promise<{ queue: Queue; open(): void }> {
  const a = await conn.createChannel();
  await a.assertQueue(queue, { durable: false });
  for (let i = 0; i < n + 5; i++) broker.publish('', queue, Buffer.from(String(i)));
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
