import { randomBytes } from 'node:crypto';
import { BrokerError, accessRefused, preconditionFailed } from '../../core/errors.js';
import { isPersistent, type Message } from '../../core/message.js';
import type { VHost } from '../../core/vhost.js';
import type { AuthenticatedUser, ClientConnection, Permission, ProtocolContext } from '../context.js';
import {
  STOMP_HEARTBEAT,
  StompCodecError,
  StompParser,
  createFrame,
  getHeader,
  headersToObject,
  serializeFrame,
  type StompFrame,
  type StompHeader,
  type StompVersion,
} from './codec/index.js';
import { parseDestination, routingOf } from './destination.js';
import { booleanHeader, ensureQueue, ensureSource, isDurableSubscription, type EndpointContext } from './endpoints.js';
import { StompError, quoted, toStompError } from './errors.js';
import { negotiateHeartbeat } from './heartbeat.js';
import { propertiesFromHeaders } from './properties.js';
import { StompSubscription, parseMessageId, subscriptionTag, type AckMode, type SubscriptionHost } from './subscription.js';
import type { StompTransport } from './transport.js';

const SUPPORTED_VERSIONS: readonly StompVersion[] = ['1.0', '1.1', '1.2'];
const VERSIONS_HEADER = SUPPORTED_VERSIONS.join(',');
/**
 * What CONNECTED says in `server`. Like the AMQP adapter's server properties it
 * names the RabbitMQ release LocalMQ follows: clients (stompjms, for one)
 * switch on RabbitMQ's extensions when they see "RabbitMQ/".
 */
const SERVER_HEADER = 'RabbitMQ/3.13.7';
/** RabbitMQ's STOMP default_user: a CONNECT without login/passcode logs in as guest/guest */
const DEFAULT_LOGIN = 'guest';
const DEFAULT_PASSCODE = 'guest';
const TEMP_QUEUE_PREFIX = '/temp-queue/';
/** how long a peer gets to take our goodbye before the socket is cut */
const CLOSE_GRACE_MS = 1000;

type State = 'connecting' | 'open' | 'closing' | 'closed';

type TxOp =
  | { kind: 'send'; exchange: string; key: string; message: Message }
  | { kind: 'ack'; sub: StompSubscription; deliveryTag: number }
  | { kind: 'nack'; sub: StompSubscription; deliveryTag: number; requeue: boolean };

let connectionCounter = 0;

/**
 * One STOMP client, over TCP or WebSocket: CONNECT negotiation, heart-beats,
 * frames mapped onto the core the way RabbitMQ's STOMP plugin maps them onto
 * AMQP, transactions, receipts, and errors (an ERROR frame, then close).
 * Each subscription is a StompSubscription with its own core Session.
 */
export class StompConnection implements ClientConnection, SubscriptionHost, EndpointContext {
  readonly id = `stomp-${++connectionCounter}-${randomBytes(3).toString('hex')}`;
  readonly protocol = 'stomp' as const;
  readonly connectedAt = Date.now();
  readonly remoteAddress: string | undefined;
  version: StompVersion = '1.0';
  sessionId = '';
  private state: State = 'connecting';
  private readonly parser: StompParser;
  private authUser: AuthenticatedUser | undefined;
  private vhostObject: VHost | undefined;
  private registered = false;
  private readonly subscriptions = new Map<string, StompSubscription>();
  private readonly transactions = new Map<string, TxOp[]>();
  /** temp-queue name in reply-to → the exclusive queue made for it */
  private readonly replyQueues = new Map<string, string>();
  private readonly declaredQueues = new Set<string>();
  /** work waiting for the store to make earlier writes durable (receipts), in order */
  private durableWaiters: (() => void)[] = [];
  private syncScheduled = false;
  private lastReceived = Date.now();
  private lastSent = Date.now();
  private sendTimer: NodeJS.Timeout | undefined;
  private receiveTimer: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private blocked = false;
  private readPaused = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  private readonly log;
  private readonly traceFrames: boolean;

  constructor(
    private readonly transport: StompTransport,
    readonly ctx: ProtocolContext,
  ) {
    this.remoteAddress = transport.remoteAddress;
    this.log = ctx.logger.child({ conn: this.id, transport: transport.kind });
    this.traceFrames = ctx.logger.enabled('trace');
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.parser = new StompParser(
      { onFrame: (f) => this.onFrame(f) },
      { limits: { maxBodySize: ctx.broker.limits.settings.maxMessageSize } },
    );
    transport.start({
      data: (chunk) => this.onData(chunk),
      drain: () => this.onDrain(),
      closed: () => this.cleanup(),
    });
  }

  get user(): string | undefined {
    return this.authUser?.name;
  }

  get vhost(): string | undefined {
    return this.vhostObject?.name;
  }

  /** EndpointContext: the vhost this connection logged into */
  get vhostModel(): VHost {
    return this.vhostObject!;
  }

  get owner(): object {
    return this;
  }

  get writable(): boolean {
    return this.state === 'open' && !this.transport.backedUp;
  }

  // ---- input ---------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.lastReceived = Date.now();
    if (this.state !== 'connecting' && this.state !== 'open') return;
    try {
      this.parser.push(chunk);
    } catch (err) {
      this.fail(err, undefined);
    }
  }

  private onFrame(frame: StompFrame): void {
    if (this.state !== 'connecting' && this.state !== 'open') return;
    if (this.traceFrames) this.log.trace('frame in', { command: frame.command, headers: headersToObject(frame), bodyLength: frame.body.length });
    try {
      this.dispatch(frame);
    } catch (err) {
      this.fail(err, frame);
    }
  }

  private dispatch(frame: StompFrame): void {
    const command = frame.command;
    if (command === 'CONNECT' || command === 'STOMP') {
      if (this.state !== 'connecting') throw new StompError('Bad command', `Could not interpret command ${quoted(command)}\n`);
      this.onConnect(frame);
      return;
    }
    if (this.state === 'connecting') throw new StompError('Illegal command', 'You must log in using CONNECT first');
    switch (command) {
      case 'SEND':
        this.onSend(frame);
        return; // its receipt waits for the store, see onSend
      case 'SUBSCRIBE':
        this.onSubscribe(frame);
        break;
      case 'UNSUBSCRIBE':
        this.onUnsubscribe(frame);
        break;
      case 'ACK':
      case 'NACK':
        this.onAck(frame, command);
        break;
      case 'BEGIN':
        this.transactions.set(this.transactionId(frame, command), []);
        break;
      case 'COMMIT':
        this.onCommit(frame);
        return; // receipt after the store has the transaction's messages
      case 'ABORT': {
        const id = this.transactionId(frame, command);
        this.requireTransaction(id);
        this.transactions.delete(id);
        break;
      }
      case 'DISCONNECT':
        this.onDisconnect(frame);
        return;
      default:
        throw new StompError('Bad command', `Could not interpret command ${quoted(command)}\n`);
    }
    const receipt = getHeader(frame, 'receipt');
    if (receipt !== undefined) this.sendReceipt(receipt);
  }

  // ---- CONNECT -------------------------------------------------------------------

  private onConnect(frame: StompFrame): void {
    const version = negotiateVersion(getHeader(frame, 'accept-version'));
    this.version = version;
    this.parser.setVersion(version);
    // 1.0 allowed padding after the colon; RabbitMQ strips it from CONNECT too
    const header = (name: string): string | undefined => {
      const v = getHeader(frame, name);
      return v !== undefined && version === '1.0' ? v.trimStart() : v;
    };
    const heartbeat = negotiateHeartbeat(header('heart-beat'));
    const login = header('login') ?? DEFAULT_LOGIN;
    const passcode = header('passcode') ?? DEFAULT_PASSCODE;
    const outcome = this.ctx.access.authenticate(login, passcode, this.remoteAddress);
    if (!outcome.ok) {
      this.log.warn('STOMP login refused', { user: login, reason: outcome.reason, remote: this.remoteAddress });
      if (outcome.reason === 'loopback-only') throw new StompError('Bad CONNECT', 'non-loopback access denied');
      throw new StompError('Bad CONNECT', `Access refused for user '${login}'\n`);
    }
    // clients such as stomp.py put the server's host name here: only a real vhost counts
    const host = header('host');
    const vhostName = host !== undefined && this.ctx.broker.vhost(host) ? host : '/';
    const vhost = this.ctx.broker.vhost(vhostName);
    if (!vhost || !this.ctx.access.canAccessVhost(outcome.user.name, vhostName)) {
      throw new StompError('Bad CONNECT', `Virtual host '${vhostName}' access denied`);
    }
    if (!this.ctx.connections.add(this)) {
      throw new StompError(
        'Bad CONNECT',
        `access to vhost '${vhostName}' refused for user '${outcome.user.name}': connection limit (${this.ctx.broker.limits.settings.maxConnections}) is reached`,
      );
    }
    this.registered = true;
    this.authUser = outcome.user;
    this.vhostObject = vhost;
    this.sessionId = `session-${randomBytes(16).toString('base64url')}`;
    this.state = 'open';
    this.sendFrame('CONNECTED', [
      ['server', SERVER_HEADER],
      ['session', this.sessionId],
      ['heart-beat', `${heartbeat.sendMs},${heartbeat.receiveMs}`],
      ['version', version],
    ]);
    this.startHeartbeats(heartbeat.sendMs, heartbeat.receiveMs);
    this.ctx.broker.on('alarm', this.onAlarm);
    if (this.ctx.broker.alarmed) this.onAlarm(true);
    this.log.debug('STOMP connection open', { user: login, vhost: vhostName, version, remote: this.remoteAddress });
  }

  // ---- SEND ----------------------------------------------------------------------

  private onSend(frame: StompFrame): void {
    if (getHeader(frame, 'message-id') !== undefined) throw new StompError('Invalid header', `'message-id' is not allowed on 'SEND'.\n`);
    const destText = this.requireDestination(frame, 'SEND');
    const dest = parseDestination(destText);
    if (dest.kind === 'temp-queue') throw new StompError('Invalid destination', `'${destText}' is not a valid destination for 'SEND'\n`);
    if (dest.kind === 'queue') ensureQueue(this, dest.name, frame, this.declaredQueues);
    const { exchange, key } = routingOf(dest);
    this.check('write', 'exchange', exchange);

    const replyTo = this.replyToFor(getHeader(frame, 'reply-to'));
    const properties = propertiesFromHeaders(frame.headers, replyTo);
    const user = this.authUser!.name;
    if (properties.userId !== undefined && properties.userId !== user) {
      throw preconditionFailed(`user_id property set to '${properties.userId}' but authenticated user was '${user}'`);
    }
    const message: Message = { exchange, routingKey: key, properties, body: frame.body, publishedAt: Date.now() };
    const receipt = getHeader(frame, 'receipt');
    const txId = getHeader(frame, 'transaction');
    if (txId !== undefined) {
      this.requireTransaction(txId).push({ kind: 'send', exchange, key, message });
      // the frame is taken: its effect comes at COMMIT
      if (receipt !== undefined) this.sendReceipt(receipt);
      return;
    }
    this.publish(exchange, key, message);
    if (receipt === undefined) return;
    // a receipt promises the message is safe: for a persistent one, on disk
    if (isPersistent(message) || this.durableWaiters.length > 0) this.whenDurable(() => this.sendReceipt(receipt));
    else this.sendReceipt(receipt);
  }

  private publish(exchange: string, key: string, message: Message): void {
    this.vhostModel.publish(exchange, key, message);
    // RabbitMQ stops reading from a publisher while a resource alarm is on
    if (this.blocked && !this.readPaused) {
      this.readPaused = true;
      this.transport.pause();
    }
  }

  /**
   * reply-to `/temp-queue/x`: a private queue for this connection, consumed
   * automatically, its name put in reply-to (RabbitMQ's temp queues).
   * Returns the rewritten reply-to, or undefined to keep the header as sent.
   */
  private replyToFor(header: string | undefined): string | undefined {
    if (header === undefined || !header.startsWith(TEMP_QUEUE_PREFIX)) return undefined;
    const known = this.replyQueues.get(header);
    if (known !== undefined) return known;
    const dest = parseDestination(header);
    if (dest.kind !== 'temp-queue') return undefined;
    const q = this.vhostModel.declareQueue('', { passive: false, durable: false, exclusive: true, autoDelete: true, arguments: {} }, this);
    const session = this.ctx.broker.openSession(this.vhostModel, this);
    const sub = new StompSubscription(this, session, header, q.name, 'auto', q.name, true);
    this.subscriptions.set(sub.tag, sub);
    session.consume(q.name, { tag: sub.tag, noAck: true, exclusive: false, priority: 0, arguments: {} }, sub);
    this.replyQueues.set(header, q.name);
    return q.name;
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ---------------------------------------------------

  private onSubscribe(frame: StompFrame): void {
    const id = getHeader(frame, 'id');
    if (isDurableSubscription(frame) && id === undefined) {
      throw new StompError('Missing Header', `Header 'id' is required for durable subscriptions`);
    }
    const destText = this.requireDestination(frame, 'SUBSCRIBE');
    const dest = parseDestination(destText);
    if (id !== undefined && id.startsWith(TEMP_QUEUE_PREFIX)) {
      throw new StompError('Invalid id', `SUBSCRIBE 'id' may not start with ${TEMP_QUEUE_PREFIX}\n`);
    }
    const ackMode = parseAckMode(getHeader(frame, 'ack'));
    const prefetch = getHeader(frame, 'prefetch-count');
    if (prefetch !== undefined && !/^\s*\d+\s*$/.test(prefetch)) {
      throw new StompError('Invalid header', `'prefetch-count' must be a non-negative integer, got '${prefetch}'\n`);
    }
    const tag = subscriptionTag(id, destText);
    if (this.subscriptions.has(tag)) {
      throw new StompError('Duplicated subscription identifier', `A subscription identified by '${tag}' already exists.`);
    }
    this.ctx.broker.limits.checkConsumerCount(this.subscriptions.size);

    const source = ensureSource(this, dest, destText, frame, id, this.declaredQueues);
    const session = this.ctx.broker.openSession(this.vhostModel, this);
    if (prefetch !== undefined) session.consumerPrefetch = Number(prefetch.trim());
    const sub = new StompSubscription(this, session, id, destText, ackMode, source.queue, source.owned);
    this.subscriptions.set(tag, sub);
    try {
      this.check('read', 'queue', source.queue);
      if (source.bind) {
        this.check('write', 'queue', source.queue);
        this.check('read', 'exchange', source.bind.exchange);
        this.vhostModel.bindQueue(source.queue, source.bind.exchange, source.bind.key, {}, this);
      }
      session.consume(source.queue, { tag, noAck: ackMode === 'auto', exclusive: false, priority: 0, arguments: {} }, sub);
    } catch (err) {
      this.subscriptions.delete(tag);
      sub.close();
      // a queue made for this subscription alone is ours to clean up
      if (source.owned && !source.durable) this.vhostModel.deleteQueue(source.queue, false, false, this);
      throw err;
    }
  }

  private onUnsubscribe(frame: StompFrame): void {
    const id = getHeader(frame, 'id');
    const destText = getHeader(frame, 'destination');
    if (id !== undefined && id.startsWith(TEMP_QUEUE_PREFIX)) {
      throw new StompError('Invalid id', `UNSUBSCRIBE 'id' may not start with ${TEMP_QUEUE_PREFIX}\n`);
    }
    if (id === undefined && destText === undefined) {
      throw new StompError('Missing destination or id', `UNSUBSCRIBE must include a 'destination' or 'id' header`);
    }
    const tag = subscriptionTag(id, destText!);
    const sub = this.subscriptions.get(tag);
    if (!sub) {
      const description = id !== undefined ? `id='${id}'` : `destination='${destText}'`;
      throw new StompError('No subscription found', `UNSUBSCRIBE must refer to an existing subscription.\nSubscription to ${quoted(description)} not found.\n`);
    }
    this.subscriptions.delete(tag);
    sub.close();
    // UNSUBSCRIBE with durable:true ends a durable subscription for good
    if (sub.ownsQueue && isDurableSubscription(frame)) {
      this.check('configure', 'queue', sub.queue);
      this.vhostModel.deleteQueue(sub.queue, false, false, this);
    }
  }

  /** the queue under a subscription was deleted: RabbitMQ says so in an ERROR and carries on */
  subscriptionCancelledByBroker(sub: StompSubscription): void {
    if (this.subscriptions.get(sub.tag) !== sub) return;
    this.subscriptions.delete(sub.tag);
    sub.close();
    const headers: [string, string][] = sub.id !== undefined ? [['subscription', sub.id]] : [];
    this.sendError(
      new StompError(
        'Server cancelled subscription',
        `The server has canceled a subscription.\nNo more messages will be delivered for ${quoted(sub.description)}.\n`,
        headers,
      ),
      undefined,
    );
  }

  // ---- ACK / NACK ----------------------------------------------------------------

  private onAck(frame: StompFrame, command: 'ACK' | 'NACK'): void {
    // 1.2 acknowledges by the MESSAGE's `ack` header, sent back as `id`
    const headerName = this.version === '1.2' ? 'id' : 'message-id';
    const value = getHeader(frame, headerName);
    if (value === undefined) throw new StompError('Missing header', `${quoted(command)} must include the ${quoted(headerName)} header\n`);
    const parsed = parseMessageId(value);
    if (!parsed) throw new StompError('Invalid header', `${quoted(command)} must include a valid ${quoted(headerName)} header\n`);
    const sub = this.subscriptions.get(parsed.tag);
    if (!sub) throw new StompError('Subscription not found', `Message with id ${quoted(value)} has no subscription`);
    // RabbitMQ requeues a NACKed message unless told `requeue:false`
    const requeue = booleanHeader(frame, 'requeue') ?? true;
    const op: TxOp = command === 'ACK' ? { kind: 'ack', sub, deliveryTag: parsed.deliveryTag } : { kind: 'nack', sub, deliveryTag: parsed.deliveryTag, requeue };
    const txId = getHeader(frame, 'transaction');
    if (txId !== undefined) this.requireTransaction(txId).push(op);
    else this.settle(op);
  }

  private settle(op: Extract<TxOp, { kind: 'ack' | 'nack' }>): void {
    if (op.kind === 'ack') op.sub.ack(op.deliveryTag);
    else op.sub.nack(op.deliveryTag, op.requeue);
  }

  // ---- transactions --------------------------------------------------------------

  private transactionId(frame: StompFrame, command: string): string {
    const id = getHeader(frame, 'transaction');
    if (id === undefined) throw new StompError('Missing transaction', `${quoted(command)} must include a 'transaction' header\n`);
    return id;
  }

  private requireTransaction(id: string): TxOp[] {
    const ops = this.transactions.get(id);
    if (!ops) throw new StompError('Bad transaction', `Invalid transaction identifier: ${quoted(id)}\n`);
    return ops;
  }

  private onCommit(frame: StompFrame): void {
    const id = this.transactionId(frame, 'COMMIT');
    const ops = this.requireTransaction(id);
    this.transactions.delete(id);
    let persistent = false;
    for (const op of ops) {
      if (op.kind === 'send') {
        this.publish(op.exchange, op.key, op.message);
        persistent ||= isPersistent(op.message);
      } else this.settle(op);
    }
    const receipt = getHeader(frame, 'receipt');
    if (receipt === undefined) return;
    if (persistent || this.durableWaiters.length > 0) this.whenDurable(() => this.sendReceipt(receipt));
    else this.sendReceipt(receipt);
  }

  // ---- DISCONNECT and closing ----------------------------------------------------

  private onDisconnect(frame: StompFrame): void {
    this.state = 'closing';
    this.teardownSession();
    const receipt = getHeader(frame, 'receipt');
    // everything sent before the DISCONNECT is durable before its receipt
    this.whenDurable(() => {
      if (receipt !== undefined) this.sendReceipt(receipt);
      this.closeTransport();
    });
  }

  /** ClientConnection: the broker is stopping; RabbitMQ's STOMP clients see connection_forced */
  async shutdown(reason: string): Promise<void> {
    if (this.state === 'open') {
      this.sendError(new StompError('connection_forced', `CONNECTION_FORCED - ${reason}`), undefined);
      this.state = 'closing';
      this.teardownSession();
      this.closeTransport();
    } else if (this.state === 'connecting') {
      this.transport.destroy();
    }
    await this.closedPromise;
  }

  /** every refusal: an ERROR frame explaining it, then the connection closes */
  private fail(err: unknown, frame: StompFrame | undefined): void {
    if (!(err instanceof StompError || err instanceof StompCodecError || err instanceof BrokerError)) {
      this.log.error('internal error handling a STOMP frame', { err, command: frame?.command });
    }
    const e = toStompError(err);
    this.log.debug('STOMP error frame sent', { message: e.message, detail: e.detail });
    this.sendError(e, frame ? getHeader(frame, 'receipt') : undefined);
    this.state = 'closing';
    this.teardownSession();
    this.closeTransport();
  }

  private closeTransport(): void {
    this.transport.end();
    this.closeTimer ??= setTimeout(() => this.transport.destroy(), CLOSE_GRACE_MS);
    this.closeTimer.unref();
  }

  /** subscriptions end (their unacked messages go back, redelivered), transactions vanish */
  private teardownSession(): void {
    this.transactions.clear();
    for (const sub of this.subscriptions.values()) sub.close();
    this.subscriptions.clear();
    this.vhostObject?.ownerClosed(this);
    this.stopHeartbeats();
  }

  private cleanup(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.teardownSession();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.durableWaiters = [];
    this.ctx.broker.off('alarm', this.onAlarm);
    if (this.registered) this.ctx.connections.remove(this);
    this.resolveClosed();
  }

  // ---- heart-beats ---------------------------------------------------------------

  private startHeartbeats(sendMs: number, receiveMs: number): void {
    if (sendMs > 0) {
      // checking at half the period keeps every silence under the promised period
      const half = sendMs / 2;
      this.sendTimer = setInterval(() => {
        if (Date.now() - this.lastSent >= half) this.write(STOMP_HEARTBEAT);
      }, half);
      this.sendTimer.unref();
    }
    if (receiveMs > 0) {
      this.receiveTimer = setInterval(() => {
        // RabbitMQ's heart-beat monitor: a client silent for two periods is gone
        if (Date.now() - this.lastReceived > receiveMs * 2) {
          this.log.warn('STOMP client missed heart-beats', { periodMs: receiveMs, remote: this.remoteAddress });
          this.state = 'closing';
          this.teardownSession();
          this.transport.destroy();
        }
      }, receiveMs / 2);
      this.receiveTimer.unref();
    }
  }

  private stopHeartbeats(): void {
    if (this.sendTimer) clearInterval(this.sendTimer);
    if (this.receiveTimer) clearInterval(this.receiveTimer);
    this.sendTimer = this.receiveTimer = undefined;
  }

  // ---- flow control --------------------------------------------------------------

  private onDrain(): void {
    if (this.state !== 'open') return;
    for (const sub of this.subscriptions.values()) sub.resume();
  }

  private readonly onAlarm = (on: boolean): void => {
    this.blocked = on;
    if (!on && this.readPaused) {
      this.readPaused = false;
      this.transport.resume();
    }
  };

  // ---- output --------------------------------------------------------------------

  sendFrame(command: string, headers: StompHeader[], body?: Buffer): void {
    if (this.state === 'closed') return;
    const frame = createFrame(command, headers, body);
    if (this.traceFrames) this.log.trace('frame out', { command, headers: headersToObject(frame), bodyLength: frame.body.length });
    this.write(serializeFrame(frame, this.version));
  }

  private write(bytes: Buffer): void {
    this.lastSent = Date.now();
    this.transport.write(bytes);
  }

  private sendReceipt(id: string): void {
    this.sendFrame('RECEIPT', [['receipt-id', id]]);
  }

  private sendError(e: StompError, receipt: string | undefined): void {
    const headers: StompHeader[] = [['message', e.message], ['content-type', 'text/plain'], ['version', VERSIONS_HEADER], ...e.headers];
    if (receipt !== undefined) headers.push(['receipt-id', receipt]);
    this.sendFrame('ERROR', headers, Buffer.from(e.detail, 'utf8'));
  }

  /** run `fn` once the store has made everything written so far durable; callbacks keep their order */
  private whenDurable(fn: () => void): void {
    this.durableWaiters.push(fn);
    if (this.syncScheduled) return;
    this.syncScheduled = true;
    // one sync per event-loop turn covers every SEND that arrived in it
    setImmediate(() => this.ctx.broker.store.sync((err) => this.flushDurable(err)));
  }

  private flushDurable(err?: Error): void {
    this.syncScheduled = false;
    const waiters = this.durableWaiters;
    this.durableWaiters = [];
    if (this.state === 'closed') return;
    if (err) {
      if (this.state === 'open') this.fail(new StompError('Message not persisted', `The broker could not write to its store: ${err.message}\n`), undefined);
      return;
    }
    for (const fn of waiters) fn();
  }

  // ---- helpers -------------------------------------------------------------------

  private requireDestination(frame: StompFrame, command: string): string {
    const d = getHeader(frame, 'destination');
    if (d === undefined) throw new StompError('Missing destination', `${quoted(command)} must include a 'destination' header\n`);
    return d;
  }

  /** EndpointContext: the user's permission, named the way RabbitMQ names the default exchange */
  check(permission: Permission, kind: 'queue' | 'exchange', name: string): void {
    const user = this.authUser!.name;
    const resource = kind === 'exchange' && name === '' ? 'amq.default' : name;
    if (!this.ctx.access.check(user, this.vhostModel.name, permission, resource)) {
      throw accessRefused(`access to ${kind} '${resource}' in vhost '${this.vhostModel.name}' refused for user '${user}'`);
    }
  }
}

/** the highest version both sides speak; no accept-version means 1.0 */
export function negotiateVersion(acceptVersion: string | undefined): StompVersion {
  const offered = (acceptVersion ?? '1.0').split(',').map((v) => v.trim());
  for (let i = SUPPORTED_VERSIONS.length - 1; i >= 0; i--) {
    if (offered.includes(SUPPORTED_VERSIONS[i]!)) return SUPPORTED_VERSIONS[i]!;
  }
  throw new StompError('Version mismatch', `Supported versions are ${VERSIONS_HEADER}\n`);
}

function parseAckMode(value: string | undefined): AckMode {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'client' || value === 'client-individual') return value;
  throw new StompError('Invalid header', `'ack' must be 'auto', 'client' or 'client-individual', got '${value}'\n`);
}
