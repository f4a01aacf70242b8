import { ACTIVEMQ_QUEUE_ARG } from './activemq-names.js';
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { Consumer, Delivery } from './consumer.js';
import { bindingDef, exchangeDef } from './definitions.js';
import { DirectReplyTo } from './direct-reply-to.js';
import { DeadLetterer, isDeadLetterCycle, type ActiveMqDlqStrategy, type DeadLetterTarget } from './dead-letter.js';
import {
  accessRefused,
  BrokerError,
  describeExchange,
  notFound,
  preconditionFailed,
  describeQueue,
} from './errors.js';
import { Exchange, isExchangeType, type ExchangeOptions } from './exchanges/exchange.js';
import type { Destination } from './exchanges/router.js';
import { findQueues, hasSenderSelectedKeys, Rejected, Routed, Stored } from './exchanges/routing.js';
import { fieldEquals } from './exchanges/headers.js';
import type { FieldTable } from './fields.js';
import type { Message } from './message.js';
import type { QueueEntry } from './queues/entry.js';
import { entryBodyLength, type PagingMeter } from './queues/paged-fifo.js';
import { amqpTypeName, EQUIVALENCE_CHECKED_ARGS, resolveQueueArgs } from './queues/queue-args.js';
import { checkQueueDeclare, refuseDeniedCombination } from './queues/queue-types.js';
import type { VersionRules } from './engine-versions.js';
import type { Session } from './session.js';
import { HeldWalk } from './held-walk.js';
import { Queue, type DeadLetterReason, type QueueHost, type QueueOptions } from './queues/queue.js';
import type { VHostHost } from './vhost-host.js';
import type { SlicedWork } from './sliced-work.js';

const PREDECLARED: [string, 'direct' | 'fanout' | 'topic' | 'headers', boolean][] = [
  ['amq.direct', 'direct', false],
  ['amq.fanout', 'fanout', false],
  ['amq.topic', 'topic', false],
  ['amq.headers', 'headers', false],
  ['amq.match', 'headers', false],
  ['amq.rabbitmq.trace', 'topic', true],
];

export interface DeclareQueueOptions extends Omit<QueueOptions, 'owner'> {
  passive: boolean;
  /**
   * declared through RabbitMQ's rabbit_amqqueue:declare (AMQP 0-9-1, STOMP queues, the HTTP
   * API, definitions): a declaration without x-queue-type gets the default queue type (the
   * vhost's default_queue_type, else the node's, else the engine version's) and the version's
   * refusals of property combinations apply; ActiveMQ's protocols and MQTT leave it unset
   */
  defaultType?: boolean;
}

export interface DeclareExchangeOptions extends ExchangeOptions {
  passive: boolean;
}

/**
 * A virtual host: its exchanges, queues and bindings, declared, bound and deleted here;
 * publishing through routing (exchanges/routing.ts), direct reply-to (direct-reply-to.ts)
 * and dead-lettering (dead-letter.ts). It reaches the broker only through VHostHost.
 */
export class VHost implements QueueHost, DeadLetterTarget {
  readonly exchanges = new Map<string, Exchange>();
  readonly queues = new Map<string, Queue>();
  private readonly routeScratch = new Set<Destination>();
  /** how many queues the last enqueueAll put the message in (the exchange's publish_out) */
  private lastAccepted = 0;
  /** dead-lettering for this vhost's queues and its clients' NACKs */
  readonly deadLetterer: DeadLetterer = new DeadLetterer(this);
  /** RabbitMQ's amq.rabbitmq.reply-to */
  readonly directReplyTo: DirectReplyTo;
  /** the open sessions that took messages with acks here (a Session joins as it first does, and leaves as it closes) */
  readonly sessions = new Set<Session>();

  get engineRules(): VersionRules {
    return this.host.engineRules;
  }

  /**
   * the vhost's default_queue_type metadata (RabbitMQ 3.13+/4.x), set by PUT /api/vhosts or
   * definitions; undefined: the node's default (Broker.defaultQueueType), else the version's
   */
  defaultQueueTypeSetting: 'classic' | 'quorum' | undefined;

  /** the queue type a declaration without x-queue-type gets here, where the type can apply */
  get defaultQueueType(): 'classic' | 'quorum' {
    return this.defaultQueueTypeSetting ?? this.host.defaultQueueType ?? this.host.engineRules.defaultQueueType;
  }

  /**
   * the x-queue-type written into a declaration that names none: on 4.x every vhost has a
   * default type; on 3.13 only one whose metadata (or the node) sets default_queue_type
   */
  private implicitQueueType(): 'classic' | 'quorum' | undefined {
    if (this.host.engineRules.engine !== 'rabbitmq') return undefined;
    const set = this.defaultQueueTypeSetting ?? this.host.defaultQueueType;
    if (set !== undefined) return set;
    return this.host.engineRules.writesImplicitQueueType ? this.host.engineRules.defaultQueueType : undefined;
  }

  constructor(
    readonly host: VHostHost,
    readonly name: string,
  ) {
    this.directReplyTo = new DirectReplyTo(this, host);
    const opts = { durable: true, autoDelete: false, internal: false, arguments: {} };
    this.exchanges.set('', new Exchange(name, '', 'direct', opts));
    for (const [n, type, internal] of PREDECLARED) {
      this.exchanges.set(n, new Exchange(name, n, type, { ...opts, internal }));
    }
  }

  get store(): Store {
    return this.host.store;
  }

  getQueue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  getExchange(name: string): Exchange | undefined {
    return this.exchanges.get(name);
  }

  hasExchange(name: string): boolean {
    return this.exchanges.has(name);
  }

  /** DeadLetterTarget: a durable shared queue, as a plain declare makes it (ActiveMQ.DLQ) */
  activeMqDeadLetterStrategy(kind: 'queue' | 'topic', name: string): ActiveMqDlqStrategy | undefined {
    return this.host.activeMqDeadLetterStrategy?.(kind, name);
  }

  ensureDurableQueue(name: string): void {
    this.declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
  }

  // ---- exchanges -------------------------------------------------------------------

  declareExchange(name: string, type: string, o: DeclareExchangeOptions): Exchange {
    const existing = this.exchanges.get(name);
    if (o.passive) {
      if (!existing) throw notFound(`no ${describeExchange(this.name, name)}`);
      return existing;
    }
    // RabbitMQ 3.13+/4.x (rabbit_exchange:check_type, run before any other check) refuses an
    // unknown type with a channel error 406; 3.10 closed the connection with 503
    if (!isExchangeType(type)) throw preconditionFailed(`unknown exchange type '${type}'`);
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    if (existing) {
      this.checkExchangeEquivalence(existing, type, o);
      return existing;
    }
    if (name.startsWith('amq.')) {
      throw accessRefused(`exchange name '${name}' contains reserved prefix 'amq.*'`);
    }
    const ex = new Exchange(this.name, name, type, {
      durable: o.durable,
      autoDelete: o.autoDelete,
      internal: o.internal,
      arguments: o.arguments,
    });
    this.exchanges.set(name, ex);
    if (ex.options.durable) this.store.putExchange(exchangeDef(this.name, ex));
    return ex;
  }

  private checkExchangeEquivalence(ex: Exchange, type: string, o: DeclareExchangeOptions): void {
    const what = describeExchange(this.name, ex.name);
    const mismatch = (arg: string, received: unknown, current: unknown) =>
      preconditionFailed(`inequivalent arg '${arg}' for ${what}: received '${received}' but current is '${current}'`);
    if (ex.type !== type) throw mismatch('type', type, ex.type);
    if (ex.options.durable !== o.durable) throw mismatch('durable', o.durable, ex.options.durable);
    if (ex.options.autoDelete !== o.autoDelete) throw mismatch('auto_delete', o.autoDelete, ex.options.autoDelete);
    if (ex.options.internal !== o.internal) throw mismatch('internal', o.internal, ex.options.internal);
    const had = ex.options.arguments['alternate-exchange'];
    const got = o.arguments['alternate-exchange'];
    if (!fieldEquals(had ?? null, got ?? null)) throw argMismatch(what, 'alternate-exchange', got, had);
  }

  deleteExchange(name: string, ifUnused: boolean): void {
    if (name === '') throw accessRefused(`operation not permitted on the default exchange`);
    // RabbitMQ's text, asked of a real 3.10.8
    if (name.startsWith('amq.') && this.exchanges.has(name)) {
      throw accessRefused(`deletion of system ${describeExchange(this.name, name)} not allowed`);
    }
    const ex = this.exchanges.get(name);
    if (!ex) return; // RabbitMQ deletes idempotently
    if (ifUnused && (ex.bindings.size || this.isBindingDestination(ex))) {
      throw preconditionFailed(`${describeExchange(this.name, name)} in use`);
    }
    this.removeExchange(ex);
  }

  private isBindingDestination(ex: Exchange): boolean {
    for (const other of this.exchanges.values()) {
      for (const b of other.bindings.values()) if (b.destination === ex) return true;
    }
    return false;
  }

  private removeExchange(ex: Exchange): void {
    this.exchanges.delete(ex.name);
    for (const b of ex.bindings.values()) if (ex.options.durable) this.store.deleteBinding(bindingDef(this.name, ex, b.destination, b.routingKey, b.arguments));
    this.removeBindingsTo(ex);
    if (ex.options.durable) this.store.deleteExchange(this.name, ex.name);
  }

  // ---- queues ----------------------------------------------------------------------

  declareQueue(name: string, o: DeclareQueueOptions, owner: object | null): Queue {
    this.host.stats.queueDeclares++;
    if (name === '' && !o.passive) name = `amq.gen-${randomBytes(16).toString('base64url').slice(0, 22)}`;
    const existing = this.queues.get(name);
    if (o.passive) {
      if (!existing) throw notFound(`no ${describeQueue(this.name, name)}`);
      existing.checkAccess(owner);
      existing.touch();
      return existing;
    }
    // an exclusive queue is never durable: rabbit_channel takes `DurableDeclare andalso not ExclusiveDeclare`
    // (3.10.8 asked, /tmp/s19-fidelity/p1.mjs: a new exclusive+durable queue shows durable=false, and a
    // redeclare with either durability is equivalent; 3.13 and 4.x read alike)
    if (o.exclusive && o.durable) o = { ...o, durable: false };
    // ActiveMQ's prioritizedMessages policy (an Amazon MQ configuration): the queue delivers by
    // JMSPriority 9..0; applied before the equivalence check so a redeclare matches
    // (a queue made before the policy keeps its order)
    if (o.arguments[ACTIVEMQ_QUEUE_ARG] === true && o.arguments['x-max-priority'] === undefined && (!existing || existing.options.arguments['x-max-priority'] !== undefined) && this.host.activeMqPrioritized?.(name)) {
      o = { ...o, arguments: { ...o.arguments, 'x-max-priority': 9 } };
    }
    if (existing) {
      existing.checkRedeclareAccess(owner, o.exclusive);
      this.checkQueueEquivalence(existing, o);
      existing.touch();
      return existing;
    }
    // a new queue only: rabbit_amqqueue:declare checks is_queue_args_combination_permitted after the channel
    // found no queue to assert equivalence with (4.x), so an existing durable queue redeclared transient
    // non-exclusive is 406 inequivalent arg 'durable', not 541
    if (o.defaultType) refuseDeniedCombination(this.host.engineRules, o);
    if (name.startsWith('amq.') && !name.startsWith('amq.gen-')) {
      throw accessRefused(`queue name '${name}' contains reserved prefix 'amq.*'`);
    }
    // the queue type's and the engine version's rules; the default type written into the arguments
    o = { ...o, arguments: checkQueueDeclare(this.host.engineRules, this.name, name, o, o.defaultType ? { defaultType: this.implicitQueueType() } : undefined) };
    const config = resolveQueueArgs(this.name, name, o.arguments);
    // rabbit_queue_type:check_queue_limits: the vhost's limit first, then the node's
    this.host.tenantLimits.checkVhostQueues(this.name, this.queues.size, name);
    this.host.limits.checkQueueCount(this.host.queueCount(), name);
    const q = new Queue(this, name, { ...o, owner: o.exclusive ? owner : null }, config);
    this.queues.set(name, q);
    this.host.policies.apply(q);
    if (q.durable && !o.exclusive) {
      this.store.putQueue({ vhost: this.name, name, durable: true, autoDelete: o.autoDelete, arguments: o.arguments });
    }
    this.host.queueDeclared(q);
    return q;
  }

  private checkQueueEquivalence(q: Queue, o: DeclareQueueOptions): void {
    const what = describeQueue(this.name, q.name);
    const mismatch = (arg: string, received: unknown, current: unknown) =>
      preconditionFailed(`inequivalent arg '${arg}' for ${what}: received '${received}' but current is '${current}'`);
    if (q.options.durable !== o.durable) throw mismatch('durable', o.durable, q.options.durable);
    if (q.options.exclusive !== o.exclusive) throw mismatch('exclusive', o.exclusive, q.options.exclusive);
    if (q.options.autoDelete !== o.autoDelete) throw mismatch('auto_delete', o.autoDelete, q.options.autoDelete);
    for (const key of EQUIVALENCE_CHECKED_ARGS) {
      const had = q.options.arguments[key];
      const got = o.arguments[key];
      // a declaration that names no type matches the queue's type, whatever the default made
      // it (RabbitMQ 3.13+/4.x: the implicit default queue type is not compared)
      if (key === 'x-queue-type' && got === undefined) continue;
      if (!fieldEquals(had ?? null, got ?? null)) throw argMismatch(what, key, got, had);
    }
  }

  /** returns the number of ready messages the queue held */
  deleteQueue(name: string, ifUnused: boolean, ifEmpty: boolean, owner: object | null): number {
    const q = this.queues.get(name);
    if (!q) return 0; // RabbitMQ deletes idempotently
    return this.deleteQueueOf(q, ifUnused, ifEmpty, owner);
  }

  /**
   * queue.delete of this very queue: a caller that waited its turn for it (Queue.whenReturned,
   * behind the answers asked before it) deletes the queue it waited on, not one declared under
   * its name since; one deleted meanwhile is deleted already (0, as RabbitMQ deletes idempotently)
   */
  deleteQueueOf(q: Queue, ifUnused: boolean, ifEmpty: boolean, owner: object | null): number {
    if (q.deleted) return 0;
    q.checkAccess(owner);
    if (ifUnused && q.consumerCount > 0) throw preconditionFailed(`${q.describe()} in use`);
    if (ifEmpty && q.messageCount > 0) throw preconditionFailed(`${q.describe()} not empty`);
    return this.removeQueue(q);
  }

  /** set or clear a durable queue's x-expires (kept in the store with its definition) */
  setQueueExpiry(name: string, ms: number | undefined): void {
    const q = this.queues.get(name);
    if (!q || q.config.expires === ms) return;
    q.setExpires(ms);
    if (q.durable && !q.options.exclusive) {
      this.store.putQueue({ vhost: this.name, name, durable: true, autoDelete: q.options.autoDelete, arguments: q.options.arguments });
    }
  }

  /**
   * queue.purge of this very queue: a caller that waited its turn for it (Queue.whenReturned)
   * purges the queue it waited on, not one declared under its name since; a deleted one is not found
   */
  purgeQueue(q: Queue, owner: object | null): number {
    if (q.deleted) throw notFound(`no ${describeQueue(this.name, q.name)}`);
    q.checkAccess(owner);
    return q.purge();
  }

  private removeQueue(q: Queue): number {
    if (this.queues.get(q.name) !== q) return 0;
    this.queues.delete(q.name);
    const count = q.messageCount;
    this.host.memoryReleased(q.ready.bytes);
    const { consumers } = q.destroy();
    for (const c of consumers) this.host.consumerRemoved(q, c);
    this.removeBindingsTo(q);
    if (q.durable && !q.options.exclusive) this.store.deleteQueue(this.name, q.name);
    for (const c of consumers) {
      c.session.forget(c);
      c.sink.cancelledByBroker(c);
    }
    this.host.queueDeleted(q);
    return count;
  }

  /** QueueHost: x-expires ran out or an auto-delete queue lost its last consumer */
  deleteUnused(q: Queue): void {
    // leave the caller's stack first: it may be mid-way through cancelling a consumer
    queueMicrotask(() => this.removeQueue(q));
  }

  /** the connection closed: its exclusive queues go with it */
  ownerClosed(owner: object): void {
    for (const q of [...this.queues.values()]) if (q.options.exclusive && q.options.owner === owner) this.removeQueue(q);
  }

  // ---- bindings --------------------------------------------------------------------

  bindQueue(queueName: string, exchangeName: string, key: string, args: FieldTable, owner: object | null): void {
    const { source, destination } = this.bindingEnds(queueName, 'queue', exchangeName, owner);
    validateBindingArgs(source, args);
    if (source.bind(destination, key, args)) {
      if (source.options.durable && (destination as Queue).durable) this.store.putBinding(bindingDef(this.name, source, destination, key, args));
      this.host.queueBound(destination as Queue, source.name, key);
    }
  }

  unbindQueue(queueName: string, exchangeName: string, key: string, args: FieldTable, owner: object | null): void {
    const { source, destination } = this.bindingEnds(queueName, 'queue', exchangeName, owner);
    if (source.unbind(destination, key, args)) {
      if (source.options.durable) this.store.deleteBinding(bindingDef(this.name, source, destination, key, args));
      this.host.queueUnbound(destination as Queue, source.name, key);
      this.maybeAutoDeleteExchange(source);
    }
  }

  bindExchange(destinationName: string, sourceName: string, key: string, args: FieldTable): void {
    const { source, destination } = this.bindingEnds(destinationName, 'exchange', sourceName, null);
    validateBindingArgs(source, args);
    if (source.bind(destination, key, args) && source.options.durable && (destination as Exchange).options.durable) {
      this.store.putBinding(bindingDef(this.name, source, destination, key, args));
    }
  }

  unbindExchange(destinationName: string, sourceName: string, key: string, args: FieldTable): void {
    const { source, destination } = this.bindingEnds(destinationName, 'exchange', sourceName, null);
    if (source.unbind(destination, key, args)) {
      if (source.options.durable) this.store.deleteBinding(bindingDef(this.name, source, destination, key, args));
      this.maybeAutoDeleteExchange(source);
    }
  }

  private bindingEnds(
    destName: string,
    destKind: 'queue' | 'exchange',
    sourceName: string,
    owner: object | null,
  ): { source: Exchange; destination: Destination } {
    if (sourceName === '' || (destKind === 'exchange' && destName === '')) {
      throw accessRefused(`operation not permitted on the default exchange`);
    }
    let destination: Destination | undefined;
    if (destKind === 'queue') {
      const q = this.queues.get(destName);
      if (!q) throw notFound(`no ${describeQueue(this.name, destName)}`);
      q.checkAccess(owner);
      destination = q;
    } else {
      destination = this.exchanges.get(destName);
      if (!destination) throw notFound(`no ${describeExchange(this.name, destName)}`);
    }
    const source = this.exchanges.get(sourceName);
    if (!source) throw notFound(`no ${describeExchange(this.name, sourceName)}`);
    return { source, destination };
  }

  private removeBindingsTo(d: Destination): void {
    for (const ex of [...this.exchanges.values()]) {
      const removed = ex.unbindAll(d);
      if (removed.length) {
        if (ex.options.durable) for (const b of removed) this.store.deleteBinding(bindingDef(this.name, ex, d, b.routingKey, b.arguments));
        this.maybeAutoDeleteExchange(ex);
      }
    }
  }

  private maybeAutoDeleteExchange(ex: Exchange): void {
    if (ex.options.autoDelete && ex.bindings.size === 0 && this.exchanges.get(ex.name) === ex) this.removeExchange(ex);
  }

  // ---- publishing ------------------------------------------------------------------

  /** the exchange a publish goes to: RabbitMQ refuses a missing one (404) and an internal one (403) */
  publishableExchange(exchangeName: string): Exchange {
    const ex = this.exchanges.get(exchangeName);
    if (!ex) throw notFound(`no ${describeExchange(this.name, exchangeName)}`);
    if (ex.options.internal) throw accessRefused(`cannot publish to internal ${describeExchange(this.name, exchangeName)}`);
    return ex;
  }

  /**
   * Route a message and enqueue it everywhere it goes. Returns flags: Routed when at least
   * one queue took it, Rejected when a queue with x-overflow reject-publish turned it away.
   */
  publish(exchangeName: string, routingKey: string, message: Message): number {
    const ex = this.publishableExchange(exchangeName);
    ex.stats.publishIn++;
    // fast path: the default exchange with no sender-selected keys is a lookup by name
    if (exchangeName === '' && !hasSenderSelectedKeys(message)) {
      if (DirectReplyTo.isReplyAddress(routingKey)) return this.directReplyTo.publish(routingKey, message);
      const q = this.queues.get(routingKey);
      if (!q) {
        this.host.published(message, 0);
        return 0;
      }
      const flags = this.enqueueAll([q], message);
      ex.stats.publishOut += this.lastAccepted;
      return flags;
    }
    const flags = this.enqueueAll(findQueues(this, ex, message, this.routeScratch), message);
    ex.stats.publishOut += this.lastAccepted;
    return flags;
  }

  private enqueueAll(queues: Queue[], message: Message): number {
    let flags = 0;
    // the queues that take it: `queues` itself (a fresh array, ours) until one refuses it,
    // so a publish to many queues builds no second list in the usual case
    let accepted: Queue[] | undefined;
    let persisted: Queue[] | undefined;
    for (let i = 0; i < queues.length; i++) {
      const q = queues[i]!;
      let takes = true;
      // a topic subscription with a selector never holds what it does not select
      if (q.selector !== undefined && !q.selector.matches(message)) takes = false;
      else if (q.wouldReject(message)) {
        flags |= Rejected;
        if (q.config.overflow === 'reject-publish-dlx') this.deadLetterer.fromQueue(q, [{ message }], 'maxlen');
        takes = false;
      } else if (message.properties.headers?.['x-death'] !== undefined && isDeadLetterCycle(message, q)) takes = false;
      if (!takes) {
        accepted ??= queues.slice(0, i);
        continue;
      }
      if (accepted) accepted.push(q);
      if (q.willPersist(message)) (persisted ??= []).push(q);
    }
    accepted ??= queues;
    const id = this.host.nextMessageId();
    if (persisted) this.store.addMessage(id, message, persisted.map((q) => ({ vhost: this.name, queue: q.name })));
    if (accepted.length === 0) {
      // ActiveMQ dead-letters a message expired before it arrived whether or not anything subscribes
      if (message.expiredBeforeArrival !== undefined) this.deadLetterer.expiredUnrouted(message);
      // set after anything that may publish (a DLQ copy's own publish sets it too)
      this.lastAccepted = 0;
      this.host.published(message, 0);
      return flags;
    }
    for (const q of accepted) {
      const entry = q.makeEntry(id, message, persisted !== undefined && persisted.includes(q));
      this.host.memoryAdded(message.body.length);
      q.enqueue(entry);
    }
    // after the enqueues: one may publish (an expired-on-arrival message's ActiveMQ.DLQ copy), which sets it for its own exchange
    this.lastAccepted = accepted.length;
    // after enqueueing, so listeners see the message in its queues
    this.host.published(message, accepted.length);
    return persisted ? flags | Routed | Stored : flags | Routed;
  }

  // ---- QueueHost -------------------------------------------------------------------

  deadLetter(queue: Queue, entries: QueueEntry[], reason: DeadLetterReason): boolean[] {
    return this.deadLetterer.fromQueue(queue, entries, reason);
  }

  get deadLetterRetryMs(): number {
    return this.host.deadLetterRetryMs;
  }

  get activeMqExpireMessagesPeriodMs(): number {
    return this.host.activeMqExpireMessagesPeriodMs;
  }

  /**
   * QueueHost: the queue's deliveries waiting for a settle, in the sessions holding some now
   * (a QueueBrowser shows them), walked as the caller asks for more (a slice at a time)
   */
  unackedOf(queue: Queue): HeldWalk {
    const holding: Session[] = [];
    if (queue.unackedCount > 0) for (const s of this.sessions) if (s.holdsFrom(queue)) holding.push(s);
    return new HeldWalk(holding, queue);
  }

  forgotten(entry: QueueEntry): void {
    this.host.memoryReleased(entryBodyLength(entry));
  }

  settled(queue: Queue, entry: QueueEntry, how: 'acked' | 'dropped', counted = false): void {
    if (!counted) this.host.memoryReleased(entryBodyLength(entry));
    this.host.settled(queue, entry, how);
  }

  memoryReleased(bytes: number): void {
    this.host.memoryReleased(bytes);
  }

  get paging(): PagingMeter | undefined {
    return this.host.paging;
  }

  get bulkWork(): SlicedWork {
    return this.host.bulkWork;
  }

  delivered(queue: Queue, delivery: Delivery): void {
    this.host.delivered(queue, delivery);
  }

  consumerAdded(queue: Queue, consumer: Consumer): void {
    this.host.consumerAdded(queue, consumer);
  }

  consumerRemoved(queue: Queue, consumer: Consumer): void {
    this.host.consumerRemoved(queue, consumer);
  }
}

function argMismatch(what: string, key: string, got: unknown, had: unknown): BrokerError {
  const describe = (v: unknown) =>
    v === undefined || v === null ? 'none' : `the value '${String(v)}' of type '${amqpTypeName(v as never)}'`;
  return preconditionFailed(`inequivalent arg '${key}' for ${what}: received ${describe(got)} but current is ${describe(had)}`);
}

function validateBindingArgs(source: Exchange, args: FieldTable): void {
  if (source.type !== 'headers') return;
  const m = args['x-match'];
  if (m === undefined) return;
  const v = typeof m === 'string' ? m : Buffer.isBuffer(m) ? m.toString() : undefined;
  if (v !== 'all' && v !== 'any' && v !== 'all-with-x' && v !== 'any-with-x') {
    throw preconditionFailed(`Invalid x-match field value ${JSON.stringify(v ?? String(m))}; expected all, any, all-with-x, or any-with-x`);
  }
}
