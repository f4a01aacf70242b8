import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { writeToStream, type IPublishPacket } from 'mqtt-packet';
import type { Consumer, ConsumerSink, Delivery } from '../../core/consumer.js';
import { PublisherFlow, type FlowControlled } from '../../core/alarm.js';
import { BrokerError } from '../../core/errors.js';
import type { Session } from '../../core/session.js';
import type { VHost } from '../../core/vhost.js';
import type { ClientConnection, ProtocolContext } from '../context.js';
import { publishedQos, publishToMessage, TOPIC_EXCHANGE } from './messages.js';
import type { CoreDeliveries, CorePersistence } from './persistence.js';
import { activeMqCopies } from './activemq/copies.js';
import { rabbitCopies, type CopyPlan } from './copies.js';
import { filterToBindingKey, routingKeyToTopic } from './topics.js';

/**
 * The parts of an aedes 1.x `Client` this adapter uses. `deliver0` / `deliverQoS` are
 * the functions aedes' own subscriptions deliver through; `_nextId` is its packet-id
 * counter, shared so our ids and aedes' own (retained deliveries) do not collide.
 */
export interface AedesClient {
  readonly id: string;
  readonly clean: boolean;
  readonly closed: boolean;
  /** CONNACK written (aedes' own write() also accepts packets then) */
  readonly connected: boolean;
  readonly conn: Duplex & { remoteAddress?: string };
  readonly req?: IncomingMessage;
  readonly subscriptions: Record<string, { qos: number } | undefined>;
  _nextId: number;
  deliver0(packet: OutPacket, cb: () => void): void;
  deliverQoS(packet: OutPacket, cb: () => void): void;
  close(cb?: () => void): void;
  /** stop / restart parsing what the client sends (aedes reads on 'readable') */
  pause(): void;
  resume(): void;
}

export interface OutPacket {
  cmd: 'publish';
  topic: string;
  payload: Buffer;
  qos: number;
  retain: boolean;
  dup: boolean;
  messageId?: number;
}

/** writes handed to aedes and not yet on the socket: past this the queue holds its messages */
const WRITE_WINDOW = 256;
const CONSUMER_TAG = 'mqtt';

let connectionSeq = 0;

export function sessionQueueName(clientId: string): string {
  return `mqtt-subscription-${clientId}qos1`;
}

/**
 * One MQTT client on the core: its session queue (`mqtt-subscription-<id>qos1`, bound to
 * amq.topic once per subscription), the consumer that feeds the client from it, and the
 * packet ids of deliveries awaiting PUBACK / PUBREC / PUBCOMP.
 */
export class MqttConnection implements ClientConnection, ConsumerSink, CoreDeliveries, FlowControlled {
  readonly id = `mqtt-${++connectionSeq}`;
  readonly protocol = 'mqtt' as const;
  readonly connectedAt = Date.now();
  readonly queueName: string;
  private readonly session: Session;
  private consumer: Consumer | undefined;
  /** filter -> granted QoS, for the QoS of each delivery and the `$` rule */
  private readonly filters = new Map<string, number>();
  /** packet id -> core delivery tag */
  private readonly inflight = new Map<number, number>();
  /** core delivery tag -> QoS>0 copies still unacknowledged, when more than one went out */
  private readonly copiesLeft = new Map<number, number>();
  /** overlapping subscriptions: one copy (RabbitMQ) or one per matching filter (ActiveMQ) */
  private readonly copies: CopyPlan;
  private pendingWrites = 0;
  /** a QoS 0 write found the socket's buffer full: deliveries wait for its 'drain' */
  private socketFull = false;
  /** CONNACK sent: deliveries may flow */
  private ready = false;
  private closed = false;
  /** the resource alarm's hold on this client's reading */
  private readonly flow: PublisherFlow;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly ctx: ProtocolContext,
    private readonly persistence: CorePersistence,
    readonly client: AedesClient,
    readonly user: string,
    private readonly vhostModel: VHost,
    readonly remoteAddress: string | undefined,
    prefetch: number,
  ) {
    this.queueName = sessionQueueName(client.id);
    this.copies = ctx.dialect === 'activemq' ? activeMqCopies : rabbitCopies;
    this.session = ctx.broker.openSession(vhostModel, this);
    this.session.consumerPrefetch = prefetch;
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    persistence.attachDeliveries(client, this);
    this.flow = new PublisherFlow(ctx.broker.alarms, this);
  }

  /** FlowControlled: RabbitMQ's MQTT plugin stops reading a publisher while an alarm is on */
  pauseReading(): void {
    this.client.pause();
  }

  resumeReading(): void {
    if (!this.closed) this.client.resume();
  }

  get vhost(): string {
    return this.vhostModel.name;
  }

  /** registered with aedes (any earlier connection with this client id is gone by now) */
  registered(): void {
    // a clean session starts from nothing: a persistent session left by this client id goes
    if (this.client.clean) {
      const q = this.vhostModel.getQueue(this.queueName);
      if (q && !q.options.exclusive) this.vhostModel.deleteQueue(this.queueName, false, false, null);
    }
  }

  /** CONNACK is out: start feeding the client from its queue */
  connacked(): void {
    this.ready = true;
    this.startConsuming();
  }

  // ---- subscriptions ------------------------------------------------------------

  /** bind the session queue for this filter; throws BrokerError when the core refuses */
  subscribe(filter: string, qos: number): void {
    if (this.closed) throw new BrokerError(320, 'connection closed');
    this.ensureQueue();
    this.vhostModel.bindQueue(this.queueName, TOPIC_EXCHANGE, filterToBindingKey(filter), {}, this);
    this.filters.set(filter, qos);
    if (this.ready) this.startConsuming();
  }

  unsubscribe(filter: string): void {
    if (this.closed || !this.filters.delete(filter)) return;
    if (!this.vhostModel.getQueue(this.queueName)) return;
    this.vhostModel.unbindQueue(this.queueName, TOPIC_EXCHANGE, filterToBindingKey(filter), {}, this);
  }

  private ensureQueue(): void {
    const persistent = !this.client.clean;
    this.vhostModel.declareQueue(
      this.queueName,
      { passive: false, durable: persistent, exclusive: !persistent, autoDelete: !persistent, arguments: {} },
      this,
    );
  }

  private startConsuming(): void {
    if (this.consumer || this.closed || !this.vhostModel.getQueue(this.queueName)) return;
    this.consumer = this.session.consume(this.queueName, { tag: CONSUMER_TAG, noAck: false, exclusive: false, priority: 0, arguments: {} }, this);
  }

  // ---- publishing into the core -------------------------------------------------

  /** an MQTT PUBLISH (or this client's will) onto amq.topic */
  publish(topic: string, payload: Buffer | string | undefined, qos: number, dup: boolean): void {
    const m = publishToMessage(topic, payload, qos, dup);
    this.flow.published();
    this.vhostModel.publish(TOPIC_EXCHANGE, m.routingKey, m);
  }

  // ---- ConsumerSink -------------------------------------------------------------

  deliver(d: Delivery): void {
    const topic = routingKeyToTopic(d.message.routingKey);
    const copies = this.copies(this.filters, topic);
    if (copies.length === 0) {
      // bound by `#` or `+` but a `$` topic, which wildcards do not match [MQTT-4.7.2-1]
      this.session.ack(d.tag, false);
      return;
    }
    const pub = publishedQos(d.message);
    let awaited = 0;
    for (const granted of copies) if ((pub < granted ? pub : granted) > 0) awaited++;
    // settled in the core once every copy that needs a PUBACK/PUBCOMP has one
    if (awaited === 0) this.session.ack(d.tag, false);
    else if (awaited > 1) this.copiesLeft.set(d.tag, awaited);
    for (const granted of copies) {
      const qos = pub < granted ? pub : granted;
      const packet: OutPacket = { cmd: 'publish', topic, payload: d.message.body, qos, retain: false, dup: false };
      if (qos === 0) {
        this.writeQos0(packet);
        continue;
      }
      this.pendingWrites++;
      packet.dup = d.redelivered;
      packet.messageId = this.allocateId();
      this.inflight.set(packet.messageId, d.tag);
      this.client.deliverQoS(packet, this.written);
    }
  }

  isWritable(): boolean {
    return !this.socketFull && this.pendingWrites < WRITE_WINDOW;
  }

  /**
   * QoS 0 goes straight onto the socket, not through aedes' deliver0: that defers every
   * packet to its own setImmediate, so each message left in its own writev syscall (a
   * quarter of the broker's CPU in the QoS 0 bench). Written synchronously, a dispatch
   * burst leaves in one writev, as mqtt-packet corks the stream until the next tick.
   * Like aedes' write(), a packet for a client that is not connected is dropped.
   */
  private writeQos0(packet: OutPacket): void {
    const c = this.client;
    if (!c.connected || c.closed || c.conn.destroyed) return;
    if (!writeToStream(packet as IPublishPacket, c.conn) && !this.socketFull) {
      this.socketFull = true;
      c.conn.once('drain', this.drained);
    }
  }

  private readonly drained = (): void => {
    this.socketFull = false;
    if (!this.closed) this.session.resume();
  };

  cancelledByBroker(): void {
    // the session queue was deleted under us (management, a clean-session takeover)
    this.consumer = undefined;
  }

  private readonly written = (): void => {
    if (this.pendingWrites-- === WRITE_WINDOW && !this.closed) this.session.resume();
  };

  private allocateId(): number {
    const c = this.client;
    for (;;) {
      const id = c._nextId;
      c._nextId = id >= 65535 ? 1 : id + 1;
      if (!this.inflight.has(id) && !this.persistence.outgoingHas(c.id, id)) return id;
    }
  }

  // ---- CoreDeliveries: acknowledgements aedes reports through the persistence ----

  owns(messageId: number): boolean {
    return this.inflight.has(messageId);
  }

  acknowledged(messageId: number): boolean {
    const tag = this.inflight.get(messageId);
    if (tag === undefined) return false;
    this.inflight.delete(messageId);
    const left = this.copiesLeft.get(tag);
    if (left !== undefined) {
      if (left > 1) {
        this.copiesLeft.set(tag, left - 1);
        return true;
      }
      this.copiesLeft.delete(tag);
    }
    if (!this.closed && this.session.isOutstanding(tag)) this.session.ack(tag, false);
    return true;
  }

  received(messageId: number): void {
    this.acknowledged(messageId);
  }

  // ---- lifecycle ----------------------------------------------------------------

  /** the client is gone: unacked deliveries go back to the queue, a clean session's queue goes */
  closedByClient(): void {
    if (this.closed) return;
    this.closed = true;
    this.flow.close();
    this.inflight.clear();
    this.copiesLeft.clear();
    this.consumer = undefined;
    this.session.close();
    this.vhostModel.ownerClosed(this);
    this.persistence.detachDeliveries(this.client);
    this.ctx.connections.remove(this);
    this.resolveClosed();
  }

  shutdown(_reason: string): Promise<void> {
    // MQTT 3.1.1 has no server-side goodbye: closing the network connection is it
    if (!this.closed) this.client.close();
    return this.closedPromise;
  }
}
