import { readFileSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import type { Broker } from '../../core/broker.js';
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
  /** ActiveMQ's deadLetterStrategy per destination, from the configuration's destination policies */
  activeMqDeadLetterStrategy?: Broker['activeMqDeadLetterStrategy'];
  /** RabbitMQ's `default_queue_type` from the configuration */
  defaultQueueType?: 'classic' | 'quorum';
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
  const attempt = (standard: boolean) => {
    const ports: PortOptions = {};
    for (const key of ALL_KEYS) ports[key] = wanted.includes(key) ? (spec.ports[key] ?? (standard ? STANDARD_PORTS[key] : 0)) : false;
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
  let instance: LocalMQ | undefined;
  if (spec.standardPorts) {
    try {
      instance = await attempt(true);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  instance ??= await attempt(false);
  // rabbitmq.conf's default_queue_type: queues declared without x-queue-type take it
  instance.core.activeMqDeadLetterStrategy = spec.activeMqDeadLetterStrategy;
  if (spec.defaultQueueType) instance.core.engineRules = { ...instance.core.engineRules, defaultQueueType: spec.defaultQueueType };
  return instance;
}

/**
 * A port free right now on loopback, for a standby whose endpoints must be known before it
 * listens. Taken below the kernel's ephemeral range: a port from that range can meanwhile
 * become the local port of any outgoing connection on the machine, and the standby's
 * listen would then fail with EADDRINUSE at failover time (seen on a loaded CI machine).
 */
export async function reserveFreePort(host = '127.0.0.1'): Promise<number> {
  const ephemeralLow = ephemeralRangeStart();
  const low = Math.min(30000, ephemeralLow - 1024);
  const span = ephemeralLow - low;
  for (let attempt = 0; attempt < 64 && span > 0; attempt++) {
    const port = await tryListen(host, low + Math.floor(Math.random() * span));
    if (port !== undefined) return port;
  }
  const any = await tryListen(host, 0);
  if (any === undefined) throw new Error('no free port to reserve');
  return any;
}

/** the first port of the kernel's ephemeral range (Linux; 32768 where it cannot be read) */
function ephemeralRangeStart(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

function tryListen(host: string, port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ host, port, exclusive: true }, () => {
      const taken = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(taken));
    });
  });
}
