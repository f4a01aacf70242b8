import http from 'node:http';
import type { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer } from 'ws';

/**
 * MQTT over WebSocket (RabbitMQ's web-mqtt: one path, binary frames): an HTTP server
 * factory for `listenOnHosts` whose upgrades on `path` become MQTT streams.
 */
export function mqttWebSocketServers(onStream: (stream: Duplex, req: http.IncomingMessage) => void, path: string | null = '/ws') {
  const servers = new Set<http.Server>();
  const create = (): http.Server => {
    const server = http.createServer((_req, res) => {
      res.writeHead(426, { 'content-type': 'text/plain' }).end('MQTT over WebSocket: upgrade required\n');
    });
    // no path: any (ActiveMQ's WSS port takes MQTT on whatever path the client names)
    const wss = new WebSocketServer(path === null ? { server } : { server, path });
    wss.on('connection', (ws, req) => {
      const stream = createWebSocketStream(ws);
      // a peer vanishing mid-frame surfaces on the stream; aedes sees the close
      stream.on('error', () => undefined);
      onStream(stream, req);
    });
    server.once('close', () => servers.delete(server));
    servers.add(server);
    return server;
  };
  return {
    create,
    /** drop idle HTTP connections so the servers can close */
    dropConnections: () => {
      for (const s of servers) s.closeAllConnections();
    },
  };
}
