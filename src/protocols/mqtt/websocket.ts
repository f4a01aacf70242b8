import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

/**
 * MQTT over WebSocket (RabbitMQ's web-mqtt: one path, binary frames): an HTTP server, fed
 * connections by a plain or TLS listener, whose upgrades on `path` become MQTT streams.
 * A null path takes any (ActiveMQ's WSS port takes MQTT on whatever path the client names).
 */
export function mqttWebSocketServer(onStream: (stream: Duplex, req: http.IncomingMessage) => void, path: string | null = '/ws'): http.Server {
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
  });
  const wss = new WebSocketServer(path === null ? { server } : { server, path });
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    // a peer vanishing mid-frame surfaces on the stream; the connection sees the close
    stream.on('error', () => undefined);
    onStream(stream, req);
  });
  return server;
}
