/**
 * An AMQP 0-9-1 client in a process of its own, so that a benchmark measuring the broker's
 * event loop (bench/big-queue-blocking.ts) does not also measure the client's parsing:
 *   node --import tsx bench/lib/amqp-flood.ts --url URL --queue Q --publish N
 *     publishes N one-byte messages to Q through the default exchange, waiting for 'drain'
 *     whenever the socket's buffer is full (and yielding to the loop then, so it reads), and
 *     prints `done N in <ms> ms` (from the first publish to the round trip after the last);
 *   node --import tsx bench/lib/amqp-flood.ts --url URL --queue Q --consume N
 *     consumes N with prefetch 1000, one basic.ack (multiple) every 500 and at the end
 *     (--prefetch P and --ack-every K change those two).
 * Prints `done N` when finished and exits.
 */
import amqplib from 'amqplib';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const url = arg('--url')!;
const queue = arg('--queue')!;
const conn = await amqplib.connect(url);
const ch = await conn.createChannel();
if (arg('--publish')) {
  const n = Number(arg('--publish'));
  const body = Buffer.from('m');
  const t0 = performance.now();
  for (let k = 0; k < n; k++) {
    if (!ch.sendToQueue(queue, body)) {
      await new Promise((r) => ch.once('drain', r));
      await new Promise((r) => setImmediate(r));
    }
  }
  // a round trip after the last publish: the broker has read them all
  await ch.checkQueue(queue);
  process.stdout.write(`done ${n} in ${(performance.now() - t0).toFixed(0)} ms\n`);
} else {
  const n = Number(arg('--consume'));
  await ch.prefetch(Number(arg('--prefetch') ?? 1000));
  const ackEvery = Number(arg('--ack-every') ?? 500);
  let got = 0;
  await new Promise<void>((resolve) => {
    void ch.consume(queue, (m) => {
      if (!m) return;
      if (++got % ackEvery === 0 || got === n) ch.ack(m, ackEvery > 1);
      if (got === n) resolve();
    });
  });
  await ch.checkQueue(queue);
  process.stdout.write(`done ${got}\n`);
}
await conn.close();
process.exit(0);
