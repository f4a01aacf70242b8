import { IoStats, measuredFs } from '../store/file/measured-fs.js';
import { nodeFs } from '../store/file/fs-layer.js';
import type { Socket } from 'node:net';
import { brokerVersionRules } from '../core/engine-versions.js';
import { Broker } from '../core/broker.js';
import type { MqttServer, MqttOptions } from '../protocols/mqtt/server.js';
import { SESSION_NAMESPACE as MQTT_SESSIONS } from '../protocols/mqtt/session-records.js';
import { BusyPoll } from '../protocols/common/busy-poll.js';
import type { AccessControl, ProtocolContext } from '../protocols/context.js';
import { MemoryStore } from '../store/memory-store.js';
import { FileStore } from '../store/file/file-store.js';
import { restoreBroker } from '../core/recovery.js';
import { OPERATOR_POLICY_NAMESPACE } from '../core/policies.js';
import type { Store, VhostDef } from '../store/store.js';
import { TOPIC_PERMISSIONS_RECORDS, UserRegistry } from './auth/users.js';
import { Connections } from './connections.js';
import { BrokerInspection } from './inspection.js';
import { createLogger, type Logger } from './logger.js';
import type { BrokerOptions } from './options.js';
import { PRODUCT } from './product.js';
import { emptyRetained, type RetainedDefinitions } from './definitions/retained.js';
import type { ManagementBackend } from '../http/backend.js';
import { RateSampler } from '../http/rates.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { endpointTable, unavailableEndpoints, newIdentity, amazonHostname, isTlsListener, ACTIVEMQ_LISTENERS, clientUrl, type BrokerIdentity, type Endpoint } from './endpoints.js';
import { openListener, type ListenerServices, type OpenListener } from './listeners.js';
import { ensureCertificates, inMemoryCertificates, loadUserCertificates, type TlsMaterial } from './tls/certificates.js';
import type { TlsTerminator } from './tls/terminator.js';
import { restoreIdentity } from './identity.js';
import type { ListenerKey } from './profiles.js';
import type { Engine } from './options.js';
import { resolvePorts } from './profiles.js';
import { randomBytes } from 'node:crypto';
import { assertStrictUser, StrictNoUsersError } from './auth/strict.js';
import { INSTANCE_TYPES, isInstanceType, resolveLimits } from './instance-types.js';
import { MemoryMonitor, watermarkBytes } from './memory-watermark.js';
import { DiskMonitor, type DiskFreeLimitSetting } from './disk-monitor.js';
import type { ControlPlane } from '../http/controlplane/control-plane.js';

/** URLs as clients take them (amqplib, stompit, mqtt.js, ws): one per running listener */
export interface BrokerUrls {
  amqp?: string;
  /** amqps://host:5671 */
  amqps?: string;
  /** ActiveMQ profile: AMQP 1.0, amqp://host:5672 */
  amqp10?: string;
  /** ActiveMQ profile: AMQP 1.0 over TLS, amqps://host:5671 (Amazon MQ writes it amqp+ssl://) */
  amqp10s?: string;
  stomp?: string;
  /** stomp+ssl://host:61614 */
  stomps?: string;
  /** STOMP over WebSocket (web-stomp), e.g. ws://localhost:15674/ws */
  stompWs?: string;
  mqtt?: string;
  /** mqtts://host:8883 (Amazon MQ writes it mqtt+ssl://) */
  mqtts?: string;
  /** MQTT over WebSocket: ws://host:port/ws */
  mqttWs?: string;
  /** STOMP and MQTT over WSS by subprotocol (ActiveMQ's 61619) */
  wss?: string;
  /** management console and API */
  http?: string;
  https?: string;
  /** ActiveMQ web console */
  console?: string;
  /** Amazon MQ's REST API: point @aws-sdk/client-mq, `aws mq` or Terraform at it as the endpoint */
  api?: string;
  /** OpenWire for the ActiveMQ JMS client: tcp://host:61616 */
  openwire?: string;
  /** OpenWire over TLS: ssl://host:61617 (Amazon MQ's endpoint) */
  openwireSsl?: string;
}

/**
 * A running LocalMQ, the composition root: the core and its store, users, the protocol
 * adapters' context, listeners, TLS and the Amazon MQ identity; start and stop. The
 * inspection helpers tests reach for come from BrokerInspection.
 */
export class LocalMQ extends BrokerInspection {
  readonly users: UserRegistry;
  readonly logger: Logger;
  private readonly listeners: OpenListener[] = [];
  /** every endpoint, in Amazon MQ's URL forms (local and Amazon-style host) */
  endpoints: Endpoint[] = [];
  /** this broker's Amazon MQ identity (kept in the data dir) */
  identity: BrokerIdentity = newIdentity();
  private tlsTerminator: Promise<TlsTerminator> | undefined;
  private tlsMaterial: Promise<TlsMaterial> | undefined;
  private readonly sockets = new Set<Socket>();
  readonly urls: BrokerUrls = {};
  readonly ports: Record<string, number> = {};
  /** definitions kept for export that the core does not model (policies, vhost metadata...) */
  readonly retained: RetainedDefinitions = emptyRetained();
  /** the secret the CLI's control commands present to the management endpoint (Bearer) */
  readonly controlToken = randomBytes(24).toString('base64url');
  private stopped = false;
  /** management API rates, sampled every 5 s (RabbitMQ's collect_statistics_interval) */
  readonly rates: RateSampler;
  readonly startedAt = Date.now();
  /** reads RSS for the memory alarm when memoryCalculation is 'rss' */
  private readonly memoryMonitor: MemoryMonitor;
  /** RabbitMQ's free disk space monitor of the data dir's filesystem (in memory: only the limit, shown) */
  private readonly diskMonitor: DiskMonitor;
  private controlPlaneInstance: ControlPlane | undefined;
  private controlPlaneClass: typeof ControlPlane | undefined;
  private mqtt: MqttServer | undefined;
  /**
   * this broker's busy polling after network input (the MQTT adapter turns it on; its
   * `active` is for tests and diagnostics): per broker, stopped with it
   */
  readonly busyPoll = new BusyPoll();
  private mqttStarting: Promise<MqttServer> | undefined;
  /** the store held MQTT sessions when the broker started */
  private mqttSessionsAtStart = false;

  private constructor(
    readonly options: BrokerOptions,
    readonly store: Store,
    /** the journal's disk reads, writes and syncs (the management API's node io_* figures) */
    private readonly io = new IoStats(),
  ) {
    const limits = { memoryHighWatermark: watermarkBytes(options.memoryHighWatermark), ...options.limits };
    const core = new Broker(store, resolveLimits(options.engine ?? 'all', options.instanceType, limits));
    const logger = options.logger ?? createLogger(options.logLevel ?? 'warn', undefined, undefined, options.logFormat);
    if (options.journal?.giveUpMs !== undefined) core.durability.giveUpMs = options.journal.giveUpMs;
    if (options.activemq?.expireMessagesPeriodMs !== undefined) core.activeMqExpireMessagesPeriodMs = options.activemq.expireMessagesPeriodMs;
    const single = options.engine === 'all' || options.engine === undefined ? undefined : options.engine;
    // LOCALMQ_ENGINE_VERSION runs a whole test suite under one version: it applies to the
    // engine it names a version of (RabbitMQ 4.3 leaves an ActiveMQ broker at its default)
    const fromEnv = options.engineVersion === undefined ? process.env['LOCALMQ_ENGINE_VERSION'] || undefined : undefined;
    const versions = brokerVersionRules(single, options.engineVersion ?? fromEnv, fromEnv !== undefined);
    core.engineRules = single === 'activemq' ? versions.activemq : versions.rabbitmq;
    core.activemqRules = versions.activemq;
    if (options.openwire?.brokerName !== undefined) core.activeMqBrokerName = options.openwire.brokerName;
    super(
      core,
      new Connections(
        () => ({
          total: core.limits.settings.maxConnections,
          perProtocol: core.limits.settings.maxConnectionsPerProtocol,
        }),
        logger,
        core.tenantLimits,
      ),
    );
    this.logger = logger;
    this.users = new UserRegistry({ store });
    this.memoryMonitor = new MemoryMonitor(core);
    this.diskMonitor = new DiskMonitor(core, options.dataDir, options.diskFreeLimit, logger, undefined, (low) => store.transientPager?.hold?.(low));
    this.rates = new RateSampler(this.core, () => this.connections(), options.management?.sampleIntervalMs, () => ({
      created: this.connectionsRegistry.created,
      closed: this.connectionsRegistry.closed,
    }));
  }

  static async start(options: BrokerOptions = {}): Promise<LocalMQ> {
    if (options.instanceType !== undefined && !isInstanceType(options.instanceType)) {
      throw new Error(`unknown instanceType '${String(options.instanceType)}': use one of ${INSTANCE_TYPES.join(', ')}`);
    }
    // refuse a user that breaks a rule before anything is opened or written
    if (options.strict) for (const u of options.users ?? []) assertStrictUser(options.engine ?? 'all', u);
    const logger = options.logger ?? createLogger(options.logLevel ?? 'warn', undefined, undefined, options.logFormat);
    const io = new IoStats();
    const store: Store = options.dataDir ? openJournal(options.dataDir, options, logger, io) : new MemoryStore();
    const broker = new LocalMQ({ ...options, logger }, store, io);
    const state = await store.open();
    restoreBroker(broker.core, state);
    broker.mqttSessionsAtStart = (state.records.get(MQTT_SESSIONS)?.size ?? 0) > 0;
    broker.users.load(state.users, state.permissions);
    broker.users.loadTopicPermissions(state.records.get(TOPIC_PERMISSIONS_RECORDS)?.values() ?? []);
    for (const v of state.vhosts) broker.putVhostMeta(v);
    for (const p of state.policies) broker.core.policies.restore(p);
    broker.core.policies.restoreOperatorPolicies(state.records.get(OPERATOR_POLICY_NAMESPACE));
    broker.core.tenantLimits.restore(state.records);
    for (const v of broker.core.vhosts.keys()) broker.core.policies.reapply(v);
    // a data dir that held users keeps them; only a first start gets the defaults
    try {
      broker.seedDefaults(state.users.length === 0);
    } catch (err) {
      await broker.stop();
      throw err;
    }
    broker.identity = restoreIdentity(store, state.records, options.region, options.brokerId);
    broker.rates.start();
    if (options.memoryCalculation === 'rss') broker.memoryMonitor.start();
    try {
      // the first free-space reading before any client: one that connects to a full disk is blocked at once
      await broker.diskMonitor.start();
      // the control plane's code loads at start, so `broker.controlPlane` answers at once,
      // unless asked to wait for its first use (the CLI: a smaller idle process)
      if (!options.lazyControlPlane) await broker.getControlPlane();
      await broker.listen();
      // brokers created through the Amazon MQ API come back with the data dir (`brokers/`
      // exists once the control plane saved any)
      if (options.dataDir && broker.ports['api'] !== undefined && (!options.lazyControlPlane || existsSync(join(options.dataDir, 'brokers')))) {
        await (await broker.getControlPlane()).restore();
      }
    } catch (err) {
      await broker.stop();
      throw err;
    }
    return broker;
  }

  /**
   * RabbitMQ's disk_free_limit in bytes: while the data dir's filesystem has less free space,
   * the disk alarm blocks publishers (a broker without a data dir monitors nothing)
   */
  get diskFreeLimit(): number {
    return this.diskMonitor.limit;
  }

  /** the data dir's free space at the last check (bytes); undefined without a data dir or before a reading */
  get diskFree(): number | undefined {
    const free = this.diskMonitor.free;
    return Number.isNaN(free) ? undefined : free;
  }

  /**
   * `rabbitmqctl set_disk_free_limit`: a new limit until the broker stops (a size, "mem_relative:1.0",
   * {relative} / {absolute}); free space is checked at once, so the alarm is right when this resolves.
   */
  async setDiskFreeLimit(setting: DiskFreeLimitSetting): Promise<void> {
    await this.diskMonitor.setLimit(setting);
  }

  private seedDefaults(firstStart: boolean): void {
    if (firstStart || !this.core.vhost('/')) this.core.addVhost('/');
    for (const v of this.options.vhosts ?? []) this.core.addVhost(v);
    if (this.options.strict && firstStart && this.options.users === undefined) throw new StrictNoUsersError(this.engine);
    const users = this.options.users ?? (firstStart ? [{ name: 'guest', password: 'guest', tags: ['administrator'] }] : []);
    for (const u of users) {
      if (!this.users.getUser(u.name)) {
        this.users.addUser(u.name, u.password, u.tags ?? ['administrator'], { groups: u.groups, consoleAccess: u.consoleAccess });
      }
      for (const v of this.core.vhosts.keys()) {
        if (!this.users.getPermission(u.name, v)) this.users.setPermission({ user: u.name, vhost: v, configure: '.*', write: '.*', read: '.*' });
      }
    }
  }

  get context(): ProtocolContext {
    const access: AccessControl = {
      authenticate: (u, p, addr) => {
        const r = this.users.authenticate(u, p, addr);
        return r.ok ? { ok: true, user: { name: r.user.name, tags: r.user.tags } } : { ok: false, reason: r.reason };
      },
      authenticateAnonymous: (u, addr) => {
        const r = this.users.authenticateWithoutPassword(u, addr);
        return r.ok ? { ok: true, user: { name: r.user.name, tags: r.user.tags } } : { ok: false, reason: r.reason };
      },
      canAccessVhost: (u, v) => this.users.canAccessVhost(u, v),
      check: (u, v, p, r) => this.users.check(u, v, p, r),
      checkTopic: (u, v, p, x, k, vars) => this.users.checkTopic(u, v, p, x, k, vars),
    };
    const dialect = this.options.engine === 'activemq' ? 'activemq' : 'rabbitmq';
    return { broker: this.core, dialect, access, logger: this.logger, connections: this.connectionsRegistry, product: PRODUCT };
  }

  /** the one MqttServer (client ids, wills) every MQTT listener shares, loaded on first use */
  private startMqtt(): Promise<MqttServer> {
    return (this.mqttStarting ??= import('../protocols/mqtt/server.js').then((m) => m.MqttServer.start(this.context, this.mqttOptions(), this.busyPoll)).then((m) => (this.mqtt = m)));
  }

  /** MQTT's options, with anonymous access on by default except in strict mode (as guest is) */
  private mqttOptions(): MqttOptions {
    const o = this.options.mqtt ?? {};
    return { ...o, allowAnonymous: o.allowAnonymous ?? !this.options.strict };
  }

  get engine(): Engine {
    return this.options.engine ?? 'all';
  }

  /** the host name in URLs: `localhost` unless set (an Amazon-style name works when mapped in /etc/hosts) */
  get hostname(): string {
    return this.options.hostname ?? 'localhost';
  }

  /** Amazon MQ's host name for this broker (covered by the certificate; map it to 127.0.0.1 to use it) */
  get amazonHostname(): string {
    return amazonHostname(this.identity, this.engine === 'activemq' ? 'activemq' : 'rabbitmq');
  }

  private async listen(): Promise<void> {
    const resolved = resolvePorts(this.engine, this.options.ports ?? {}, this.options.freePorts ?? true, this.options.strict ?? false);
    const services: ListenerServices = {
      ctx: this.context,
      hosts: this.options.hosts ?? ['127.0.0.1', '::1'],
      amqpTuning: { ...this.options.amqp },
      // RabbitMQ's `heartbeat` governs its AMQP 1.0 idle timeout too
      amqp10Tuning: { ...(this.options.amqp?.heartbeat !== undefined ? { heartbeat: this.options.amqp.heartbeat } : {}), ...this.options.amqp10 },
      track: (socket) => this.track(socket),
      mqtt: () => this.startMqtt(),
      http: async () => (await import('../http/server.js')).managementHandler(await this.managementBackend()),
      // node:tls and the terminator load on the first TLS connection
      tls: () => (this.tlsTerminator ??= import('./tls/terminator.js').then(({ TlsTerminator }) => new TlsTerminator(this.certificates(), this.logger))),
      api: async () => (await this.getControlPlane()).handler,
      openwire: this.options.openwire,
    };
    const keys = Object.keys(resolved) as ListenerKey[];
    // MQTT sessions left by the last run may hold wills to publish (or delay) now: MQTT's
    // code loads at start then; otherwise on the first MQTT connection
    if (this.mqttSessionsAtStart && keys.some((k) => k === 'mqtt' || k === 'mqtts' || k === 'mqttWs' || k === 'wss')) await this.startMqtt();
    // the management API's node figures count garbage collections from the broker's start,
    // though its own code loads on the first request
    if (keys.some((k) => k === 'http' || k === 'https' || k === 'console')) (await import('../http/metrics/runtime-stats.js')).runtimeStats();
    // with a data dir the CA file is made at start, so the endpoint printout can name it
    if (this.options.dataDir && keys.some(isTlsListener)) await this.certificates();
    for (const key of keys) {
      const l = await openListener(key, resolved[key]!, services);
      this.listeners.push(l);
      this.ports[key] = l.port;
    }
    const host = this.hostname;
    this.endpoints = endpointTable(host, this.ports, this.amazonHostsByListener());
    for (const e of this.endpoints) this.urls[e.key] = clientUrl(e.key, host, e.port);
    for (const u of unavailableEndpoints(this.engine, this.amazonHostname)) {
      // the endpoint table says so too: a line above it would only repeat it
      this.logger.debug(`${u.name} endpoint ${u.url} is not yet available in LocalMQ`, { endpoint: u.name });
    }
  }

  /** the narrow view of this broker the management API, console and metrics work on */
  private async managementBackend(): Promise<ManagementBackend> {
    const broker = this;
    const [{ exportDefinitionsJson, importDefinitionsJson }, { openWireProducerCounts }] = await Promise.all([
      import('./definitions/apply.js'),
      import('../protocols/openwire/broker-state.js'),
    ]);
    return {
      core: this.core,
      users: this.users,
      retained: this.retained,
      logger: this.logger,
      rates: this.rates,
      controlToken: this.controlToken,
      startedAt: this.startedAt,
      dataDir: this.options.dataDir,
      io: this.io,
      memoryCalculation: this.options.memoryCalculation ?? 'queued',
      get diskFreeLimit() {
        return broker.diskFreeLimit;
      },
      get diskFree() {
        return broker.diskFree;
      },
      operatorPolicyChangesDisabled: this.options.management?.operatorPolicyChangesDisabled ?? false,
      get engine() {
        return broker.engine;
      },
      get ports() {
        return broker.ports;
      },
      get endpoints() {
        return broker.endpoints;
      },
      get caFile() {
        return broker.caFile;
      },
      get brokerName() {
        return broker.options.brokerName ?? broker.identity.brokerId;
      },
      connections: () => this.connections(),
      producerCounts: () => openWireProducerCounts(this.core),
      putVhostMeta: (meta) => this.putVhostMeta(meta),
      exportDefinitions: () => exportDefinitionsJson(this),
      importDefinitions: (json) => {
        importDefinitionsJson(this, json);
      },
    };
  }

  /**
   * A vhost's metadata (description, tags, default_queue_type) as PUT /api/vhosts and
   * definitions give it: kept for export, and the default queue type handed to the core.
   */
  putVhostMeta(meta: VhostDef): void {
    this.retained.vhostMeta.set(meta.name, meta);
    const v = this.core.vhost(meta.name);
    if (v) v.defaultQueueTypeSetting = meta.defaultQueueType === 'quorum' || meta.defaultQueueType === 'classic' ? meta.defaultQueueType : undefined;
  }

  /** Amazon-style host per listener: ActiveMQ's endpoints carry the instance suffix, RabbitMQ's do not */
  private amazonHostsByListener(): Partial<Record<ListenerKey, string>> {
    const rabbit = amazonHostname(this.identity, 'rabbitmq');
    const active = amazonHostname(this.identity, 'activemq');
    const out: Partial<Record<ListenerKey, string>> = {};
    for (const key of Object.keys(this.ports) as ListenerKey[]) {
      out[key] = this.engine === 'activemq' || ACTIVEMQ_LISTENERS.has(key) ? active : rabbit;
    }
    return out;
  }

  /**
   * The TLS certificate every TLS listener presents: the user's files when given, else a
   * local CA and server certificate made on first use (kept in the data dir, or in memory)
   * for localhost, 127.0.0.1, ::1, this machine, the configured host name and the
   * Amazon-style names.
   */
  certificates(): Promise<TlsMaterial> {
    if (!this.tlsMaterial) {
      const tls = this.options.tls;
      const hostnames = [this.hostname, amazonHostname(this.identity, 'rabbitmq'), amazonHostname(this.identity, 'activemq'), amazonHostname(this.identity, 'activemq', 2)];
      this.tlsMaterial = tls?.certFile
        ? loadUserCertificates({ certFile: tls.certFile, keyFile: tls.keyFile!, caFile: tls.caFile })
        : this.options.dataDir
          ? ensureCertificates({ dir: join(this.options.dataDir, 'tls'), hostnames })
          : inMemoryCertificates(hostnames);
      this.tlsMaterial.then((m) => (this.caFile = m.caFile ?? tls?.caFile), () => undefined);
    }
    return this.tlsMaterial;
  }

  /**
   * The Amazon MQ control plane: brokers created through the API (or directly, with
   * `broker.controlPlane.createBroker(...)`) run inside this process on their own ports.
   * Its code loads when the broker starts, or with `lazyControlPlane` on its first use:
   * then only `await broker.getControlPlane()` has it before that.
   */
  get controlPlane(): ControlPlane {
    if (!this.controlPlaneClass) throw new Error('the Amazon MQ control plane has not loaded yet (lazyControlPlane): use await broker.getControlPlane()');
    return (this.controlPlaneInstance ??= new this.controlPlaneClass({
      dataDir: this.options.dataDir,
      hostname: this.hostname,
      hosts: this.options.hosts,
      region: this.identity.region,
      logger: this.logger,
      certificates: () => this.certificates(),
      standardPorts: this.options.freePorts === false,
      amazonHostnames: this.options.amazonHostnames ?? false,
    }));
  }

  /** The Amazon MQ control plane (`controlPlane`), its code loaded first if it was not yet. */
  async getControlPlane(): Promise<ControlPlane> {
    this.controlPlaneClass ??= (await import('../http/controlplane/control-plane.js')).ControlPlane;
    return this.controlPlane;
  }

  /** the CA file clients should trust, once certificates exist on disk */
  caFile: string | undefined;

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /**
   * Close every client with its protocol's proper goodbye, stop listening, flush the store.
   * `abrupt`: as if the process died (an active/standby failover): sockets are cut with no
   * goodbye; what the store has acknowledged is kept, as a crash would keep it.
   */
  async stop(options: { abrupt?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.rates.stop();
    this.memoryMonitor.stop();
    this.diskMonitor.stop();
    await this.controlPlaneInstance?.stop();
    const listenersClosed = this.listeners.map((l) => l.close().catch(() => undefined));
    if (options.abrupt) for (const s of this.sockets) s.destroy();
    // every client first gets its protocol's goodbye (AMQP 320, STOMP ERROR, MQTT close) ...
    else await this.connectionsRegistry.closeAll('broker forced connection closure with reason \'shutdown\'');
    await this.mqtt?.close();
    this.busyPoll.stop();
    // ... then whatever is left goes: idle HTTP and WebSocket keep-alives, half-open sockets
    for (const s of this.sockets) s.destroy();
    await Promise.all(listenersClosed);
    // what big purges and expiries still had to settle reaches the store before it closes
    this.core.bulkWork.finish();
    await this.store.close();
  }
}

function openJournal(dir: string, options: BrokerOptions, logger: Logger, io: IoStats): FileStore {
  const j = options.journal ?? {};
  return new FileStore({
    dir,
    logger: { info: (m) => logger.info(m), warn: (m) => logger.warn(m), error: (m) => logger.error(m) },
    fs: measuredFs(j.fs ?? nodeFs, io),
    segmentSize: j.segmentSize,
    syncDelayMs: j.syncDelayMs,
    retryDelayMs: j.retryDelayMs,
    pageThreshold: j.pageThreshold,
    headZeroFill: j.headZeroFill,
    backlogBytes: j.backlogBytes,
  });
}

/** Start a broker: in memory, on free loopback ports unless told otherwise. */
export function startBroker(options: BrokerOptions = {}): Promise<LocalMQ> {
  return LocalMQ.start(options);
}
