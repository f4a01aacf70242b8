import type { ClientConnection, ConnectionRefusal, ConnectionRegistry } from '../protocols/context.js';

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

  constructor(private readonly limits: () => ConnectionLimits) {}

  add(c: ClientConnection): boolean {
    if (this.refusal(c.protocol) !== null) return false;
    this.live.add(c);
    this.byProtocol.set(c.protocol, (this.byProtocol.get(c.protocol) ?? 0) + 1);
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
