/**
 * The AMQP 0-9-1 side of bench/amqp10-e2e.ts's `--client amqplib`: the same producer → consumer
 * run as the AMQP 1.0 clients, in the same harness (each side a process of its own, consumer
 * attached first, timed from the first publish to the count-th delivery), so the two protocols
 * are compared like with like:
 *
 *   settled   ⇄ a publisher without confirms, a consumer with noAck (AMQP 1.0: a pre-settled
 *               sender, a settled receiver)
 *   unsettled ⇄ a publisher with confirms (at most `window` unconfirmed), a consumer acking every
 *               message on its own (prefetch `prefetch`) (AMQP 1.0: the sender waits for each
 *               outcome, the receiver accepts each message)
 *
 * The queue is the one the AMQP 1.0 v1 address `/queue/name` declares: non-durable, transient
 * messages of the same size.
 */
import amqp from 'amqplib';

export interface Amqp091Side {
  url: string;
  /** the AMQP 1.0 address; `/queue/name` → queue `name` */
  address: string;
  settled: boolean;
  count: number;
  size: number;
  /** consumer prefetch (unsettled), as rhea's credit window */
  prefetch: number;
  /** unconfirmed publishes in flight (unsettled) */
  window: number;
}

function queueOf(address: string): string {
  return address.replace(/^\/queue\//, '');
}

export async function amqp091Consumer(o: Amqp091Side, ready: () => void, done: () => void): Promise<void> {
  const conn = await amqp.connect(o.url);
  const ch = await conn.createChannel();
  const queue = queueOf(o.address);
  await ch.assertQueue(queue, { durable: false });
  if (!o.settled) await ch.prefetch(o.prefetch, false);
  let received = 0;
  await ch.consume(
    queue,
    (msg) => {
      if (msg === null) return;
      if (!o.settled) ch.ack(msg);
      if (++received === o.count) {
        done();
        void conn.close().catch(() => undefined);
      }
    },
    { noAck: o.settled },
  );
  ready();
}

export async function amqp091Producer(o: Amqp091Side, start: () => void): Promise<void> {
  const conn = await amqp.connect(o.url);
  const queue = queueOf(o.address);
  const body = Buffer.alloc(o.size, 0x61);
  const ch = o.settled ? await conn.createChannel() : await conn.createConfirmChannel();
  let outstanding = 0;
  let confirmed = 0;
  let windowOpen: (() => void) | undefined;
  let confirmedAll!: () => void;
  let nacked!: (err: Error) => void;
  const allConfirmed = new Promise<void>((resolve, reject) => {
    confirmedAll = resolve;
    nacked = reject;
  });
  // one callback for every publish: no closure per message
  const onConfirm = (err: unknown): void => {
    if (err) return nacked(new Error(`publish nacked: ${String(err)}`));
    outstanding--;
    if (++confirmed === o.count) confirmedAll();
    if (windowOpen && outstanding < o.window) {
      const w = windowOpen;
      windowOpen = undefined;
      w();
    }
  };
  start();
  for (let i = 0; i < o.count; i++) {
    let ok: boolean;
    if (o.settled) ok = ch.sendToQueue(queue, body);
    else {
      if (outstanding >= o.window) await new Promise<void>((r) => (windowOpen = r));
      outstanding++;
      ok = (ch as amqp.ConfirmChannel).sendToQueue(queue, body, {}, onConfirm);
    }
    if (!ok) await new Promise<void>((r) => ch.once('drain', r));
  }
  // it stays open until the harness ends it, which reads its CPU time first (and a publisher
  // without confirms cannot know when the broker has its last messages: connection.close on
  // channel 0 may overtake them)
  if (!o.settled) await allConfirmed;
}
