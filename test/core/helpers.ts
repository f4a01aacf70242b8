import type { Consumer, ConsumerSink, Delivery } from '../../src/core/consumer.js';
import { Selector } from '../../src/core/selector/index.js';
import type { Session } from '../../src/core/session.js';
import { Broker } from '../../src/core/broker.js';
import type { FieldTable } from '../../src/core/fields.js';
import type { Message, MessageProperties } from '../../src/core/message.js';
import type { VHost } from '../../src/core/vhost.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { Store } from '../../src/store/store.js';

/** the core on its own: a Broker with vhost '/', no sockets, no protocol */
export function coreBroker(store: Store = new MemoryStore()): { broker: Broker; vhost: VHost } {
  const broker = new Broker(store);
  return { broker, vhost: broker.addVhost('/') };
}

export function message(body: string, properties: MessageProperties = {}, exchange = '', routingKey = ''): Message {
  return { exchange, routingKey, properties, body: Buffer.from(body), publishedAt: Date.now() };
}

/** publish as an adapter does: the message carries where it was sent */
export function publish(vhost: VHost, exchange: string, routingKey: string, body: string, properties: MessageProperties = {}): number {
  return vhost.publish(exchange, routingKey, message(body, properties, exchange, routingKey));
}

export function declareQueue(vhost: VHost, name: string, args: FieldTable = {}, durable = false) {
  return vhost.declareQueue(name, { passive: false, durable, exclusive: false, autoDelete: false, arguments: args }, null);
}

/** a ConsumerSink that keeps what it is given */
export class Collector implements ConsumerSink {
  readonly deliveries: Delivery[] = [];
  deliver(d: Delivery): void {
    this.deliveries.push(d);
  }
  isWritable(): boolean {
    return true;
  }
  cancelledByBroker(_c: Consumer): void {}
  get texts(): string[] {
    return this.deliveries.map((d) => d.message.body.toString());
  }
}

/**
 * until `sink` has `n` deliveries or the broker has no sliced work left: a dispatch of more than a
 * slice's worth goes on in the sliced work (DispatchSlices), so a consume of thousands is not all
 * delivered within the call
 */
export async function deliveredTo(broker: Broker, sink: { readonly deliveries: readonly Delivery[] }, n: number): Promise<void> {
  while (sink.deliveries.length < n && broker.bulkWork.pending > 0) await new Promise((resolve) => setImmediate(resolve));
}

/** the ready messages of a queue, as text */
export function texts(vhost: VHost, queue: string): string[] {
  return (vhost.getQueue(queue)?.peekMessages() ?? []).map((e) => e.message.body.toString());
}

/** a consumer of queue `q` (a JMS selector if given) whose deliveries are kept until the test settles them */
export function keepingConsumer(broker: Broker, vhost: VHost, tag: string, prefetch: number, selector?: string) {
  const session: Session = broker.openSession(vhost, {});
  session.consumerPrefetch = prefetch;
  const got: Delivery[] = [];
  const sink: ConsumerSink = { deliver: (d) => got.push(d), isWritable: () => true, cancelledByBroker: () => undefined };
  session.consume('q', { tag, noAck: false, exclusive: false, priority: 0, arguments: {}, ...(selector ? { selector: new Selector(selector) } : {}) }, sink);
  return { session, got, bodies: () => got.map((d) => d.message.body.toString()), ackAll: () => session.ack(got[got.length - 1]!.tag, true) };
}
