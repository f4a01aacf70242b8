import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';
import { MAX_REMAINING_LENGTH } from './packet-size.js';

/**
 * MQTT over WebSocket (RabbitMQ's web-mqtt: one path, binary frames): an HTTP server, fed
 * connections by a plain or TLS listener, whose upgrades on `path` become MQTT streams.
 * A null path takes any (ActiveMQ's WSS port takes MQTT on whatever path the client names).
 */
export function mqttWebSocketServer(onStream: (stream: Duplex, req: http.IncomingMessage) => void, path: string | null = '/ws', maxPayload = MAX_REMAINING_LENGTH + 5): http.Server {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
  });
  // a WebSocket message is buffered whole before the MQTT framer sees it: one larger than the
  // largest packet is refused by ws as it arrives (close 1009), not gathered first
  const wss = new WebSocketServer(path === null ? { server, maxPayload } : { server, path, maxPayload });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    // a peer vanishing mid-frame surfaces on the stream; the connection sees the close
    stream.on('error', () => undefined);
    onStream(stream, req);
  });
  return server;
}
