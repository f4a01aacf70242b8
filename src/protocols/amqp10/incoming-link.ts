import type { OrderedDurableWaits } from '../../core/durability.js';
import type { ProducerRef } from '../../core/broker.js';
import { BrokerError } from '../../core/errors.js';
import { isPersistent, type Message } from '../../core/message.js';
import { Rejected, Routed } from '../../core/exchanges/routing.js';
import { dynamicQueue, parseTarget, queueAddress, type TargetNode } from './address.js';
import { toComposite, type AmqpErrorShape, type Attach, type Composite, type Flow, type Terminus, type Transfer } from './codec/composites.js';
import { Amqp10Error, Condition } from './codec/errors.js';
import { decodeMessage } from './codec/message.js';
import { AmqpMap, Described, Sym, array, uint, ulong } from './codec/types.js';
import { toAmqpError } from './connection.js';
import { toCoreMessage } from './mapping.js';
import { RCV_FIRST } from './outgoing-link.js';
import { seqAdd, type Amqp10Session } from './session.js';
import { TXN_CAPABILITIES, couldNotProcess, type Amqp10Txn } from './transactions.js';

/**
 * Credit granted to a sending client, as each engine grants it: RabbitMQ 4 (rabbit_amqp_session
 * DEFAULT_MAX_LINK_CREDIT, grant_link_credit) 170, topped up to 170 once it is down to half;
 * ActiveMQ 5.19 (AmqpWireFormat.DEFAULT_PRODUCER_CREDIT, AmqpReceiver) 1000, 700 more once
 * it is down to 30% (back to 1000).
 */
const CREDIT_POLICY = {
  rabbitmq: { max: 170, refillAt: 85 },
  activemq: { max: 1000, refillAt: 300 },
} as const;

type Resolved = { exchange: string; key: string | undefined };

/**
 * A link on which LocalMQ receives: the client attached a sender to a target (a queue,
 * an exchange with or without a key, a topic, the anonymous terminus, a dynamic node).
 * Each complete delivery (several transfer frames when it is large) becomes a core
 * publish. An unsettled delivery is answered with its outcome once the message is safe:
 * accepted (after the store has it, for a persistent message), released when nothing took
 * it (RabbitMQ), rejected when a queue refused it. Credit stops while the broker's
 * resource alarm is on, and while the journal's credit flow holds the connection.
 */
export class IncomingLink {
  readonly handle: number;
  readonly name: string;
  credit = 0;
  deliveryCount = 0;
  private target: TargetNode | undefined;
  private fixed: Resolved | undefined;
  private ownQueue: string | undefined;
  private closed = false;
  /** announced to the core while attached: a producer with a fixed destination */
  private producer: ProducerRef | undefined;
  /** a link to the transaction coordinator: its messages declare and discharge transactions */
  private coordinator = false;
  /** the delivery being assembled from several transfer frames */
  private partial: { id: number; settled: boolean; state: Composite | undefined; format: number; chunks: Buffer[]; size: number } | undefined;
  private readonly creditPolicy: { max: number; refillAt: number };
  private readonly maxMessageSize: number;
  private readonly writeChecked = new Set<string>();
  private readonly declared = new Set<string>();
  /** outcomes waiting for the store (persistent messages), in order */
  private readonly durable: OrderedDurableWaits<{ id: number; state: Composite }>;
  /** outcomes to send this turn, batched into ranges */
  private pendingAccepted: number[] = [];
  /**
   * ActiveMQ profile: credit comes with the answers to unsettled deliveries (AmqpReceiver tops the
   * link up in the send's response handler, when credit and sends in flight are down to 30 %: the
   * in-flight count is not matched), not on their receipt
   */
  private readonly creditWithAnswers: boolean;
  /** ActiveMQ profile: unsettled deliveries taken while the alarm was on, not yet answered (see answer) */
  private readonly takenAlarmed = new Set<number>();
  /** their answers, held until the alarm clears */
  private alarmAnswers: { id: number; state: Composite }[] = [];
  private flushScheduled = false;

  constructor(
    private readonly session: Amqp10Session,
    private readonly a: Attach,
  ) {
    this.handle = a.handle;
    this.name = a.name;
    this.deliveryCount = a.initialDeliveryCount ?? 0;
    this.creditPolicy = CREDIT_POLICY[session.conn.ctx.dialect];
    this.creditWithAnswers = session.conn.ctx.dialect === 'activemq';
    this.maxMessageSize = session.conn.ctx.broker.limits.settings.maxMessageSize;
    this.durable = session.conn.ctx.broker.durability.ordered((batch, err) => this.afterDurable(batch, err));
  }

  private get conn() {
    return this.session.conn;
  }

  private get vhost() {
    return this.conn.vhostModel!;
  }

  attach(): void {
    const t = this.a.target;
    const conn = this.conn;
    if (t?.$ === 'coordinator') return this.attachCoordinator();
    let address = t?.address;
    if (t?.dynamic) {
      const name = dynamicQueue(conn, conn.ctx.dialect, this.session.channel, this.handle);
      this.ownQueue = name;
      address = queueAddress(conn.ctx.dialect, name, true);
      this.target = { kind: 'exchange', exchange: '', key: name };
    } else {
      this.target = parseTarget(conn.ctx.dialect, t?.address, t?.capabilities ?? [], (t?.durable ?? 0) > 0);
    }
    if (this.target.kind === 'exchange') this.fixed = this.prepare(this.target);
    if (this.fixed && !t?.dynamic) {
      // a sender with a target is a producer on that destination (ActiveMQ's producer advisories)
      this.producer = { vhost: this.vhost.name, exchange: this.fixed.exchange, routingKey: this.fixed.key ?? '' };
      conn.ctx.broker.producerAdded(this.producer);
    }
    const target: Terminus = { ...(t ?? { $: 'target' }), $: 'target', address } as Terminus;
    if (t?.dynamic) target.dynamicNodeProperties = AmqpMap.symbols({ 'lifetime-policy': new Described(0x2b, []) });
    this.attached(target, ulong(this.maxMessageSize));
  }

  /** our attach, answering the client's, then credit */
  private attached(target: unknown, maxMessageSize?: unknown): void {
    this.conn.send(this.session.channel, {
      $: 'attach',
      name: this.name,
      handle: uint(this.handle),
      role: true,
      sndSettleMode: this.a.sndSettleMode,
      rcvSettleMode: RCV_FIRST,
      source: this.a.source,
      target,
      maxMessageSize,
    } as unknown as Composite);
    this.topUp();
  }

  /**
   * A coordinator link (part 4.2): the client declares and discharges transactions on it.
   * ActiveMQ serves local transactions; RabbitMQ does not (RabbitMQ 4 refuses the link
   * with this text; 3.10's plugin, asked here, ends the session with the same error).
   */
  private attachCoordinator(): void {
    if (this.conn.ctx.dialect === 'rabbitmq') throw new Amqp10Error(Condition.notImplemented, 'Transactions not supported', 'link');
    this.coordinator = true;
    this.attached({ $: 'coordinator', capabilities: array('symbol', TXN_CAPABILITIES) });
  }

  /** what a target needs before anything is sent: its queue declared, its node present, write access */
  private prepare(node: Extract<TargetNode, { kind: 'exchange' }>): Resolved {
    const vhost = this.vhost;
    // a queue that exists is sent to as it is (another connection's temporary queue included)
    if (node.declareQueue && !this.declared.has(node.declareQueue.name) && !vhost.getQueue(node.declareQueue.name)) {
      this.conn.checkAccess('configure', 'queue', node.declareQueue.name);
      vhost.declareQueue(node.declareQueue.name, { passive: false, durable: node.declareQueue.durable, exclusive: false, autoDelete: false, arguments: node.declareQueue.arguments ?? {} }, this.conn);
      this.declared.add(node.declareQueue.name);
    }
    if (node.mustExist?.queue !== undefined && !vhost.getQueue(node.mustExist.queue)) {
      throw new Amqp10Error(Condition.notFound, `no queue '${node.mustExist.queue}' in vhost '${vhost.name}'`, 'link');
    }
    if (node.mustExist?.exchange !== undefined && !vhost.getExchange(node.mustExist.exchange)) {
      throw new Amqp10Error(Condition.notFound, `no exchange '${node.mustExist.exchange}' in vhost '${vhost.name}'`, 'link');
    }
    if (!this.writeChecked.has(node.exchange)) {
      this.conn.checkAccess('write', 'exchange', node.exchange);
      this.writeChecked.add(node.exchange);
    }
    return { exchange: node.exchange, key: node.key };
  }

  refuse(error: AmqpErrorShape): void {
    this.closed = true;
    if (this.producer) this.conn.ctx.broker.producerRemoved(this.producer);
    this.conn.send(this.session.channel, { $: 'attach', name: this.name, handle: uint(this.handle), role: true, source: this.a.source } as unknown as Composite);
    this.conn.send(this.session.channel, { $: 'detach', handle: uint(this.handle), closed: true, error } as Composite);
    if (this.ownQueue !== undefined) this.vhost.deleteQueue(this.ownQueue, false, false, this.conn);
  }

  // ---- credit --------------------------------------------------------------------

  /**
   * Credit back up to the engine's maximum once it is down to its refill mark, unless the journal's
   * credit flow holds it, or (ActiveMQ) the alarm. A pre-settled delivery's link is topped up on
   * receipt in the ActiveMQ profile whatever the store says, as ActiveMQ up to 5.14 did
   * (AmqpReceiver.processDelivery, before the send that producer flow control blocked; since 5.15,
   * AMQ-6498, a pre-settled send's credit also comes in its response handler: not matched); such a
   * sender is stopped by its socket instead (takenWhileHeld, publishedUnderAlarm). RabbitMQ 4
   * grants credit whatever the alarm (rabbit_amqp_session grant_link_credit, at attach too): the
   * session's shut incoming window stops the transfers (Amqp10Session.shutWindow).
   */
  private topUp(presettled = false): void {
    const held = this.conn.creditHold && !(presettled && this.conn.ctx.dialect === 'activemq');
    // RabbitMQ 4 under the alarm: no credit for a transfer that came past the shut window (incomingWindow
    // below 0): a client that ignores the window is held to the credit it had (review-s19-1 R4); one that
    // obeys it never gets there
    const alarmed = this.conn.blocked && (this.conn.ctx.dialect === 'activemq' || this.session.incomingWindow < 0);
    if (this.closed || alarmed || held || this.credit > this.creditPolicy.refillAt) return;
    this.credit = this.creditPolicy.max;
    this.sendFlow();
  }

  private sendFlow(): void {
    this.session.sendLinkFlow(this.handle, { deliveryCount: uint(this.deliveryCount), linkCredit: uint(this.credit) });
  }

  onFlow(f: Flow): void {
    if (f.echo) this.sendFlow();
  }

  creditMayFlow(): void {
    if (this.alarmAnswers.length > 0 && !this.conn.blocked) this.sendAlarmAnswers();
    this.topUp();
  }

  // ---- transfers -----------------------------------------------------------------

  onTransfer(t: Transfer, payload: Buffer): void {
    if (this.closed) return;
    let p = this.partial;
    if (!p) {
      if (t.deliveryId === undefined) throw new Amqp10Error(Condition.invalidField, 'the first transfer of a delivery must carry its delivery-id', 'session');
      if (this.credit <= 0) {
        this.session.detachWithError(this, Condition.transferLimitExceeded, `transfer on link '${this.name}' without link credit`);
        return;
      }
      this.credit--;
      this.deliveryCount = seqAdd(this.deliveryCount, 1);
      if (!t.more && !t.aborted && payload.length <= this.maxMessageSize) {
        // a whole message in one transfer, the usual case: no partial delivery to assemble
        this.deliver(t.deliveryId, t.settled === true, payload, t.state as Composite | undefined, t.messageFormat ?? 0);
        return;
      }
      p = this.partial = { id: t.deliveryId, settled: t.settled === true, state: undefined, format: t.messageFormat ?? 0, chunks: [], size: 0 };
    } else if (t.deliveryId !== undefined && t.deliveryId !== p.id) {
      throw new Amqp10Error(Condition.invalidField, `transfer with delivery-id ${t.deliveryId} while delivery ${p.id} is incomplete`, 'session');
    }
    if (t.settled) p.settled = true;
    if (t.state) p.state = t.state as Composite;
    if (t.aborted) {
      this.partial = undefined;
      this.topUp();
      return;
    }
    p.size += payload.length;
    if (p.size > this.maxMessageSize) {
      this.partial = undefined;
      this.session.detachWithError(this, Condition.messageSizeExceeded, `message size (${p.size} bytes) > maximum message size (${this.maxMessageSize} bytes)`);
      return;
    }
    if (t.more) {
      // a view of its socket chunk, which nothing reuses
      p.chunks.push(payload);
      return;
    }
    this.partial = undefined;
    this.deliver(p.id, p.settled, p.chunks.length ? Buffer.concat([...p.chunks, payload]) : payload, p.state, p.format);
  }

  /** a complete delivery: a message, or a control message on a coordinator link; then credit */
  private deliver(id: number, settled: boolean, payload: Buffer, state: Composite | undefined, messageFormat: number): void {
    if (this.coordinator) this.onControl(id, payload);
    else this.onMessage(id, settled, payload, state, messageFormat);
    // (an unsettled delivery's credit comes with its answer in the ActiveMQ profile: answer)
    if (settled || this.coordinator || !this.creditWithAnswers) this.topUp(settled);
  }

  private onMessage(id: number, settled: boolean, payload: Buffer, transferState: Composite | undefined, messageFormat: number): void {
    const decoded = decodeMessage(payload);
    let resolved: Resolved;
    let txn: Amqp10Txn | undefined;
    try {
      // a transactional transfer (part 4.4.1): published when its transaction commits
      if (transferState?.$ === 'transactional-state') {
        txn = this.session.enlist(transferState['txnId']);
        if (!txn) {
          // ActiveMQ's broker refuses the send ("has not been started"); a settled one is lost without a word
          if (!settled) this.answer([id], { $: 'rejected', error: this.conn.transactions.notStarted(transferState['txnId']) });
          return;
        }
      }
      resolved = this.fixed ?? this.resolveAnonymous(decoded.message.properties?.to, decoded.message.messageAnnotations);
    } catch (err) {
      this.refuseMessage(id, settled, err);
      return;
    }
    const key = resolved.key ?? decoded.message.properties?.subject ?? '';
    const message = toCoreMessage(this.conn.ctx.dialect, decoded, payload, { exchange: resolved.exchange, routingKey: key, now: Date.now(), messageFormat });
    // RabbitMQ 4 (rabbit_amqp_session): a topic permission refused ends the session, unauthorized-access
    this.conn.access.publishTopics(this.vhost, resolved.exchange, message);
    let flags: number;
    if (txn) {
      txn.tx.publish(resolved.exchange, key, message);
      // ActiveMQ answers at once, settled, with the transaction's provisional outcome
      if (!settled) this.answer([id], { $: 'transactional-state', txnId: txn.id, outcome: ACCEPTED });
      return;
    }
    // ActiveMQ profile, a pre-settled send under the alarm: a connection that consumes nothing is not read
    // after it (Amqp10Connection.publishedUnderAlarm: LocalMQ's bound; ActiveMQ 5.15+ (AMQ-6498) parks it in
    // memory with a response handler that tops the credit up once there is space, its transport still read);
    // RabbitMQ's profile does this per transfer (Amqp10Session.onTransfer)
    if (settled && this.conn.ctx.dialect === 'activemq') {
      if (this.conn.blocked) this.conn.publishedUnderAlarm();
    }
    // ActiveMQ answers an unsettled send taken while memory is over only once it is under again
    // (Queue.send: the message waits in messagesWaitingForSpace, its response with it): see answer
    else if (!settled && this.creditWithAnswers && this.conn.blocked) this.takenAlarmed.add(id);
    try {
      flags = this.vhost.publish(resolved.exchange, key, message);
    } catch (err) {
      this.refuseMessage(id, settled, err);
      return;
    }
    // a persistent message while the journal is behind holds the connection's credit (core/store-flow.ts);
    // ActiveMQ's transport blocks on a pre-settled one instead (producer flow control): its socket, at once
    if (this.conn.flow?.stored(flags)) this.conn.takenWhileHeld(payload.length, settled && this.conn.ctx.dialect === 'activemq');
    if (settled) return;
    let state: Composite;
    if (flags & Rejected) {
      state = { $: 'rejected', error: { $: 'error', condition: Condition.resourceLimitExceeded, description: `queue exceeded maximum length` } };
    } else if (!(flags & Routed) && this.conn.ctx.dialect === 'rabbitmq') {
      // RabbitMQ 4: an unroutable message is released (settled) to an unsettled sender
      state = { $: 'released' };
    } else state = ACCEPTED;
    if ((isPersistent(message) && flags & Routed) || this.durable.outstanding > 0) this.durable.add({ id, state });
    else if (state === ACCEPTED) this.accept(id);
    else this.answer([id], state);
  }

  /**
   * A message to the coordinator: an amqp-value holding declare or discharge (part 4.3).
   * declare answers `declared` with the new txn-id; discharge commits (fail=false, answered
   * once the commit is durable) or rolls back (fail=true), and is answered `accepted`; a
   * discharge of a transaction it does not have is rejected as ActiveMQ rejects it.
   */
  private onControl(id: number, payload: Buffer): void {
    const body = decodeMessage(payload).message.body;
    const action = body.kind === 'value' ? toComposite(body.value) : undefined;
    const conn = this.conn;
    if (action?.$ === 'declare') {
      // ActiveMQ: "don't know how to handle a declare /w a set GlobalId" (no distributed transactions)
      if (action['globalId'] !== undefined && action['globalId'] !== null) throw couldNotProcess();
      const txn = conn.transactions.declare();
      this.session.sendDispositions(true, [id], { $: 'declared', txnId: txn.id });
      return;
    }
    // ActiveMQ: "Expected coordinator message type"
    if (action?.$ !== 'discharge') throw couldNotProcess();
    const txn = conn.transactions.take(action['txnId']);
    if (!txn) {
      this.session.sendDispositions(true, [id], { $: 'rejected', error: conn.transactions.notStarted(action['txnId']) });
      return;
    }
    if (action['fail'] === true) {
      txn.rollback();
      this.session.sendDispositions(true, [id], ACCEPTED);
      return;
    }
    txn.commit(
      (exchange, key, message) => this.publishCommitted(exchange, key, message),
      () => this.session.sendDispositions(true, [id], ACCEPTED),
      () => conn.isOpen,
    );
  }

  /** a committed publish: a node deleted since the transfer loses only that message, as an unroutable one */
  private publishCommitted(exchange: string, key: string, message: Message): number {
    try {
      const flags = this.vhost.publish(exchange, key, message);
      this.conn.flow?.stored(flags);
      return flags;
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      this.conn.log.info('AMQP 1.0 transactional message dropped at commit', { exchange, key, error: err.text });
      return 0;
    }
  }

  /** the anonymous terminus: the message's `to` is its node */
  private resolveAnonymous(to: string | undefined, annotations: AmqpMap | undefined): Resolved {
    if (to === undefined) throw new Amqp10Error(Condition.preconditionFailed, 'anonymous terminus requires \'to\' address to be set', 'link');
    const node = parseTarget(this.conn.ctx.dialect, to, destinationCapabilities(annotations), true);
    if (node.kind !== 'exchange') throw new Amqp10Error(Condition.invalidField, `bad 'to' address ${JSON.stringify(to)}`, 'link');
    return this.prepare(node);
  }

  /** a message that cannot go where it is sent: rejected with the reason, or (settled) the link ends */
  private refuseMessage(id: number, settled: boolean, err: unknown): void {
    if (!(err instanceof Amqp10Error) && !(err instanceof BrokerError)) throw err;
    if (err instanceof Amqp10Error && err.scope === 'connection') throw err;
    const error = toAmqpError(err);
    if (settled) {
      this.session.detachWithError(this, error.condition, error.description ?? '');
      return;
    }
    this.answer([id], { $: 'rejected', error });
  }

  private accept(id: number): void {
    this.pendingAccepted.push(id);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => {
      this.flushScheduled = false;
      const ids = this.pendingAccepted;
      this.pendingAccepted = [];
      this.answer(ids, ACCEPTED);
    });
  }

  private afterDurable(batch: { id: number; state: Composite }[], err?: Error): void {
    if (err) {
      const error: AmqpErrorShape = { $: 'error', condition: Condition.internalError, description: `the broker could not write to its store: ${err.message}` };
      this.answer(batch.map((b) => b.id), { $: 'rejected', error });
      return;
    }
    for (const b of batch) {
      if (b.state === ACCEPTED) this.pendingAccepted.push(b.id);
      else this.answer([b.id], b.state);
    }
    const ids = this.pendingAccepted;
    this.pendingAccepted = [];
    this.answer(ids, ACCEPTED);
  }

  /**
   * The outcomes of the client's unsettled deliveries. ActiveMQ profile: the answer to a send taken
   * while the alarm was on waits until it clears (while it is on, the sender gets neither its answer
   * nor credit: a synchronous JMS send blocks, an asynchronous sender stops once it spent its
   * credit); credit comes after the answers (topUp), as AmqpReceiver's response handler tops it up.
   */
  private answer(ids: number[], state: Composite): void {
    if (!this.creditWithAnswers) {
      this.session.sendDispositions(true, ids, state);
      return;
    }
    if (this.takenAlarmed.size > 0) {
      const now: number[] = [];
      for (const id of ids) {
        if (!this.takenAlarmed.has(id)) now.push(id);
        else if (this.conn.blocked) this.alarmAnswers.push({ id, state });
        else {
          this.takenAlarmed.delete(id);
          now.push(id);
        }
      }
      ids = now;
    }
    if (ids.length > 0) this.session.sendDispositions(true, ids, state);
    this.topUp();
  }

  /** the alarm cleared: the answers it held go, in the order they were due */
  private sendAlarmAnswers(): void {
    const held = this.alarmAnswers;
    this.alarmAnswers = [];
    for (const a of held) {
      this.takenAlarmed.delete(a.id);
      this.session.sendDispositions(true, [a.id], a.state);
    }
  }

  // ---- detach --------------------------------------------------------------------

  detached(_closed: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.partial = undefined;
    if (this.producer) this.conn.ctx.broker.producerRemoved(this.producer);
    if (this.ownQueue !== undefined) this.vhost.deleteQueue(this.ownQueue, false, false, this.conn);
  }
}

const ACCEPTED: Composite = { $: 'accepted' };

/**
 * A plain `to` is a queue unless the message says its destination is a topic: Qpid JMS's
 * x-opt-jms-dest (1 topic, 3 temporary topic), or the older x-opt-to-type (`topic`), as
 * ActiveMQ's AMQP transport reads them.
 */
function destinationCapabilities(annotations: AmqpMap | undefined): string[] {
  const dest = annotations?.get('x-opt-jms-dest');
  if (dest === 1 || dest === 3) return ['topic'];
  const toType = annotations?.get('x-opt-to-type');
  const t = typeof toType === 'string' ? toType : toType instanceof Sym ? toType.value : undefined;
  return t !== undefined && t.split(',').includes('topic') ? ['topic'] : [];
}
