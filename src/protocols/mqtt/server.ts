import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Queue } from '../../core/queues/queue.js';
import type { VHost } from '../../core/vhost.js';
import type { ProtocolContext } from '../context.js';
import { MqttConnection, type Will } from './connection.js';
import { CONNACK_V4, RC, type ConnectRefusal } from './reason-codes.js';
import { MqttTransport } from './transport.js';
import { timerDelay } from '../../core/timers.js';

export interface MqttOptions {
  /**
   * let clients connect without a username, acting as `anonymousUser` (whose loopback-only
   * rule still holds). Default: on, except in strict mode (the broker sets it).
   */
  allowAnonymous?: boolean;
  /** the user an anonymous client acts as; default 'guest' */
  anonymousUser?: string;
  /** vhost for usernames without a `vhost:` prefix; default '/' */
  vhost?: string;
  /** QoS 1/2 deliveries in flight per client before PUBACKs must come back; default 1000 */
  prefetch?: number;
  /** MQTT 5: QoS 1/2 PUBLISHes a client may have unanswered (our Receive Maximum); default 1024 */
  receiveMaximum?: number;
  /** MQTT 5: topic aliases a client may set (our Topic Alias Maximum); default 16, RabbitMQ's */
  topicAliasMaximum?: number;
  /** MQTT 5: the longest session expiry interval granted, in seconds; default 0xFFFFFFFF (no cap) */
  maxSessionExpiry?: number;
  /** MQTT 5: the longest keep-alive allowed, in seconds; a client asking for more (or none) is told this one (Server Keep Alive). Default: none */
  maxKeepAlive?: number;
}

/** state of a persistent session that is not in the core: QoS 2 packet ids in mid-handshake */
export interface SessionLeftovers {
  incomingQos2: Set<number>;
  pendingPubrel: number[];
}

export type Login = { ok: true; user: string; vhost: string } | { ok: false; refusal: ConnectRefusal };

/**
 * QoS 1/2 PUBLISHes a client may have unanswered: a bound on what one client makes the
 * broker hold for it, above any publish window clients use (mqtt.js queues beyond it)
 */
const DEFAULT_RECEIVE_MAXIMUM = 1024;

/** 0xFFFFFFFF: a session that never expires */
const MAX_TIMER_MS = 2 ** 31 - 1;
const NEVER = 0xffffffff;

/**
 * The MQTT side of the broker: accepts connections (TCP, TLS, WebSocket streams), knows
 * which client id is connected where (takeover), and holds what outlives a connection
 * without belonging to the core: delayed wills and QoS 2 packet ids in mid-handshake.
 */
export class MqttServer {
  private readonly live = new Map<string, MqttConnection>();
  private readonly leftovers = new Map<string, SessionLeftovers>();
  private readonly pendingWills = new Map<string, NodeJS.Timeout>();

  private constructor(
    private readonly ctx: ProtocolContext,
    readonly options: MqttOptions,
  ) {}

  static async start(ctx: ProtocolContext, options: MqttOptions = {}): Promise<MqttServer> {
    return new MqttServer(ctx, options);
  }

  get receiveMaximum(): number {
    return this.options.receiveMaximum ?? DEFAULT_RECEIVE_MAXIMUM;
  }

  get topicAliasMaximum(): number {
    return this.options.topicAliasMaximum ?? 16;
  }

  get maxSessionExpiry(): number {
    return this.options.maxSessionExpiry ?? NEVER;
  }

  /** serve one MQTT connection (a TCP or TLS socket, or a WebSocket as a stream) */
  handle(stream: Duplex, req?: IncomingMessage): void {
    new MqttConnection(this, this.ctx, new MqttTransport(stream, req?.socket.remoteAddress));
  }

  close(): Promise<void> {
    for (const t of this.pendingWills.values()) clearTimeout(t);
    this.pendingWills.clear();
    return Promise.resolve();
  }

  // ---- logins ---------------------------------------------------------------------

  login(username: string | undefined, password: Buffer | undefined, remote: string | undefined): Login {
    let vhost = this.options.vhost ?? '/';
    if (username === undefined || username === '') {
      if (this.options.allowAnonymous === false) {
        return { ok: false, refusal: { v4: CONNACK_V4.NOT_AUTHORIZED, v5: RC.NOT_AUTHORIZED, reason: 'anonymous connections are not allowed' } };
      }
      const as = this.options.anonymousUser ?? 'guest';
      const r = this.ctx.access.authenticateAnonymous(as, remote);
      if (!r.ok) {
        const why = r.reason === 'loopback-only' ? `anonymous connections (as '${as}') are only allowed from localhost` : `anonymous connections are not allowed (no user '${as}')`;
        return { ok: false, refusal: { v4: CONNACK_V4.NOT_AUTHORIZED, v5: RC.NOT_AUTHORIZED, reason: why } };
      }
      return { ok: true, user: r.user.name, vhost };
    }
    // RabbitMQ's `vhost:user` form picks the vhost
    const colon = username.indexOf(':');
    if (colon > 0) {
      vhost = username.slice(0, colon);
      username = username.slice(colon + 1);
    }
    const r = this.ctx.access.authenticate(username, password ? password.toString('utf8') : '', remote);
    if (!r.ok) {
      // RabbitMQ's MQTT plugin: 5 (not authorized) for a loopback-only user from afar, 4 for bad credentials
      return r.reason === 'loopback-only'
        ? { ok: false, refusal: { v4: CONNACK_V4.NOT_AUTHORIZED, v5: RC.NOT_AUTHORIZED, reason: `user '${username}' can only connect via localhost` } }
        : { ok: false, refusal: { v4: CONNACK_V4.BAD_USER_NAME_OR_PASSWORD, v5: RC.BAD_USER_NAME_OR_PASSWORD, reason: 'bad user name or password' } };
    }
    return { ok: true, user: r.user.name, vhost };
  }

  /** MQTT 5 Server Keep Alive: the keep-alive to use instead of the client's, if any */
  serverKeepAlive(requested: number): number | undefined {
    const max = this.options.maxKeepAlive;
    if (max === undefined || max <= 0) return undefined;
    return requested === 0 || requested > max ? max : undefined;
  }

  // ---- client ids -----------------------------------------------------------------

  private key(c: MqttConnection): string {
    return `${c.vhost}\u0000${c.clientId}`;
  }

  /**
   * `c` connects as its client id: an earlier connection with it is taken over (closed,
   * its will published), a delayed will of an earlier one is cancelled. Returns what the
   * session left outside the core, if it was persistent.
   */
  claim(c: MqttConnection): SessionLeftovers | undefined {
    const key = this.key(c);
    const before = this.live.get(key);
    if (before && before !== c) before.takenOver();
    this.live.set(key, c);
    const will = this.pendingWills.get(key);
    if (will) {
      clearTimeout(will);
      this.pendingWills.delete(key);
    }
    return this.leftovers.get(key);
  }

  forgetLeftovers(c: MqttConnection): void {
    this.leftovers.delete(this.key(c));
  }

  release(c: MqttConnection, leftovers: SessionLeftovers | undefined): void {
    const key = this.key(c);
    if (this.live.get(key) === c) this.live.delete(key);
    if (leftovers) this.leftovers.set(key, leftovers);
    else this.leftovers.delete(key);
  }

  /** the will goes now, or after its delay (MQTT 5), unless the client comes back first */
  publishWill(c: MqttConnection, will: Will, sessionExpiry: number): void {
    const delay = c.version === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
    // [MQTT-3.1.3-9]: at the latest when the session ends
    const wait = Math.min(delay, sessionExpiry);
    if (wait <= 0) {
      c.routeWill(will);
      return;
    }
    const key = this.key(c);
    const t = setTimeout(() => {
      this.pendingWills.delete(key);
      c.routeWill(will);
    }, timerDelay(wait * 1000));
    t.unref();
    this.pendingWills.set(key, t);
  }

  /**
   * MQTT 5's session expiry interval is the session queue's x-expires (unused for that
   * long, it goes); 0xFFFFFFFF never expires. A 3.1.1 persistent session never expires.
   */
  setSessionExpiry(vhost: VHost, q: Queue, seconds: number, version: number): void {
    if (!q.durable) return;
    // past what a timer can count (2^31-1 ms, about 24.8 days) a session is kept for good
    const ms = version === 5 && seconds !== NEVER && seconds > 0 && seconds * 1000 <= MAX_TIMER_MS ? seconds * 1000 : undefined;
    vhost.setQueueExpiry(q.name, ms);
  }
}
