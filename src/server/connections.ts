import { peerOf, type ClientConnection, type ConnectionRefusal, type ConnectionRegistry } from '../protocols/context.js';
import type { Logger } from './logger.js';
import type { TenantLimits } from '../core/tenant-limits.js';

export interface ConnectionLimits {
  /** every protocol together (RabbitMQ's connection_max) */
  total: number;
  /** STOMP and MQTT each (ActiveMQ's per-transport maximumConnections) */
  perProtocol: number;
}

/** ActiveMQ's wire-level protocols in LocalMQ (OpenWire, STOMP, MQTT, AMQP 1.0): AMQP 0-9-1 answers to the node-wide limit only */
const PER_PROTOCOL_LIMITED = new Set<ClientConnection['protocol']>(['stomp', 'mqtt', 'amqp10', 'openwire']);

/** Every live client connection of every protocol, with the broker's connection limits. */
export class Connections implements ConnectionRegistry {
  private readonly live = new Set<ClientConnection>();
  private readonly byProtocol = new Map<ClientConnection['protocol'], number>();
  /** live connections per vhost and per user (RabbitMQ's connection tracking), for their limits */
  private readonly byVhost = new Map<string, number>();
  private readonly byUser = new Map<string, number>();
  /** what each connection was registered under (a connection's user or vhost may read differently later) */
  private readonly keys = new WeakMap<ClientConnection, { vhost?: string; user?: string }>();
  /** connections opened and closed since start (the management API's churn rates) */
  created = 0;
  closed = 0;

  constructor(
    private readonly limits: () => ConnectionLimits,
    private readonly logger?: Logger,
    /** per-vhost and per-user limits (max-connections) */
    private readonly tenants?: TenantLimits,
  ) {}

  /** a client logged in: RabbitMQ logs each one at info, with its peer, user and vhost */
  add(c: ClientConnection): boolean {
    const refusal = this.refusal(c.protocol, c);
    if (refusal !== null) {
      this.logger?.info('connection refused: connection limit reached', { ...describe(c), limit: refusal.limit, max: refusal.max });
      return false;
    }
    this.live.add(c);
    this.created++;
    this.byProtocol.set(c.protocol, (this.byProtocol.get(c.protocol) ?? 0) + 1);
    const key = { vhost: c.vhost, user: c.user };
    this.keys.set(c, key);
    if (key.vhost !== undefined) bump(this.byVhost, key.vhost, 1);
    if (key.user !== undefined) bump(this.byUser, key.user, 1);
    this.logger?.info('connection opened', describe(c));
    return true;
  }

  /**
   * Which limit a new connection of `protocol` would break, if any: the node's, the
   * protocol's, then (given the connection, with its vhost and user) the vhost's and the
   * user's `max-connections` with RabbitMQ's refusal text.
   */
  refusal(protocol: ClientConnection['protocol'], c?: Pick<ClientConnection, 'vhost' | 'user'>): ConnectionRefusal | null {
    const limits = this.limits();
    if (this.live.size >= limits.total) return { limit: 'node', max: limits.total };
    if (PER_PROTOCOL_LIMITED.has(protocol) && this.count(protocol) >= limits.perProtocol) {
      return { limit: 'protocol', max: limits.perProtocol };
    }
    if (c && this.tenants) {
      const counts = { vhost: c.vhost === undefined ? 0 : (this.byVhost.get(c.vhost) ?? 0), user: c.user === undefined ? 0 : (this.byUser.get(c.user) ?? 0) };
      const text = this.tenants.connectionRefusal(c.vhost, c.user, counts);
      if (text !== null) {
        const vhostMax = c.vhost === undefined ? undefined : this.tenants.vhostLimits(c.vhost)?.['max-connections'];
        const isVhost = text.startsWith('access to vhost');
        return { limit: isVhost ? 'vhost' : 'user', max: (isVhost ? vhostMax : this.tenants.userLimits(c.user ?? '')?.['max-connections']) ?? 0, reason: text };
      }
    }
    return null;
  }

  /** live connections to a vhost / of a user */
  countIn(vhost: string): number {
    return this.byVhost.get(vhost) ?? 0;
  }

  countOf(user: string): number {
    return this.byUser.get(user) ?? 0;
  }

  remove(c: ClientConnection): void {
    if (!this.live.delete(c)) return;
    this.closed++;
    this.byProtocol.set(c.protocol, (this.byProtocol.get(c.protocol) ?? 1) - 1);
    const key = this.keys.get(c);
    if (key?.vhost !== undefined) bump(this.byVhost, key.vhost, -1);
    if (key?.user !== undefined) bump(this.byUser, key.user, -1);
    this.logger?.info('connection closed', { ...describe(c), durationMs: Date.now() - c.connectedAt });
  }

  count(protocol: ClientConnection['protocol']): number {
    return this.byProtocol.get(protocol) ?? 0;
  }

  list(): ClientConnection[] {
    return [...this.live];
  }

  get size(): number {
    return this.live.size;
  }

  async closeAll(reason: string): Promise<void> {
    await Promise.all([...this.live].map((c) => c.shutdown(reason).catch(() => undefined)));
  }
}

function bump(m: Map<string, number>, key: string, by: number): void {
  const n = (m.get(key) ?? 0) + by;
  if (n <= 0) m.delete(key);
  else m.set(key, n);
}

function describe(c: ClientConnection): Record<string, unknown> {
  return { protocol: c.protocol, peer: peerOf(c), user: c.user, vhost: c.vhost, conn: c.id };
}
