import type http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { AmqpTuning } from '../protocols/amqp/connection.js';
import type { Amqp10Tuning } from '../protocols/amqp10/connection.js';
import type { ProtocolContext } from '../protocols/context.js';
import type { MqttServer } from '../protocols/mqtt/server.js';
import type { OpenWireOptions } from '../protocols/openwire/connection.js';
import { isTlsListener } from './endpoints.js';
import { listenOnHosts, type Listener } from './listen.js';
import type { ListenerKey } from './profiles.js';
import type { TlsTerminator } from './tls/terminator.js';

/** What the listeners hand their connections to. */
export interface ListenerServices {
  ctx: ProtocolContext;
  hosts: string[];
  /** what the options change of the AMQP defaults (the adapter holds the defaults: it loads on first use) */
  amqpTuning: Partial<AmqpTuning>;
  amqp10Tuning: Partial<Amqp10Tuning>;
  /** every accepted socket, so stop() can cut what the protocols did not close */
  track(socket: net.Socket): void;
  /** started on first use: the MQTT listeners share one MqttServer (client ids, wills) */
  mqtt(): Promise<MqttServer>;
  /** the management/console HTTP handler (its modules load on the first request) */
  http(): Promise<(req: http.IncomingMessage, res: http.ServerResponse) => void>;
  /** TLS for the TLS listeners; created (node:tls loaded) on first use */
  tls(): Promise<TlsTerminator>;
  /** the Amazon MQ API's HTTP handler */
  api(): Promise<(req: http.IncomingMessage, res: http.ServerResponse) => void>;
  /** OpenWire settings (the engine version its clients see) */
  openwire?: OpenWireOptions;
}

export interface OpenListener extends Listener {
  key: ListenerKey;
}

/** WebSocket subprotocols by protocol, for ActiveMQ's one WSS port */
const STOMP_SUBPROTOCOLS = ['v12.stomp', 'v11.stomp', 'v10.stomp', 'stomp'];
const MQTT_SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

/**
 * Open one listener. Plain ones accept TCP; TLS ones accept TCP and hand on the socket
 * after the handshake; HTTP-based ones (WebSocket, management) feed an http.Server that
 * never listens itself, so the same server serves plain and TLS ports.
 *
 * A protocol's code (and its libraries: ws, mqtt-packet) loads on the listener's first
 * connection, so an idle broker holds none of it in memory (issue 18: idle RSS).
 */
export async function openListener(key: ListenerKey, port: number, s: ListenerServices): Promise<OpenListener> {
  const secure = isTlsListener(key);
  // the HTTP server never listens, so it does not track these sockets: stop() destroys them
  const httpVia = (server: http.Server) => (socket: Duplex) => server.emit('connection', socket);
  const onSocket = lazySocketHandler(s, async (): Promise<(socket: Duplex) => void> => {
    switch (key) {
      case 'amqp':
      case 'amqps': {
        const [{ AmqpConnection, DEFAULT_TUNING }, { sniffAmqpVersion }, { acceptAmqp10Socket }, { DEFAULT_AMQP10_TUNING }] = await Promise.all([
          import('../protocols/amqp/connection.js'),
          import('../protocols/amqp/protocol-header.js'),
          import('../protocols/amqp10/index.js'),
          import('../protocols/amqp10/connection.js'),
        ]);
        const amqpTuning = { ...DEFAULT_TUNING, ...s.amqpTuning };
        const amqp10Tuning = { ...DEFAULT_AMQP10_TUNING, ...s.amqp10Tuning };
        // AMQP 0-9-1 or AMQP 1.0 on one port, by the protocol header (RabbitMQ 4)
        return (socket) =>
          sniffAmqpVersion(socket as net.Socket, (version) => {
            if (version === '1.0') acceptAmqp10Socket(socket as net.Socket, s.ctx, amqp10Tuning);
            else new AmqpConnection(socket as net.Socket, s.ctx, amqpTuning);
          }, s.ctx.broker.limits.settings.handshakeTimeoutMs);
      }
      case 'amqp10':
      case 'amqp10s': {
        const [{ acceptAmqp10Socket }, { DEFAULT_AMQP10_TUNING }] = await Promise.all([
          import('../protocols/amqp10/index.js'),
          import('../protocols/amqp10/connection.js'),
        ]);
        const tuning = { ...DEFAULT_AMQP10_TUNING, ...s.amqp10Tuning };
        return (socket) => acceptAmqp10Socket(socket as net.Socket, s.ctx, tuning);
      }
      case 'stomp':
      case 'stomps': {
        const { acceptStompSocket } = await import('../protocols/stomp/index.js');
        return (socket) => acceptStompSocket(socket as net.Socket, s.ctx);
      }
      case 'mqtt':
      case 'mqtts': {
        const mqtt = await s.mqtt();
        return (socket) => mqtt.handle(socket as net.Socket);
      }
      case 'openwire':
      case 'openwireSsl': {
        const { OpenWireConnection } = await import('../protocols/openwire/connection.js');
        return (socket) => new OpenWireConnection(socket as net.Socket, s.ctx, s.openwire);
      }
      case 'stompWs': {
        const { stompWebSocketServer } = await import('../protocols/stomp/websocket.js');
        return httpVia(stompWebSocketServer(s.ctx));
      }
      case 'mqttWs': {
        const [{ mqttWebSocketServer }, { maxPacketSize }, mqtt] = await Promise.all([
          import('../protocols/mqtt/websocket.js'),
          import('../protocols/mqtt/packet-size.js'),
          s.mqtt(),
        ]);
        return httpVia(mqttWebSocketServer((stream, req) => mqtt.handle(stream, req), '/ws', maxPacketSize(s.ctx.broker.limits.settings.maxMessageSize) + 5));
      }
      case 'wss':
        return httpVia(await stompAndMqttBySubprotocol(s));
      case 'http':
      case 'https':
      case 'console': {
        const [{ createServer }, handler] = await Promise.all([import('node:http'), s.http()]);
        const server = createServer(handler);
        server.keepAliveTimeout = 5_000;
        return httpVia(server);
      }
      case 'api': {
        const [{ createServer }, handler] = await Promise.all([import('node:http'), s.api()]);
        const server = createServer(handler);
        server.keepAliveTimeout = 5_000;
        return httpVia(server);
      }
    }
  });
  let terminator: TlsTerminator | undefined;
  const handle = secure
    ? (socket: net.Socket) => {
        s.track(socket);
        if (terminator) return terminator.accept(socket, onSocket);
        // the first TLS connection loads node:tls: the socket waits unread meanwhile
        const swallow = (): void => undefined;
        socket.on('error', swallow);
        s.tls().then(
          (t) => {
            terminator = t;
            socket.off('error', swallow);
            if (!socket.destroyed) t.accept(socket, onSocket);
          },
          (err: unknown) => {
            s.ctx.logger.error(`a TLS listener could not load: ${(err as Error).message}`);
            socket.destroy();
          },
        );
      }
    : (socket: net.Socket) => {
        s.track(socket);
        onSocket(socket);
      };
  const l = await listenOnHosts(s.hosts, port, handle);
  return { ...l, key };
}

/**
 * A socket handler made on the first connection. Sockets that come while it loads wait:
 * what they send stays in their buffer (nothing reads it yet), an error or a close in
 * the meantime is swallowed, and a socket already gone is not handed on.
 */
function lazySocketHandler(s: ListenerServices, make: () => Promise<(socket: Duplex) => void>): (socket: Duplex) => void {
  let handler: ((socket: Duplex) => void) | undefined;
  let loading: Promise<(socket: Duplex) => void> | undefined;
  return (socket) => {
    if (handler) return handler(socket);
    const swallow = (): void => undefined;
    socket.on('error', swallow);
    loading ??= make().then((h) => (handler = h));
    loading.then(
      (h) => {
        socket.off('error', swallow);
        if (!socket.destroyed) h(socket);
      },
      (err: unknown) => {
        s.ctx.logger.error(`a listener could not load its protocol: ${(err as Error).message}`);
        socket.destroy();
      },
    );
  };
}

/**
 * ActiveMQ serves STOMP and MQTT over WebSocket on one port and tells them apart by the
 * subprotocol the client asks for.
 */
async function stompAndMqttBySubprotocol(s: ListenerServices): Promise<http.Server> {
  const [{ stompWebSocketServer }, { mqttWebSocketServer }, { maxPacketSize }, mqtt, { createServer }] = await Promise.all([
    import('../protocols/stomp/websocket.js'),
    import('../protocols/mqtt/websocket.js'),
    import('../protocols/mqtt/packet-size.js'),
    s.mqtt(),
    import('node:http'),
  ]);
  const stomp = stompWebSocketServer(s.ctx, { path: null });
  const mqttServer = mqttWebSocketServer((stream, req) => mqtt.handle(stream, req), null, maxPacketSize(s.ctx.broker.limits.settings.maxMessageSize) + 5);
  const server = createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain' }).end('STOMP or MQTT over WebSocket: upgrade required\n');
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const offered = String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim().toLowerCase());
    if (offered.some((p) => MQTT_SUBPROTOCOLS.includes(p))) mqttServer.emit('upgrade', req, socket, head);
    else if (offered.some((p) => STOMP_SUBPROTOCOLS.includes(p)) || offered[0] === '') stomp.emit('upgrade', req, socket, head);
    else socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  return server;
}
