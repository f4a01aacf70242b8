import { copyFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../logger.js';
import type { InstanceType } from '../instance-types.js';
import type { BrokerOptions, PortOptions, UserOption } from '../options.js';
import type { ListenerKey } from '../profiles.js';
import { PROFILE_LISTENERS, STANDARD_PORTS } from '../profiles.js';
import { isTlsListener } from '../endpoints.js';
import { CA_FILE, CA_KEY_FILE } from '../tls/certificates.js';
import { LocalMQ } from '../local-mq.js';
import { issueCertificate } from './certificate.js';

/**
 * The listeners an Amazon MQ broker of each engine exposes: the engine profile's TLS ones
 * only, as on AWS (RabbitMQ: amqps and the management API over HTTPS; ActiveMQ: stomp+ssl,
 * mqtt+ssl, wss, the console, and whatever TLS listener the profile gains, e.g. OpenWire).
 */
export const INSTANCE_LISTENERS: Record<'rabbitmq' | 'activemq', ListenerKey[]> = {
  rabbitmq: PROFILE_LISTENERS.rabbitmq.filter(isTlsListener),
  activemq: PROFILE_LISTENERS.activemq.filter(isTlsListener),
};

const ALL_KEYS = Object.keys(STANDARD_PORTS) as ListenerKey[];

export interface InstanceSpec {
  brokerId: string;
  /** the name given to CreateBroker (the console shows it) */
  brokerName: string;
  engine: 'rabbitmq' | 'activemq';
  region: string;
  /** the broker's store: one per broker, shared by an active/standby pair (one lock) */
  dataDir: string;
  /** the local CA (ca.pem + ca-key.pem) every created broker's certificate is signed by */
  caDir: string;
  hostname: string;
  hosts?: string[];
  instanceType?: InstanceType;
  /** users a first start creates (later starts keep the store's) */
  users?: UserOption[];
  /** the ports to take; a missing listener gets a free port (or its standard one, see below) */
  ports: Partial<Record<ListenerKey, number>>;
  /** settings from the broker's configuration revision (RabbitMQ's rabbitmq.conf keys LocalMQ knows) */
  limits?: BrokerOptions['limits'];
  amqp?: BrokerOptions['amqp'];
  management?: BrokerOptions['management'];
  /** the broker's engine version (Amazon MQ's `5.18`, `4.2`, …): the instance follows its rules */
  engineVersion?: string;
  /** try the standard ports first for listeners without a port; fall back to free ones */
  standardPorts?: boolean;
  logger: Logger;
}

/**
 * Start one broker instance for the control plane: a LocalMQ of the engine's profile with
 * only Amazon MQ's TLS listeners, its own store in `dataDir` and a certificate for the
 * broker's Amazon-style names signed by the shared local CA.
 */
export async function startInstance(spec: InstanceSpec): Promise<LocalMQ> {
  const tlsDir = join(spec.dataDir, 'tls');
  await mkdir(tlsDir, { recursive: true, mode: 0o700 });
  // the instance reuses the CA (the certificate it signs is made for this broker's names)
  await copyFile(join(spec.caDir, CA_FILE), join(tlsDir, CA_FILE));
  await copyFile(join(spec.caDir, CA_KEY_FILE), join(tlsDir, CA_KEY_FILE));
  await issueCertificate(spec, tlsDir);
  const wanted = INSTANCE_LISTENERS[spec.engine];
  const attempt = async (standard: boolean) => {
    const ports: PortOptions = {};
    for (const key of ALL_KEYS) ports[key] = wanted.includes(key) ? (spec.ports[key] ?? (standard ? STANDARD_PORTS[key] : await reserveFreePort())) : false;
    return LocalMQ.start({
      engine: spec.engine,
      brokerId: spec.brokerId,
      brokerName: spec.brokerName,
      region: spec.region,
      dataDir: spec.dataDir,
      hostname: spec.hostname,
      hosts: spec.hosts,
      instanceType: spec.instanceType,
      users: spec.users,
      limits: spec.limits,
      amqp: spec.amqp,
      management: spec.management,
      engineVersion: spec.engineVersion,
      ports,
      freePorts: true,
      logger: spec.logger,
    });
  };
  if (spec.standardPorts) {
    try {
      return await attempt(true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  // a port reserved a moment ago can still be taken before the broker listens: pick again
  for (let tries = 1; ; tries++) {
    try {
      return await attempt(false);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || tries >= 5 || Object.keys(spec.ports).length > 0) throw err;
    }
  }
}

// Below Linux's ephemeral range (32768–60999 by default). A broker's endpoints must outlive
// its instance: a reboot or a failover back listens again on the same ports. A port from the
// ephemeral range (port 0) can meanwhile become the local end of any outgoing connection or
// another port-0 listener, and the broker could not come back; ports from this range are only
// ever taken by someone asking for them by number.
const STABLE_PORT_LOW = 10000;
const STABLE_PORT_HIGH = 32000;

/**
 * A port free right now on loopback, outside the ephemeral range, for a broker instance's
 * endpoints (known before it listens for a standby, kept across reboots and failovers).
 */
export async function reserveFreePort(host = '127.0.0.1'): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = STABLE_PORT_LOW + Math.floor(Math.random() * (STABLE_PORT_HIGH - STABLE_PORT_LOW));
    try {
      return await bindAndRelease(host, port);
    } catch (err) {
      if (tries >= 50) throw err;
    }
  }
}

function bindAndRelease(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(port)));
  });
}
