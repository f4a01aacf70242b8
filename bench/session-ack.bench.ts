/**
 * The core's cost of one message through a consumer at prefetch 1, acked one by one (the
 * Session's book: Consumer.booked up at the delivery, down at the ack): publish, deliver,
 * basic.ack, no sockets. Session.unbook's check whether the consumer has ended runs at every
 * ack here (each empties its book).
 * Run: npx tsx bench/session-ack.bench.ts
 */
import { Bench } from 'tinybench';
import { Broker } from '../src/core/broker.js';
import type { Consumer, ConsumerSink, Delivery } from '../src/core/consumer.js';
import { MemoryStore } from '../src/store/memory-store.js';

const broker = new Broker(new MemoryStore());
const vhost = broker.addVhost('/');
vhost.declareQueue('q', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
const session = broker.openSession(vhost, {});
session.setPrefetch(1, false);
let last: Delivery | undefined;
const sink: ConsumerSink = {
  deliver: (d) => void (last = d),
  isWritable: () => true,
  cancelledByBroker: (_c: Consumer) => undefined,
};
session.consume('q', { tag: 'c', noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
const body = Buffer.from('m');

const bench = new Bench({ time: 2000, warmupTime: 500 });
bench.add('publish + deliver + ack, prefetch 1', () => {
  vhost.publish('', 'q', { exchange: '', routingKey: 'q', properties: {}, body, publishedAt: 0 });
  session.ack(last!.tag, false);
});
await bench.run();
console.table(bench.table());
