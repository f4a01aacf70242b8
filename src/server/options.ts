import type { LimitSettings } from '../core/limits.js';
import type { MemoryCalculation, MemoryWatermarkSetting } from './memory-watermark.js';
import type { DiskFreeLimitSetting } from './disk-monitor.js';
import type { LogFormat, LogLevel, Logger } from './logger.js';
import type { AmqpTuning } from '../protocols/amqp/connection.js';
import type { MqttOptions } from '../protocols/mqtt/server.js';
import type { OpenWireOptions } from '../protocols/openwire/connection.js';
import type { StoreFs } from '../store/file/fs-layer.js';
import type { InstanceType } from './instance-types.js';

export type Engine = 'rabbitmq' | 'activemq' | 'all';

/** A port setting: a number (0 picks a free one) or false to leave the listener off. */
export type PortSetting = number | false;

export interface PortOptions {
  amqp?: PortSetting;
  amqps?: PortSetting;
  /** ActiveMQ profile: AMQP 1.0 (`amqp`, 5672); the other profiles serve AMQP 1.0 on the AMQP port */
  amqp10?: PortSetting;
  /** ActiveMQ profile: AMQP 1.0 over TLS (`amqp+ssl`, 5671) */
  amqp10s?: PortSetting;
  stomp?: PortSetting;
  stomps?: PortSetting;
  stompWs?: PortSetting;
  mqtt?: PortSetting;
  mqtts?: PortSetting;
  mqttWs?: PortSetting;
  /** ActiveMQ profile: STOMP and MQTT over WSS on one port, chosen by WebSocket subprotocol */
  wss?: PortSetting;
  http?: PortSetting;
  https?: PortSetting;
  /** ActiveMQ profile: the web console (HTTPS, 8162 on Amazon MQ) */
  console?: PortSetting;
  /** Amazon MQ's REST API (`/v1/brokers`...): creates brokers that run inside this process (4566) */
  api?: PortSetting;
  /** ActiveMQ profile: OpenWire (the JMS client's tcp://, 61616) */
  openwire?: PortSetting;
  /** ActiveMQ profile: OpenWire over TLS (Amazon MQ's ssl://…:61617) */
  openwireSsl?: PortSetting;
}

export interface UserOption {
  name: string;
  password: string;
  /** default ['administrator'] */
  tags?: string[];
  /** ActiveMQ-profile users: Amazon MQ's groups (at most 20, checked in strict mode) */
  groups?: string[];
  /** ActiveMQ-profile users: Amazon MQ's ActiveMQ web console access flag */
  consoleAccess?: boolean;
}

export interface TlsOptions {
  /** PEM files of your own instead of the generated local CA */
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

/** the management API's statistics */
export interface ManagementOptions {
  /** how often rates are sampled, in ms (RabbitMQ's collect_statistics_interval: 5000) */
  sampleIntervalMs?: number;
  /**
   * RabbitMQ's `management.restrictions.operator_policy_changes.disabled` (an Amazon MQ
   * configuration key): the API refuses operator policy changes with 405
   */
  operatorPolicyChangesDisabled?: boolean;
}

export interface BrokerOptions {
  /** the broker's name as Amazon MQ shows it (the CloudWatch `Broker` dimension); default the broker id */
  brokerName?: string;
  /** management API statistics */
  management?: ManagementOptions;
  /** TLS certificate files; by default a local CA and certificate are generated */
  tls?: TlsOptions;
  /** this broker's Amazon MQ id (`b-<uuid>`); default a new one, kept in the data dir */
  brokerId?: string;
  /**
   * Brokers created through the Amazon MQ API list their endpoints at Amazon-style host
   * names (`b-<id>-1.mq.<region>.amazonaws.com`), which their certificates cover; map them
   * to 127.0.0.1 in /etc/hosts. Default: `hostname` (localhost).
   */
  amazonHostnames?: boolean;
  /** AWS region in the Amazon-style host name (default us-east-1) */
  region?: string;
  /** addresses to listen on; default loopback over IPv4 and IPv6 */
  hosts?: string[];
  /** the name clients use in URLs; default 'localhost' */
  hostname?: string;
  ports?: PortOptions;
  /** every listener on a free port (the default for startBroker) */
  freePorts?: boolean;
  /**
   * Load the Amazon MQ control plane's code on its first use (an API request, or brokers to
   * bring back from the data dir) instead of at start: a smaller idle process (the CLI).
   * `broker.controlPlane` then throws until `await broker.getControlPlane()` loaded it.
   */
  lazyControlPlane?: boolean;
  engine?: Engine;
  /**
   * Amazon MQ engine version whose behaviour to follow: RabbitMQ '3.13', '4.2', '4.3' (engines
   * rabbitmq and all); ActiveMQ '5.18', '5.19' (engines activemq and all). Default: the
   * LOCALMQ_ENGINE_VERSION environment variable for the engine it names a version of, else
   * what Amazon MQ recommends for new brokers: RabbitMQ 4.2, ActiveMQ 5.19.
   */
  engineVersion?: string;
  /** keep state on disk in this directory; default: in memory */
  dataDir?: string;
  /**
   * Internal, for tests and benches: tuning and fault injection for the file journal
   * used with `dataDir`. Not part of the CLI; may change without notice.
   */
  journal?: JournalOptions;
  /**
   * users to create; default guest/guest (administrator, loopback only) on a first start,
   * except in strict mode, which has no default user and requires this
   */
  users?: UserOption[];
  /**
   * Apply Amazon MQ's user rules wherever a user is created (this `users` option, the
   * CLI's --user, definitions import): usernames 2-100 of letters, digits, - . _ (and ~ on
   * activemq), no `guest` on rabbitmq; passwords 12-250 characters, 4+ distinct, none of
   * , : =. A user that breaks one is refused with a StrictModeError naming the rule.
   * Strict mode also listens on Amazon MQ's TLS endpoints only (RabbitMQ: amqps 5671 and the
   * management API over HTTPS; ActiveMQ: 5671, 61614, 8883, 61619, 8162); a plaintext listener
   * runs only when its port is given explicitly.
   */
  strict?: boolean;
  /**
   * Amazon MQ broker size whose limits to apply (connections, channels, queues, consumers
   * per channel; ActiveMQ's per-protocol connections); `limits` overrides single figures.
   * Default: mq.m5.large's figures.
   */
  instanceType?: InstanceType;
  /** vhosts to create besides '/' */
  vhosts?: string[];
  logLevel?: LogLevel;
  /** json (default) or text lines */
  logFormat?: LogFormat;
  logger?: Logger;
  limits?: Partial<LimitSettings>;
  /**
   * RabbitMQ's vm_memory_high_watermark: while memory is above it, publishers of every
   * protocol are blocked (AMQP connection.blocked). A fraction of RAM (default 0.4), a size
   * ("512MiB", bytes) or {relative} / {absolute}. `limits.memoryHighWatermark` (bytes) wins.
   */
  memoryHighWatermark?: MemoryWatermarkSetting;
  /**
   * RabbitMQ's disk_free_limit: while the data dir's filesystem has less free space than this,
   * the disk alarm blocks publishers of every protocol (AMQP connection.blocked "low on disk").
   * A size ("50MB", the default; "1GB"; bytes), "mem_relative:1.0" (a multiple of RAM) or
   * {relative} / {absolute}. Checked every 10 s, more often near the limit; no data dir, no check.
   */
  diskFreeLimit?: DiskFreeLimitSetting;
  /**
   * What is compared with the watermark: 'rss', the process's resident memory (RabbitMQ's
   * default; the `localmq` command uses it), or 'queued', the bytes of message bodies the
   * queues hold (the default here: an embedded broker shares its process with the app).
   */
  memoryCalculation?: MemoryCalculation;
  amqp?: Partial<AmqpTuning>;
  /**
   * AMQP 1.0 under the activemq engine: `idleTimeoutMs`, the AMQP connector's idle timeout
   * (ActiveMQ's transport.wireFormat.idleTimeout, default 30000; half of it is announced, a
   * peer silent for all of it is closed). The other engines follow `amqp.heartbeat`, as
   * RabbitMQ's heartbeat setting governs its AMQP 1.0 connections.
   */
  amqp10?: { idleTimeoutMs?: number };
  /**
   * ActiveMQ queues: `expireMessagesPeriodMs`, ActiveMQ's expireMessagesPeriod (default 30000):
   * how often a queue takes the expired messages among its first 400 out to ActiveMQ.DLQ, with
   * or without consumers; 0: never. An ActiveMQ queue has no head timer (RabbitMQ's): an expired
   * message otherwise leaves when a dispatch or a browse comes to it, as in ActiveMQ.
   */
  activemq?: { expireMessagesPeriodMs?: number };
  /** MQTT: anonymous access (default off), its user, the default vhost, in-flight window */
  mqtt?: MqttOptions;
  /** OpenWire limits and timeouts (max frame size, negotiation timeout, inactivity monitor) */
  openwire?: OpenWireOptions;
}

/** Internal knobs of the file journal (see BrokerOptions.journal). */
export interface JournalOptions {
  /** file operations, e.g. one that fails writes to simulate a full disk */
  fs?: StoreFs;
  /** bytes after which a segment is sealed (default 16 MiB) */
  segmentSize?: number;
  /** how long writes gather before a group commit (default 0: end of the event-loop turn) */
  syncDelayMs?: number;
  /** after a failed write, retry this often (default 1000 ms) */
  retryDelayMs?: number;
  /**
   * a write still failing this long after it first failed has finally failed: the clients
   * waiting on it are told no (basic.nack, STOMP ERROR, …; default 15 000 ms)
   */
  giveUpMs?: number;
  /**
   * ready messages of a durable queue (per priority) kept in memory; persistent ones behind
   * them are paged out and read back from the journal when their turn comes (default 2048)
   */
  pageThreshold?: number;
  /** the head segment made at open is zero-filled this far before records go there (default: the whole segment; FileStoreOptions.headZeroFill) */
  headZeroFill?: number;
  /**
   * bytes of records accepted and not yet durable past which connections publishing persistent
   * messages stop being read until half of it is left (RabbitMQ's credit flow; management shows
   * them in state `flow`; default 16 MiB, 0: no bound; FileStoreOptions.backlogBytes)
   */
  backlogBytes?: number;
}
