import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { screenProtocolLevel } from './protocol-level.js';
import { Aedes, type AedesOptions } from 'aedes';
import { BrokerError } from '../../core/errors.js';
import type { ProtocolContext } from '../context.js';
import { MqttConnection, type AedesClient } from './connection.js';
import { publishToMessage } from './messages.js';
import { CorePersistence } from './persistence.js';
import { filterMatches } from './topics.js';

export interface MqttOptions {
  /** let clients connect without a username (as `anonymousUser`); default false */
  allowAnonymous?: boolean;
  /** the user an anonymous client acts as; default 'guest' */
  anonymousUser?: string;
  /** vhost for usernames without a `vhost:` prefix; default '/' */
  vhost?: string;
  /** QoS 1/2 deliveries in flight per client before PUBACKs must come back; default 1000 */
  prefetch?: number;
}

interface ConnectFacts {
  clean: boolean;
  emptyClientId: boolean;
}

interface PublishPacketLike {
  topic: string;
  payload?: Buffer | string;
  qos?: number;
  retain?: boolean;
  dup?: boolean;
}

type Callback = (err?: Error | null) => void;

/** aedes 1.x answers CONNACK with the `returnCode` of the error an authenticate hook gives */
function refusal(returnCode: 2 | 3 | 4 | 5, message: string): Error & { returnCode: number } {
  return Object.assign(new Error(message), { returnCode });
}

/** set on a QoS 1 PUBLISH routed before its PUBACK (so the PUBACK can wait for the store) */
const ROUTED = Symbol('routedToCore');

const noop = () => undefined;

/**
 * aedes, with the core behind it. aedes keeps the protocol (packets, keep-alive, QoS
 * handshakes, wills, takeover, retained messages through its persistence); the core keeps
 * the messages: every PUBLISH routes through amq.topic, every subscription is a binding
 * of the client's own queue, and the client is fed by a core consumer on that queue.
 * Client subscriptions therefore never reach aedes' emitter (`subscribe`/`unsubscribe`
 * are bindings), and `publish` skips aedes' offline enqueueing (the durable queue is the
 * offline store); aedes' emitter carries only its own `$SYS` housekeeping.
 */
class CoreAedes extends Aedes {
  routeToCore: (packet: PublishPacketLike, client: AedesClient | null) => void = noop;
  storeSync: (cb: Callback) => void = (cb) => cb();

  override subscribe(_topic: string, _deliver: unknown, done?: unknown): void {
    if (typeof done === 'function') done();
  }

  override unsubscribe(_topic: string, _deliver: unknown, done?: unknown): void {
    if (typeof done === 'function') done();
  }

  override publish(packet: PublishPacketLike & { [ROUTED]?: boolean }, clientOrDone?: unknown, maybeDone?: unknown): void {
    const client = typeof clientOrDone === 'function' || clientOrDone === undefined ? null : (clientOrDone as AedesClient | null);
    const done = ((typeof clientOrDone === 'function' ? clientOrDone : maybeDone) ?? noop) as Callback;
    const self = this as unknown as { persistence: CorePersistence; mq: { emit(p: unknown, cb: Callback): void }; published: (p: unknown, c: unknown, cb: Callback) => void };
    const finish = (err?: Error | null) => {
      if (err) return done(err);
      self.published(packet, client, done);
      this.emit('publish', packet as never, client as never);
    };
    const route = () => {
      if (packet.topic.startsWith('$SYS/') && !client) {
        // aedes' own heartbeats and client notices: its housekeeping listeners only
        self.mq.emit(packet, finish);
        return;
      }
      if (!packet[ROUTED]) {
        try {
          this.routeToCore(packet, client);
        } catch (err) {
          return finish(err as Error);
        }
        if ((packet.qos ?? 0) > 0) return this.storeSync(finish);
      }
      finish();
    };
    if (packet.retain) self.persistence.storeRetained(packet as never).then(route, done);
    else route();
  }
}

/** The MQTT side of the broker: one aedes instance serving TCP and WebSocket streams. */
export class MqttServer {
  private readonly connections = new WeakMap<object, MqttConnection>();
  private readonly connectFacts = new WeakMap<object, ConnectFacts>();

  private constructor(
    private readonly ctx: ProtocolContext,
    private readonly options: MqttOptions,
    readonly aedes: CoreAedes,
    readonly persistence: CorePersistence,
  ) {}

  static async start(ctx: ProtocolContext, options: MqttOptions = {}, recovered?: Map<string, Map<string, unknown>>): Promise<MqttServer> {
    const persistence = new CorePersistence(ctx.broker.store, recovered);
    let server!: MqttServer;
    const hooks: AedesOptions = {
      persistence,
      preConnect: (client, packet, cb) => server.preConnect(client, packet, cb),
      authenticate: (client, username, password, cb) => server.authenticate(client as unknown as AedesClient, username, password, cb),
      authorizePublish: (client, packet, cb) => server.authorizePublish(client as unknown as AedesClient | null, packet, cb),
      authorizeSubscribe: (client, sub, cb) => server.authorizeSubscribe(client as unknown as AedesClient, sub, (err, granted) => cb(err, granted === null ? null : sub)),
      authorizeForward: (client, packet) => server.authorizeForward(client as unknown as AedesClient, packet),
    };
    const aedes = new CoreAedes(hooks);
    server = new MqttServer(ctx, options, aedes, persistence);
    aedes.routeToCore = (packet, client) => server.route(packet, client);
    aedes.storeSync = (cb) => ctx.broker.durability.wait((err) => cb(err ?? null));
    aedes.on('client', (c) => server.connectionOf(c)?.registered());
    aedes.on('clientReady', (c) => server.connectionOf(c)?.connacked());
    aedes.on('clientDisconnect', (c) => server.connectionOf(c)?.closedByClient());
    aedes.on('unsubscribe', (topics, c) => {
      const conn = server.connectionOf(c);
      if (conn) for (const t of topics) conn.unsubscribe(t);
    });
    aedes.on('clientError', (c, err) => ctx.logger.debug?.('mqtt client error', { clientId: c.id, error: err.message }));
    await aedes.listen();
    return server;
  }

  /** serve one MQTT connection (a TCP socket, or a WebSocket as a stream) */
  handle(stream: Duplex, req?: IncomingMessage): void {
    screenProtocolLevel(stream, () => this.aedes.handle(stream, req));
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.aedes.close(() => resolve()));
  }

  private connectionOf(client: object): MqttConnection | undefined {
    return this.connections.get(client);
  }

  // ---- hooks ----------------------------------------------------------------------

  private preConnect(client: object, packet: { clean?: boolean; clientId?: string }, cb: (err: Error | null, ok: boolean) => void): void {
    this.connectFacts.set(client, { clean: packet.clean !== false, emptyClientId: !packet.clientId });
    cb(null, true);
  }

  private authenticate(
    client: AedesClient,
    username: string | undefined,
    password: Buffer | undefined,
    cb: (err: (Error & { returnCode: number }) | null, ok: boolean | null) => void,
  ): void {
    const facts = this.connectFacts.get(client);
    // [MQTT-3.1.3-8]: a server-assigned id only for a clean session
    if (facts?.emptyClientId && !facts.clean) return cb(refusal(2, 'identifier rejected'), null) as never;
    const remote = client.conn.remoteAddress ?? client.req?.socket.remoteAddress;
    let user: string;
    let vhost = this.options.vhost ?? '/';
    if (username === undefined || username === '') {
      if (!this.options.allowAnonymous) return cb(refusal(5, 'not authorized: anonymous connections are not allowed'), null);
      user = this.options.anonymousUser ?? 'guest';
    } else {
      // RabbitMQ's `vhost:user` form picks the vhost
      const colon = username.indexOf(':');
      if (colon > 0) {
        vhost = username.slice(0, colon);
        username = username.slice(colon + 1);
      }
      const r = this.ctx.access.authenticate(username, password ? password.toString('utf8') : '', remote);
      // RabbitMQ's MQTT plugin: 5 (not authorized) for a loopback-only user from afar, 4 for bad credentials
      if (!r.ok) return cb(r.reason === 'loopback-only' ? refusal(5, `user '${username}' can only connect via localhost`) : refusal(4, 'bad user name or password'), null);
      user = r.user.name;
    }
    const v = this.ctx.broker.vhost(vhost);
    if (!v || !this.ctx.access.canAccessVhost(user, vhost)) return cb(refusal(5, `not authorized for vhost '${vhost}'`), null);
    const conn = new MqttConnection(this.ctx, this.persistence, client, user, v, remote, this.options.prefetch ?? 1000);
    if (!this.ctx.connections.add(conn)) {
      const over = this.ctx.connections.refusal('mqtt');
      conn.closedByClient();
      this.ctx.logger.warn('MQTT connection refused', { clientId: client.id, limit: over?.limit, max: over?.max, remote });
      return cb(refusal(3, `server unavailable: ${over?.limit === 'protocol' ? 'MQTT' : 'node'} connection limit (${over?.max}) is reached`), null);
    }
    this.connections.set(client, conn);
    // a connection refused or dropped before aedes registered it still leaves the core
    client.conn.once('close', () => conn.closedByClient());
    cb(null, true);
  }

  private authorizePublish(client: AedesClient | null, packet: PublishPacketLike & { [ROUTED]?: boolean }, cb: Callback): void {
    if (packet.topic.startsWith('$')) return cb(new Error(`publishing to '${packet.topic}' is not allowed`));
    const conn = client ? this.connections.get(client) : undefined;
    // RabbitMQ's MQTT plugin caps packets at max_message_size and drops the connection
    // (MQTT 3.1.1 has no way to refuse one PUBLISH)
    const max = this.ctx.broker.limits.settings.maxMessageSize;
    const size = packet.payload === undefined ? 0 : Buffer.byteLength(packet.payload);
    if (conn && size > max) return cb(new Error(`message size ${size} is larger than configured max size ${max}`));
    if (conn && !this.ctx.access.check(conn.user, conn.vhost, 'write', 'amq.topic')) {
      return cb(new Error(`write access to amq.topic refused for user '${conn.user}'`));
    }
    // QoS 1: aedes writes PUBACK as soon as this returns, so route now and let the PUBACK
    // wait until the store has the message
    if (conn && packet.qos === 1) {
      try {
        conn.publish(packet.topic, packet.payload, 1, packet.dup ?? false);
      } catch (err) {
        return cb(err as Error);
      }
      packet[ROUTED] = true;
      this.aedes.storeSync(cb);
      return;
    }
    cb(null);
  }

  private authorizeSubscribe(
    client: AedesClient,
    sub: { topic: string; qos: number },
    cb: (err: Error | null, sub?: { topic: string; qos: number } | null) => void,
  ): void {
    const conn = this.connections.get(client);
    if (!conn || !this.ctx.access.check(conn.user, conn.vhost, 'read', 'amq.topic')) return cb(null, null);
    try {
      conn.subscribe(sub.topic, sub.qos);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      this.ctx.logger.debug?.('mqtt subscription refused', { clientId: client.id, topic: sub.topic, error: err.message });
      return cb(null, null);
    }
    cb(null, sub);
  }

  /**
   * Retained messages on SUBSCRIBE come straight from the persistence, not the queue:
   * give them the QoS the subscriptions allow, and keep `$` topics from wildcards.
   */
  private authorizeForward<P extends { topic: string; qos: number; retain: boolean }>(client: AedesClient, packet: P): P | null {
    if (!packet.retain) return packet;
    let best = -1;
    for (const [filter, s] of Object.entries(client.subscriptions)) {
      if (s && s.qos > best && filterMatches(filter, packet.topic)) best = s.qos;
    }
    if (best < 0) return null;
    if (packet.qos > best) packet.qos = best;
    return packet;
  }

  private route(packet: PublishPacketLike, client: AedesClient | null): void {
    const conn = client ? this.connections.get(client) : undefined;
    if (conn) {
      conn.publish(packet.topic, packet.payload, packet.qos ?? 0, packet.dup ?? false);
      return;
    }
    // a publish without a live client (a will from an earlier run, the aedes API): default vhost
    const v = this.ctx.broker.vhost(this.options.vhost ?? '/');
    if (!v) return;
    const m = publishToMessage(packet.topic, packet.payload, packet.qos ?? 0, packet.dup ?? false);
    v.publish(m.exchange, m.routingKey, m);
  }
}
