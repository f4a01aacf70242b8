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
};

const ORDER: ListenerKey[] = ['amqp', 'amqps', 'amqp10', 'amqp10s', 'stomp', 'stomps', 'stompWs', 'mqtt', 'mqtts', 'mqttWs', 'wss', 'http', 'https', 'console', 'api'];

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
