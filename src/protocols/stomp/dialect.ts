import type { Access } from '../../core/access.js';
import type { Message } from '../../core/message.js';
import type { ProtocolContext } from '../context.js';
import type { StompCodecLimits, StompFrame, StompHeader, StompSerializeOptions, StompVersion } from './codec/index.js';
import type { EndpointContext } from './endpoints.js';
import type { StompError } from './errors.js';
import type { StompSubscription } from './subscription.js';

/** a subscription as the connection holds it, whichever dialect made it */
export interface StompSubscriptionLike {
  readonly tag: string;
  readonly id: string | undefined;
  readonly description: string;
  /** the queue consumed (a wildcard subscription: its pattern) */
  readonly queue: string;
  /** a server-named queue of this subscription alone */
  readonly ownsQueue: boolean;
  ack(deliveryTag: number): void;
  nack(deliveryTag: number, requeue: boolean): void;
  close(): void;
  resume(): void;
}

/** what a dialect reaches in its connection */
export interface DialectConnection extends EndpointContext {
  readonly ctx: ProtocolContext;
  readonly version: StompVersion;
  readonly sessionId: string;
  readonly writable: boolean;
  readonly userName: string;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** the logged-in user's permissions (set once CONNECT succeeded) */
  readonly access: Access | undefined;
  readonly subscriptions: Map<string, StompSubscriptionLike>;
  /** queues this connection declared already (so a stream of SENDs does not redeclare) */
  readonly declaredQueues: Set<string>;
  sendFrame(command: string, headers: StompHeader[], body?: Buffer, options?: StompSerializeOptions): void;
  /** a RabbitMQ-dialect subscription's delivery (SubscriptionHost) */
  sendMessage(sub: StompSubscription, headers: StompHeader[], body: Buffer): void;
  subscriptionCancelledByBroker(sub: StompSubscriptionLike): void;
  /** a refusal outside any frame (RabbitMQ: the plugin's channel died): ERROR, then as the dialect says */
  failed(err: unknown): void;
  /** RabbitMQ's `/temp-queue/` reply-to rewriting */
  replyToFor(header: string | undefined): string | undefined;
  /** is transaction `id` open on this connection */
  hasTransaction(id: string): boolean;
}

export interface ConnectedReply {
  sessionId: string;
  headers: StompHeader[];
  sendMs: number;
  receiveMs: number;
}

export interface SubscribeRequest {
  frame: StompFrame;
  destination: string;
  id: string | undefined;
  /** the subscription's key among the connection's (its id, or the destination without one) */
  tag: string;
}

/**
 * Whose semantics the frames follow: RabbitMQ's STOMP plugin or ActiveMQ 5.x. The
 * connection keeps the protocol (CONNECT, receipts, transactions, heart-beats, flow
 * control) and asks its dialect at each point where the two brokers differ.
 */
export interface StompDialect {
  /**
   * an ACK's (NACK's) receipt waits until the store has what it settled (ActiveMQ 5.17: killed -9 right
   * after such a receipt it kept the acks, measured; the store writes acks lazily otherwise)
   */
  readonly ackReceiptsWhenStored: boolean;
  /**
   * every receipt in frame order, also behind one waiting for the store: ActiveMQ 5.17 (ACK a1 then
   * UNSUBSCRIBE u1: `a1 u1`; persistent SEND s1 then BEGIN b1: `s1 b1`); RabbitMQ 3.10.8 answers the
   * BEGIN first (`b1 s1`), review-s15-2 F6/F7
   */
  readonly receiptsInFrameOrder: boolean;
  /**
   * a SEND's receipt (a publisher confirm) and the MESSAGEs a read sets off go out after every other answer to
   * that read, deliveries first; a read that ends the connection (DISCONNECT, a closing refusal) sends neither
   * (RabbitMQ: its reader handles a read's frames before the channel's confirms and the queues' deliveries reach
   * it; 3.10.8 asked, /tmp/s19-fidelity/read-receipts.mjs)
   */
  readonly answersAfterRead?: boolean;
  /** how this broker's parser differs from LocalMQ's own (absent: the codec's defaults) */
  readonly codec?: { limits?: Partial<StompCodecLimits>; nulInCommand?: boolean };
  /** a BEGIN of a transaction id already open is refused, the open one kept (ActiveMQ); else it starts afresh (RabbitMQ) */
  readonly refusesSecondBegin?: boolean;
  /** CONNECTED after a successful login (throws a refusal of the CONNECT: ActiveMQ, a client-id in use) */
  connected(version: StompVersion, heartbeatHeader: string | undefined, clientIdHeader: string | undefined): ConnectedReply;
  /** a SEND, resolved to where it is published and as what (declaring what must exist) */
  prepareSend(frame: StompFrame, destination: string): { exchange: string; key: string; message: Message };
  /**
   * a SUBSCRIBE: the subscription, consuming already. The dialect checks the ack mode and the id (an id in use,
   * one naming a temp queue) itself, at its broker's point in the frame's handling
   */
  subscribe(req: SubscribeRequest): StompSubscriptionLike;
  /** an UNSUBSCRIBE the dialect answers itself (ActiveMQ: one removing a durable subscription): true when it did */
  unsubscribe?(frame: StompFrame): boolean;
  /**
   * an ACK or NACK frame: which subscription's delivery it settles; undefined: none, answered as if it
   * did (ActiveMQ: an ack id a closed subscription left unacknowledged)
   */
  resolveAck(frame: StompFrame, command: 'ACK' | 'NACK'): { sub: StompSubscriptionLike; deliveryTag: number; requeue: boolean } | undefined;
  /** the ERROR frame for a refusal */
  errorFrame(e: StompError, receipt: string | undefined): { headers: StompHeader[]; body: Buffer; options?: StompSerializeOptions };
  /** does this refusal end the connection? (RabbitMQ: a broker refusal, not its own frame checks; ActiveMQ: only some) */
  closesAfter(err: unknown, command: string | undefined): boolean;
  /** a transaction's SEND as it is published at COMMIT: what RabbitMQ's channel refuses only then (throws) */
  checkAtCommit?(exchange: string, message: Message): void;
  /** a refusal that ends the connection without any frame (RabbitMQ: its parser failing, a second CONNECT) */
  closesSilently?(err: unknown, command: string | undefined): boolean;
  /** a refused frame that ends the connection still gets its receipt, after the ERROR (RabbitMQ) */
  receiptAfterClosingError?(command: string): boolean;
  /** the connection is gone or going (DISCONNECT, a fatal refusal): may come more than once */
  closed(): void;
}
