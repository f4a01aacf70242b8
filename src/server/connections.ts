import { peerOf, type ClientConnection, type ConnectionRefusal, type ConnectionRegistry } from '../protocols/context.js';
import type { Logger } from './logger.js';

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

  constructor(
    private readonly limits: () => ConnectionLimits,
    private readonly logger?: Logger,
  ) {}

  /** a client logged in: RabbitMQ logs each one at info, with its peer, user and vhost */
  add(c: ClientConnection): boolean {
    const refusal = this.refusal(c.protocol);
    if (refusal !== null) {
      this.logger?.info('connection refused: connection limit reached', { ...describe(c), limit: refusal.limit, max: refusal.max });
      return false;
    }
    this.live.add(c);
    this.byProtocol.set(c.protocol, (this.byProtocol.get(c.protocol) ?? 0) + 1);
    this.logger?.info('connection opened', describe(c));
    return true;
  }

  /** which limit a new connection of `protocol` would break, if any */
  refusal(protocol: ClientConnection['protocol']): ConnectionRefusal | null {
    const limits = this.limits();
    if (this.live.size >= limits.total) return { limit: 'node', max: limits.total };
    if (PER_PROTOCOL_LIMITED.has(protocol) && this.count(protocol) >= limits.perProtocol) {
      return { limit: 'protocol', max: limits.perProtocol };
    }
    return null;
  }

  remove(c: ClientConnection): void {
    if (!this.live.delete(c)) return;
    this.byProtocol.set(c.protocol, (this.byProtocol.get(c.protocol) ?? 1) - 1);
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

function describe(c: ClientConnection): Record<string, unknown> {
  return { protocol: c.protocol, peer: peerOf(c), user: c.user, vhost: c.vhost, conn: c.id };
}
