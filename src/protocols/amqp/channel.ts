import { randomBytes } from 'node:crypto';
import type { Consumer, ConsumerSink, Delivery } from '../../core/consumer.js';
import { Access, type Permission } from '../../core/access.js';
import { consumerTimedOut, notFound, preconditionFailed } from '../../core/errors.js';
import { checkExpirationHeader } from '../../core/expiration-header.js';
import type { FieldTable } from '../../core/fields.js';
import type { OrderedDurableWaits } from '../../core/durability.js';
import type { Message, MessageProperties } from '../../core/message.js';
import type { Queue } from '../../core/queues/queue.js';
import type { Session } from '../../core/session.js';
import { Transaction } from '../../core/transaction.js';
import { DIRECT_REPLY_TO } from '../../core/direct-reply-to.js';
import { Rejected, Routed } from '../../core/exchanges/routing.js';
import type { VHost } from '../../core/vhost.js';
import { ChannelFlow } from '../../core/channel-flow.js';
import type { ChannelInfo } from '../context.js';
import {
  AmqpCodecError,
  COMMAND_INVALID,
  decodeContentHeaderFrame,
  encodeContentFrames,
  encodeDelivery,
  messagePropertyBlock,
  NOT_IMPLEMENTED,
  NOT_ALLOWED,
  UNEXPECTED_FRAME,
  FRAME_ERROR,
  type DecodedMethod,
} from './codec/index.js';
import type { AmqpConnection, HeldChannel } from './connection.js';
import { RepeatedPropertyBlock } from './repeated-property-block.js';

/** a publish being assembled from its method, header and body frames */
interface PendingContent {
  exchange: string;
  routingKey: string;
  mandatory: boolean;
  properties?: MessageProperties;
  propertyBytes?: Buffer;
  bodySize: number;
  chunks: Buffer[];
  received: number;
}

/**
 * One AMQP channel: translates methods into core calls on its Session and the vhost, and
 * core deliveries into basic.deliver frames. Holds the AMQP-only state: content assembly,
 * publisher confirms and transactions.
 */
export class AmqpChannel implements ConsumerSink {
  readonly session: Session;
  private readonly vhost: VHost;
  private content: PendingContent | undefined;
  private lastQueue: string | undefined;
  private confirming = false;
  private publishSeq = 0;
  /** has published: a publisher until it closes (rabbit_channel's publishing_mode, the global publishers gauge) */
  private publishing = false;
  /** publish sequence numbers waiting for the store before their confirm goes out */
  private readonly confirms: OrderedDurableWaits<number>;
  /** of those, the ones a reject-publish queue refused: they get basic.nack */
  private readonly nacked = new Set<number>();
  private tx: Transaction | undefined;
  private readonly access: Access;
  private closed = false;
  /** the previous publish's property block and strings, shared by the messages that repeat them */
  private readonly repeatedProperties = new RepeatedPropertyBlock();
  private lastExchange = '';
  private lastRoutingKey = '';
  /** this channel's own state under the journal's credit flow (management `state`) */
  private readonly flow = new ChannelFlow(() => this.conn.flow);

  constructor(
    private readonly conn: AmqpConnection,
    readonly number: number,
  ) {
    this.vhost = conn.vhostModel!;
    this.session = conn.ctx.broker.openSession(this.vhost, conn);
    // a publisher cannot run more than a backlog of confirms ahead of the disk: its reading is held meanwhile
    this.confirms = conn.ctx.broker.durability.ordered((seqs, err) => this.flushConfirms(seqs, err), { hold: (on) => conn.flow?.hold(on) });
    this.access = new Access(conn.ctx.access, conn.authUser!.name);
    const timedOut = (ms: number) => conn.closeChannel(number, 406, consumerTimedOut(number, ms).replyText);
    if (this.vhost.engineRules.consumerTimeout === 'channel') {
      this.session.watchAckTimeout((ms) => timedOut(ms));
    } else {
      // 4.3: a quorum consumer's timed-out messages go back, and the consumer is cancelled; a
      // basic.get's, or a client that takes no basic.cancel, closes the channel (rabbit_channel
      // handle_queue_actions {released, …, timeout}: its fallback, timeout -1)
      this.session.watchAckTimeout((_ms, d) => {
        if (!d.consumer || !conn.hasCapability('consumer_cancel_notify')) return timedOut(-1);
        const c = d.consumer && this.session.timeOutConsumer(d.consumer);
        if (c) this.cancelledByBroker(c);
      }, 'quorum-queue');
    }
  }

  /** what the management API shows of a channel */
  info(): ChannelInfo {
    const s = this.session;
    return {
      number: this.number,
      confirm: this.confirming,
      transactional: this.tx !== undefined,
      prefetchCount: s.consumerPrefetch,
      globalPrefetchCount: s.globalPrefetch,
      consumerCount: s.consumers.size,
      unacked: s.unackedCount,
      pendingConfirms: this.confirms.outstanding,
      active: s.active,
      inFlow: this.flow.inFlow,
      publishing: this.publishing,
    };
  }

  // ---- frames --------------------------------------------------------------------

  onMethod(m: DecodedMethod): void {
    if (this.content) {
      throw new AmqpCodecError(
        UNEXPECTED_FRAME,
        `expected content header for class 60, got non content header frame instead`,
        m.classId,
        m.methodId,
      );
    }
    try {
      this.dispatch(m);
    } catch (err) {
      this.conn.channelError(this.number, err, m.classId, m.methodId);
    }
  }

  onHeader(payload: Buffer): void {
    const c = this.content;
    if (!c) throw new AmqpCodecError(UNEXPECTED_FRAME, `expected method frame, got non method frame instead`);
    if (c.properties) throw new AmqpCodecError(UNEXPECTED_FRAME, `expected content body, got non content body frame instead`);
    const h = decodeContentHeaderFrame(payload);
    const kept = this.repeatedProperties.of(h.propertyBytes);
    if (h.classId !== 60) throw new AmqpCodecError(FRAME_ERROR, `content header for class ${h.classId} after basic.publish`);
    const max = this.conn.ctx.broker.limits.settings.maxMessageSize;
    if (h.bodySize > max) {
      this.content = undefined;
      this.conn.closeChannel(
        this.number,
        406,
        `PRECONDITION_FAILED - message size ${h.bodySize} is larger than configured max size ${max}`,
        60,
        40,
      );
      return;
    }
    c.properties = kept.properties;
    // keep the client's own property bytes: deliveries reuse them untouched
    c.propertyBytes = kept.bytes;
    c.bodySize = h.bodySize;
    if (h.bodySize === 0) this.completeContent();
  }

  onBody(payload: Buffer): void {
    const c = this.content;
    if (!c || !c.properties) throw new AmqpCodecError(UNEXPECTED_FRAME, `expected method frame, got non method frame instead`);
    c.received += payload.length;
    if (c.received > c.bodySize) throw new AmqpCodecError(FRAME_ERROR, `content body larger than declared size ${c.bodySize}`);
    c.chunks.push(c.chunks.length === 0 && c.received === c.bodySize ? payload : Buffer.from(payload));
    if (c.received === c.bodySize) this.completeContent();
  }

  private completeContent(): void {
    const c = this.content!;
    this.content = undefined;
    const body = c.chunks.length === 1 ? Buffer.from(c.chunks[0]!) : Buffer.concat(c.chunks, c.bodySize);
    const message: Message = {
      exchange: c.exchange,
      routingKey: c.routingKey,
      properties: c.properties!,
      body,
      publishedAt: Date.now(),
      encodedProperties: c.propertyBytes,
    };
    try {
      this.publish(c.exchange, c.routingKey, c.mandatory, message);
    } catch (err) {
      this.conn.channelError(this.number, err, 60, 40);
    }
  }

  // ---- methods -------------------------------------------------------------------

  private dispatch(m: DecodedMethod): void {
    const a = m.args as never as Record<string, never>;
    switch (m.name) {
      case 'channel.close':
        this.conn.channelClosedByClient(this.number);
        return;
      case 'channel.close-ok':
        return;
      case 'channel.flow':
        if (!m.args.active) throw new AmqpCodecError(NOT_IMPLEMENTED, `active=false`, m.classId, m.methodId);
        this.reply('channel.flow-ok', { active: true });
        return;
      case 'channel.flow-ok':
        return;
      case 'access.request':
        this.reply('access.request-ok', { reserved1: 1 });
        return;

      case 'exchange.declare': {
        const { exchange, type, passive, durable, autoDelete, internal, noWait, arguments: args } = m.args;
        if (!passive) this.checkPermission('configure', 'exchange', exchange);
        this.vhost.declareExchange(exchange, type, { passive, durable, autoDelete, internal, arguments: args });
        if (!noWait) this.reply('exchange.declare-ok', {});
        return;
      }
      case 'exchange.delete': {
        const { exchange, ifUnused, noWait } = m.args;
        this.checkPermission('configure', 'exchange', exchange);
        this.vhost.deleteExchange(exchange, ifUnused);
        if (!noWait) this.reply('exchange.delete-ok', {});
        return;
      }
      case 'exchange.bind':
      case 'exchange.unbind': {
        const { destination, source, routingKey, noWait, arguments: args } = m.args;
        this.checkPermission('write', 'exchange', destination);
        this.checkPermission('read', 'exchange', source);
        this.access.topic(this.vhost, source, routingKey, 'read');
        if (m.name === 'exchange.bind') {
          this.vhost.bindExchange(destination, source, routingKey, args);
          if (!noWait) this.reply('exchange.bind-ok', {});
        } else {
          this.vhost.unbindExchange(destination, source, routingKey, args);
          if (!noWait) this.reply('exchange.unbind-ok', {});
        }
        return;
      }

      case 'queue.declare': {
        const { passive, durable, exclusive, autoDelete, noWait, arguments: args } = m.args;
        const name = m.args.queue;
        if (name === DIRECT_REPLY_TO && passive) {
          if (!noWait) this.reply('queue.declare-ok', { queue: name, messageCount: 0, consumerCount: 0 });
          return;
        }
        if (!passive && name !== '') this.checkPermission('configure', 'queue', name);
        const q = this.vhost.declareQueue(name, { passive, durable, exclusive, autoDelete, arguments: args, defaultType: true }, this.conn);
        this.lastQueue = q.name;
        if (!noWait) this.reply('queue.declare-ok', { queue: q.name, messageCount: q.messageCount, consumerCount: q.consumerCount });
        return;
      }
      case 'queue.bind':
      case 'queue.unbind': {
        const queue = this.queueName(m.args.queue);
        const { exchange, routingKey, arguments: args } = m.args;
        this.checkPermission('write', 'queue', queue);
        this.checkPermission('read', 'exchange', exchange);
        this.access.topic(this.vhost, exchange, routingKey, 'read');
        if (m.name === 'queue.bind') {
          this.vhost.bindQueue(queue, exchange, routingKey, args, this.conn);
          if (!m.args.noWait) this.reply('queue.bind-ok', {});
        } else {
          this.vhost.unbindQueue(queue, exchange, routingKey, args, this.conn);
          this.reply('queue.unbind-ok', {});
        }
        return;
      }
      case 'queue.purge': {
        const queue = this.queueName(m.args.queue);
        this.checkPermission('read', 'queue', queue);
        const noWait = m.args.noWait;
        this.whenReturned(queue, m, (q) => {
          const n = this.vhost.purgeQueue(q, this.conn);
          if (!noWait) this.reply('queue.purge-ok', { messageCount: n });
        });
        return;
      }
      case 'queue.delete': {
        const queue = this.queueName(m.args.queue);
        this.checkPermission('configure', 'queue', queue);
        const { ifUnused, ifEmpty, noWait } = m.args;
        // not there: deleted idempotently, at once
        if (this.vhost.getQueue(queue) === undefined) {
          if (!noWait) this.reply('queue.delete-ok', { messageCount: 0 });
          return;
        }
        // in its turn, as RabbitMQ's queue process takes queue.delete from its mailbox after the
        // basic.gets and purges (and a closed channel's requeue) that reached it first, all of
        // priority 0 (rabbit_amqqueue_process prioritise_call): they are answered from the queue
        // first, and the count and if-empty see the requeued messages back
        this.whenReturned(queue, m, (q) => {
          const n = this.vhost.deleteQueueOf(q, ifUnused, ifEmpty, this.conn);
          if (!noWait) this.reply('queue.delete-ok', { messageCount: n });
        });
        return;
      }

      case 'basic.qos': {
        const { prefetchSize, prefetchCount, global } = m.args;
        if (prefetchSize !== 0) throw new AmqpCodecError(NOT_IMPLEMENTED, `prefetch_size!=0 (${prefetchSize})`, m.classId, m.methodId);
        this.session.setPrefetch(prefetchCount, global);
        this.reply('basic.qos-ok', {});
        this.session.resume();
        return;
      }
      case 'basic.consume':
        this.consume(m.args.queue, m.args.consumerTag, m.args.noAck, m.args.exclusive, m.args.noWait, m.args.arguments);
        return;
      case 'basic.cancel': {
        const { consumerTag, noWait } = m.args;
        this.session.cancel(consumerTag);
        if (!noWait) this.reply('basic.cancel-ok', { consumerTag });
        return;
      }
      case 'basic.publish': {
        const { exchange, routingKey, mandatory, immediate } = m.args;
        if (immediate) throw new AmqpCodecError(NOT_IMPLEMENTED, `immediate=true`, m.classId, m.methodId);
        // a publisher mostly repeats its exchange and routing key: its queued messages share the
        // previous publish's strings instead of holding one each (issue 18 point 5: 1M floods)
        if (exchange !== this.lastExchange) this.lastExchange = exchange;
        if (routingKey !== this.lastRoutingKey) this.lastRoutingKey = routingKey;
        this.content = { exchange: this.lastExchange, routingKey: this.lastRoutingKey, mandatory, bodySize: 0, chunks: [], received: 0 };
        return;
      }
      case 'basic.get':
        this.get(m, m.args.queue, m.args.noAck);
        return;
      case 'basic.ack': {
        const { deliveryTag, multiple } = m.args;
        this.settle(() => this.session.ack(deliveryTag, multiple));
        return;
      }
      case 'basic.nack': {
        const { deliveryTag, multiple, requeue } = m.args;
        this.settle(() => this.session.nack(deliveryTag, multiple, requeue));
        return;
      }
      case 'basic.reject': {
        const { deliveryTag, requeue } = m.args;
        this.settle(() => this.session.reject(deliveryTag, requeue));
        return;
      }
      case 'basic.recover-async':
      case 'basic.recover':
        if (!m.args.requeue) throw new AmqpCodecError(NOT_IMPLEMENTED, `requeue=false`, m.classId, m.methodId);
        this.session.recover();
        if (m.name === 'basic.recover') this.reply('basic.recover-ok', {});
        return;

      case 'confirm.select':
        if (this.tx) throw preconditionFailed(`cannot switch from tx to confirm mode`);
        this.confirming = true;
        if (!m.args.noWait) this.reply('confirm.select-ok', {});
        return;
      case 'tx.select':
        if (this.confirming) throw preconditionFailed(`cannot switch from confirm to tx mode`);
        this.tx ??= new Transaction(this.conn.ctx.broker.durability);
        this.reply('tx.select-ok', {});
        return;
      case 'tx.commit':
        this.commit();
        return;
      case 'tx.rollback':
        if (!this.tx) throw preconditionFailed(`channel is not transactional`);
        this.tx.rollback();
        this.reply('tx.rollback-ok', {});
        return;

      default:
        throw new AmqpCodecError(COMMAND_INVALID, `unexpected method '${m.name}' from a client`, m.classId, m.methodId);
    }
    void a;
  }

  /** the spec lets an empty queue name mean the channel's last declared queue */
  private queueName(name: string): string {
    if (name !== '') return name;
    if (this.lastQueue === undefined) throw notFound(`no previously declared queue`);
    return this.lastQueue;
  }

  private checkPermission(p: Permission, kind: 'queue' | 'exchange', name: string): void {
    this.access.permission(this.vhost.name, { kind, name }, p);
  }

  /** an ack, nack or reject: now, or at commit in a transaction */
  private settle(apply: () => void): void {
    if (this.tx) this.tx.settle(apply);
    else apply();
  }

  // ---- consuming -----------------------------------------------------------------

  private consume(queue: string, tag: string, noAck: boolean, exclusive: boolean, noWait: boolean, args: FieldTable): void {
    if (tag === '') tag = `amq.ctag-${randomBytes(16).toString('base64url').slice(0, 22)}`;
    else if (this.session.hasConsumer(tag)) {
      throw new AmqpCodecError(NOT_ALLOWED, `attempt to reuse consumer tag '${tag}'`, 60, 20);
    }
    this.conn.ctx.broker.limits.checkConsumerCount(this.session.consumers.size);
    const priority = typeof args['x-priority'] === 'number' ? args['x-priority'] : 0;
    const options = { tag, noAck, exclusive, priority, arguments: args };
    const reply = () => {
      if (!noWait) this.reply('basic.consume-ok', { consumerTag: tag });
    };
    if (queue === DIRECT_REPLY_TO) {
      if (!noAck) throw preconditionFailed(`reply consumer cannot acknowledge`);
      this.session.consumeReplyTo(options, this, reply);
      return;
    }
    queue = this.queueName(queue);
    this.checkPermission('read', 'queue', queue);
    this.session.consume(queue, options, this, reply);
  }

  private get(m: DecodedMethod, name: string, noAck: boolean): void {
    const queue = this.queueName(name);
    this.checkPermission('read', 'queue', queue);
    this.whenReturned(queue, m, (q) => this.getNow(q, noAck));
  }

  /**
   * `answer` — a basic.get's, a queue.purge's or a queue.delete's — once the queue has no messages on their way
   * back (Queue.whenReturned: a closed channel's million unacked come back in slices, and the
   * answer waits its turn behind them instead of making the queue put them all back at once).
   * Meanwhile this channel's later frames wait, in order (AmqpConnection.holdChannel), as
   * RabbitMQ's channel process waits for the queue's reply; other channels go on. The answer
   * is the queue's it waited on (not found if deleted meanwhile), never one declared under its name since.
   */
  private whenReturned(queue: string, m: DecodedMethod, answer: (q: Queue) => void): void {
    const q = this.vhost.getQueue(queue);
    if (q === undefined) throw notFound(`no queue '${queue}' in vhost '${this.vhost.name}'`);
    let ran = false;
    let held: HeldChannel | undefined;
    q.whenReturned(() => {
      ran = true;
      // at once (the usual case): an error is the method's, as for any other
      if (held === undefined) return answer(q);
      if (!this.closed) {
        try {
          answer(q);
        } catch (err) {
          this.conn.channelError(this.number, err, m.classId, m.methodId);
        }
      }
      this.conn.releaseChannel(this.number, held);
    });
    if (!ran) held = this.conn.holdChannel(this.number);
  }

  private getNow(queue: Queue, noAck: boolean): void {
    const got = this.session.getFrom(queue, noAck);
    if (!got) {
      this.reply('basic.get-empty', {});
      return;
    }
    const { delivery: d, messageCount } = got;
    this.conn.write(
      encodeContentFrames(
        this.number,
        'basic.get-ok',
        { deliveryTag: d.tag, redelivered: d.redelivered, exchange: d.message.exchange, routingKey: d.message.routingKey, messageCount },
        messagePropertyBlock(d.message),
        d.message.body,
        this.conn.frameMax,
      ),
    );
  }

  deliver(d: Delivery): void {
    const m = d.message;
    this.conn.write(
      encodeDelivery(this.number, d.consumer!.tag, d.tag, d.redelivered, m.exchange, m.routingKey, messagePropertyBlock(m), m.body, this.conn.frameMax),
    );
  }

  isWritable(): boolean {
    return !this.closed && this.conn.writable;
  }

  cancelledByBroker(c: Consumer): void {
    if (this.closed) return;
    if (this.conn.hasCapability('consumer_cancel_notify')) this.reply('basic.cancel', { consumerTag: c.tag, noWait: true });
  }

  resume(): void {
    if (!this.closed) this.session.resume();
  }

  // ---- publishing ----------------------------------------------------------------

  private publish(exchange: string, routingKey: string, mandatory: boolean, message: Message): void {
    this.publishing = true;
    // only a publish that arrives while the alarm is already on stops the reading; the one
    // that crosses the watermark does not, or its own connection could never drain the queue
    this.conn.flow?.published();
    this.checkPermission('write', 'exchange', exchange);
    this.access.publishTopics(this.vhost, exchange, message);
    const props = message.properties;
    this.access.userId(props.userId);
    if (props.replyTo === DIRECT_REPLY_TO) {
      if (!this.vhost.directReplyTo.consuming(this.session)) throw preconditionFailed(`fast reply consumer does not exist`);
      message.properties = { ...props, replyTo: this.vhost.directReplyTo.address(this.session) };
      message.encodedProperties = undefined;
    }
    if (props.expiration !== undefined) checkExpirationHeader(this.vhost, exchange, props.expiration);
    if (this.tx) {
      if (!this.vhost.getExchange(exchange)) throw notFound(`no exchange '${exchange}' in vhost '${this.vhost.name}'`);
      this.tx.publish(exchange, routingKey, message, (flags) => {
        this.flow.stored(flags);
        if (mandatory && !(flags & Routed)) this.returnMessage(message, exchange, routingKey);
      });
      return;
    }
    const seq = this.confirming ? ++this.publishSeq : 0;
    if (this.confirming) this.conn.ctx.broker.stats.receivedConfirm++;
    let flags: number;
    try {
      flags = this.vhost.publish(exchange, routingKey, message);
    } catch (err) {
      if (this.confirming) this.publishSeq--;
      throw err;
    }
    // a persistent message while the journal is behind holds this connection's reading (core/store-flow.ts)
    this.flow.stored(flags);
    if (mandatory && !(flags & Routed) && !(flags & Rejected)) this.returnMessage(message, exchange, routingKey);
    if (this.confirming) this.confirm(seq, (flags & Rejected) !== 0);
  }

  private returnMessage(message: Message, exchange: string, routingKey: string): void {
    this.conn.ctx.broker.stats.returned++;
    this.conn.write(
      encodeContentFrames(
        this.number,
        'basic.return',
        { replyCode: 312, replyText: 'NO_ROUTE', exchange, routingKey },
        messagePropertyBlock(message),
        message.body,
        this.conn.frameMax,
      ),
    );
  }

  /**
   * Confirms go out once the store has made every earlier write durable (the barrier),
   * folded into one `multiple` ack where they run unbroken.
   */
  private confirm(seq: number, nack: boolean): void {
    if (nack) this.nacked.add(seq);
    this.confirms.add(seq);
  }

  private flushConfirms(seqs: number[], err?: Error): void {
    const nacks = this.nacked;
    if (this.closed || seqs.length === 0) return;
    if (!err) {
      let acked = 0;
      for (const s of seqs) if (!nacks.has(s)) acked++;
      this.conn.ctx.broker.stats.confirmed += acked;
    }
    if (err) {
      for (const s of seqs) nacks.delete(s);
      // nothing is confirmed that was not written
      for (const s of seqs) this.reply('basic.nack', { deliveryTag: s, multiple: false, requeue: false });
      return;
    }
    let runStart = 0;
    const flushRun = (end: number) => {
      if (end <= runStart) return;
      const last = seqs[end - 1]!;
      this.reply('basic.ack', { deliveryTag: last, multiple: end - runStart > 1 });
      runStart = end;
    };
    for (let i = 0; i < seqs.length; i++) {
      const s = seqs[i]!;
      if (nacks.delete(s)) {
        flushRun(i);
        this.reply('basic.nack', { deliveryTag: s, multiple: false, requeue: false });
        runStart = i + 1;
      }
    }
    flushRun(seqs.length);
  }

  /**
   * The buffered work applied; commit-ok once its persistent messages are on disk. A write
   * that finally failed is RabbitMQ's failed transaction: 406 "partial tx completion".
   */
  private commit(): void {
    if (!this.tx) throw preconditionFailed(`channel is not transactional`);
    this.tx.commit(
      (exchange, routingKey, message) => this.vhost.publish(exchange, routingKey, message),
      (err) => {
        if (err) this.conn.closeChannel(this.number, 406, 'PRECONDITION_FAILED - partial tx completion', 90, 20);
        else this.reply('tx.commit-ok', {});
      },
      () => !this.closed,
    );
  }

  // ---- plumbing ------------------------------------------------------------------

  private reply<N extends Parameters<AmqpConnection['send']>[1]>(method: N, args: Parameters<AmqpConnection['send']>[2] & object): void {
    this.conn.send(this.number, method as never, args as never);
  }

  /** the channel is gone (closed by either side, or its connection closed) */
  teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.conn.ctx.broker.limits.releaseChannel();
    if (this.conn.authUser) this.conn.ctx.broker.tenantLimits.releaseUserChannel(this.conn.authUser.name);
    this.session.close();
  }
}
