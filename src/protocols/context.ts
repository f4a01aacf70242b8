import type { AccessControl } from '../core/access.js';
import type { FieldTable } from '../core/fields.js';
import type { Broker } from '../core/broker.js';
import type { FlowState } from '../core/alarm.js';
import type { Logger } from '../server/logger.js';

export type { AccessControl, AuthenticatedUser, AuthOutcome, Permission } from '../core/access.js';

/** one channel of a connection, as the management API lists it */
export interface ChannelInfo {
  number: number;
  confirm: boolean;
  transactional: boolean;
  prefetchCount: number;
  globalPrefetchCount: number;
  consumerCount: number;
  unacked: number;
  pendingConfirms: number;
  /** false while paused by channel.flow */
  active: boolean;
  /** the journal's credit flow holds this channel's publishing, or did so within the last second (core/channel-flow.ts) */
  inFlow?: boolean;
  /** the channel has published (a publisher in RabbitMQ's global counters) */
  publishing?: boolean;
}

/** the socket facts the management API shows (RabbitMQ names connections by both ends) */
export interface ConnectionSocketInfo {
  readonly remoteAddress?: string;
  readonly remotePort?: number;
  readonly localAddress?: string;
  readonly localPort?: number;
  readonly bytesRead: number;
  readonly bytesWritten: number;
}

/** A live client connection of any protocol, as the server and the test API see it. */
export interface ClientConnection {
  readonly id: string;
  readonly protocol: 'amqp' | 'amqp10' | 'stomp' | 'mqtt' | 'openwire';
  readonly remoteAddress: string | undefined;
  /** the client's port, for the log's `peer` (address:port) */
  readonly remotePort?: number;
  readonly user: string | undefined;
  readonly vhost: string | undefined;
  readonly connectedAt: number;
  /** the transport, where the adapter exposes it (names the connection as RabbitMQ does) */
  readonly socket?: ConnectionSocketInfo;
  /** what the client said about itself (AMQP client properties), where the protocol has it */
  readonly clientProperties?: FieldTable;
  /** what the handshake settled (AMQP's tune): shown by the management API */
  readonly negotiated?: { channelMax: number; frameMax: number; heartbeat: number };
  /** its back-pressure, once open: the state the management API shows (running, flow, blocking, blocked) */
  readonly flow?: { state(): FlowState } | undefined;
  /** the connection's channels, for protocols that have them (AMQP 0-9-1) */
  channelInfo?(): ChannelInfo[];
  /** close with the protocol's own "server shutting down" (AMQP 320 CONNECTION_FORCED) */
  shutdown(reason: string): Promise<void>;
}

/** which connection limit refused a client: the node-wide one, or its protocol's own */
export interface ConnectionRefusal {
  limit: 'node' | 'protocol' | 'vhost' | 'user';
  max: number;
  /** RabbitMQ's text for the vhost and user limits (rabbit_reader) */
  reason?: string;
}

export interface ConnectionRegistry {
  /** false when a connection limit is reached (refusal() says which) */
  add(c: ClientConnection): boolean;
  remove(c: ClientConnection): void;
  /** given the connection, its vhost's and user's limits count too */
  refusal(protocol: ClientConnection['protocol'], c?: Pick<ClientConnection, 'vhost' | 'user'>): ConnectionRefusal | null;
}

/**
 * Whose destination semantics the STOMP and MQTT adapters follow: RabbitMQ's plugins
 * (`/queue/x`, `/topic/x`, `/exchange/e/k` …) or ActiveMQ 5.x's (`.`-separated names with
 * `*` and `>` wildcards on queues and topics, NACK to ActiveMQ.DLQ). The `activemq` engine
 * profile selects the latter.
 */
export type Dialect = 'rabbitmq' | 'activemq';

/** Everything a protocol adapter needs from the server that hosts it. */
export interface ProtocolContext {
  readonly broker: Broker;
  readonly dialect: Dialect;
  readonly access: AccessControl;
  readonly logger: Logger;
  readonly connections: ConnectionRegistry;
  readonly product: { name: string; version: string; platform: string };
}

/** `address:port` of a client, as RabbitMQ's log names a peer */
export function peerOf(socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }): string | undefined {
  if (socket.remoteAddress === undefined) return undefined;
  const host = socket.remoteAddress.includes(':') ? `[${socket.remoteAddress}]` : socket.remoteAddress;
  return socket.remotePort === undefined ? host : `${host}:${socket.remotePort}`;
}
