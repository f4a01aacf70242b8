import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { AmqpConnection, type AmqpTuning } from '../protocols/amqp/connection.js';
import { sniffAmqpVersion } from '../protocols/amqp/protocol-header.js';
import { acceptAmqp10Socket, type Amqp10Tuning } from '../protocols/amqp10/index.js';
import type { ProtocolContext } from '../protocols/context.js';
import type { MqttServer } from '../protocols/mqtt/server.js';
import { mqttWebSocketServer } from '../protocols/mqtt/websocket.js';
import { maxPacketSize } from '../protocols/mqtt/packet-size.js';
import { acceptStompSocket, stompWebSocketServer } from '../protocols/stomp/index.js';
import { OpenWireConnection, type OpenWireOptions } from '../protocols/openwire/connection.js';
import { isTlsListener } from './endpoints.js';
import { listenOnHosts, type Listener } from './listen.js';
import type { ListenerKey } from './profiles.js';
import type { TlsTerminator } from './tls/terminator.js';

/** What the listeners hand their connections to. */
export interface ListenerServices {
  ctx: ProtocolContext;
  hosts: string[];
  amqpTuning: AmqpTuning;
  amqp10Tuning: Amqp10Tuning;
  /** every accepted socket, so stop() can cut what the protocols did not close */
  track(socket: net.Socket): void;
  /** started on first use: the MQTT listeners share one MqttServer (client ids, wills) */
  mqtt(): Promise<MqttServer>;
  /** the management/console HTTP handler */
  http(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** TLS for the TLS listeners; created on first use */
  tls(): TlsTerminator;
  /** the Amazon MQ API's HTTP handler */
  api(): (req: http.IncomingMessage, res: http.ServerResponse) => void;
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
 */
export async function openListener(key: ListenerKey, port: number, s: ListenerServices): Promise<OpenListener> {
  const secure = isTlsListener(key);
  let onSocket: (socket: net.Socket) => void;
  // the HTTP server never listens, so it does not track these sockets: stop() destroys them
  const httpVia = (server: http.Server) => (socket: Duplex) => server.emit('connection', socket);
  switch (key) {
    case 'amqp':
    case 'amqps':
      // AMQP 0-9-1 or AMQP 1.0 on one port, by the protocol header (RabbitMQ 4)
      onSocket = (socket) =>
        sniffAmqpVersion(socket, (version) => {
          if (version === '1.0') acceptAmqp10Socket(socket, s.ctx, s.amqp10Tuning);
          else new AmqpConnection(socket, s.ctx, s.amqpTuning);
        }, s.ctx.broker.limits.settings.handshakeTimeoutMs);
      break;
    case 'amqp10':
    case 'amqp10s':
      onSocket = (socket) => acceptAmqp10Socket(socket, s.ctx, s.amqp10Tuning);
      break;
    case 'stomp':
    case 'stomps':
      onSocket = (socket) => acceptStompSocket(socket, s.ctx);
      break;
    case 'mqtt':
    case 'mqtts': {
      const mqtt = await s.mqtt();
      onSocket = (socket) => mqtt.handle(socket);
      break;
    }
    case 'openwire':
    case 'openwireSsl':
      onSocket = (socket) => new OpenWireConnection(socket, s.ctx, s.openwire);
      break;
    case 'stompWs':
      onSocket = httpVia(stompWebSocketServer(s.ctx));
      break;
    case 'mqttWs': {
      const mqtt = await s.mqtt();
      onSocket = httpVia(mqttWebSocketServer((stream, req) => mqtt.handle(stream, req), '/ws', maxPacketSize(s.ctx.broker.limits.settings.maxMessageSize) + 5));
      break;
    }
    case 'wss':
      onSocket = httpVia(await stompAndMqttBySubprotocol(s));
      break;
    case 'http':
    case 'https':
    case 'console': {
      const server = http.createServer(s.http());
      server.keepAliveTimeout = 5_000;
      onSocket = httpVia(server);
      break;
    }
    case 'api': {
      const server = http.createServer(s.api());
      server.keepAliveTimeout = 5_000;
      onSocket = httpVia(server);
      break;
    }
  }
  const handle = secure
    ? (socket: net.Socket) => {
        s.track(socket);
        s.tls().accept(socket, onSocket);
      }
    : (socket: net.Socket) => {
        s.track(socket);
        onSocket(socket);
      };
  const l = await listenOnHosts(s.hosts, port, handle);
  return { ...l, key };
}

/**
 * ActiveMQ serves STOMP and MQTT over WebSocket on one port and tells them apart by the
 * subprotocol the client asks for.
 */
async function stompAndMqttBySubprotocol(s: ListenerServices): Promise<http.Server> {
  const stomp = stompWebSocketServer(s.ctx, { path: null });
  const mqtt = await s.mqtt();
  const mqttServer = mqttWebSocketServer((stream, req) => mqtt.handle(stream, req), null, maxPacketSize(s.ctx.broker.limits.settings.maxMessageSize) + 5);
  const server = http.createServer((_req, res) => {
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
