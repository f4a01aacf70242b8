import type { Broker } from '../core/broker.js';
import type { Delivery } from '../core/consumer.js';
import { Routed } from '../core/exchanges/routing.js';
import type { FieldTable } from '../core/fields.js';
import type { Message, MessageProperties } from '../core/message.js';
import type { QueueEntry } from '../core/queues/entry.js';
import type { Queue } from '../core/queues/queue.js';
import type { ClientConnection } from '../protocols/context.js';
import type { Connections } from './connections.js';
import type { SlicedTask, SlicedWork } from '../core/sliced-work.js';
import type { ReadyCopy } from '../core/queues/ready-list.js';

/** messages one slice of peek() builds at most, whatever its time left */
const PEEK_CHUNK = 16_384;

export interface QueueInfo {
  vhost: string;
  name: string;
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
  /** classic or quorum (the x-queue-type given, or the engine version's default) */
  type: 'classic' | 'quorum' | 'stream';
  messages: number;
  unacked: number;
  consumers: number;
}

export interface PeekedMessage {
  body: Buffer;
  exchange: string;
  routingKey: string;
  /**
   * the queued message's own properties, not a copy (a peek of a million copies none): read
   * them, never change them — they may be shared by many messages and frozen (review-s10-4 #2)
   */
  readonly properties: Readonly<MessageProperties>;
  redelivered: boolean;
  /** body as UTF-8 text */
  text(): string;
}

/**
 * The inspection API of a running broker, what tests and the CLI reach for: connections,
 * queues and their messages, server-side publish, waiting for a message, reset. Reads the
 * core; LocalMQ (the composition root) extends it.
 */
export class BrokerInspection {
  constructor(
    readonly core: Broker,
    readonly connectionsRegistry: Connections,
  ) {}

  /** live client connections of every protocol */
  connections(): ClientConnection[] {
    return this.connectionsRegistry.list();
  }

  queues(vhost = '/'): QueueInfo[] {
    const v = this.core.vhost(vhost);
    return v ? [...v.queues.values()].map(queueInfo) : [];
  }

  /** a handle on one queue: peek, purge, count */
  queue(name: string, vhost = '/') {
    const find = () => this.core.vhost(vhost)?.getQueue(name);
    return {
      exists: () => find() !== undefined,
      info: (): QueueInfo | undefined => {
        const q = find();
        return q ? queueInfo(q) : undefined;
      },
      /**
       * the ready messages (the first `limit` of them), in delivery order, without consuming them;
       * synchronous, so it holds the broker while it copies them (~0.25 s for a million), and
       * messages on their way back to the queue (a closed channel's) are put back first, at once:
       * peek() for big queues
       */
      messages: (limit?: number): PeekedMessage[] => (find()?.peekMessages(limit) ?? []).map(peeked),
      /**
       * messages() for a queue of millions: the same messages (those ready when called), copied
       * and built a slice at a time with other clients served in between, so the broker is
       * never held for long (messages() of a million holds it for the whole copy). The slices
       * run on the broker's bulk work in turn: peek() resolves only after the bulk work queued
       * before it (a purge's or a mass expiry's settling) has run. Messages of a channel that
       * closed (or nacked many) still on their way back count as ready: peek() then shows the
       * queue as it is once they are back, those queued meanwhile included. Messages taken out of
       * the queue meanwhile (from the head or the middle) are still shown; should the queue be
       * deleted midway, peek() answers the messages it had copied by then: the first ones, in order.
       */
      peek: (limit?: number): Promise<PeekedMessage[]> => {
        const q = find();
        return q ? peekInSlices(this.core.bulkWork, q, limit ?? Infinity) : Promise.resolve([]);
      },
      /** synchronous (the count at once): messages on their way back to the queue are put back first, at once, and purged */
      purge: (): number => find()?.purgeWithReturns() ?? 0,
      messageCount: (): number => find()?.messageCount ?? 0,
    };
  }

  /** publish from the server side, as if a client had; returns whether any queue took it */
  publish(exchange: string, routingKey: string, body: Buffer | string, properties: MessageProperties = {}, vhost = '/'): boolean {
    const message: Message = {
      exchange,
      routingKey,
      properties,
      body: typeof body === 'string' ? Buffer.from(body) : body,
      publishedAt: Date.now(),
    };
    return (this.core.requireVhost(vhost).publish(exchange, routingKey, message) & Routed) !== 0;
  }

  /**
   * Resolve once a message matching `predicate` is in the queue (already there or
   * published later); reject after `timeoutMs`.
   */
  waitFor(queue: string, predicate: (m: PeekedMessage) => boolean = () => true, timeoutMs = 5000, vhost = '/'): Promise<PeekedMessage> {
    // walks the queue without copying it: it may hold millions of messages
    const search = (): PeekedMessage | undefined => {
      const q = this.core.vhost(vhost)?.getQueue(queue);
      if (!q) return undefined;
      for (const e of q.ready.entries()) {
        const m = peeked(e);
        if (predicate(m)) return m;
      }
      return undefined;
    };
    const existing = search();
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve, reject) => {
      const onPublished = () => {
        const m = search();
        if (m) done(m);
      };
      const onDelivered = (q: Queue, d: Delivery) => {
        if (q.name === queue && q.vhost === vhost) {
          const m = peeked(d.entry);
          if (predicate(m)) done(m);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no matching message in queue '${queue}' within ${timeoutMs} ms`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.core.off('published', onPublished);
        this.core.off('delivered', onDelivered);
      };
      const done = (m: PeekedMessage) => {
        cleanup();
        resolve(m);
      };
      this.core.on('published', onPublished);
      this.core.on('delivered', onDelivered);
    });
  }

  /** Drop every queue, non-default exchange, binding and message (listeners and users stay). */
  reset(): void {
    for (const v of this.core.vhosts.values()) {
      for (const q of [...v.queues.keys()]) v.deleteQueue(q, false, false, null);
      for (const e of [...v.exchanges.values()]) if (e.name !== '' && !e.name.startsWith('amq.')) v.deleteExchange(e.name, false);
    }
  }

  /** 'published' | 'delivered' | 'settled' events of the core */
  get events(): Broker {
    return this.core;
  }
}

function queueInfo(q: Queue): QueueInfo {
  return {
    vhost: q.vhost,
    name: q.name,
    durable: q.options.durable,
    exclusive: q.options.exclusive,
    autoDelete: q.options.autoDelete,
    arguments: q.options.arguments,
    type: q.config.queueType,
    messages: q.messageCount,
    unacked: q.unackedCount,
    consumers: q.consumerCount,
  };
}

/** a message as peeked: its fields copied when peeked, `text()` shared (a class: a million of them are cheap) */
class Peeked implements PeekedMessage {
  readonly body: Buffer;
  readonly exchange: string;
  readonly routingKey: string;
  readonly properties: Readonly<MessageProperties>;
  readonly redelivered: boolean;

  constructor(e: QueueEntry) {
    const m = e.message;
    this.body = m.body;
    this.exchange = m.exchange;
    this.routingKey = m.routingKey;
    this.properties = m.properties;
    this.redelivered = e.deliveryCount > 0;
  }

  text(): string {
    return this.body.toString('utf8');
  }
}

function peeked(e: QueueEntry): PeekedMessage {
  return new Peeked(e);
}

/**
 * peek()'s copy: the queue's ready messages as they are when it starts (ReadyCopy: no copy of
 * the whole list at once, messages leaving the head meanwhile are copied as they leave), each
 * built as a PeekedMessage, on the broker's bulk work (SlicedWork) at most PEEK_CHUNK or one
 * slice at a time, other clients served in between. It starts at once, or, while messages are
 * on their way back to the queue, once they are back (Queue.whenReturned), after the bulk work
 * queued before it.
 */
class PeekInSlices implements SlicedTask {
  private copy: ReadyCopy<PeekedMessage> | undefined;

  constructor(
    private readonly work: SlicedWork,
    private readonly queue: Queue,
    private readonly limit: number,
    private readonly resolve: (out: PeekedMessage[]) => void,
    private readonly reject: (err: unknown) => void,
  ) {
    if (!queue.returnsInFlight) this.copy = queue.copyReady(limit, peeked);
  }

  /** nothing to copy: no need to wait for the bulk work */
  get empty(): boolean {
    return this.copy !== undefined && this.copy.out.length === 0;
  }

  step(deadline: number): boolean {
    // messages still on their way back: leave the bulk work, start once they are back (not putting them back at once)
    this.copy ??= this.queue.copyReadyWhenReturned(this.limit, peeked, this.started);
    const copy = this.copy;
    if (copy === undefined) return true;
    if (!copy.step(deadline, PEEK_CHUNK)) return false;
    if (copy.error !== undefined) this.reject(copy.error);
    else this.resolve(copy.out);
    return true;
  }

  private readonly started = (copy: ReadyCopy<PeekedMessage>): void => {
    this.copy = copy;
    this.work.add(this);
  };
}

function peekInSlices(work: SlicedWork, queue: Queue, limit: number): Promise<PeekedMessage[]> {
  return new Promise((resolve, reject) => {
    const task = new PeekInSlices(work, queue, limit, resolve, reject);
    if (task.empty) resolve([]);
    else work.add(task);
  });
}
