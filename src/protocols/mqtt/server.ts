import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { Access } from '../../core/access.js';
import { BrokerError } from '../../core/errors.js';
import type { Queue } from '../../core/queues/queue.js';
import type { VHost } from '../../core/vhost.js';
import type { ProtocolContext } from '../context.js';
import { MqttConnection, sharedFilter, sharedQueueName } from './connection.js';
import { publishToMessage, TOPIC_EXCHANGE } from './messages.js';
import { publishRefusal } from './permissions.js';
import { CONNACK_V4, RC, type ConnectRefusal } from './reason-codes.js';
import { loadWill, MqttSessionRecords, type Will } from './session-records.js';
import { validTopicName } from './subscriptions.js';
import { MqttTransport, PendingOutput } from './transport.js';
import type { BusyPoll } from '../common/busy-poll.js';
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
  /**
   * RabbitMQ 4.3's `mqtt.disconnect_on_unauthorized`: a PUBLISH or SUBSCRIBE refused for want
   * of permission closes the connection (default, and always so in 3.13 and 4.0-4.2); false
   * keeps it: SUBACK 0x80 (MQTT 5: 0x87), PUBACK 0x87 for MQTT 5 QoS 1, QoS 0 dropped. The
   * ActiveMQ engine always keeps it.
   */
  disconnectOnUnauthorized?: boolean;
  /**
   * microseconds the event loop keeps polling the sockets after MQTT input before it sleeps
   * (busy polling, as Erlang's schedulers do): a busy client is not preempted by a broker
   * woken for each of its packets. Default 500; 0 turns it off.
   */
  busyPollMicros?: number;
  /**
   * MQTT 5: the longest keep-alive allowed, in seconds (Mosquitto's max_keepalive); a client
   * asking for more (or none) is told this one (Server Keep Alive). A 3.1.1 client cannot be
   * told and keeps its own, as in Mosquitto. Default: none
   */
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

/**
 * how long the event loop keeps polling after MQTT input before it sleeps (common/busy-poll.ts):
 * long enough to span the gaps between a busy client's packets
 */
const DEFAULT_BUSY_POLL_MICROS = 500;

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
  /** what sessions keep beside their queue (shared subscriptions, wills, QoS 2 ids), through the core's records */
  readonly sessions: MqttSessionRecords;
  /** this server's connections with batched output not yet written */
  readonly output = new PendingOutput();

  private constructor(
    private readonly ctx: ProtocolContext,
    readonly options: MqttOptions,
    /** the broker's busy polling (owned and stopped by the broker), told of every MQTT input */
    readonly busyPoll: BusyPoll,
  ) {
    this.sessions = new MqttSessionRecords(ctx.broker.records);
  }

  static async start(ctx: ProtocolContext, options: MqttOptions, busyPoll: BusyPoll): Promise<MqttServer> {
    const server = new MqttServer(ctx, options, busyPoll);
    busyPoll.setWindow(options.busyPollMicros ?? DEFAULT_BUSY_POLL_MICROS);
    server.recover();
    return server;
  }

  /** wills and QoS 2 packet ids written down before the broker stopped (or crashed) */
  private recover(): void {
    for (const { vhost, clientId, session } of [...this.sessions.all()]) {
      const key = `${vhost}\u0000${clientId}`;
      if (session.incomingQos2?.length || session.pendingPubrel?.length) {
        this.leftovers.set(key, { incomingQos2: new Set(session.incomingQos2), pendingPubrel: session.pendingPubrel ?? [] });
      }
      const stored = session.will;
      if (!stored) continue;
      // its connection did not end cleanly (a clean end removes the will): it goes now, or
      // after its delay, unless the client is back first
      const will = loadWill(stored);
      const publish = () => {
        this.pendingWills.delete(key);
        this.sessions.update(vhost, clientId, { will: undefined });
        this.routeWill(vhost, clientId, stored.user, will, stored.version);
      };
      if (stored.delay <= 0) publish();
      else {
        const t = setTimeout(publish, timerDelay(stored.delay * 1000));
        t.unref();
        this.pendingWills.set(key, t);
      }
    }
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
    new MqttConnection(this, this.ctx, new MqttTransport(stream, this.output, req?.socket.remoteAddress));
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

  /**
   * MQTT 5 Server Keep Alive: the keep-alive to use instead of the client's, if any. Only an
   * MQTT 5 client is held to the cap: 3.1.1 has no way to tell it, and one closed for missing
   * a keep-alive it never agreed to did nothing wrong. Mosquitto 2.0.11 with max_keepalive 60
   * closed an idle 3.1.1 client asking for 120 s after 183.6 s, its own 1.5 x 120 s.
   */
  serverKeepAlive(version: number, requested: number): number | undefined {
    const max = this.options.maxKeepAlive;
    if (version !== 5 || max === undefined || max <= 0) return undefined;
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

  /** a session that starts afresh: nothing of an earlier one is kept */
  forgetLeftovers(c: MqttConnection): void {
    this.leftovers.delete(this.key(c));
    const shared = this.sessions.get(c.vhost!, c.clientId)?.shared ?? [];
    this.sessions.update(c.vhost!, c.clientId, { shared: undefined, incomingQos2: undefined, pendingPubrel: undefined });
    const vhost = this.ctx.broker.vhost(c.vhost!);
    if (!vhost) return;
    for (const s of shared) {
      const sh = sharedFilter(s.filter);
      if (sh) this.releaseShared(vhost, sharedQueueName(sh.group, sh.filter));
    }
  }

  /**
   * A durable group queue goes once no member needs it: no consumer, and no persistent
   * session that lists the subscription (as a session queue goes with its session).
   */
  releaseShared(vhost: VHost, name: string): void {
    const q = vhost.getQueue(name);
    if (!q || !q.durable || q.consumerCount > 0) return;
    for (const r of this.sessions.all()) {
      if (r.vhost !== vhost.name) continue;
      for (const s of r.session.shared ?? []) {
        const sh = sharedFilter(s.filter);
        if (sh && sharedQueueName(sh.group, sh.filter) === name) return;
      }
    }
    vhost.deleteQueue(name, false, false, null);
  }

  /** a durable group queue's x-expires: the longest of its persistent members' session expiries */
  extendSharedExpiry(vhost: VHost, q: Queue, seconds: number, version: number): void {
    const current = q.config.expires;
    if (current === undefined) return; // kept for good already
    const ms = this.expiryMs(seconds, version);
    if (ms === undefined || ms > current) vhost.setQueueExpiry(q.name, ms);
  }

  release(c: MqttConnection, leftovers: SessionLeftovers | undefined): void {
    const key = this.key(c);
    if (this.live.get(key) === c) this.live.delete(key);
    if (leftovers && (leftovers.incomingQos2.size > 0 || leftovers.pendingPubrel.length > 0)) this.leftovers.set(key, leftovers);
    else this.leftovers.delete(key);
  }

  /** the delay before a will goes (MQTT 5's will delay, at the latest when the session ends [MQTT-3.1.3-9]) */
  willDelay(version: number, will: Will, sessionExpiry: number): number {
    const delay = version === 5 ? (will.properties?.willDelayInterval ?? 0) : 0;
    return Math.max(0, Math.min(delay, sessionExpiry));
  }

  /** the will goes now, or after its delay (MQTT 5), unless the client comes back first */
  publishWill(c: MqttConnection, will: Will, sessionExpiry: number): void {
    const wait = this.willDelay(c.version, will, sessionExpiry);
    const vhost = c.vhost!;
    const clientId = c.clientId;
    const user = c.user!;
    const version = c.version;
    const publish = () => {
      this.sessions.update(vhost, clientId, { will: undefined });
      this.routeWill(vhost, clientId, user, will, version);
    };
    if (wait <= 0) return publish();
    const key = this.key(c);
    const t = setTimeout(() => {
      this.pendingWills.delete(key);
      publish();
    }, timerDelay(wait * 1000));
    t.unref();
    this.pendingWills.set(key, t);
  }

  /** a will as a core message, routed like a PUBLISH of its client's (with that user's permissions) */
  routeWill(vhostName: string, clientId: string, user: string, will: Will, version: number): void {
    const v = this.ctx.broker.vhost(vhostName);
    if (!v) return;
    if (!validTopicName(will.topic) || will.topic.startsWith('$SYS')) return;
    if (publishRefusal(new Access(this.ctx.access, user, { client_id: clientId }), v, will.topic)) return;
    const m = publishToMessage(will.topic, will.payload, will.qos, false, version === 5 ? will.properties : undefined, undefined, will.retain);
    try {
      if (will.retain) this.ctx.broker.retained.retain(v.name, m);
      v.publish(TOPIC_EXCHANGE, m.routingKey, m);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
    }
  }

  /**
   * MQTT 5's session expiry interval is the session queue's x-expires (unused for that
   * long, it goes); 0xFFFFFFFF never expires. A 3.1.1 persistent session never expires.
   */
  setSessionExpiry(vhost: VHost, q: Queue, seconds: number, version: number): void {
    if (!q.durable) return;
    vhost.setQueueExpiry(q.name, this.expiryMs(seconds, version));
  }

  /** a session expiry as x-expires; past what a timer can count (2^31-1 ms, about 24.8 days) a session is kept for good */
  private expiryMs(seconds: number, version: number): number | undefined {
    return version === 5 && seconds !== NEVER && seconds > 0 && seconds * 1000 <= MAX_TIMER_MS ? seconds * 1000 : undefined;
  }
}
