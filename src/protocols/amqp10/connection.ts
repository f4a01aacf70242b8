import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { Access, permissionName } from '../../core/access.js';
import { PublisherFlow, type FlowControlled } from '../../core/alarm.js';
import { BrokerError } from '../../core/errors.js';
import type { VHost } from '../../core/vhost.js';
import type { AuthenticatedUser, ClientConnection, Permission, ProtocolContext } from '../context.js';
import { Encoder } from './codec/encoder.js';
import { Amqp10Error, Condition } from './codec/errors.js';
import type { AmqpErrorShape, Begin, Close, Composite, Open } from './codec/composites.js';
import {
  EMPTY_FRAME,
  FRAME_AMQP,
  FRAME_SASL,
  FrameReader,
  HEADER_AMQP,
  HEADER_SASL,
  MIN_MAX_FRAME_SIZE,
  decodeFrameBody,
  writeFrame,
} from './codec/frames.js';
import { AmqpMap, array, ushort, uint } from './codec/types.js';
import { brokerErrorCondition } from './errors.js';
import { SaslServer } from './sasl.js';
import { Amqp10Session } from './session.js';
import { Amqp10Transactions } from './transactions.js';
import { startHandshakeTimeout } from '../common/handshake-timeout.js';
import { ReadSlices } from '../common/read-slices.js';
import { SampledSilence, SilenceSince } from '../common/idle-checks.js';

/** what we announce in open (RabbitMQ 4's defaults: frame_max 128 KiB, heartbeat 60 s) */
export interface Amqp10Tuning {
  maxFrameSize: number;
  channelMax: number;
  /**
   * RabbitMQ profiles: RabbitMQ's `heartbeat` (seconds, 0 = off), which governs AMQP 1.0 too:
   * idle-time-out announced as half of it, a peer silent for 2 to 3 heartbeats is closed
   * (rabbit_amqp_reader + rabbit_heartbeat's receiver, sampling every heartbeat)
   */
  heartbeat: number;
  /**
   * ActiveMQ profile: the AMQP connector's idle timeout in ms (transport.wireFormat.idleTimeout,
   * 30000; 0 = off): half of it announced (proton-j), a peer silent for all of it is closed
   */
  idleTimeoutMs: number;
}

export const DEFAULT_AMQP10_TUNING: Amqp10Tuning = { maxFrameSize: 131072, channelMax: 2047, heartbeat: 60, idleTimeoutMs: 30_000 };

/**
 * How each engine times out a silent peer: what it announces, when it closes, with which
 * words. ActiveMQ (proton-j's transport) closes once nothing came for its whole idle timeout;
 * RabbitMQ 4 (rabbit_heartbeat's receiver, threshold 1) samples the bytes received every
 * `heartbeat` and closes at the second sample in a row that saw none: between 2 and 3
 * heartbeats of silence, depending on where the silence began between two samples.
 */
interface IdlePolicy {
  announceMs: number;
  /** ActiveMQ: close after this much silence */
  closeAfterMs: number;
  /** RabbitMQ: sample every this many ms, close at the second silent sample in a row */
  sampleEveryMs: number;
  description: string;
}

function idlePolicy(dialect: 'rabbitmq' | 'activemq', t: Amqp10Tuning): IdlePolicy {
  if (dialect === 'activemq') return { announceMs: Math.floor(t.idleTimeoutMs / 2), closeAfterMs: t.idleTimeoutMs, sampleEveryMs: 0, description: 'local-idle-timeout expired' };
  return { announceMs: t.heartbeat * 500, closeAfterMs: 0, sampleEveryMs: t.heartbeat * 1000, description: 'no frame received from client within idle timeout threshold' };
}

/** socket buffer above which links stop being handed messages until 'drain' */
const WRITE_HIGH_WATER = 1024 * 1024;
/** how long a peer has to answer our close before the socket is cut */
const CLOSE_TIMEOUT_MS = 2000;

const enum State {
  Header,
  Sasl,
  /** SASL done, waiting for the AMQP header */
  AmqpHeader,
  /** waiting for open */
  Open,
  Opened,
  /** we sent close and wait for theirs */
  Closing,
  Closed,
}

let connectionCounter = 0;

/**
 * One AMQP 1.0 client connection: protocol headers, SASL, open/close negotiation
 * (max-frame-size, channel-max, idle timeout with empty frames), sessions by channel,
 * and connection-level errors (close with an amqp: condition, then the socket goes).
 * Session and link work lives in Amqp10Session.
 */
export class Amqp10Connection implements ClientConnection, FlowControlled {
  readonly id = `amqp10-${++connectionCounter}-${randomBytes(3).toString('hex')}`;
  readonly protocol = 'amqp10' as const;
  readonly connectedAt = Date.now();
  readonly remoteAddress: string | undefined;
  private state = State.Header;
  private readonly reader: FrameReader;
  private readonly sasl: SaslServer;
  readonly encoder = new Encoder(64 * 1024);
  private flushScheduled = false;
  authUser: AuthenticatedUser | undefined;
  vhostModel: VHost | undefined;
  private accessService: Access | undefined;
  containerId = '';
  /** the peer's max-frame-size: our frames stay within it */
  peerMaxFrameSize = 0xffffffff;
  private channelMax: number;
  private readonly sessions = new Map<number, Amqp10Session>();
  /** channels whose session we ended with an error: their frames are ignored until their end */
  private readonly endingChannels = new Set<number>();
  private registered = false;
  /** ActiveMQ's idle rule: nothing received for its whole idle timeout (undefined: RabbitMQ's, sampled) */
  private readonly silence: SilenceSince | undefined;
  /** RabbitMQ's idle rule, sampled each heartbeat (undefined: ActiveMQ's, or no heartbeat) */
  private sampled: SampledSilence | undefined;
  /** bytes read so far (RabbitMQ's idle check samples them, as rabbit_heartbeat samples recv_oct) */
  private bytesIn = 0;
  private lastSent = Date.now();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private idleSampler: NodeJS.Timeout | undefined;
  private closeTimer: NodeJS.Timeout | undefined;
  private readonly idle: IdlePolicy;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  blocked = false;
  /** RabbitMQ 4: the alarm shuts the sessions' incoming windows (VersionRules.amqp10AlarmStops) */
  readonly alarmShutsWindows: boolean;
  /** RabbitMQ 3.13: the alarm stops the reading at the first transfer, whatever else the connection does */
  private readonly alarmBlocksReader: boolean;
  /** the journal's credit flow holds this connection: its links grant no credit (creditHeld) */
  creditHold = false;
  /** the held connections' shared run-ahead is spent (StoreFlow.ranAhead): the reading is paused too, until the hold ends */
  private heldReading = false;
  /** transactions declared on this connection's coordinator links, by txn-id */
  readonly transactions: Amqp10Transactions;
  /** the resource alarm's subscription: AMQP 1.0 links stop granting credit while it is on */
  /** back-pressure: the alarm, the journal's credit flow, durability backlogs (management reads its state) */
  flow: PublisherFlow | undefined;
  /** the socket's input, processed in slices of time per turn (other sockets and the disk's completions run between) */
  private readonly input: ReadSlices;
  readonly log;
  readonly traceFrames: boolean;

  constructor(
    readonly socket: Socket,
    readonly ctx: ProtocolContext,
    private readonly tuning: Amqp10Tuning = DEFAULT_AMQP10_TUNING,
  ) {
    this.remoteAddress = socket.remoteAddress;
    this.channelMax = tuning.channelMax;
    this.idle = idlePolicy(ctx.dialect, tuning);
    this.alarmShutsWindows = ctx.dialect === 'rabbitmq' && ctx.broker.engineRules.amqp10AlarmStops === 'session-window';
    this.alarmBlocksReader = ctx.dialect === 'rabbitmq' && ctx.broker.engineRules.amqp10AlarmStops === 'reader';
    if (this.idle.closeAfterMs > 0) this.silence = new SilenceSince(this.idle.closeAfterMs, Date.now());
    this.log = ctx.logger.child({ conn: this.id });
    this.traceFrames = ctx.logger.enabled('trace');
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    this.transactions = new Amqp10Transactions(ctx.broker.durability, this.id);
    this.sasl = new SaslServer(ctx, socket.remoteAddress);
    this.reader = new FrameReader({ header: (h) => this.onHeader(h), frame: (t, ch, body) => this.onFrame(t, ch, body) }, tuning.maxFrameSize);
    this.input = new ReadSlices(socket, ctx.broker.limits.settings.readSliceMs, (chunk) => this.parse(chunk), () => this.state !== State.Closed);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err) => this.log.debug('socket error', { err }));
    socket.on('close', () => this.cleanup());
    this.closeTimer = startHandshakeTimeout({
      protocol: 'AMQP 1.0', timeoutMs: ctx.broker.limits.settings.handshakeTimeoutMs, log: this.log, fields: { remote: this.remoteAddress },
      missing: () => (this.state >= State.Opened ? undefined : 'handshake not completed'),
      close: () => this.socket.destroy(),
    });
  }

  get user(): string | undefined {
    return this.authUser?.name;
  }

  get vhost(): string | undefined {
    return this.vhostModel?.name;
  }

  get writable(): boolean {
    return this.state === State.Opened && this.socket.writableLength < WRITE_HIGH_WATER;
  }

  get isOpen(): boolean {
    return this.state === State.Opened;
  }

  // ---- input ---------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    this.silence?.received(Date.now());
    this.bytesIn += chunk.length;
    if (this.state === State.Closed) return;
    this.input.data(chunk);
  }

  /** one slice of input: the bytes left unparsed when the slice ended */
  private parse(chunk: Buffer): Buffer | undefined {
    if (this.state === State.Closed) return undefined;
    try {
      return this.reader.push(chunk, this.input.over);
    } catch (err) {
      this.fail(err);
      return undefined;
    }
  }

  private onHeader(h: Buffer): void {
    const isSasl = h.equals(HEADER_SASL);
    const isAmqp = h.equals(HEADER_AMQP);
    if (this.state === State.Header && isSasl) {
      this.write(HEADER_SASL);
      this.state = State.Sasl;
      this.reader.frameType = FRAME_SASL;
      this.sendSasl({ $: 'sasl-mechanisms', saslServerMechanisms: this.sasl.mechanisms() });
      return;
    }
    if ((this.state === State.Header || this.state === State.AmqpHeader) && isAmqp) {
      this.write(HEADER_AMQP);
      if (this.state === State.Header) {
        // no SASL layer: the client is anonymous, as RabbitMQ 4 treats it
        const user = this.sasl.anonymous();
        if (!user) {
          this.state = State.Open;
          this.closeWith({ $: 'error', condition: Condition.unauthorizedAccess, description: 'SASL is required: connect with the SASL header (AMQP 3 1 0 0)' });
          return;
        }
        this.authUser = user;
      }
      this.state = State.Open;
      this.reader.frameType = FRAME_AMQP;
      return;
    }
    // a header we do not speak: answer with the one we do, then hang up (part 2.2)
    this.log.info('AMQP 1.0 connection refused: unsupported protocol header', { header: h.toString('hex'), remote: this.remoteAddress });
    this.reader.stopped = true;
    this.state = State.Closed;
    this.socket.end(HEADER_SASL);
  }

  private onFrame(type: number, channel: number, body: Buffer): void {
    if (this.state === State.Closed) return;
    if (body.length === 0) return; // an empty frame: the peer is alive
    const { performative, payload } = decodeFrameBody(body);
    if (this.traceFrames) this.log.trace('frame in', { channel, performative: performative.$, payloadLength: payload.length });
    if (type === FRAME_SASL) {
      this.onSaslFrame(performative);
      return;
    }
    if (this.state === State.Closing) {
      if (performative.$ === 'close') this.finish();
      return;
    }
    if (this.state === State.Open) {
      if (performative.$ !== 'open' || channel !== 0) throw new Amqp10Error(Condition.illegalState, `expected open, got ${performative.$}`);
      this.onOpen(performative as unknown as Open);
      return;
    }
    switch (performative.$) {
      case 'open':
        throw new Amqp10Error(Condition.illegalState, 'open received twice');
      case 'close':
        this.onClose(performative as unknown as Close);
        return;
      case 'begin':
        this.onBegin(channel, performative as unknown as Begin);
        return;
    }
    if (this.endingChannels.has(channel)) {
      if (performative.$ === 'end') this.endingChannels.delete(channel);
      return;
    }
    const session = this.sessions.get(channel);
    if (!session) throw new Amqp10Error(Condition.framingError, `${performative.$} on channel ${channel}, which has no session`);
    try {
      session.onPerformative(performative, payload);
    } catch (err) {
      this.sessionError(session, err);
    }
  }

  private onSaslFrame(p: Composite): void {
    if (this.state !== State.Sasl) throw new Amqp10Error(Condition.illegalState, `unexpected SASL frame ${p.$}`);
    const step = this.sasl.step(p);
    if (step.challenge) {
      this.sendSasl({ $: 'sasl-challenge', challenge: step.challenge });
      return;
    }
    this.sendSasl({ $: 'sasl-outcome', code: step.code });
    if (step.user) {
      this.authUser = step.user;
      this.state = State.AmqpHeader;
      this.reader.expectHeader = true;
      return;
    }
    this.log.info('AMQP 1.0 login refused', { reason: step.reason, remote: this.remoteAddress });
    // SASL failure: the outcome, then the socket closes (part 5.3.2)
    this.state = State.Closed;
    this.reader.stopped = true;
    this.flush();
    this.socket.end();
  }

  // ---- open / close ----------------------------------------------------------------

  private onOpen(open: Open): void {
    this.containerId = open.containerId;
    if (open.maxFrameSize !== undefined) {
      if (open.maxFrameSize < MIN_MAX_FRAME_SIZE) {
        this.replyOpen();
        throw new Amqp10Error(Condition.frameSizeTooSmall, `max_frame_size (${open.maxFrameSize}) < minimum maximum frame size (${MIN_MAX_FRAME_SIZE})`);
      }
      this.peerMaxFrameSize = open.maxFrameSize;
    }
    if (open.idleTimeOut !== undefined && open.idleTimeOut !== 0 && open.idleTimeOut < 1000) {
      // RabbitMQ's rabbit_amqp_reader refuses sub-second heartbeats
      this.replyOpen();
      throw new Amqp10Error(Condition.notAllowed, `idle-time-out (${open.idleTimeOut} ms) < minimum idle-time-out (1000 ms)`);
    }
    if (open.channelMax !== undefined) this.channelMax = Math.min(this.channelMax, open.channelMax);
    const vhostName = vhostOf(open.hostname, (n) => this.ctx.broker.vhost(n) !== undefined);
    const vhost = this.ctx.broker.vhost(vhostName);
    const user = this.authUser!;
    if (!vhost || !this.ctx.access.canAccessVhost(user.name, vhostName)) {
      this.replyOpen();
      throw new Amqp10Error(Condition.invalidField, `vhost '${vhostName}' access denied for user '${user.name}'`);
    }
    if (!this.ctx.connections.add(this)) {
      const refusal = this.ctx.connections.refusal('amqp10', this);
      this.replyOpen();
      throw new Amqp10Error(
        Condition.resourceLimitExceeded,
        refusal?.reason !== undefined
          ? refusal.reason
          : refusal?.limit === 'protocol'
          ? `Exceeded the maximum number of allowed client connections (${refusal.max})`
          : `connection refused: node connection limit (${this.ctx.broker.limits.settings.maxConnections}) is reached`,
      );
    }
    this.registered = true;
    this.vhostModel = vhost;
    this.replyOpen();
    this.state = State.Opened;
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.closeTimer = undefined;
    this.startHeartbeats(open.idleTimeOut ?? 0);
    this.flow = this.ctx.broker.publisherFlow(this);
    this.log.info('AMQP 1.0 connection open', { user: user.name, vhost: vhostName, container: open.containerId, remote: this.remoteAddress });
  }

  private openSent = false;
  private replyOpen(): void {
    if (this.openSent) return;
    this.openSent = true;
    const product = this.ctx.product;
    this.send(0, {
      $: 'open',
      containerId: this.ctx.dialect === 'activemq' ? `localmq-activemq` : `localmq@${product.name}`,
      maxFrameSize: uint(this.tuning.maxFrameSize),
      channelMax: ushort(this.channelMax),
      // "SHOULD be half the peer's actual timeout threshold" (part 2.4.5)
      idleTimeOut: uint(this.idle.announceMs),
      offeredCapabilities: array('symbol', ['ANONYMOUS-RELAY']),
      properties: AmqpMap.symbols({ product: product.name, version: product.version, platform: product.platform }),
    } as Composite);
  }

  private onClose(close: Close): void {
    if (close.error) this.log.debug('client closed with an error', { condition: close.error.condition, description: close.error.description });
    this.send(0, { $: 'close' });
    this.finish();
  }

  /** close the connection with `error`, wait (briefly) for the peer's close */
  closeWith(error: AmqpErrorShape | undefined): void {
    if (this.state === State.Closing || this.state === State.Closed) return;
    if (!this.openSent && this.state >= State.Open) this.replyOpen();
    this.send(0, { $: 'close', error } as Composite);
    this.state = State.Closing;
    this.teardown();
    this.closeTimer = setTimeout(() => this.finish(), CLOSE_TIMEOUT_MS);
    this.closeTimer.unref();
  }

  private finish(): void {
    if (this.state === State.Closed) return;
    this.state = State.Closed;
    this.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    this.cleanup();
  }

  async shutdown(reason: string): Promise<void> {
    if (this.state === State.Opened) this.closeWith({ $: 'error', condition: Condition.connectionForced, description: reason });
    else if (this.state !== State.Closing) {
      this.state = State.Closed;
      this.socket.destroy();
    }
    await this.closedPromise;
  }

  /** a connection error: close with its condition; any other failure is amqp:internal-error */
  private fail(err: unknown): void {
    if (this.state === State.Header || this.state === State.Sasl || this.state === State.AmqpHeader) {
      this.log.debug('AMQP 1.0 handshake failed', { err });
      this.state = State.Closed;
      this.socket.destroy();
      return;
    }
    const e = toAmqpError(err);
    if (e.condition === Condition.internalError) this.log.error('internal error handling an AMQP 1.0 frame', { err });
    else this.log.info('AMQP 1.0 connection error', { condition: e.condition, description: e.description, remote: this.remoteAddress });
    // the stream can no longer be framed after a framing or decode error: stop reading it
    this.reader.stopped = true;
    this.closeWith(e);
  }

  /**
   * An error inside a session: a connection error closes the connection; anything else the
   * session could not pin on one link (those detach themselves) ends the session with it.
   */
  private sessionError(session: Amqp10Session, err: unknown): void {
    const scope = err instanceof Amqp10Error ? err.scope : err instanceof BrokerError ? 'session' : 'connection';
    if (scope === 'connection') throw err;
    this.endSession(session, toAmqpError(err));
  }

  /** the broker ends a session with an error (the client answers with its end) */
  endSession(session: Amqp10Session, e: AmqpErrorShape): void {
    if (this.sessions.get(session.channel) !== session) return;
    this.log.info('AMQP 1.0 session ended with an error', { channel: session.channel, condition: e.condition, description: e.description });
    session.teardown();
    this.sessions.delete(session.channel);
    this.endingChannels.add(session.remoteChannel);
    this.send(session.channel, { $: 'end', error: e } as Composite);
  }

  /** the user's access checks (the core's access service), once logged in */
  get access(): Access {
    return (this.accessService ??= new Access(this.ctx.access, this.authUser!.name));
  }

  /** the user's permission on a resource, named as RabbitMQ names the default exchange; a link error when refused */
  checkAccess(permission: Permission, kind: 'queue' | 'exchange', name: string): void {
    const user = this.authUser!.name;
    const vhost = this.vhostModel!.name;
    if (!this.access.allowed(vhost, { kind, name }, permission)) {
      const resource = permissionName({ kind, name });
      throw new Amqp10Error(Condition.unauthorizedAccess, `${permission} access to ${kind} '${resource}' in vhost '${vhost}' refused for user '${user}'`, 'link');
    }
  }

  // ---- sessions --------------------------------------------------------------------

  private onBegin(channel: number, begin: Begin): void {
    if (begin.remoteChannel !== undefined) throw new Amqp10Error(Condition.notAllowed, 'begin with a remote-channel: LocalMQ does not begin sessions');
    if (channel > this.channelMax) {
      throw new Amqp10Error(Condition.framingError, `channel ${channel} exceeds the negotiated channel-max ${this.channelMax}`);
    }
    if (this.sessions.has(channel)) throw new Amqp10Error(Condition.framingError, `begin on channel ${channel}, which already has a session`);
    this.endingChannels.delete(channel);
    const session = new Amqp10Session(this, channel, begin);
    this.sessions.set(channel, session);
    session.sendBegin();
  }

  /** the client ended a session (after our end, or on its own) */
  sessionEnded(session: Amqp10Session): void {
    this.sessions.delete(session.channel);
  }

  // ---- output --------------------------------------------------------------------

  /** queue a frame; frames written in one turn of the event loop leave in one write */
  send(channel: number, performative: Composite, payload?: Buffer, start?: number, end?: number): void {
    if (this.state === State.Closed) return;
    if (this.traceFrames) this.log.trace('frame out', { channel, performative: performative.$ });
    writeFrame(this.encoder, FRAME_AMQP, channel, performative, payload, start, end);
    this.scheduleFlush();
  }

  /**
   * A frame the delivery path wrote into the encoder itself (codec/hot.ts), from `start`:
   * traced and flushed with the rest, or dropped once the connection is closed, as send does.
   */
  wrote(channel: number, performative: string, start: number): void {
    if (this.state === State.Closed) {
      this.encoder.pos = start;
      return;
    }
    if (this.traceFrames) this.log.trace('frame out', { channel, performative });
    this.scheduleFlush();
  }

  private sendSasl(p: Composite): void {
    writeFrame(this.encoder, FRAME_SASL, 0, p);
    this.scheduleFlush();
  }

  private write(bytes: Buffer): void {
    this.encoder.raw(bytes);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.encoder.pos === 0) return;
    const bytes = this.encoder.take();
    this.encoder.reset();
    // keep the encoder's buffer from growing without bound after one huge message
    if (this.encoder.buf.length > 4 * 1024 * 1024) this.encoder.buf = Buffer.allocUnsafe(64 * 1024);
    this.lastSent = Date.now();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.write(bytes);
  }

  // ---- heartbeats and flow -------------------------------------------------------

  /**
   * Empty frames at half the peer's idle-time-out (part 2.4.5, as proton and RabbitMQ send
   * them), and our own threshold: a peer silent past it is closed with
   * amqp:resource-limit-exceeded in its engine's words.
   */
  private startHeartbeats(peerIdleMs: number): void {
    const sendEvery = peerIdleMs > 0 ? peerIdleMs / 2 : 0;
    const closeAfter = this.idle.closeAfterMs;
    if (this.idle.sampleEveryMs > 0) {
      this.sampled = new SampledSilence();
      this.idleSampler = setInterval(() => this.checkIdle(Date.now()), this.idle.sampleEveryMs);
      this.idleSampler.unref();
    }
    if (sendEvery === 0 && closeAfter === 0) return;
    const tick = Math.max(100, Math.min(sendEvery || Infinity, closeAfter > 0 ? closeAfter / 4 : Infinity));
    this.heartbeatTimer = setInterval(() => {
      const now = Date.now();
      if (sendEvery > 0 && now - this.lastSent >= sendEvery) this.write(EMPTY_FRAME);
      if (closeAfter > 0) this.checkIdle(now);
    }, tick);
    this.heartbeatTimer.unref();
  }

  /**
   * The idle rule, once, as its timer asks it at `now` (RabbitMQ: a heartbeat's sample of the
   * bytes read, rabbit_heartbeat's receiver; ActiveMQ: nothing received for the idle timeout); a
   * held reading (alarm, credit flow) reads nothing, which is not the peer's silence. A peer gone
   * is closed with amqp:resource-limit-exceeded in its engine's words: true then. Tests ask it on a
   * stepped clock instead of sleeping past the timeout.
   */
  checkIdle(now: number): boolean {
    const held = this.flow?.holding === true;
    const gone = this.sampled !== undefined ? this.sampled.sample(this.bytesIn, held) : this.silence !== undefined && this.silence.expired(now, held);
    if (!gone) return false;
    this.log.warn('AMQP 1.0 client idle past the idle timeout', { idleTimeoutMs: this.idle.announceMs * 2, remote: this.remoteAddress });
    this.closeWith({ $: 'error', condition: Condition.resourceLimitExceeded, description: this.idle.description });
    return true;
  }

  private onDrain(): void {
    if (this.state !== State.Opened) return;
    for (const s of this.sessions.values()) s.resume();
  }

  /**
   * FlowControlled: links stop granting credit while the alarm is on, and grant again after; in
   * RabbitMQ 4 the sessions' incoming windows shut too (Amqp10Session.shutWindow; not 3.13:
   * VersionRules.amqp10AlarmStops), and a transfer that still comes may stop the reading until the
   * alarm clears (publishedUnderAlarm)
   */
  alarmChanged(on: boolean): void {
    this.blocked = on;
    for (const s of this.sessions.values()) {
      if (this.alarmShutsWindows) s.shutWindow(on);
      s.creditMayFlow();
    }
  }

  /**
   * FlowControlled: the journal's credit flow holds this connection by link credit, as RabbitMQ 4
   * stops an AMQP 1.0 sender (rabbit_amqp_session grants a sending link credit only while its
   * messages unconfirmed by the queues, settled or not, are under the link's maximum) and ActiveMQ
   * an unsettled one (AmqpReceiver: its credit comes in the answer to the send, which producer flow
   * control delays): its links grant none until the hold ends, while its socket is still read
   * (empty frames, its consumers' dispositions, other links' attaches). Credit granted before the
   * hold cannot be taken back: once the held connections together sent more than RUN_AHEAD_BYTES
   * on it (core/store-flow.ts: one budget, not one per connection) the reading is paused as well;
   * and at once for an ActiveMQ pre-settled sender (takenWhileHeld).
   */
  creditHeld(on: boolean): void {
    this.creditHold = on;
    if (on) return;
    if (this.heldReading) {
      this.heldReading = false;
      this.flow?.hold(false);
    }
    for (const s of this.sessions.values()) s.creditMayFlow();
  }

  /**
   * A persistent message taken while the credit flow holds this connection (IncomingLink), on
   * credit granted before; `blocksTransport`: ActiveMQ's pre-settled send, which its transport
   * blocks on (producer flow control: the socket is not read) with the link's credit topped up.
   */
  takenWhileHeld(bytes: number, blocksTransport: boolean): void {
    const flow = this.flow;
    if (this.heldReading || !flow) return;
    if (!flow.ranAhead(bytes) && !blocksTransport) return;
    this.heldReading = true;
    flow.hold(true);
  }

  /**
   * A publish read while the alarm is on (a transfer; ActiveMQ profile: a pre-settled one): the
   * connection is not read again until the alarm clears (PublisherFlow.published). RabbitMQ 3.13's
   * reader does so whatever else the connection does. Elsewhere it is LocalMQ's own bound on what
   * credit granted before the alarm still lets in (RabbitMQ 4 takes up to its window's size, 400, past
   * the shut window; ActiveMQ 5.15+ parks such sends in memory until there is space: 170 / 1000 x
   * 64 KiB per link went 40 MiB past a 200 MiB watermark), and only for a connection that consumes
   * nothing: one with outgoing links needs its settlements read to bring memory down (neither
   * RabbitMQ 4 nor ActiveMQ stops reading it), so it is left to the window and credit alone.
   */
  publishedUnderAlarm(): void {
    if (this.alarmBlocksReader || !this.consumes()) this.flow?.published();
  }

  /** the connection has links on which LocalMQ sends (consumers, browsers); read only under the alarm */
  private consumes(): boolean {
    for (const s of this.sessions.values()) if (s.sends) return true;
    return false;
  }

  pauseReading(): void {
    this.input.pause();
  }

  resumeReading(): void {
    // the peer's silence counts from here
    this.silence?.received(Date.now());
    this.input.resume();
  }

  // ---- teardown ------------------------------------------------------------------

  private teardown(): void {
    this.transactions.rollbackAll();
    for (const s of this.sessions.values()) s.teardown();
    this.sessions.clear();
    this.vhostModel?.ownerClosed(this);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    if (this.idleSampler) clearInterval(this.idleSampler);
    this.heartbeatTimer = this.idleSampler = undefined;
  }

  private cleaned = false;
  private cleanup(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    this.state = State.Closed;
    this.teardown();
    if (this.closeTimer) clearTimeout(this.closeTimer);
    this.flow?.close();
    if (this.registered) this.ctx.connections.remove(this);
    this.log.debug('AMQP 1.0 connection closed', { remote: this.remoteAddress });
    this.resolveClosed();
  }
}

/** RabbitMQ 4: `vhost:name` in open's hostname picks the vhost; a hostname naming a vhost does too; else '/' */
function vhostOf(hostname: string | undefined, exists: (n: string) => boolean): string {
  if (hostname === undefined) return '/';
  if (hostname.startsWith('vhost:')) return hostname.slice(6);
  return exists(hostname) ? hostname : '/';
}

export function toAmqpError(err: unknown): AmqpErrorShape {
  if (err instanceof Amqp10Error) return { $: 'error', condition: err.condition, description: err.description };
  if (err instanceof BrokerError) return { $: 'error', condition: brokerErrorCondition(err), description: err.text };
  return { $: 'error', condition: Condition.internalError, description: (err as Error)?.message ?? 'internal error' };
}

