import { Routed } from './exchanges/routing.js';
import type { Message } from './message.js';
import { resolveQueueArgs } from './queues/queue-args.js';
import { Queue, type QueueHost } from './queues/queue.js';
import type { Session } from './session.js';
import type { VHostHost } from './vhost-host.js';

/** RabbitMQ's direct reply-to pseudo-queue */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';
const REPLY_TO_PREFIX = `${DIRECT_REPLY_TO}.`;

/**
 * Direct reply-to (RabbitMQ's amq.rabbitmq.reply-to): a session consuming the pseudo-queue
 * gets a private queue, and a reply published to the default exchange with the key
 * `amq.rabbitmq.reply-to.<session id>` goes straight to it, never stored.
 */
export class DirectReplyTo {
  /** the pseudo-queues, by session id */
  private readonly queues = new Map<string, Queue>();

  constructor(
    private readonly vhost: QueueHost,
    private readonly host: Pick<VHostHost, 'published' | 'memoryAdded' | 'nextMessageId'>,
  ) {}

  /** is this default-exchange routing key a reply address? */
  static isReplyAddress(routingKey: string): boolean {
    return routingKey.startsWith(REPLY_TO_PREFIX);
  }

  /** a session consuming from amq.rabbitmq.reply-to gets a private pseudo-queue */
  queueFor(session: Session): Queue {
    let q = this.queues.get(session.id);
    if (!q) {
      q = new Queue(
        this.vhost,
        DIRECT_REPLY_TO,
        { durable: false, exclusive: true, autoDelete: false, arguments: {}, owner: session.owner },
        resolveQueueArgs(this.vhost.name, DIRECT_REPLY_TO, {}),
      );
      this.queues.set(session.id, q);
    }
    return q;
  }

  /** is the session consuming its replies? (a request naming it in reply-to needs that) */
  consuming(session: Session): boolean {
    return (this.queues.get(session.id)?.consumerCount ?? 0) > 0;
  }

  /** the reply-to value a request from this session carries */
  address(session: Session): string {
    return `${REPLY_TO_PREFIX}${session.id}`;
  }

  /** a reply: to its session's pseudo-queue if that session still consumes, else dropped */
  publish(routingKey: string, message: Message): number {
    const q = this.queues.get(routingKey.slice(REPLY_TO_PREFIX.length));
    if (!q || q.consumerCount === 0) {
      this.host.published(message, 0);
      return 0;
    }
    this.host.memoryAdded(message.body.length);
    q.enqueue(q.makeEntry(this.host.nextMessageId(), message, false));
    this.host.published(message, 1);
    return Routed;
  }

  sessionClosed(session: Session): void {
    const q = this.queues.get(session.id);
    if (q) {
      this.queues.delete(session.id);
      q.destroy();
    }
  }
}
