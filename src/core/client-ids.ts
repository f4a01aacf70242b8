/**
 * ActiveMQ's client ids in use (RegionBroker's client id set): one connection per client id,
 * whatever protocol it speaks. ActiveMQ 5.17 refuses a second JMS connection and a STOMP
 * CONNECT (`client-id`) alike while another connection of either protocol holds the id, with
 * the holder's address in the refusal (measured: stomp-durable.mjs / stomp-durable-x.mjs). A
 * durable topic subscription is named by a client id and a subscription name.
 */
export class ClientIds {
  private readonly holders = new Map<string, { owner: object; address: string; takeOver?: TakeOver }>();

  /**
   * take `id` for `owner` (its connection), `address` how a refusal names it (`tcp://host:port`);
   * returns the address of the connection that holds it already, or undefined when `owner` has it now
   */
  claim(id: string, owner: object, address: string, takeOver?: TakeOver): string | undefined {
    const h = this.holders.get(id);
    if (h && h.owner !== owner) {
      // a failover reconnect (OpenWire: the same ConnectionId on a new socket) while the old socket lingers:
      // ActiveMQ 5.17 stops the stale connection and lets the new one in (TransportConnection.processAddConnection)
      if (takeOver === undefined || h.takeOver?.key !== takeOver.key) return h.address;
      h.takeOver.stop();
    }
    this.holders.set(id, { owner, address, takeOver });
    return undefined;
  }

  /** `owner` lets `id` go (its connection closed); a no-op when another connection holds it */
  release(id: string, owner: object): void {
    if (this.holders.get(id)?.owner === owner) this.holders.delete(id);
  }
}

/** a connection that a reconnect of the same connection (`key`) takes the client id from: `stop` ends it */
export interface TakeOver {
  key: string;
  stop(): void;
}

/** ActiveMQ 5.17's refusal of a client id in use (RegionBroker.addConnection), as a JMS and a STOMP client read it */
export function clientIdInUseText(brokerName: string, id: string, holderAddress: string): string {
  return `Broker: ${brokerName} - Client: ${id} already connected from ${holderAddress}`;
}
