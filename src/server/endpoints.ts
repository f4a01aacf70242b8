import { randomUUID } from 'node:crypto';
import type { Engine } from './options.js';
import { NOT_YET_AVAILABLE, type ListenerKey } from './profiles.js';

export interface Endpoint {
  key: ListenerKey;
  /** what the Amazon MQ console calls it */
  name: string;
  url: string;
  port: number;
  tls: boolean;
  /** the same endpoint at the Amazon-style host name, as the Amazon MQ console shows it */
  amazonUrl?: string;
}

export interface UnavailableEndpoint {
  name: string;
  url: string;
  reason: string;
}

/** How each listener is named and addressed, in Amazon MQ's URL forms. */
const FORMS: Record<ListenerKey, { name: string; scheme: string; path?: string; tls: boolean }> = {
  amqp: { name: 'AMQP', scheme: 'amqp', tls: false },
  amqps: { name: 'AMQP (TLS)', scheme: 'amqps', tls: true },
  amqp10: { name: 'AMQP', scheme: 'amqp', tls: false },
  amqp10s: { name: 'AMQP (TLS)', scheme: 'amqp+ssl', tls: true },
  stomp: { name: 'STOMP', scheme: 'stomp', tls: false },
  stomps: { name: 'STOMP (TLS)', scheme: 'stomp+ssl', tls: true },
  stompWs: { name: 'STOMP over WebSocket', scheme: 'ws', path: '/ws', tls: false },
  mqtt: { name: 'MQTT', scheme: 'mqtt', tls: false },
  mqtts: { name: 'MQTT (TLS)', scheme: 'mqtt+ssl', tls: true },
  mqttWs: { name: 'MQTT over WebSocket', scheme: 'ws', path: '/ws', tls: false },
  wss: { name: 'WSS (STOMP and MQTT)', scheme: 'wss', tls: true },
  http: { name: 'Management console and API', scheme: 'http', tls: false },
  https: { name: 'Management console and API (TLS)', scheme: 'https', tls: true },
  console: { name: 'ActiveMQ web console', scheme: 'https', tls: true },
  api: { name: 'Amazon MQ API (aws mq --endpoint-url)', scheme: 'http', tls: false },
  openwire: { name: 'OpenWire', scheme: 'tcp', tls: false },
  openwireSsl: { name: 'OpenWire (TLS)', scheme: 'ssl', tls: true },
};

const ORDER: ListenerKey[] = ['openwire', 'openwireSsl', 'amqp', 'amqps', 'amqp10', 'amqp10s', 'stomp', 'stomps', 'stompWs', 'mqtt', 'mqtts', 'mqttWs', 'wss', 'http', 'https', 'console', 'api'];

/** The broker's endpoints, in the order the Amazon MQ console lists them. */
export function endpointTable(
  host: string,
  ports: Partial<Record<ListenerKey, number>>,
  amazonHosts: Partial<Record<ListenerKey, string>> = {},
): Endpoint[] {
  const bracket = (h: string) => (h.includes(':') && !h.startsWith('[') ? `[${h}]` : h);
  const out: Endpoint[] = [];
  for (const key of ORDER) {
    const port = ports[key];
    if (port === undefined) continue;
    const f = FORMS[key];
    const e: Endpoint = { key, name: f.name, url: `${f.scheme}://${bracket(host)}:${port}${f.path ?? ''}`, port, tls: f.tls };
    const amazon = amazonHosts[key];
    if (amazon) e.amazonUrl = `${f.scheme}://${amazon}:${port}${f.path ?? ''}`;
    out.push(e);
  }
  return out;
}

export function unavailableEndpoints(engine: Engine, host: string): UnavailableEndpoint[] {
  return NOT_YET_AVAILABLE[engine].map((e) => ({
    name: e.name,
    url: e.url.replace('HOST', host),
    reason: `${e.name} is not yet available in LocalMQ`,
  }));
}

/**
 * An Amazon MQ broker's identity: `b-<uuid>`; its host name is `b-<uuid>.mq.<region>.
 * amazonaws.com` on RabbitMQ and `b-<uuid>-1.mq.<region>.amazonaws.com` (`-2` for the
 * standby) on ActiveMQ.
 */
export interface BrokerIdentity {
  brokerId: string;
  region: string;
}

export function newIdentity(region = 'us-east-1'): BrokerIdentity {
  return { brokerId: `b-${randomUUID()}`, region };
}

export function amazonHostname(identity: BrokerIdentity, engine: Engine, instance: 1 | 2 = 1): string {
  const suffix = engine === 'activemq' ? `-${instance}` : '';
  return `${identity.brokerId}${suffix}.mq.${identity.region}.amazonaws.com`;
}

export function brokerArn(identity: BrokerIdentity, name: string, account = '000000000000'): string {
  return `arn:aws:mq:${identity.region}:${account}:broker:${name}:${identity.brokerId}`;
}

const TLS_LISTENERS = new Set<ListenerKey>(['amqps', 'amqp10s', 'stomps', 'mqtts', 'wss', 'https', 'console', 'openwireSsl']);

export function isTlsListener(key: ListenerKey): boolean {
  return TLS_LISTENERS.has(key);
}

/** endpoints that belong to Amazon MQ's ActiveMQ engine (their host names carry `-1`) */
export const ACTIVEMQ_LISTENERS = new Set<ListenerKey>(['openwire', 'openwireSsl', 'amqp10', 'amqp10s', 'stomp', 'stomps', 'mqtt', 'mqtts', 'wss', 'console']);

/** the URL a client library takes for this listener */
export function clientUrl(key: ListenerKey, host: string, port: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  switch (key) {
    case 'amqp':
      return `amqp://${h}:${port}`;
    case 'amqps':
    case 'amqp10s':
      return `amqps://${h}:${port}`;
    case 'amqp10':
      return `amqp://${h}:${port}`;
    case 'stomp':
      return `stomp://${h}:${port}`;
    case 'stomps':
      return `stomp+ssl://${h}:${port}`;
    case 'stompWs':
    case 'mqttWs':
      return `ws://${h}:${port}/ws`;
    case 'mqtt':
      return `mqtt://${h}:${port}`;
    case 'mqtts':
      return `mqtts://${h}:${port}`;
    case 'wss':
      return `wss://${h}:${port}`;
    case 'http':
    case 'api':
      return `http://${h}:${port}`;
    case 'https':
    case 'console':
      return `https://${h}:${port}`;
    case 'openwire':
      return `tcp://${h}:${port}`;
    case 'openwireSsl':
      return `ssl://${h}:${port}`;
  }
}
