import type { ClientConnection, ConnectionRegistry } from '../protocols/context.js';

/** Every live client connection of every protocol, with the broker's connection limit. */
export class Connections implements ConnectionRegistry {
  private readonly live = new Set<ClientConnection>();

  constructor(private readonly max: () => number) {}

  add(c: ClientConnection): boolean {
    if (this.live.size >= this.max()) return false;
    this.live.add(c);
    return true;
  }

  remove(c: ClientConnection): void {
    this.live.delete(c);
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
