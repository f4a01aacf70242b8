import http from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { ProtocolContext } from '../context.js';
import { StompConnection } from './connection.js';
import { WebSocketTransport } from './transport.js';

/** RabbitMQ web-stomp's subprotocols, best first: the client's highest wins */
const SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp'];

/** room over the largest body for headers, so an over-size frame meets the STOMP error, not a WS close */
const FRAME_HEADROOM = 1024 * 1024;

export interface StompWebSocketOptions {
  /** URL path clients connect to; RabbitMQ's is /ws; null accepts any path (ActiveMQ's WSS) */
  path?: string | null;
}

/**
 * An HTTP server (fed connections by a plain or TLS listener) that upgrades requests on
 * `path` to STOMP-over-WebSocket connections and answers anything else with 404 (plain
 * GET: 426, as web-stomp only speaks WebSocket).
 */
export function stompWebSocketServer(ctx: ProtocolContext, options: StompWebSocketOptions = {}): http.Server {
  const path = options.path === undefined ? '/ws' : options.path;
  const onPath = (req: http.IncomingMessage) => path === null || pathOf(req) === path;
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: ctx.broker.limits.settings.maxMessageSize + FRAME_HEADROOM,
    // STOMP frames are small and often binary: compression costs more than it saves
    perMessageDeflate: false,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const server = http.createServer((req, res) => {
    res.writeHead(onPath(req) ? 426 : 404, { 'content-type': 'text/plain', connection: 'close' });
    res.end(onPath(req) ? 'STOMP over WebSocket: upgrade required\n' : 'Not found\n');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    if (!onPath(req)) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.setNoDelay(true);
      new StompConnection(new WebSocketTransport(ws, socket, socket.remoteAddress), ctx);
    });
  });
  return server;
}

function pathOf(req: http.IncomingMessage): string {
  const url = req.url ?? '/';
  const q = url.indexOf('?');
  return q < 0 ? url : url.slice(0, q);
}
