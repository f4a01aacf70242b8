import type { Store } from '../store/store.js';
import { newIdentity, type BrokerIdentity } from './endpoints.js';
import type { ListenerKey } from './profiles.js';
import { ensureCertificates, type TlsMaterial } from './tls/certificates.js';

const TLS_LISTENERS = new Set<ListenerKey>(['amqps', 'amqp10s', 'stomps', 'mqtts', 'wss', 'https', 'console']);

export function isTlsListener(key: ListenerKey): boolean {
  return TLS_LISTENERS.has(key);
}

/** endpoints that belong to Amazon MQ's ActiveMQ engine (their host names carry `-1`) */
export const ACTIVEMQ_LISTENERS = new Set<ListenerKey>(['amqp10', 'amqp10s', 'stomp', 'stomps', 'mqtt', 'mqtts', 'wss', 'console']);

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
  }
}

/**
 * Certificates for in-memory brokers, made once per process and set of names: key
 * generation is the slow part of a TLS listener, and test files start many brokers.
 */
const memoryCertificates = new Map<string, Promise<TlsMaterial>>();

export function inMemoryCertificates(hostnames: string[]): Promise<TlsMaterial> {
  // the Amazon-style names differ per broker; the local names are what tests connect to
  const key = hostnames[0] ?? 'localhost';
  let p = memoryCertificates.get(key);
  if (!p) {
    p = ensureCertificates({ hostnames });
    memoryCertificates.set(key, p);
    p.catch(() => memoryCertificates.delete(key));
  }
  return p;
}

const IDENTITY_NAMESPACE = 'localmq';

/** the broker id (and region) a data dir keeps across restarts */
export function restoreIdentity(store: Store, records: Map<string, Map<string, unknown>>, region: string | undefined, brokerId?: string): BrokerIdentity {
  if (brokerId !== undefined) {
    const identity = { brokerId, region: region ?? 'us-east-1' };
    store.putRecord(IDENTITY_NAMESPACE, 'identity', { ...identity });
    return identity;
  }
  const saved = records.get(IDENTITY_NAMESPACE)?.get('identity') as BrokerIdentity | undefined;
  if (saved && typeof saved.brokerId === 'string' && typeof saved.region === 'string' && (!region || region === saved.region)) return saved;
  const identity = newIdentity(region ?? saved?.region);
  if (saved) identity.brokerId = saved.brokerId;
  store.putRecord(IDENTITY_NAMESPACE, 'identity', { ...identity });
  return identity;
}
