import { Readable } from 'node:stream';
import { fromStored, queuedCopy, toStored, type AedesPacket, type StoredPacket } from './packets.js';
import { SubscriptionTrie, type TopicSubscription } from './subscription-trie.js';
import { filterMatches } from './topics.js';

/** Where the persistence writes its records through to (the broker's Store has this method). */
export interface RecordSink {
  putRecord(namespace: string, key: string, value: unknown | null): void;
}

/**
 * The MQTT connection's view of its in-flight deliveries from its core queue. aedes
 * reports a client's PUBACK / PUBREC / PUBCOMP only to the persistence, so the
 * persistence forwards the ones for core deliveries here.
 */
export interface CoreDeliveries {
  /** is this packet id one of the core deliveries in flight to the client? */
  owns(messageId: number): boolean;
  /** PUBACK (QoS 1) or PUBCOMP (QoS 2 of a clean session): settle it in its queue; false when not ours */
  acknowledged(messageId: number): boolean;
  /** PUBREC of a QoS 2 delivery: the client holds the message now; settle it in its queue */
  received(messageId: number): void;
}

interface SubscriptionRecord {
  qos: number;
  rh?: number;
  rap?: boolean;
  nl?: boolean;
  subscriptionIdentifier?: number;
}

interface ClientRef {
  id: string;
  clean?: boolean;
}

interface BrokerRef {
  id: string;
}

export const NS_RETAINED = 'mqtt.retained';
export const NS_SUBSCRIPTIONS = 'mqtt.subscriptions';
export const NS_OUTGOING = 'mqtt.outgoing';
export const NS_INCOMING = 'mqtt.incoming';
export const NS_WILLS = 'mqtt.wills';

/**
 * aedes' persistence (the aedes-persistence 11 async interface), kept in memory and
 * written through to the broker's store as keyed records, so retained messages, the
 * subscriptions and packet-id state of persistent sessions, and wills survive a restart
 * when the store is durable. Queued messages are not here: each client's messages wait
 * in its core queue (see connection.ts); only aedes' own API deliveries and pending
 * PUBRELs use the outgoing list.
 */
export class CorePersistence {
  private readonly retained = new Map<string, AedesPacket>();
  private readonly subscriptions = new Map<string, Map<string, SubscriptionRecord>>();
  private readonly trie = new SubscriptionTrie();
  private readonly outgoing = new Map<string, AedesPacket[]>();
  private readonly incoming = new Map<string, Map<number, AedesPacket>>();
  private readonly wills = new Map<string, AedesPacket>();
  private readonly deliveries = new WeakMap<object, CoreDeliveries>();
  private brokerRef: BrokerRef | undefined;
  private destroyed = false;

  constructor(
    private readonly sink: RecordSink | undefined = undefined,
    recovered?: Map<string, Map<string, unknown>>,
  ) {
    if (recovered) this.load(recovered);
  }

  get broker(): BrokerRef | undefined {
    return this.brokerRef;
  }

  async setup(broker: BrokerRef): Promise<void> {
    this.brokerRef = broker;
  }

  /** route this client's PUBACK/PUBREC/PUBCOMP for core deliveries to `d` */
  attachDeliveries(client: object, d: CoreDeliveries): void {
    this.deliveries.set(client, d);
  }

  detachDeliveries(client: object): void {
    this.deliveries.delete(client);
  }

  /** is `messageId` taken by a packet waiting in the client's outgoing list (a pending PUBREL)? */
  outgoingHas(clientId: string, messageId: number): boolean {
    const list = this.outgoing.get(clientId);
    if (!list) return false;
    for (const p of list) if (p.messageId === messageId) return true;
    return false;
  }

  // ---- retained ------------------------------------------------------------------

  async storeRetained(pkt: AedesPacket): Promise<void> {
    const packet = { ...pkt };
    const topic = packet.topic!;
    if (!packet.payload || packet.payload.length === 0) {
      if (this.retained.delete(topic)) this.write(NS_RETAINED, topic, null);
    } else {
      this.retained.set(topic, packet);
      this.write(NS_RETAINED, topic, toStored({ cmd: 'publish', topic, payload: packet.payload, qos: packet.qos ?? 0, retain: true }));
    }
  }

  createRetainedStreamCombi(patterns: string[]): Readable {
    const retained = this.retained;
    return Readable.from(
      (function* () {
        for (const p of patterns) yield* retainedMatching(retained, p);
      })(),
    );
  }

  createRetainedStream(pattern: string): Readable {
    return Readable.from(retainedMatching(this.retained, pattern));
  }

  // ---- subscriptions ---------------------------------------------------------------

  async addSubscriptions(client: ClientRef, subs: (TopicSubscription & { subscriptionIdentifier?: number })[]): Promise<void> {
    let stored = this.subscriptions.get(client.id);
    if (!stored) this.subscriptions.set(client.id, (stored = new Map()));
    for (const sub of subs) {
      const record: SubscriptionRecord = { qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl };
      if (sub.subscriptionIdentifier !== undefined) record.subscriptionIdentifier = sub.subscriptionIdentifier;
      if (sub.qos > 0) {
        this.trie.add({ clientId: client.id, topic: sub.topic, qos: sub.qos, rh: sub.rh, rap: sub.rap, nl: sub.nl });
      } else if ((stored.get(sub.topic)?.qos ?? 0) > 0) {
        this.trie.remove(client.id, sub.topic);
      }
      stored.set(sub.topic, record);
    }
    this.writeSubscriptions(client.id, stored);
  }

  async removeSubscriptions(client: ClientRef, topics: string[]): Promise<void> {
    const stored = this.subscriptions.get(client.id);
    if (!stored) return;
    for (const topic of topics) {
      const s = stored.get(topic);
      if (s === undefined) continue;
      if (s.qos > 0) this.trie.remove(client.id, topic);
      stored.delete(topic);
    }
    if (stored.size === 0) this.subscriptions.delete(client.id);
    this.writeSubscriptions(client.id, stored);
  }

  async subscriptionsByClient(client: ClientRef): Promise<(SubscriptionRecord & { topic: string })[]> {
    const stored = this.subscriptions.get(client.id);
    if (!stored) return [];
    return [...stored].map(([topic, s]) => ({ topic, ...s }));
  }

  async countOffline(): Promise<{ subsCount: number; clientsCount: number }> {
    return { subsCount: this.trie.size, clientsCount: this.subscriptions.size };
  }

  async subscriptionsByTopic(topic: string): Promise<TopicSubscription[]> {
    return this.trie.match(topic);
  }

  async cleanSubscriptions(client: ClientRef): Promise<void> {
    const stored = this.subscriptions.get(client.id);
    if (!stored) return;
    for (const [topic, s] of stored) if (s.qos > 0) this.trie.remove(client.id, topic);
    this.subscriptions.delete(client.id);
    this.write(NS_SUBSCRIPTIONS, client.id, null);
  }

  getClientList(topic: string): Readable {
    const ids: string[] = [];
    for (const [clientId, stored] of this.subscriptions) if (stored.has(topic)) ids.push(clientId);
    return Readable.from(ids);
  }

  // ---- outgoing ----------------------------------------------------------------------

  async outgoingEnqueue(sub: { clientId: string }, packet: AedesPacket): Promise<void> {
    this.enqueueFor(sub.clientId, packet);
  }

  async outgoingEnqueueCombi(subs: { clientId: string }[], packet: AedesPacket): Promise<void> {
    for (const s of subs) this.enqueueFor(s.clientId, packet);
  }

  private enqueueFor(clientId: string, packet: AedesPacket): void {
    const list = this.outgoingList(clientId);
    list.push(queuedCopy(packet, this.brokerRef?.id));
    this.writeOutgoing(clientId, list);
  }

  async outgoingUpdate(client: ClientRef, packet: AedesPacket): Promise<void> {
    const d = this.deliveries.get(client);
    const list = this.outgoingList(client.id);
    if (packet.cmd === 'pubrel') {
      // PUBREC came: a core delivery is now the client's to keep; the PUBREL waits for PUBCOMP
      d?.received(packet.messageId!);
      const i = list.findIndex((p) => p.messageId === packet.messageId);
      if (i >= 0) list[i] = packet;
      else list.push(packet);
      this.writeOutgoing(client.id, list);
      return;
    }
    for (let i = 0; i < list.length; i++) {
      const queued = list[i]!;
      if (queued.brokerId === packet.brokerId) {
        if (queued.brokerCounter === packet.brokerCounter) {
          queued.messageId = packet.messageId;
          this.writeOutgoing(client.id, list);
          return;
        }
        // packet ids wrap at 65535: the same id with another counter is another packet
      } else if (queued.messageId === packet.messageId) {
        list[i] = packet;
        this.writeOutgoing(client.id, list);
        return;
      }
    }
    // a delivery from the client's core queue: the queue keeps it until acknowledged
    if (packet.messageId !== undefined && d?.owns(packet.messageId)) return;
    throw new Error('no such packet');
  }

  async outgoingClearMessageId(client: ClientRef, packet: AedesPacket): Promise<AedesPacket | undefined> {
    const messageId = packet?.messageId;
    if (messageId === undefined) return undefined;
    const list = this.outgoing.get(client.id);
    if (list) {
      for (let i = 0; i < list.length; i++) {
        if (list[i]!.messageId === messageId) {
          const [removed] = list.splice(i, 1);
          this.writeOutgoing(client.id, list);
          return removed;
        }
      }
    }
    this.deliveries.get(client)?.acknowledged(messageId);
    return undefined;
  }

  outgoingStream(client: ClientRef): Readable {
    return Readable.from([...(this.outgoing.get(client.id) ?? [])]);
  }

  private outgoingList(clientId: string): AedesPacket[] {
    let list = this.outgoing.get(clientId);
    if (!list) this.outgoing.set(clientId, (list = []));
    return list;
  }

  // ---- incoming QoS 2 ----------------------------------------------------------------

  async incomingStorePacket(client: ClientRef, packet: AedesPacket): Promise<void> {
    let store = this.incoming.get(client.id);
    if (!store) this.incoming.set(client.id, (store = new Map()));
    const copy = queuedCopy(packet, this.brokerRef?.id);
    copy.messageId = packet.messageId;
    store.set(packet.messageId!, copy);
    if (client.clean !== true) this.writeIncoming(client.id, store);
  }

  async incomingGetPacket(client: ClientRef, packet: { messageId?: number }): Promise<AedesPacket> {
    const p = this.incoming.get(client.id)?.get(packet.messageId!);
    if (!p) throw new Error('no such packet');
    return p;
  }

  async incomingDelPacket(client: ClientRef, packet: { messageId?: number }): Promise<void> {
    const store = this.incoming.get(client.id);
    if (!store?.delete(packet.messageId!)) throw new Error('no such packet');
    if (client.clean !== true) this.writeIncoming(client.id, store);
  }

  async cleanIncoming(client: ClientRef): Promise<void> {
    if (this.incoming.delete(client.id)) this.write(NS_INCOMING, client.id, null);
  }

  // ---- wills -------------------------------------------------------------------------

  async putWill(client: ClientRef, packet: AedesPacket): Promise<void> {
    packet.brokerId = this.brokerRef?.id;
    packet.clientId = client.id;
    this.wills.set(client.id, packet);
    this.write(NS_WILLS, client.id, toStored(packet));
  }

  async getWill(client: ClientRef): Promise<AedesPacket | undefined> {
    return this.wills.get(client.id);
  }

  async delWill(client: ClientRef): Promise<AedesPacket | undefined> {
    const will = this.wills.get(client.id);
    if (will) {
      this.wills.delete(client.id);
      this.write(NS_WILLS, client.id, null);
    }
    return will;
  }

  /** wills of clients on brokers not in `brokers` (dead ones): aedes publishes them */
  streamWill(brokers: Record<string, unknown> = {}): Readable {
    const out: AedesPacket[] = [];
    for (const w of this.wills.values()) if (!brokers[w.brokerId!]) out.push(w);
    return Readable.from(out);
  }

  async destroy(): Promise<void> {
    if (this.destroyed) throw new Error('destroyed called twice!');
    this.destroyed = true;
  }

  // ---- write-through and recovery ----------------------------------------------------

  private write(namespace: string, key: string, value: unknown): void {
    this.sink?.putRecord(namespace, key, value);
  }

  private writeSubscriptions(clientId: string, stored: Map<string, SubscriptionRecord>): void {
    this.write(NS_SUBSCRIPTIONS, clientId, stored.size ? [...stored].map(([topic, s]) => ({ topic, ...s })) : null);
  }

  private writeOutgoing(clientId: string, list: AedesPacket[]): void {
    this.write(NS_OUTGOING, clientId, list.length ? list.map(toStored) : null);
  }

  private writeIncoming(clientId: string, store: Map<number, AedesPacket>): void {
    this.write(NS_INCOMING, clientId, store.size ? [...store.values()].map(toStored) : null);
  }

  private load(records: Map<string, Map<string, unknown>>): void {
    for (const [topic, v] of records.get(NS_RETAINED) ?? []) this.retained.set(topic, fromStored(v as StoredPacket));
    for (const [clientId, v] of records.get(NS_SUBSCRIPTIONS) ?? []) {
      const stored = new Map<string, SubscriptionRecord>();
      for (const { topic, ...s } of v as (SubscriptionRecord & { topic: string })[]) {
        stored.set(topic, s);
        if (s.qos > 0) this.trie.add({ clientId, topic, qos: s.qos, rh: s.rh, rap: s.rap, nl: s.nl });
      }
      this.subscriptions.set(clientId, stored);
    }
    for (const [clientId, v] of records.get(NS_OUTGOING) ?? []) this.outgoing.set(clientId, (v as StoredPacket[]).map(fromStored));
    for (const [clientId, v] of records.get(NS_INCOMING) ?? []) {
      this.incoming.set(clientId, new Map((v as StoredPacket[]).map((s) => [s.messageId!, fromStored(s)])));
    }
    for (const [clientId, v] of records.get(NS_WILLS) ?? []) this.wills.set(clientId, fromStored(v as StoredPacket));
  }
}

function* retainedMatching(retained: Map<string, AedesPacket>, pattern: string): Generator<AedesPacket> {
  for (const [topic, packet] of retained) if (filterMatches(pattern, topic)) yield packet;
}
