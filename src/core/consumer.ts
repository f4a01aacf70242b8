import type { SeqTrail } from './seq-trail.js';
import type { FieldTable } from './fields.js';
import type { Message } from './message.js';
import type { QueueEntry } from './queues/entry.js';
import type { Queue } from './queues/queue.js';
import type { Selector } from './selector/index.js';
import type { Session } from './session.js';

/** The protocol side of a consumer: how the adapter writes a delivery out. */
export interface ConsumerSink {
  deliver(delivery: Delivery): void;
  /** false while the client's socket is backed up: the queue holds its messages until `Queue.dispatch` is called again */
  isWritable(): boolean;
  /** the broker ended the consumer (its queue was deleted): AMQP sends basic.cancel */
  cancelledByBroker(consumer: Consumer): void;
}

export interface Delivery {
  /** per-session delivery tag (AMQP's), unique while unacked */
  readonly tag: number;
  readonly entry: QueueEntry;
  /** null for direct reply-to deliveries, which have no queue */
  readonly queue: Queue | null;
  readonly consumer: Consumer | null;
  readonly redelivered: boolean;
  readonly message: Message;
  /**
   * it counts against its connection's cap of unbounded unacked deliveries (ConnectionUnacked):
   * decided as it is made (a basic.get with ack, or a consumer that nothing bounds), so that its
   * settle takes back exactly what it added, whatever qos the channel has by then
   */
  readonly capped: boolean;
  /** when it went out (ms), kept only while its session watches for consumer timeouts */
  deliveredAt?: number;
  /** ActiveMQ message groups: the first message of its group this consumer owns (JMSXGroupFirstForConsumer) */
  groupFirst?: boolean;
  /**
   * released by a quorum consumer timeout (RabbitMQ 4.3): the message is back in its queue and
   * no longer the client's; the tag stays until the client settles it, which settles nothing more
   */
  timedOut?: boolean;
}

export interface ConsumeOptions {
  tag: string;
  noAck: boolean;
  exclusive: boolean;
  /** x-priority: higher-priority consumers are offered messages first */
  priority: number;
  arguments: FieldTable;
  /** a JMS selector: the consumer takes only the messages it selects; the rest wait for others */
  selector?: Selector;
}

export class Consumer {
  /** per-consumer prefetch (AMQP basic.qos global=false); 0 means no limit */
  prefetch = 0;
  /** deliveries not settled yet, those a bulk settle of its session is still working through included */
  unacked = 0;
  /**
   * its deliveries in its session's book (Session): unacked, not released by a consumer timeout
   * and not handed to a bulk settle yet; the session counts them, so that a bulk settle names
   * exactly the queues it brings messages back to
   */
  booked = 0;
  /**
   * deliveries a consumer timeout released that the client has not settled yet: while any
   * is left the consumer gets nothing (rabbit_fifo's `{timeout, up}` status, 4.3)
   */
  timedOut = 0;
  /**
   * its session let go of it (cancelled, its queue deleted, the session closed): it leaves the
   * session's book with its last delivery there (a flag, not a lookup in the session's map of
   * consumers on each ack that empties its book: every ack at prefetch 1)
   */
  ended = false;
  /** where its deliveries stand in its queue's order (Session.track notes each one needing an ack) */
  trail: SeqTrail | undefined;

  constructor(
    readonly session: Session,
    readonly queue: Queue,
    readonly options: ConsumeOptions,
    readonly sink: ConsumerSink,
  ) {}

  get tag(): string {
    return this.options.tag;
  }

  get noAck(): boolean {
    return this.options.noAck;
  }

  /** does its selector (if any) take this message? */
  accepts(entry: QueueEntry): boolean {
    const s = this.options.selector;
    return s === undefined || s.matches(entry.message, entry.deliveryCount);
  }

  /**
   * does a delivery to it now count against its connection's cap? Only when nothing bounds what
   * it holds unsettled: acks, no prefetch of its own, no global qos on its channel
   * (ConnectionUnacked). Asked at each delivery: a basic.qos global may come later.
   */
  get unbounded(): boolean {
    return !this.options.noAck && this.prefetch === 0 && this.session.globalPrefetch === 0;
  }

  /** may this consumer take one more message now? (one without acks is not held back by what waits for acks) */
  hasCredit(): boolean {
    if (!this.options.noAck && this.prefetch !== 0 && this.unacked >= this.prefetch) return false;
    // the one rule for what counts against the connection's cap: `unbounded`
    if (this.unbounded && !this.session.connection.hasRoom(this.session)) return false;
    if (this.timedOut !== 0) return false;
    return this.session.hasCredit() && this.sink.isWritable();
  }
}
