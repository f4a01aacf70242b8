import type { Socket } from 'node:net';
import type { ProtocolContext } from '../context.js';
import { StompConnection } from './connection.js';
import { TcpTransport } from './transport.js';

export { StompConnection, negotiateVersion } from './connection.js';
export { stompWebSocketServer, type StompWebSocketOptions } from './websocket.js';
export { TcpTransport, WebSocketTransport, type StompTransport } from './transport.js';
export { parseDestination, formatDestination, type Destination } from './destination.js';

/** serve one STOMP client on an accepted TCP socket */
export function acceptStompSocket(socket: Socket, ctx: ProtocolContext): StompConnection {
  return new StompConnection(new TcpTransport(socket), ctx);
}
