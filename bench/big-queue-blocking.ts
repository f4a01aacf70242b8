/**
 * Issue 18 part 5: how long one operation on a 1 M-message queue holds the event loop
 * (in-process broker, in memory). Each figure is the synchronous time of the call, which is
 * the longest time any other client waits meanwhile.
 *   npx tsx bench/big-queue-blocking.ts [--count 1000000]
 */
import { startBroker } from '../src/index.js';

const i = process.argv.indexOf('--count');
const N = i > 0 ? Number(process.argv[i + 1]) : 1_000_000;
const b = await startBroker({ ports: { amqp: 0 } });
const v = b.core.vhost('/')!;
const declare = (name: string, args: Record<string, unknown> = {}) =>
  v.declareQueue(name, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: args as never }, null);
const fill = (name: string, props = {}) => {
  const body = Buffer.from('m');
  for (let k = 0; k < N; k++) b.publish('', name, body, props);
};
const time = (label: string, f: () => unknown) => {
  const t = process.hrtime.bigint();
  f();
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  console.log(`${label.padEnd(40)} ${ms.toFixed(0).padStart(6)} ms`);
};
declare('a');
time(`publish ${N}`, () => fill('a'));
time('peek all (test API)', () => b.queue('a').messages());
time('purge', () => b.queue('a').purge());
declare('d');
fill('d');
time('delete', () => v.deleteQueue('d', false, false, null));
declare('ttl', { 'x-message-ttl': 1 });
fill('ttl');
// the queue's expiry timer drops them all in one go: it shows as the lateness of a 5 ms timer
const t = process.hrtime.bigint();
await new Promise((r) => setTimeout(r, 5));
console.log(`${'expire (TTL) all at once'.padEnd(40)} ${(Number(process.hrtime.bigint() - t) / 1e6 - 5).toFixed(0).padStart(6)} ms (timer lateness; left: ${v.getQueue('ttl')!.messageCount})`);
await b.stop();
process.exit(0);
