/**
 * ActiveMQ message groups on one queue, in the core alone (no sockets): N messages in G
 * groups (JMSXGroupID round-robin) already queued, C consumers with a prefetch P that ack
 * each batch of deliveries on the next turn (as a JMS client's acks come back), timed until
 * every message is acked. Dispatch with groups owned used to copy the whole ready list per
 * dispatch and rewrite it per delivery (O(ready) each); it should now cost about the same
 * per message whatever N is.
 * Run: npx tsx bench/message-groups.ts [N=20000] [G=100] [C=4] [P=100] [rounds=3]   (G=0: no groups, for comparison)
 */
import { Broker } from '../src/core/broker.js';
import type { Consumer, ConsumerSink, Delivery } from '../src/core/consumer.js';
import type { Session } from '../src/core/session.js';
import { MemoryStore } from '../src/store/memory-store.js';

const [N = 20000, G = 100, C = 4, P = 100, ROUNDS = 3] = process.argv.slice(2).map(Number);

async function round(): Promise<number> {
  const broker = new Broker(new MemoryStore());
  const vhost = broker.addVhost('/');
  vhost.declareQueue('groups', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: { 'x-activemq-queue': true } }, null);
  const body = Buffer.alloc(64);
  for (let i = 0; i < N; i++) {
    vhost.publish('', 'groups', { exchange: '', routingKey: 'groups', properties: G > 0 ? { headers: { JMSXGroupID: `g${i % G}` } } : {}, body, publishedAt: Date.now() });
  }
  let acked = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    for (let k = 0; k < C; k++) {
      const session: Session = broker.openSession(vhost, {});
      session.consumerPrefetch = P;
      let pending: number[] = [];
      let scheduled = false;
      const sink: ConsumerSink = {
        deliver(d: Delivery) {
          pending.push(d.tag);
          if (scheduled) return;
          scheduled = true;
          setImmediate(() => {
            scheduled = false;
            const tags = pending;
            pending = [];
            acked += tags.length;
            session.ack(tags[tags.length - 1]!, true);
            if (acked === N) resolve();
          });
        },
        isWritable: () => true,
        cancelledByBroker: (_c: Consumer) => undefined,
      };
      session.consume('groups', { tag: `c${k}`, noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
    }
  });
  return performance.now() - start;
}

const times: number[] = [];
for (let r = 0; r < ROUNDS; r++) times.push(await round());
times.sort((a, b) => a - b);
const median = times[Math.floor(times.length / 2)]!;
console.log(`message groups: ${N} messages, ${G} groups, ${C} consumers, prefetch ${P}: rounds ${times.map((t) => t.toFixed(0)).join(' / ')} ms → median ${median.toFixed(0)} ms, ${((median * 1000) / N).toFixed(1)} µs/message`);
