import { isUtf8 } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import mqttPacket, { type IConnectPacket, type IDisconnectPacket, type IPubackPacket, type IPubrecPacket, type IPublishPacket, type ISubscribePacket, type IUnsubscribePacket, type Packet, type Parser } from 'mqtt-packet';
import { Access } from '../../core/access.js';
import { PublisherFlow, type FlowControlled } from '../../core/alarm.js';
import type { Consumer, ConsumerSink, Delivery } from '../../core/consumer.js';
import type { OrderedDurableWaits } from '../../core/durability.js';
import { Rejected, Routed } from '../../core/exchanges/routing.js';
import { BrokerError, QueueLimitExceeded } from '../../core/errors.js';
import type { Message } from '../../core/message.js';
import type { Session } from '../../core/session.js';
import type { VHost } from '../../core/vhost.js';
import type { ClientConnection, ProtocolContext } from '../context.js';
import { activemqQueueArguments } from '../../core/activemq-names.js';
import { activeMqCopies } from './activemq/copies.js';
import { activeMqPublishedQos } from './activemq/qos.js';
import { rabbitCopies, type CopyPlan } from './copies.js';
import { MqttFrameError, PacketReader } from './framing.js';
import { AWAITING_ACK, OutboundIds, RELEASED } from './packet-ids.js';
import { decodePublish, PINGREQ, plainAckId, PUBACK, PUBCOMP, PUBLISH, publishHeaderSize, PUBREC, PUBREL, topicBytes, writeAck, writePublish } from './hot-packets.js';
import { MAX_REMAINING_LENGTH, maxPacketSize } from './packet-size.js';
import { deliveryProperties, messageExpiresAt, publishedBy, publishedQos, publishedRetained, publishToMessage, TOPIC_EXCHANGE, type PublishProperties } from './messages.js';
import { publishRefusal, subscribeRefusal } from './permissions.js';
import { storeWill, type Will } from './session-records.js';
import { CONNACK_V4, RC, type ConnectRefusal } from './reason-codes.js';
import type { MqttServer, SessionLeftovers } from './server.js';
import { hasInvalidUtf8, optionsFromArgs, subscriptionArgs, validFilter, validTopicName, type SubscriptionOptions } from './subscriptions.js';
import { filterMatches, filterToBindingKey, routingKeyToTopic, topicToRoutingKey } from './topics.js';
import type { MqttTransport, PendingOutput } from './transport.js';
import { startHandshakeTimeout } from '../common/handshake-timeout.js';
import { ReadSlices } from '../common/read-slices.js';
import type { BusyPoll } from '../common/busy-poll.js';

const { parser: createParser, writeToStream, generate } = mqttPacket;
/** payloads up to this size are copied into the packet's one buffer */
const INLINE_PAYLOAD = 4096;

const PINGRESP = Buffer.from([0xd0, 0]);

const CONSUMER_TAG = 'mqtt';
const SHARED_TAG = 'mqtt-shared:';
/** RabbitMQ's mqtt.max_packet_size_unauthenticated: the largest packet before CONNECT succeeds */
const MAX_PACKET_UNAUTHENTICATED = 65536;

type State = 'connecting' | 'open' | 'closed';

export function sessionQueueName(clientId: string): string {
  return `mqtt-subscription-${clientId}qos1`;
}

/** the core queue a shared subscription's group consumes from */
export function sharedQueueName(group: string, filter: string): string {
  return `mqtt-shared-${group}-${filter}`;
}

/** `$share/{group}/{filter}` split, or undefined when it is not a valid shared subscription (§4.8.2) */
export function sharedFilter(f: string): { group: string; filter: string } | undefined {
  if (!f.startsWith('$share/')) return undefined;
  const slash = f.indexOf('/', 7);
  if (slash < 0) return undefined;
  const group = f.slice(7, slash);
  const filter = f.slice(slash + 1);
  if (group === '' || group.includes('+') || group.includes('#') || !validFilter(filter)) return undefined;
  return { group, filter };
}

let connectionSeq = 0;


/**
 * One MQTT client (3.1, 3.1.1 or 5.0) on the core. Packets are read with mqtt-packet
 * once the fixed header has shown they fit; every PUBLISH, whatever its QoS, routes
 * through amq.topic; the session is a core queue (`mqtt-subscription-<id>qos1`, durable
 * for a persistent session) bound once per subscription with the subscription's options
 * as binding arguments; a core consumer on it feeds the client, and PUBACK / PUBREC
 * settle those core deliveries.
 */
export class MqttConnection implements ClientConnection, ConsumerSink, FlowControlled {
  readonly id = `mqtt-${++connectionSeq}`;
  readonly protocol = 'mqtt' as const;
  readonly connectedAt = Date.now();
  readonly remoteAddress: string | undefined;
  user: string | undefined;
  clientId = '';
  version: 3 | 4 | 5 = 4;
  private state: State = 'connecting';
  private vhostModel: VHost | undefined;
  /** the user's permissions, through the core's access service */
  private access: Access | undefined;
  /** the resource alarm's hold on this client's reading (RabbitMQ stops reading publishers) */
  /** back-pressure: the alarm, the journal's credit flow, durability backlogs (management reads its state) */
  flow: PublisherFlow | undefined;
  private session: Session | undefined;
  private consumer: Consumer | undefined;
  private queueName = '';
  private persistent = false;
  /** MQTT 5 session expiry interval in seconds (0: the session ends with the connection) */
  private sessionExpiry = 0;
  private readonly parser: Parser;
  private readonly reader: PacketReader;
  /** filter -> granted QoS (for the copy plan) */
  private readonly filters = new Map<string, number>();
  private readonly subOptions = new Map<string, SubscriptionOptions>();
  /** shared subscriptions: the group's queue name -> its filter (without `$share/{group}/`) and options */
  private readonly sharedSubs = new Map<string, { full: string; filter: string; options: SubscriptionOptions }>();
  /** a resumed session's shared subscriptions, subscribed again once the CONNACK is out */
  private sharedToRestore: { filter: string; options: SubscriptionOptions }[] | undefined;
  private noLocalCount = 0;
  /** subscriptions (not shared) with a subscription identifier: only then does a delivery look for the ids */
  private subIdCount = 0;
  private readonly copies: CopyPlan;
  /** the QoS a message goes out at before a subscription caps it (RabbitMQ: an MQTT publisher's, else 2; ActiveMQ: activemq/qos.ts) */
  private readonly qosOf: (m: Message) => number;
  /** packet id -> outgoing QoS 1/2 packet awaiting PUBACK / PUBREC / PUBCOMP */
  private readonly outbound = new OutboundIds();
  /** core delivery tag -> QoS>0 copies still unacknowledged, when more than one went out */
  private readonly copiesLeft = new Map<number, number>();
  /** retained QoS 1/2 messages a SUBSCRIBE matched that the client's Receive Maximum has no room for yet */
  private retainedWaiting: { topic: string; m: Message; qos: number; ids: number[] | undefined }[] = [];
  /** QoS 2 PUBLISHes received whose PUBREL has not come: a resend is not routed again */
  private incomingQos2 = new Set<number>();
  /** QoS>0 PUBLISHes received and not yet answered (MQTT 5 receive maximum) */
  private incomingInFlight = 0;
  private will: Will | undefined;
  private keepAlive = 0;
  private lastPacketAt = Date.now();
  private keepAliveTimer: NodeJS.Timeout | undefined;
  private connectTimer: NodeJS.Timeout | undefined;
  private readonly durable: OrderedDurableWaits<() => void> | undefined;
  /** MQTT 5: what the client told us it can take */
  private clientReceiveMaximum = 65535;
  private clientMaxPacketSize = MAX_REMAINING_LENGTH + 5;
  private clientTopicAliasMaximum = 0;
  private requestProblemInformation = true;
  /** topic aliases the client set on its PUBLISHes */
  private readonly inboundAliases = new Map<number, string>();
  /** topic -> alias we gave it on our PUBLISHes */
  private readonly outboundAliases = new Map<string, number>();
  private readonly writeOpts: { protocolVersion: number };
  /** the broker's busy polling and the server's pending output (per broker, from the server) */
  private readonly busyPoll: BusyPoll;
  private readonly output: PendingOutput;
  /** the socket's input, processed in slices of time (other sockets and the disk's completions run between) */
  private readonly input: ReadSlices;
  private closedResolve!: () => void;
  private readonly closedPromise = new Promise<void>((r) => (this.closedResolve = r));

  constructor(
    private readonly server: MqttServer,
    private readonly ctx: ProtocolContext,
    private readonly transport: MqttTransport,
  ) {
    this.busyPoll = server.busyPoll;
    this.output = server.output;
    this.remoteAddress = transport.remoteAddress;
    this.copies = ctx.dialect === 'activemq' ? activeMqCopies : rabbitCopies;
    this.qosOf = ctx.dialect === 'activemq' ? activeMqPublishedQos : publishedQos;
    this.parser = createParser({ protocolVersion: 4 });
    this.writeOpts = { protocolVersion: 4 };
    this.reader = new PacketReader(MAX_PACKET_UNAUTHENTICATED);
    if (ctx.broker.durability.durable) {
      this.durable = ctx.broker.durability.ordered<() => void>((batch, err) => {
        if (err) {
          // what the store could not write gets no acknowledgement: the client will resend
          this.ctx.logger.warn('MQTT connection closed: the store failed to write a message', { clientId: this.clientId, error: err.message });
          this.closeNow(false);
          return;
        }
        if (this.state !== 'open') return;
        for (const f of batch) f();
      }, { hold: (on) => this.flow?.hold(on) });
    }
    this.parser.on('packet', (p: Packet) => this.onPacketSafely(p));
    this.parser.on('error', (err: Error) => this.onParseError(err));
    const s = transport.stream;
    this.input = new ReadSlices(s, ctx.broker.limits.settings.readSliceMs, (chunk) => this.parse(chunk), () => this.state !== 'closed');
    s.on('data', (chunk: Buffer) => this.onData(chunk));
    s.on('drain', () => this.session?.resume());
    s.on('error', () => undefined);
    s.on('close', () => this.closeNow(true));
    this.connectTimer = startHandshakeTimeout({
      protocol: 'MQTT', timeoutMs: ctx.broker.limits.settings.handshakeTimeoutMs, log: ctx.logger, fields: { remote: this.remoteAddress },
      missing: () => (this.state === 'connecting' ? 'no CONNECT' : undefined),
      close: () => this.closeNow(false),
    });
  }

  get vhost(): string | undefined {
    return this.vhostModel?.name;
  }

  // ---- reading ----------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.busyPoll.inputArrived();
    this.lastPacketAt = Date.now();
    this.input.data(chunk);
  }

  /** one slice of input: the bytes left unread when the slice ended */
  private parse(chunk: Buffer): Buffer | undefined {
    if (this.state === 'closed') return undefined;
    let rest: Buffer | undefined;
    try {
      // after each packet with bytes behind it the reader asks whether this read's slice of time
      // is over: the rest waits for the next turn (ReadSlices). Packets after one that closed the
      // connection are skipped by onPacketBytes (its first test), so no second test is needed here.
      rest = this.reader.push(chunk, this.onPacketBytes, this.input.over);
    } catch (err) {
      if (!(err instanceof MqttFrameError)) throw err;
      // the packets before the offending one have been read; it is refused without reading on
      // (unless a packet before it closed the connection: nothing is answered then)
      if ((this.state as State) === 'closed') return undefined;
      if (err.reason === 'malformed') {
        this.protocolFailure(RC.MALFORMED_PACKET, 'malformed fixed header');
        return undefined;
      }
      this.ctx.logger.info('MQTT packet refused: too large', { clientId: this.clientId || undefined, remote: this.remoteAddress, length: err.length, max: this.reader.limit });
      this.protocolFailure(RC.PACKET_TOO_LARGE, `packet of ${err.length} bytes is larger than the maximum of ${this.reader.limit}`);
      return undefined;
    }
    return (this.state as State) === 'closed' ? undefined : rest;
  }

  /**
   * One whole packet: the hot ones in their plain forms are read here (hot-packets.ts),
   * everything else by mqtt-packet. Nothing once the connection has closed.
   */
  private readonly onPacketBytes = (buf: Buffer, start: number, end: number): void => {
    if (this.state !== 'open') {
      if (this.state !== 'closed') this.parser.parse(buf.subarray(start, end));
      return;
    }
    const type = buf[start]! >> 4;
    try {
      switch (type) {
        case PUBLISH: {
          const p = decodePublish(buf, this.version, start, end);
          if (p) this.onPacket(p);
          else this.parser.parse(buf.subarray(start, end));
          break;
        }
        case PUBACK:
        case PUBREC:
        case PUBREL:
        case PUBCOMP: {
          const id = plainAckId(buf, type, start, end);
          if (id < 0) this.parser.parse(buf.subarray(start, end));
          else if (type === PUBACK) this.settleOutbound(id, false);
          else if (type === PUBREC) this.onPubrec(id, undefined);
          else if (type === PUBCOMP) this.settleOutbound(id, true);
          else this.onPubrel(id);
          break;
        }
        case PINGREQ:
          if (end - start === 2 && buf[start] === 0xc0) this.writeBytes(PINGRESP);
          else this.parser.parse(buf.subarray(start, end));
          break;
        default:
          this.parser.parse(buf.subarray(start, end));
      }
    } catch (err) {
      this.ctx.logger.error('MQTT connection closed: unexpected error', { clientId: this.clientId || undefined, type, error: (err as Error).stack ?? String(err) });
      this.protocolFailure(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error');
    }
    // a long read (a burst of publishes, each fanned out) hands its deliveries to the
    // sockets slice by slice, so the subscribers' clients start on them meanwhile
    this.output.flushIfSliceOver();
  };

  private onParseError(err: Error): void {
    if (this.state === 'closed') return;
    if (this.state === 'connecting' && /protocol version/i.test(err.message)) {
      // §3.1.2.2: an unsupported level gets CONNACK 1 (Mosquitto 2.0 and RabbitMQ answer so)
      this.write({ cmd: 'connack', returnCode: CONNACK_V4.UNACCEPTABLE_PROTOCOL_VERSION, sessionPresent: false });
      this.closeNow(false);
      return;
    }
    this.ctx.logger.debug('MQTT malformed packet', { clientId: this.clientId || undefined, error: err.message });
    this.protocolFailure(RC.MALFORMED_PACKET, err.message);
  }

  /** a packet the broker fails on closes that client only, never the broker */
  private onPacketSafely(p: Packet): void {
    try {
      this.onPacket(p);
    } catch (err) {
      this.ctx.logger.error('MQTT connection closed: unexpected error', { clientId: this.clientId || undefined, cmd: p.cmd, error: (err as Error).stack ?? String(err) });
      this.protocolFailure(RC.IMPLEMENTATION_SPECIFIC_ERROR, 'internal error');
    }
  }

  private onPacket(p: Packet): void {
    if (this.state === 'closed') return;
    if (this.ctx.logger.enabled('trace')) this.ctx.logger.trace('MQTT packet in', { clientId: this.clientId, cmd: p.cmd });
    if (this.state === 'connecting') {
      if (p.cmd !== 'connect') {
        // [MQTT-3.1.0-1]: the first packet must be CONNECT
        this.closeNow(false);
        return;
      }
      this.onConnect(p);
      return;
    }
    const repeated = this.version === 5 ? repeatedProperty(p) : undefined;
    if (repeated !== undefined) return this.protocolFailure(RC.PROTOCOL_ERROR, `property ${repeated} included more than once`);
    switch (p.cmd) {
      case 'publish':
        return this.onPublish(p);
      case 'puback':
        return this.settleOutbound(p.messageId!, false);
      case 'pubrec':
        return this.onPubrec(p.messageId!, p.reasonCode);
      case 'pubcomp':
        return this.settleOutbound(p.messageId!, true);
      case 'pubrel':
        return this.onPubrel(p.messageId!);
      case 'subscribe':
        return this.onSubscribe(p);
      case 'unsubscribe':
        return this.onUnsubscribe(p);
      case 'pingreq':
        this.writeBytes(PINGRESP);
        return;
      case 'disconnect':
        return this.onDisconnect(p.reasonCode, p.properties?.sessionExpiryInterval);
      case 'connect':
        // [MQTT-3.1.0-2]: a second CONNECT is a protocol violation
        return this.protocolFailure(RC.PROTOCOL_ERROR, 'second CONNECT');
      case 'auth':
        // §4.12: an AUTH continues only an exchange begun by a CONNECT with an Authentication
        // Method, and such a CONNECT was refused; 0x8C is no DISCONNECT code (§3.14.2.1).
        // Mosquitto 2.0.11 closes the connection ("protocol error")
        return this.protocolFailure(RC.PROTOCOL_ERROR, 'AUTH without an authentication method');
      default:
        return this.protocolFailure(RC.PROTOCOL_ERROR, `unexpected ${p.cmd} from a client`);
    }
  }

  // ---- CONNECT --------------------------------------------------------------------

  private onConnect(p: IConnectPacket): void {
    clearTimeout(this.connectTimer);
    const version = (p.protocolVersion ?? 4) as 3 | 4 | 5;
    this.version = version;
    // mqtt-packet's parser reads later packets by the version it is told (aedes does the same)
    (this.parser as Parser & { settings: { protocolVersion: number } }).settings = { protocolVersion: version };
    this.writeOpts.protocolVersion = version;
    if ((version === 3) !== (p.protocolId === 'MQIsdp')) {
      this.write({ cmd: 'connack', returnCode: CONNACK_V4.UNACCEPTABLE_PROTOCOL_VERSION, sessionPresent: false });
      return this.closeNow(false);
    }
    const props = p.properties ?? {};
    if (props.authenticationMethod !== undefined) {
      return this.refuse({ v4: CONNACK_V4.NOT_AUTHORIZED, v5: RC.BAD_AUTHENTICATION_METHOD, reason: `authentication method '${props.authenticationMethod}' is not supported` });
    }
    // §3.1.2.11.3/4: Receive Maximum 0 and Maximum Packet Size 0 are Protocol Errors (Mosquitto
    // 2.0.11 closes at once); §4.13.1 lets a CONNACK with the code go first
    if (props.receiveMaximum === 0 || props.maximumPacketSize === 0) {
      const property = props.receiveMaximum === 0 ? 'Receive Maximum' : 'Maximum Packet Size';
      return this.refuse({ v4: CONNACK_V4.UNACCEPTABLE_PROTOCOL_VERSION, v5: RC.PROTOCOL_ERROR, reason: `${property} 0 is a protocol error` });
    }
    let clientId = p.clientId ?? '';
    let assigned: string | undefined;
    const clean = p.clean !== false;
    if (clientId === '') {
      // 3.1.1 [MQTT-3.1.3-8]: an assigned id only for a clean session; 3.1 never; 5.0 always
      if (version === 3 || (version === 4 && !clean)) {
        return this.refuse({ v4: CONNACK_V4.IDENTIFIER_REJECTED, v5: RC.CLIENT_IDENTIFIER_NOT_VALID, reason: 'identifier rejected' });
      }
      clientId = `localmq-${randomBytes(12).toString('base64url')}`;
      if (version === 5) assigned = clientId;
    } else if (version === 3 && clientId.length > 23) {
      return this.refuse({ v4: CONNACK_V4.IDENTIFIER_REJECTED, v5: RC.CLIENT_IDENTIFIER_NOT_VALID, reason: 'identifier rejected' });
    }
    this.clientId = clientId;

    // who
    const login = this.server.login(p.username, p.password, this.remoteAddress);
    if (!login.ok) return this.refuse(login.refusal, p.username);
    const vhost = this.ctx.broker.vhost(login.vhost);
    if (!vhost || !this.ctx.access.canAccessVhost(login.user, login.vhost)) {
      return this.refuse({ v4: CONNACK_V4.NOT_AUTHORIZED, v5: RC.NOT_AUTHORIZED, reason: `not authorized for vhost '${login.vhost}'` }, p.username);
    }
    this.user = login.user;
    this.vhostModel = vhost;
    this.access = new Access(this.ctx.access, login.user, { client_id: clientId });
    if (!this.ctx.connections.add(this)) {
      const over = this.ctx.connections.refusal('mqtt', this);
      this.ctx.logger.warn('MQTT connection refused', { clientId, limit: over?.limit, max: over?.max, remote: this.remoteAddress });
      this.user = undefined;
      // rabbit_mqtt_processor (3.13, 4.x): a vhost's or user's connection limit is
      // {error, ?RC_QUOTA_EXCEEDED}, which 3.1.1 gets as CONNACK_NOT_AUTHORIZED (5)
      const tenant = this.ctx.dialect === 'rabbitmq' && (over?.limit === 'vhost' || over?.limit === 'user');
      return this.refuse({
        v4: tenant ? CONNACK_V4.NOT_AUTHORIZED : CONNACK_V4.SERVER_UNAVAILABLE,
        v5: RC.QUOTA_EXCEEDED,
        reason: over?.reason ?? `server unavailable: ${over?.limit === 'protocol' ? 'MQTT' : 'node'} connection limit (${over?.max}) is reached`,
      });
    }

    // the session
    const leftovers = this.server.claim(this);
    this.queueName = sessionQueueName(clientId);
    if (version === 5) {
      this.sessionExpiry = props.sessionExpiryInterval ?? 0;
      this.persistent = this.sessionExpiry > 0;
      if (props.receiveMaximum !== undefined) this.clientReceiveMaximum = props.receiveMaximum;
      if (props.maximumPacketSize !== undefined) this.clientMaxPacketSize = props.maximumPacketSize;
      if (props.topicAliasMaximum !== undefined) this.clientTopicAliasMaximum = props.topicAliasMaximum;
      if (props.requestProblemInformation === false) this.requestProblemInformation = false;
    } else {
      this.persistent = !clean;
    }
    const existing = vhost.getQueue(this.queueName);
    const shared = this.server.sessions.get(vhost.name, clientId)?.shared;
    let sessionPresent = false;
    if (clean || existing?.options.exclusive) {
      // a clean start drops what an earlier session left (an exclusive queue is another live client's)
      if (existing && !existing.options.exclusive) vhost.deleteQueue(this.queueName, false, false, null);
      this.server.forgetLeftovers(this);
    } else if (existing || leftovers) {
      // the session: its queue (which expires with it) with its bindings and shared
      // subscriptions, or QoS 2 exchanges in mid-handshake of a session without one
      sessionPresent = true;
      if (existing) {
        this.restoreSubscriptions();
        this.server.setSessionExpiry(vhost, existing, this.persistent ? this.sessionExpiry : 0, version);
        this.sharedToRestore = shared;
      }
      if (leftovers) {
        this.incomingQos2 = leftovers.incomingQos2;
        for (const id of leftovers.pendingPubrel) this.outbound.restoreReleased(id);
      }
    } else {
      this.server.forgetLeftovers(this);
    }
    if (p.will) {
      this.will = {
        topic: p.will.topic,
        payload: typeof p.will.payload === 'string' ? Buffer.from(p.will.payload) : p.will.payload,
        qos: p.will.qos ?? 0,
        retain: p.will.retain ?? false,
        properties: p.will.properties as Will['properties'],
      };
    }
    // with a data dir the will is written down, so a crash of the broker does not lose it
    if (this.durable) {
      const will = this.will ? storeWill(this.will, this.user, version, this.server.willDelay(version, this.will, this.persistent ? this.sessionExpiry : 0)) : undefined;
      this.server.sessions.update(vhost.name, clientId, { will });
    }
    this.session = this.ctx.broker.openSession(vhost, this);
    this.flow = this.ctx.broker.publisherFlow(this);
    const prefetch = this.server.options.prefetch ?? 1000;
    this.session.consumerPrefetch = this.clientReceiveMaximum < prefetch ? this.clientReceiveMaximum : prefetch;
    this.keepAlive = p.keepalive ?? 0;
    const serverKeepAlive = this.server.serverKeepAlive(version, this.keepAlive);
    if (serverKeepAlive !== undefined) this.keepAlive = serverKeepAlive;
    this.startKeepAlive();
    this.reader.limit = this.maxPacketSize() - 5;
    this.state = 'open';
    this.ctx.logger.info('MQTT connection opened', { clientId, user: this.user, vhost: vhost.name, version, remote: this.remoteAddress });

    if (version === 5) {
      const properties: Record<string, unknown> = {
        topicAliasMaximum: this.server.topicAliasMaximum,
        maximumPacketSize: this.maxPacketSize(),
        receiveMaximum: this.server.receiveMaximum,
        retainAvailable: true,
        wildcardSubscriptionAvailable: true,
        subscriptionIdentifiersAvailable: true,
        sharedSubscriptionAvailable: true,
      };
      if (assigned !== undefined) properties['assignedClientIdentifier'] = assigned;
      if (serverKeepAlive !== undefined) properties['serverKeepAlive'] = serverKeepAlive;
      const max = this.server.maxSessionExpiry;
      if (this.sessionExpiry > max) {
        this.sessionExpiry = max;
        properties['sessionExpiryInterval'] = max;
      }
      this.write({ cmd: 'connack', reasonCode: RC.SUCCESS, sessionPresent, properties });
    } else {
      // ActiveMQ 5.17 never sets it, its session (the subscriptions) kept all the same (5.17.2 asked,
      // /tmp/s18-fidelity/mqtt-qos.mjs: false at a clean-session-false reconnect whose subscription still delivers)
      this.write({ cmd: 'connack', returnCode: CONNACK_V4.ACCEPTED, sessionPresent: sessionPresent && this.ctx.dialect !== 'activemq' });
    }
    // what the session holds follows the CONNACK in a later packet write, not the same
    // one: clients (mqtt.js) settle their connect before they take messages
    setImmediate(() => {
      if (this.state !== 'open') return;
      // PUBRELs the last connection of this session did not see answered go again [MQTT-4.4.0-1]
      for (const id of this.outbound.releasedIds()) this.writeAck(PUBREL, id, RC.SUCCESS);
      for (const s of this.sharedToRestore ?? []) {
        const shared = sharedFilter(s.filter);
        if (shared) this.subscribeShared(s.filter, shared.group, shared.filter, s.options);
      }
      this.sharedToRestore = undefined;
      this.startConsuming();
    });
  }

  /** a CONNACK with a refusal, logged at info, then close */
  private refuse(r: ConnectRefusal, username?: string): void {
    this.ctx.logger.info('MQTT login refused', { clientId: this.clientId || undefined, user: username, reason: r.reason, remote: this.remoteAddress });
    if (this.version === 5) this.write({ cmd: 'connack', reasonCode: r.v5, sessionPresent: false, properties: { reasonString: r.reason } });
    else this.write({ cmd: 'connack', returnCode: r.v4, sessionPresent: false });
    this.closeNow(false);
  }

  private maxPacketSize(): number {
    return maxPacketSize(this.ctx.broker.limits.settings.maxMessageSize);
  }

  /** a persistent session's subscriptions are its queue's bindings on amq.topic */
  private restoreSubscriptions(): void {
    const v = this.vhostModel!;
    const q = v.getQueue(this.queueName);
    const ex = v.getExchange(TOPIC_EXCHANGE);
    if (!q || !ex) return;
    for (const b of ex.bindings.values()) {
      if (b.destination !== q) continue;
      const filter = routingKeyToTopic(b.routingKey);
      this.addFilter(filter, optionsFromArgs(b.arguments));
    }
  }

  private addFilter(filter: string, o: SubscriptionOptions): void {
    const before = this.subOptions.get(filter);
    if (before?.nl) this.noLocalCount--;
    if (before?.id !== undefined) this.subIdCount--;
    this.subOptions.set(filter, o);
    this.filters.set(filter, o.qos);
    if (o.id !== undefined) this.subIdCount++;
    if (o.nl) this.noLocalCount++;
  }

  private removeFilter(filter: string): SubscriptionOptions | undefined {
    const before = this.subOptions.get(filter);
    if (!before) return undefined;
    if (before.nl) this.noLocalCount--;
    if (before.id !== undefined) this.subIdCount--;
    this.subOptions.delete(filter);
    this.filters.delete(filter);
    return before;
  }

  // ---- keep-alive -----------------------------------------------------------------

  private startKeepAlive(): void {
    if (this.keepAlive <= 0) return;
    // [MQTT-3.1.2-24]: one and a half keep-alive periods without a packet ends the connection
    const limit = this.keepAlive * 1500;
    const check = () => {
      const now = Date.now();
      if (this.checkIdle(now)) return;
      // held: looked at again a whole limit later (resumeReading restarts the clock)
      this.keepAliveTimer = setTimeout(check, this.flow?.holding ? limit : limit - (now - this.lastPacketAt));
      this.keepAliveTimer.unref();
    };
    this.keepAliveTimer = setTimeout(check, limit);
    this.keepAliveTimer.unref();
  }

  /**
   * The keep-alive rule, once, at `now` (its timer asks it; tests ask it on a stepped clock
   * instead of sleeping): one and a half keep-alive periods without a packet end the connection
   * (true); not while its reading is held: what it sent waits unread, silence is not judged
   */
  checkIdle(now: number): boolean {
    if (this.keepAlive <= 0 || this.flow?.holding || now - this.lastPacketAt < this.keepAlive * 1500) return false;
    this.ctx.logger.info('MQTT client missed its keep-alive', { clientId: this.clientId, keepAlive: this.keepAlive, remote: this.remoteAddress });
    this.protocolFailure(RC.KEEP_ALIVE_TIMEOUT, 'keep alive timeout');
    return true;
  }

  // ---- PUBLISH from the client ----------------------------------------------------

  private onPublish(p: IPublishPacket): void {
    const qos = p.qos;
    const props = p.properties as PublishProperties | undefined;
    let topic = p.topic;
    if (this.version === 5) {
      if (qos > 0 && ++this.incomingInFlight > this.server.receiveMaximum) {
        return this.protocolFailure(RC.RECEIVE_MAXIMUM_EXCEEDED, 'receive maximum exceeded');
      }
      const alias = props?.topicAlias;
      if (alias !== undefined) {
        if (alias === 0 || alias > this.server.topicAliasMaximum) return this.protocolFailure(RC.TOPIC_ALIAS_INVALID, `topic alias ${alias} is invalid`);
        if (topic === '') {
          const known = this.inboundAliases.get(alias);
          if (known === undefined) return this.protocolFailure(RC.PROTOCOL_ERROR, `topic alias ${alias} is not set`);
          topic = known;
        } else this.inboundAliases.set(alias, topic);
      }
    }
    if (hasInvalidUtf8(topic) || !validTopicName(topic)) {
      return this.protocolFailure(hasInvalidUtf8(topic) ? RC.MALFORMED_PACKET : RC.TOPIC_NAME_INVALID, `invalid topic name '${topic}'`);
    }
    const payload = typeof p.payload === 'string' ? Buffer.from(p.payload) : p.payload;
    if (this.version === 5 && props?.payloadFormatIndicator && !isUtf8(payload)) {
      return this.answerPublish(p, RC.PAYLOAD_FORMAT_INVALID, 'payload is not valid UTF-8');
    }
    // RabbitMQ's MQTT plugin caps messages at max_message_size and drops the connection
    const max = this.ctx.broker.limits.settings.maxMessageSize;
    if (payload.length > max) {
      this.ctx.logger.info('MQTT message refused: too large', { clientId: this.clientId, size: payload.length, max });
      return this.protocolFailure(RC.PACKET_TOO_LARGE, `message size ${payload.length} is larger than configured max size ${max}`);
    }
    if (qos === 2 && this.incomingQos2.has(p.messageId!)) {
      // a resend of a QoS 2 PUBLISH already routed: answer it again, route nothing
      this.writeAck(PUBREC, p.messageId!, RC.SUCCESS);
      if (this.version === 5) this.incomingInFlight--;
      return;
    }
    // clients may not publish into $SYS, as in Mosquitto 2.0.11: 3.1.1 gets a plain ack (dropped
    // without a word), MQTT 5 gets PUBACK/PUBREC 0x87 and the connection stays
    if (topic.startsWith('$SYS/') || topic === '$SYS') {
      return this.answerPublish(p, this.version === 5 ? RC.NOT_AUTHORIZED : RC.SUCCESS, 'publishing to $SYS is not allowed');
    }
    const v = this.vhostModel!;
    const refused = publishRefusal(this.access!, v, topic);
    if (refused) {
      const reason = refused;
      this.ctx.logger.info('MQTT publish refused', { clientId: this.clientId, topic, reason });
      if (this.closesOnUnauthorized) {
        // rabbit_mqtt_processor publish_to_queues_with_checks -> {error, access_refused}: the
        // reader stops the connection, with no PUBACK and no DISCONNECT; the will goes
        this.ctx.logger.info('MQTT connection closing due to an authorization failure', { clientId: this.clientId });
        return this.closeNow(true);
      }
      // RabbitMQ 4.3 with mqtt.disconnect_on_unauthorized = false: QoS 1 gets PUBACK 0x87 (3.1.1:
      // a plain PUBACK), QoS 0 is dropped; the connection stays
      if (this.ctx.dialect === 'rabbitmq' && qos === 0) return;
      if (this.version === 5 && qos > 0) return this.answerPublish(p, RC.NOT_AUTHORIZED, reason);
      if (this.ctx.dialect === 'rabbitmq') return this.answerPublish(p, RC.SUCCESS);
      return this.protocolFailure(RC.NOT_AUTHORIZED, reason);
    }
    this.flow!.published();
    // with a no-local subscription the message names its publisher, for this client id's deliveries
    const message = publishToMessage(topic, payload, qos, p.dup, this.version === 5 ? props : undefined, this.noLocalCount > 0 ? this.clientId : undefined, p.retain);
    let flags: number;
    try {
      if (p.retain) this.ctx.broker.retained.retain(v.name, message);
      flags = v.publish(TOPIC_EXCHANGE, message.routingKey, message);
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      return this.protocolFailure(RC.UNSPECIFIED_ERROR, err.message);
    }
    // a persistent message (QoS > 0 to a durable queue) while the journal is behind holds the reading (core/store-flow.ts)
    this.flow!.stored(flags);
    if ((flags & Rejected) !== 0 && qos > 0) {
      // a queue with x-overflow reject-publish turned it away. rabbit_mqtt_processor's
      // {rejected, ...} queue action: MQTT 5 gets PUBACK 0x83 (implementation specific error);
      // 3.1.1 has no negative PUBACK, so RabbitMQ sends none (the client may publish it again)
      this.ctx.logger.debug('MQTT publish rejected by a queue (reject-publish)', { clientId: this.clientId, topic });
      if (this.version === 5) return this.answerPublish(p, RC.IMPLEMENTATION_SPECIFIC_ERROR, 'rejected by a queue: x-overflow reject-publish');
      if (this.ctx.dialect === 'rabbitmq') return;
    }
    if (qos === 2) {
      this.incomingQos2.add(p.messageId!);
      this.saveQos2();
    }
    this.answerPublish(p, (flags & Routed) === 0 && this.version === 5 ? RC.NO_MATCHING_SUBSCRIBERS : RC.SUCCESS);
  }

  /** FlowControlled: stop reading while the broker's alarm holds publishers */
  pauseReading(): void {
    this.input.pause();
  }

  resumeReading(): void {
    // the keep-alive counts from here: what the client sent meanwhile was not read
    this.lastPacketAt = Date.now();
    this.input.resume();
  }

  /** PUBACK / PUBREC for a QoS 1/2 PUBLISH, once the store holds what it was told */
  private answerPublish(p: IPublishPacket, reasonCode: number, reasonString?: string): void {
    if (p.qos === 0) return;
    const id = p.messageId!;
    const cmd = p.qos === 1 ? ('puback' as const) : ('pubrec' as const);
    if (this.durable && reasonCode < 0x80) this.durable.add(() => this.sendAck(cmd, id, reasonCode, reasonString));
    else this.sendAck(cmd, id, reasonCode, reasonString);
  }

  private sendAck(cmd: 'puback' | 'pubrec', id: number, reasonCode: number, reasonString: string | undefined): void {
    if (this.version === 5) {
      if (cmd === 'puback' || reasonCode >= 0x80) this.incomingInFlight--;
      if (reasonString !== undefined && this.requestProblemInformation) {
        const packet: IPubackPacket | IPubrecPacket = { cmd, messageId: id, reasonCode, properties: { reasonString } };
        return this.write(packet);
      }
    }
    this.writeAck(cmd === 'puback' ? PUBACK : PUBREC, id, this.version === 5 ? reasonCode : RC.SUCCESS);
  }

  // ---- SUBSCRIBE / UNSUBSCRIBE ----------------------------------------------------

  /**
   * RabbitMQ closes the connection after a PUBLISH or SUBSCRIBE it refuses for want of
   * permission (rabbit_mqtt_reader: "closing due to an authorization failure"), in 3.13, 4.0-4.2
   * always, in 4.3 unless `mqtt.disconnect_on_unauthorized = false`. ActiveMQ keeps it open.
   */
  private get closesOnUnauthorized(): boolean {
    return this.ctx.dialect === 'rabbitmq' && this.server.options.disconnectOnUnauthorized !== false;
  }

  private onSubscribe(p: ISubscribePacket): void {
    // a SUBSCRIBE with no topic filter is a protocol violation ([MQTT-3.8.3-3]; MQTT 5 3.8.3: a
    // Protocol Error): mqtt-packet hands it over with an empty list, whose empty SUBACK it then
    // refuses to write (an internal error, found by the socket fuzz). Mosquitto 2.0 closes too
    // (MQTT 5: DISCONNECT 0x81)
    if (p.subscriptions.length === 0) return this.protocolFailure(RC.PROTOCOL_ERROR, 'SUBSCRIBE with no topic filter');
    const v = this.vhostModel!;
    const granted: number[] = [];
    const retainedFor: [string, SubscriptionOptions][] = [];
    const subId = p.properties?.subscriptionIdentifier;
    // RabbitMQ (rabbit_mqtt_processor, SUBSCRIBE): once one subscription of the packet failed,
    // the ones after it fail with the same code and are not made; after the SUBACK the
    // connection closes (no DISCONNECT). A refusal for want of permission does neither when
    // 4.3's mqtt.disconnect_on_unauthorized is false. ActiveMQ: each filter on its own.
    const rabbit = this.ctx.dialect === 'rabbitmq';
    let failed: number | undefined;
    const fail = (code: number, unauthorized: boolean): void => {
      granted.push(code);
      if (rabbit && (!unauthorized || this.closesOnUnauthorized)) failed = code;
    };
    for (const s of p.subscriptions) {
      const filter = s.topic;
      if (hasInvalidUtf8(filter)) return this.protocolFailure(RC.MALFORMED_PACKET, 'topic filter is not valid UTF-8');
      if (failed !== undefined) {
        granted.push(failed);
        continue;
      }
      if (!validFilter(filter)) {
        granted.push(this.version === 5 ? RC.TOPIC_FILTER_INVALID : 0x80);
        continue;
      }
      const shared = sharedFilter(filter);
      if (filter.startsWith('$share/') && (!shared || (this.version === 5 && s.nl))) {
        // [MQTT-3.8.3-4]: no-local on a shared subscription is a protocol error
        if (shared) return this.protocolFailure(RC.PROTOCOL_ERROR, 'no local set on a shared subscription');
        granted.push(this.version === 5 ? RC.TOPIC_FILTER_INVALID : 0x80);
        continue;
      }
      const refusedRead = subscribeRefusal(this.access!, v, shared ? shared.filter : filter);
      if (refusedRead) {
        this.ctx.logger.info('MQTT subscription refused', { clientId: this.clientId, filter, reason: refusedRead });
        fail(this.version === 5 ? RC.NOT_AUTHORIZED : 0x80, true);
        continue;
      }
      const qos = s.qos > 2 ? 2 : s.qos;
      const o: SubscriptionOptions = { qos, nl: this.version === 5 && s.nl === true, rap: this.version === 5 && s.rap === true, rh: this.version === 5 ? (s.rh ?? 0) : 0 };
      if (subId !== undefined) o.id = subId;
      if (shared) {
        const code = this.subscribeShared(filter, shared.group, shared.filter, o);
        if (code >= 0x80) fail(code, false);
        else granted.push(code);
        continue;
      }
      const before = this.subOptions.get(filter);
      try {
        this.ensureQueue();
        const key = filterToBindingKey(filter);
        if (before) v.unbindQueue(this.queueName, TOPIC_EXCHANGE, key, subscriptionArgs(before), this);
        v.bindQueue(this.queueName, TOPIC_EXCHANGE, key, subscriptionArgs(o), this);
      } catch (err) {
        if (!(err instanceof BrokerError)) throw err;
        this.ctx.logger.debug('MQTT subscription refused', { clientId: this.clientId, filter, error: err.message });
        fail(this.version === 5 ? subscribeFailure(err) : 0x80, false);
        continue;
      }
      this.addFilter(filter, o);
      granted.push(qos);
      // retain handling: 0 always, 1 only for a new subscription, 2 never
      if (o.rh === 0 || (o.rh === 1 && !before)) retainedFor.push([filter, o]);
    }
    this.write({ cmd: 'suback', messageId: p.messageId, granted });
    if (failed !== undefined) {
      this.ctx.logger.info('MQTT connection closing after a refused subscription', { clientId: this.clientId });
      return this.closeNow(true);
    }
    for (const [filter, o] of retainedFor) this.sendRetained(filter, o);
    this.startConsuming();
  }

  /**
   * `$share/{group}/{filter}`: one core queue per group and filter, bound to amq.topic, which
   * every member consumes from, so the core hands each message to one member, round-robin.
   * Returns the SUBACK code.
   */
  private subscribeShared(full: string, group: string, filter: string, o: SubscriptionOptions): number {
    const v = this.vhostModel!;
    const name = sharedQueueName(group, filter);
    try {
      const existing = v.getQueue(name);
      if (!existing) {
        // a persistent session's queues are durable (RabbitMQ's rule for its session queues), and
        // so is a group queue a persistent member makes: what is published while no member is
        // connected waits for the group, across a restart too. A group of clean sessions only
        // has an auto-delete queue, gone with its last member.
        const q = v.declareQueue(name, { passive: false, durable: this.persistent, exclusive: false, autoDelete: !this.persistent, arguments: {} }, null);
        if (this.persistent) this.server.setSessionExpiry(v, q, this.sessionExpiry, this.version);
      } else if (this.persistent && existing.durable) {
        // it lasts as long as its longest-lived persistent member's session
        this.server.extendSharedExpiry(v, existing, this.sessionExpiry, this.version);
      } else if (this.persistent) {
        this.ctx.logger.debug('MQTT shared subscription joins a group queue made by clean sessions: not durable until it is made again', { clientId: this.clientId, filter: full });
      }
      v.bindQueue(name, TOPIC_EXCHANGE, filterToBindingKey(filter), {}, null);
      const tag = `${SHARED_TAG}${full}`;
      this.sharedSubs.set(name, { full, filter, options: o });
      // a persistent session is its queue, even when all it has are shared subscriptions
      if (this.persistent) {
        this.ensureQueue();
        this.saveShared();
      }
      if (!this.session!.hasConsumer(tag)) {
        this.session!.consume(name, { tag, noAck: false, exclusive: false, priority: 0, arguments: {} }, this);
      }
    } catch (err) {
      if (!(err instanceof BrokerError)) throw err;
      this.ctx.logger.debug('MQTT shared subscription refused', { clientId: this.clientId, filter: full, error: err.message });
      return this.version === 5 ? subscribeFailure(err) : 0x80;
    }
    return o.qos;
  }

  /** a persistent session's shared subscriptions, kept for its next connection */
  private saveShared(): void {
    const shared = [...this.sharedSubs.values()].map((s) => ({ filter: s.full, options: s.options }));
    this.server.sessions.update(this.vhostModel!.name, this.clientId, { shared });
  }

  /** with a data dir, a persistent session's QoS 2 packet ids in mid-handshake are written down */
  private saveQos2(): void {
    if (!this.durable || !this.persistent) return;
    this.server.sessions.update(this.vhostModel!.name, this.clientId, { incomingQos2: [...this.incomingQos2], pendingPubrel: this.outbound.releasedIds() });
  }

  private onUnsubscribe(p: IUnsubscribePacket): void {
    // likewise an UNSUBSCRIBE with none ([MQTT-3.10.3-2]; MQTT 5 3.10.3)
    if (p.unsubscriptions.length === 0) return this.protocolFailure(RC.PROTOCOL_ERROR, 'UNSUBSCRIBE with no topic filter');
    const v = this.vhostModel!;
    const codes: number[] = [];
    for (const filter of p.unsubscriptions) {
      const shared = sharedFilter(filter);
      if (shared) {
        const name = sharedQueueName(shared.group, shared.filter);
        const had = this.sharedSubs.delete(name);
        this.session!.cancel(`${SHARED_TAG}${filter}`);
        if (had && this.persistent) this.saveShared();
        if (had) this.server.releaseShared(v, name);
        codes.push(had ? RC.SUCCESS : RC.NO_SUBSCRIPTION_EXISTED);
        continue;
      }
      const o = this.removeFilter(filter);
      if (!o) {
        codes.push(RC.NO_SUBSCRIPTION_EXISTED);
        continue;
      }
      if (v.getQueue(this.queueName)) {
        try {
          v.unbindQueue(this.queueName, TOPIC_EXCHANGE, filterToBindingKey(filter), subscriptionArgs(o), this);
        } catch (err) {
          if (!(err instanceof BrokerError)) throw err;
        }
      }
      codes.push(RC.SUCCESS);
    }
    if (this.version === 5) this.write({ cmd: 'unsuback', messageId: p.messageId, granted: codes });
    else this.write({ cmd: 'unsuback', messageId: p.messageId } as Packet);
  }

  private ensureQueue(): void {
    const v = this.vhostModel!;
    if (v.getQueue(this.queueName)) return;
    const persistent = this.persistent;
    // ActiveMQ: an MQTT subscription is a topic subscription of ActiveMQ's own, so what expires in it while it
    // waits goes to ActiveMQ.DLQ when persistent (5.17 asked, /tmp/s18-fidelity/mqtt-expiry.mjs: a persistent
    // message expiring in an offline clean-session-false client's subscription -> a copy on ActiveMQ.DLQ,
    // original-destination /topic/a.b, cause "Message Expired. Expiration:<at>"; LocalMQ dropped it): its
    // queue is an ActiveMQ destination. (A queue made before this keeps its arguments.)
    const args = this.ctx.dialect === 'activemq' ? activemqQueueArguments() : {};
    const q = v.declareQueue(this.queueName, { passive: false, durable: persistent, exclusive: !persistent, autoDelete: !persistent, arguments: args }, this);
    if (persistent) this.server.setSessionExpiry(v, q, this.sessionExpiry, this.version);
  }

  private startConsuming(): void {
    if (this.consumer || this.state !== 'open' || !this.vhostModel!.getQueue(this.queueName)) return;
    this.consumer = this.session!.consume(this.queueName, { tag: CONSUMER_TAG, noAck: false, exclusive: false, priority: 0, arguments: {} }, this);
  }

  /**
   * Retained messages matching a new subscription go to the client, flagged retained. QoS 1/2
   * ones take units of the client's Receive Maximum like any delivery: those it has no room
   * for wait, in order, and go as PUBACKs / PUBCOMPs free units (review s11-3 F10; Mosquitto
   * 2.0.11 sent a Receive Maximum 1 client one of three matching retained messages).
   */
  private sendRetained(filter: string, o: SubscriptionOptions): void {
    const v = this.vhostModel!;
    const now = Date.now();
    const found = this.ctx.broker.retained.find(v.name, TOPIC_EXCHANGE, (key) => filterMatches(filter, routingKeyToTopic(key)), now);
    const ids = o.id === undefined ? undefined : [o.id];
    for (const m of found) {
      const pub = this.qosOf(m);
      const qos = pub < o.qos ? pub : o.qos;
      const topic = routingKeyToTopic(m.routingKey);
      if (qos > 0 && (this.retainedWaiting.length > 0 || this.outbound.size >= this.clientReceiveMaximum)) this.retainedWaiting.push({ topic, m, qos, ids });
      else this.sendPublish(topic, m, qos, true, false, -1, messageExpiresAt(m), now, ids);
    }
  }

  /** retained messages that waited for the Receive Maximum, while it has room (one that expired meanwhile is skipped) */
  private sendWaitingRetained(): void {
    const now = Date.now();
    let i = 0;
    for (; i < this.retainedWaiting.length && this.outbound.size < this.clientReceiveMaximum; i++) {
      const { topic, m, qos, ids } = this.retainedWaiting[i]!;
      const expiresAt = messageExpiresAt(m);
      if (expiresAt <= now) continue;
      this.sendPublish(topic, m, qos, true, false, -1, expiresAt, now, ids);
    }
    this.retainedWaiting.splice(0, i);
  }

  // ---- deliveries to the client (ConsumerSink) ------------------------------------

  deliver(d: Delivery): void {
    const m = d.message;
    const topic = routingKeyToTopic(m.routingKey);
    if (topic === '') {
      // an AMQP publish with an empty routing key reached a `#` binding: MQTT has no empty topic
      this.session!.ack(d.tag, false);
      return;
    }
    const shared = this.sharedSubs.size > 0 && d.queue ? this.sharedSubs.get(d.queue.name) : undefined;
    if (shared) return this.deliverShared(d, topic, shared.filter, shared.options);
    const copies = this.copies(this.filters, topic);
    const own = this.noLocalCount > 0 && publishedBy(m, this.clientId);
    let plan = copies;
    let ids: number[] | undefined;
    if (this.version === 5 && (own || this.subIdCount > 0)) {
      // subscription identifiers, and no-local: skip the filters that refuse our own messages
      // (neither in play, the usual case, costs an MQTT 5 delivery nothing more than a 3.1.1 one)
      const kept: number[] = [];
      for (const [filter, o] of this.subOptions) {
        if (!filterMatches(filter, topic)) continue;
        if (own && o.nl) continue;
        if (o.id !== undefined) (ids ??= []).push(o.id);
        kept.push(o.qos);
      }
      if (own) plan = kept.length === 0 ? [] : copies.length > 1 ? kept : [Math.max(...kept)];
    }
    if (plan.length === 0) {
      // bound by `#` or `+` but a `$` topic, which wildcards do not match [MQTT-4.7.2-1]; or no-local
      this.session!.ack(d.tag, false);
      return;
    }
    const pub = this.qosOf(m);
    let awaited = 0;
    for (const granted of plan) if ((pub < granted ? pub : granted) > 0) awaited++;
    // settled in the core once every copy that needs a PUBACK/PUBREC has one
    if (awaited === 0) this.session!.ack(d.tag, false);
    else if (awaited > 1) this.copiesLeft.set(d.tag, awaited);
    const retainFlag = publishedRetained(m) && this.retainAsPublished(topic);
    const now = d.entry.expiresAt === Infinity ? 0 : Date.now();
    for (const granted of plan) {
      const qos = pub < granted ? pub : granted;
      this.sendPublish(topic, m, qos, retainFlag, d.redelivered, qos > 0 ? d.tag : -2, d.entry.expiresAt, now, ids);
    }
  }

  /** a delivery from a shared subscription's queue: one copy, at that subscription's QoS */
  private deliverShared(d: Delivery, topic: string, filter: string, o: SubscriptionOptions): void {
    if (!filterMatches(filter, topic)) {
      this.session!.ack(d.tag, false);
      return;
    }
    const pub = this.qosOf(d.message);
    const qos = pub < o.qos ? pub : o.qos;
    if (qos === 0) this.session!.ack(d.tag, false);
    const retain = o.rap && publishedRetained(d.message);
    this.sendPublish(topic, d.message, qos, retain, d.redelivered, qos > 0 ? d.tag : -2, d.entry.expiresAt, Date.now(), o.id === undefined ? undefined : [o.id]);
  }

  private retainAsPublished(topic: string): boolean {
    if (this.version !== 5) return false;
    for (const [filter, o] of this.subOptions) if (o.rap && filterMatches(filter, topic)) return true;
    return false;
  }

  /**
   * Write one PUBLISH. `tag`: the core delivery a QoS>0 packet settles (-1 for none, a
   * retained message); -2 for QoS 0.
   */
  private sendPublish(topic: string, m: Message, qos: number, retain: boolean, dup: boolean, tag: number, expiresAt: number, now: number, ids: number[] | undefined): void {
    dup = qos > 0 && dup;
    let props: PublishProperties | undefined;
    if (this.version === 5) {
      props = deliveryProperties(m, expiresAt, now);
      if (ids) (props ??= {}).subscriptionIdentifier = ids.length === 1 ? ids[0]! : ids;
      if (props !== undefined || this.clientTopicAliasMaximum > 0 || this.clientMaxPacketSize < MAX_REMAINING_LENGTH + 5) {
        return this.sendPublishWithProperties(topic, m, qos, retain, dup, tag, props ?? {});
      }
    }
    const id = qos > 0 ? this.track(tag) : 0;
    if (!this.transport.writable) return;
    const t = topicBytes(topic);
    const body = m.body;
    const inline = body.length <= INLINE_PAYLOAD;
    const size = publishHeaderSize(t, body.length, qos, this.version) + (inline ? body.length : 0);
    const at = this.transport.reserve(size);
    writePublish(this.transport.batch, at, t, body, qos, retain, dup, id, this.version, inline);
    // a large payload goes out as it is, not copied
    if (!inline) this.transport.writeDirect(body);
  }

  /** an outgoing QoS 1/2 packet: its packet id, awaited until PUBACK / PUBCOMP */
  private track(tag: number): number {
    return this.outbound.take(tag);
  }

  /** an MQTT 5 PUBLISH with properties, a topic alias or a size the client limits: through mqtt-packet */
  private sendPublishWithProperties(topic: string, m: Message, qos: number, retain: boolean, dup: boolean, tag: number, props: PublishProperties): void {
    const packet: IPublishPacket = { cmd: 'publish', topic, payload: m.body, qos: qos as 0 | 1 | 2, retain, dup };
    if (Object.keys(props).length) packet.properties = props as IPublishPacket['properties'];
    // the client's maximum packet size: what it cannot take is dropped, as if delivered
    // [MQTT-3.1.2-25] (measured with the whole topic, before any alias shortens it)
    if (this.clientMaxPacketSize < MAX_REMAINING_LENGTH + 5) {
      packet.messageId = qos > 0 ? 1 : undefined;
      if (generate(packet, this.writeOpts).length > this.clientMaxPacketSize) {
        if (tag >= 0) this.settleDelivery(tag);
        return;
      }
    }
    if (this.clientTopicAliasMaximum > 0) {
      const alias = this.outboundAliases.get(topic);
      if (alias !== undefined) {
        packet.topic = '';
        props.topicAlias = alias;
      } else if (this.outboundAliases.size < this.clientTopicAliasMaximum) {
        const next = this.outboundAliases.size + 1;
        this.outboundAliases.set(topic, next);
        props.topicAlias = next;
      }
      if (props.topicAlias !== undefined) packet.properties = props as IPublishPacket['properties'];
    }
    if (qos > 0) packet.messageId = this.track(tag);
    this.write(packet);
  }

  /**
   * The core may hand this connection another delivery: the socket is not backed up, and
   * the client's Receive Maximum (MQTT 5) is one window for the whole connection, counting
   * QoS 2 deliveries until their PUBCOMP [MQTT-4.9.0-1] and those of every queue it consumes
   * (its session queue and each shared subscription's): the per-consumer prefetch alone let
   * the next QoS 2 PUBLISH out at PUBREC, and gave each shared subscription a window of its own.
   */
  isWritable(): boolean {
    return !this.transport.backedUp && this.outbound.size < this.clientReceiveMaximum;
  }

  cancelledByBroker(): void {
    // the session queue was deleted under us (management, a clean-session takeover)
    this.consumer = undefined;
  }

  /** PUBACK, or PUBCOMP of a QoS 2 delivery */
  private settleOutbound(id: number, complete: boolean): void {
    const state = this.outbound.state(id);
    if (state !== (complete ? RELEASED : AWAITING_ACK)) return;
    const tag = this.outbound.tag(id);
    this.dropOutbound(id, complete || tag < 0 || this.sharedSubs.size > 0);
    if (complete) this.saveQos2();
    else if (tag >= 0) this.settleDelivery(tag);
  }

  /**
   * An outgoing id is done with. If that opens the client's Receive Maximum window, the
   * queues this connection consumes deliver again: `resume` when nothing else will (a PUBCOMP,
   * a retained message's PUBACK, or other queues than the one a PUBACK's settle dispatches).
   */
  private dropOutbound(id: number, resume: boolean): void {
    const wasFull = this.outbound.size >= this.clientReceiveMaximum;
    this.outbound.drop(id);
    if (!wasFull || this.state !== 'open') return;
    // retained messages a SUBSCRIBE matched go first
    if (this.retainedWaiting.length > 0) this.sendWaitingRetained();
    if (resume) this.session?.resume();
  }

  /** PUBREL: the QoS 2 PUBLISH with this id is done; PUBCOMP (0x92 if we never had it) */
  private onPubrel(id: number): void {
    const known = this.incomingQos2.delete(id);
    if (known) this.saveQos2();
    // a QoS 2 PUBLISH counts against our receive maximum until its PUBCOMP [MQTT-4.9]
    if (known && this.version === 5) this.incomingInFlight--;
    this.writeAck(PUBCOMP, id, this.version === 5 && !known ? RC.PACKET_IDENTIFIER_NOT_FOUND : RC.SUCCESS);
  }

  /** PUBREC: the client holds the message now, so it leaves its queue; PUBREL follows */
  private onPubrec(id: number, reasonCode: number | undefined): void {
    if (this.outbound.state(id) !== AWAITING_ACK) {
      this.writeAck(PUBREL, id, this.version === 5 ? RC.PACKET_IDENTIFIER_NOT_FOUND : RC.SUCCESS);
      return;
    }
    const tag = this.outbound.tag(id);
    if (reasonCode !== undefined && reasonCode >= 0x80) {
      // MQTT 5: a PUBREC with an error ends the exchange there, and gives its quota back
      this.dropOutbound(id, true);
      if (tag >= 0) this.settleDelivery(tag);
      return;
    }
    // the quota stays taken until PUBCOMP: the id is released, not dropped
    if (tag >= 0) this.settleDelivery(tag);
    this.outbound.release(id);
    this.saveQos2();
    this.writeAck(PUBREL, id, RC.SUCCESS);
  }

  private settleDelivery(tag: number): void {
    const left = this.copiesLeft.get(tag);
    if (left !== undefined) {
      if (left > 1) {
        this.copiesLeft.set(tag, left - 1);
        return;
      }
      this.copiesLeft.delete(tag);
    }
    const s = this.session;
    if (s && this.state === 'open' && s.isOutstanding(tag)) s.ack(tag, false);
  }

  // ---- writing ------------------------------------------------------------------------

  /** a packet through mqtt-packet: small ones into the transport's batch, large payloads uncopied */
  private write(packet: Packet): void {
    if (!this.transport.writable) return;
    const payload = (packet as IPublishPacket).payload;
    if (payload !== undefined && payload.length > INLINE_PAYLOAD) {
      writeToStream(packet, this.transport.direct(), this.writeOpts);
    } else this.transport.write(generate(packet, this.writeOpts));
  }

  /** PUBACK / PUBREC / PUBREL / PUBCOMP without properties, straight into the batch */
  private writeAck(type: number, id: number, reasonCode: number): void {
    if (!this.transport.writable) return;
    const at = this.transport.reserve(reasonCode === 0 ? 4 : 5);
    writeAck(this.transport.batch, at, type, id, reasonCode);
  }

  private writeBytes(b: Buffer): void {
    if (this.transport.writable) this.transport.write(b);
  }

  // ---- the end --------------------------------------------------------------------

  private onDisconnect(reasonCode: number | undefined, sessionExpiry: number | undefined): void {
    if (this.version === 5 && sessionExpiry !== undefined) {
      // [MQTT-3.14.2-2]: a session that was to end at disconnect cannot be made to last now
      if (this.sessionExpiry === 0 && sessionExpiry > 0) return this.protocolFailure(RC.PROTOCOL_ERROR, 'session expiry interval set on DISCONNECT');
      this.sessionExpiry = sessionExpiry;
      const q = this.vhostModel!.getQueue(this.queueName);
      if (sessionExpiry === 0) this.persistent = false;
      else if (q && this.persistent) this.server.setSessionExpiry(this.vhostModel!, q, sessionExpiry, 5);
    }
    // MQTT 5 reason 0x04: disconnect, and publish the will all the same
    this.closeNow(this.version === 5 && reasonCode === RC.DISCONNECT_WITH_WILL);
  }

  /**
   * A protocol violation: MQTT 5 gets a DISCONNECT with the reason code first (§4.13);
   * 3.1 and 3.1.1 have no way to say why, so the connection just closes.
   */
  private protocolFailure(reasonCode: number, reason: string): void {
    if (this.state === 'closed') return;
    this.ctx.logger.debug('MQTT connection closed for a protocol error', { clientId: this.clientId || undefined, reasonCode, reason });
    if (this.state === 'open' && this.version === 5) {
      const packet: IDisconnectPacket = { cmd: 'disconnect', reasonCode };
      if (this.requestProblemInformation) packet.properties = { reasonString: reason };
      this.write(packet);
    }
    this.closeNow(true);
  }

  /** close the network connection; the will goes out when `publishWill` (not after a clean DISCONNECT) */
  closeNow(publishWill: boolean, takenOver = false): void {
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    clearTimeout(this.connectTimer);
    clearTimeout(this.keepAliveTimer);
    this.transport.end();
    // a peer that does not close its end within a moment is cut
    setTimeout(() => this.transport.destroy(), 1000).unref();
    if (!wasOpen) {
      this.closedResolve();
      return;
    }
    this.consumer = undefined;
    this.flow?.close();
    // unacked deliveries go back to the queue (redelivered with DUP next time)
    this.session?.close();
    // a durable group queue whose last member this was (no consumer, no persistent session) goes
    if (!this.persistent) for (const name of this.sharedSubs.keys()) this.server.releaseShared(this.vhostModel!, name);
    this.vhostModel!.ownerClosed(this);
    // a session that ends with the connection (MQTT 5 expiry 0) that had resumed a durable one
    const q = this.vhostModel!.getQueue(this.queueName);
    if (!this.persistent && q && !q.options.exclusive) this.vhostModel!.deleteQueue(this.queueName, false, false, null);
    const leftovers: SessionLeftovers | undefined = this.persistent
      ? { incomingQos2: this.incomingQos2, pendingPubrel: this.outbound.releasedIds() }
      : undefined;
    this.server.release(this, leftovers);
    this.ctx.connections.remove(this);
    this.ctx.logger.info('MQTT connection closed', { clientId: this.clientId, user: this.user, remote: this.remoteAddress, takenOver: takenOver || undefined });
    if (publishWill && this.will) this.server.publishWill(this, this.will, this.persistent ? this.sessionExpiry : 0);
    else if (this.will && this.durable) this.server.sessions.update(this.vhostModel!.name, this.clientId, { will: undefined });
    // a session that ends here leaves nothing behind (a will waiting for its delay aside)
    if (!this.persistent && !takenOver) this.server.sessions.update(this.vhostModel!.name, this.clientId, { shared: undefined, incomingQos2: undefined, pendingPubrel: undefined });
    this.closedResolve();
  }

  /** another connection claimed this client id: MQTT 5 hears why */
  takenOver(): void {
    if (this.state !== 'open') return;
    if (this.version === 5) this.write({ cmd: 'disconnect', reasonCode: RC.SESSION_TAKEN_OVER });
    this.closeNow(true, true);
  }

  shutdown(_reason: string): Promise<void> {
    if (this.state === 'open' && this.version === 5) this.write({ cmd: 'disconnect', reasonCode: RC.SERVER_SHUTTING_DOWN });
    // MQTT 3.1.1 has no server-side goodbye: closing the network connection is it
    this.closeNow(false);
    return this.closedPromise;
  }
}

/**
 * MQTT 5's SUBACK code for a subscription the core refused (rabbit_mqtt_processor
 * subscribe_result_to_reason_codes): the vhost's queue limit is quota exceeded (0x97),
 * anything else unspecified (0x80).
 */
function subscribeFailure(err: BrokerError): number {
  return err instanceof QueueLimitExceeded ? RC.QUOTA_EXCEEDED : RC.UNSPECIFIED_ERROR;
}

/**
 * A property other than User Property (and Subscription Identifier, which SUBSCRIBE may not
 * repeat but PUBLISH to a client may) that came more than once: a Protocol Error, 0x82
 * (MQTT 5, 2.2.2.2). mqtt-packet hands a repeated property over as an array, which the
 * adapter must never take for the value (a Response Topic array failed as an internal error).
 */
function repeatedProperty(p: Packet): string | undefined {
  const props = (p as { properties?: Record<string, unknown> }).properties;
  if (props === undefined) return undefined;
  for (const k in props) if (k !== 'userProperties' && k !== 'subscriptionIdentifier' && Array.isArray(props[k])) return k;
  return undefined;
}
