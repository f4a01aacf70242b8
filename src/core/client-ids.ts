/**
 * ActiveMQ's client ids in use (RegionBroker's client id set): one connection per client id,
 * whatever protocol it speaks. ActiveMQ 5.17 refuses a second JMS connection and a STOMP
 * CONNECT (`client-id`) alike while another connection of either protocol holds the id, with
 * the holder's address in the refusal (measured: stomp-durable.mjs / stomp-durable-x.mjs). A
 * durable topic subscription is named by a client id and a subscription name.
 */
export class ClientIds {
  private readonly holders = new Map<string, { owner: object; address: string }>();

  /**
   * take `id` for `owner` (its connection), `address` how a refusal names it (`tcp://host:port`);
   * returns the address of the connection that holds it already, or undefined when `owner` has it now
   */
  claim(id: string, owner: object, address: string): string | undefined {
    const h = this.holders.get(id);
    if (h && h.owner !== owner) return h.address;
    this.holders.set(id, { owner, address });
    return undefined;
  }

  /** `owner` lets `id` go (its connection closed); a no-op when another connection holds it */
  release(id: string, owner: object): void {
    if (this.holders.get(id)?.owner === owner) this.holders.delete(id);
  }
}

/** ActiveMQ 5.17's refusal of a client id in use (RegionBroker.addConnection), as a JMS and a STOMP client read it */
export function clientIdInUseText(brokerName: string, id: string, holderAddress: string): string {
  return `Broker: ${brokerName} - Client: ${id} already connected from ${holderAddress}`;
}
