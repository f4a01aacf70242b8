import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync, mkdirSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalMQ } from '../../server/local-mq.js';
import type { Logger } from '../../server/logger.js';
import type { ListenerKey } from '../../server/profiles.js';
import { ensureCertificates, type TlsMaterial } from '../../server/tls/certificates.js';
import { INSTANCE_LISTENERS, reserveFreePort, startInstance } from '../../server/brokers/instance.js';
import { offer } from './catalog.js';
import { Configurations, rabbitBrokerSettings } from './configurations.js';
import { badRequest, brokerNotFound, MqApiError } from './errors.js';
import type { BrokerRecord, BrokerState, ConfigurationRef, UserRecord } from './model.js';
import { describeBroker, replicationFields, type Presentation } from './present.js';
import { apiHandler } from './routes.js';
import { applyCreateBroker, applyUpdateBroker } from './broker-requests.js';
import type { Json } from './validate.js';
import { copyStore, readUsers, restoreUsers } from './replication.js';
import { activeMqPolicies, deadLetterResolver, prioritizedResolver } from './activemq-xml.js';

export interface ControlPlaneOptions {
  /** the LocalMQ's data dir: brokers live in `<dataDir>/brokers/<id>/`; none: a temp dir removed at stop */
  dataDir?: string;
  hostname: string;
  hosts?: string[];
  region: string;
  logger: Logger;
  /** the parent LocalMQ's certificates: with a data dir its CA signs every created broker's certificate */
  certificates: () => Promise<TlsMaterial>;
  /** give the first broker the standard ports when free (the CLI); tests use free ports */
  standardPorts: boolean;
  /** endpoints at the Amazon-style host names (`b-…-1.mq.<region>.amazonaws.com`) instead of `hostname` */
  amazonHostnames?: boolean;
}

/** The AWS account every ARN names */
export const ACCOUNT = '000000000000';
const STATE_FILE = 'control-plane.json';

interface Runtime {
  state: BrokerState;
  /** live LocalMQ per instance; the standby of a pair is undefined until it takes over */
  instances: (LocalMQ | undefined)[];
  /** serialises create / reboot / failover / delete */
  busy: Promise<unknown>;
}

export interface FailoverResult {
  brokerId: string;
  /** 1 or 2: the instance serving now */
  activeInstance: number;
  /** from the trigger until the standby accepted connections */
  millis: number;
}

/**
 * Amazon MQ's control plane inside LocalMQ: every broker created through the API is a real
 * LocalMQ instance in this process, with its own users, vhosts, store and TLS listeners.
 */
export class ControlPlane {
  readonly records = new Map<string, BrokerRecord>();
  private readonly runtime = new Map<string, Runtime>();
  readonly configurations: Configurations;
  private rootDir: string | undefined;
  private tempRoot = false;
  private caDir: string | undefined;
  private caPem: string | undefined;
  private caReady: Promise<{ ca: string; caFile: string }> | undefined;
  private stopped = false;
  private httpHandler: ((req: http.IncomingMessage, res: http.ServerResponse) => void) | undefined;

  constructor(readonly options: ControlPlaneOptions) {
    this.configurations = new Configurations((region) => `arn:aws:mq:${region}:${ACCOUNT}`, () => this.save());
  }

  get handler(): (req: http.IncomingMessage, res: http.ServerResponse) => void {
    return (this.httpHandler ??= apiHandler(this));
  }

  get logger(): Logger {
    return this.options.logger;
  }

  /** `<data dir>/brokers`, or a temp dir for an in-memory LocalMQ */
  private root(): string {
    if (!this.rootDir) {
      if (this.options.dataDir) this.rootDir = join(this.options.dataDir, 'brokers');
      else {
        this.rootDir = mkdtempSync(join(tmpdir(), 'localmq-brokers-'));
        this.tempRoot = true;
      }
      mkdirSync(this.rootDir, { recursive: true });
    }
    return this.rootDir;
  }

  /** The local CA that signs every created broker's certificate: trust it to connect over TLS. */
  certificateAuthority(): Promise<{ ca: string; caFile: string }> {
    // one promise for every caller: two CreateBroker requests in a row must not both write the CA's files
    this.caReady ??= this.loadCertificateAuthority().catch((err: unknown) => {
      this.caReady = undefined;
      throw err;
    });
    return this.caReady;
  }

  private async loadCertificateAuthority(): Promise<{ ca: string; caFile: string }> {
    if (this.options.dataDir) {
      const m = await this.options.certificates();
      this.caDir = join(this.options.dataDir, 'tls');
      this.caPem = m.ca;
    } else {
      const dir = join(this.root(), 'tls');
      const m = await ensureCertificates({ dir, hostnames: [this.options.hostname] });
      this.caDir = dir;
      this.caPem = m.ca;
    }
    return { ca: this.caPem, caFile: join(this.caDir, 'ca.pem') };
  }

  // ---- brokers ---------------------------------------------------------------------------

  record(id: string): BrokerRecord {
    const r = this.records.get(id);
    if (!r || this.runtime.get(id)?.state === undefined) throw brokerNotFound(id);
    return r;
  }

  state(id: string): BrokerState {
    return this.runtime.get(id)?.state ?? 'CREATION_FAILED';
  }

  /** the live LocalMQ instances of a broker (the active one first for a pair) */
  instances(id: string): LocalMQ[] {
    const rt = this.runtime.get(id);
    return rt ? rt.instances.filter((x): x is LocalMQ => x !== undefined) : [];
  }

  /** the LocalMQ serving a broker now */
  activeInstance(id: string): LocalMQ | undefined {
    const r = this.records.get(id);
    return r ? this.runtime.get(id)?.instances[r.active] : undefined;
  }

  createBroker(body: Json, region = this.options.region): { brokerArn: string; brokerId: string } {
    const idempotent = typeof body['creatorRequestId'] === 'string' ? [...this.records.values()].find((r) => r.creatorRequestId === body['creatorRequestId']) : undefined;
    if (idempotent) return { brokerArn: idempotent.brokerArn, brokerId: idempotent.brokerId };
    const brokerId = `b-${randomUUID()}`;
    const record = applyCreateBroker(body, {
      brokerId,
      region,
      account: ACCOUNT,
      nameTaken: (name) => [...this.records.values()].some((r) => r.brokerName === name),
      configuration: (ref) => this.checkConfiguration(ref, body),
      replicationPrimary: (arn, replica) => this.replicationPrimary(arn, replica),
    });
    if (record.dataReplication) {
      // the primary joins the pair at its next reboot (Amazon MQ shows it pending until then)
      const primary = this.records.get(record.dataReplication.counterpart.brokerId)!;
      primary.pendingDataReplication = { role: 'PRIMARY', counterpart: { brokerId, region } };
    }
    this.records.set(brokerId, record);
    const rt: Runtime = { state: 'CREATION_IN_PROGRESS', instances: [], busy: Promise.resolve() };
    this.runtime.set(brokerId, rt);
    this.save();
    const users = record.users.length ? (body['users'] as Json[]) : [];
    rt.busy = this.launch(record, rt, users).catch((err: unknown) => {
      rt.state = 'CREATION_FAILED';
      this.logger.error('creating a broker failed', { brokerId, error: (err as Error).message });
    });
    return { brokerArn: record.brokerArn, brokerId };
  }

  /** CreateBroker's dataReplicationPrimaryBrokerArn, checked as Amazon MQ checks a CRDR pair */
  private replicationPrimary(arn: string, replica: { engineType: string; deploymentMode: string; region: string }): BrokerRecord {
    checkOwnArn(arn);
    const primary = [...this.records.values()].find((r) => r.brokerArn === arn && this.runtime.has(r.brokerId));
    if (!primary) throw new MqApiError('NotFoundException', 'dataReplicationPrimaryBrokerArn', `Can't find requested broker [${arn}]. Make sure your broker exists.`);
    if (replica.engineType !== 'ACTIVEMQ' || primary.engineType !== 'ACTIVEMQ') {
      throw badRequest('dataReplicationMode', 'Cross-region data replication (CRDR) is available for ActiveMQ brokers only.');
    }
    if (replica.deploymentMode !== 'ACTIVE_STANDBY_MULTI_AZ' || primary.deploymentMode !== 'ACTIVE_STANDBY_MULTI_AZ') {
      throw badRequest('deploymentMode', 'Cross-region data replication (CRDR) needs ACTIVE_STANDBY_MULTI_AZ brokers on both sides.');
    }
    if (replica.region === primary.region) {
      throw badRequest('dataReplicationPrimaryBrokerArn', `The replica broker must be in another region than its primary [${primary.region}]: sign the CreateBroker request for the replica's region.`);
    }
    if (primary.dataReplication || primary.pendingDataReplication) {
      throw new MqApiError('ConflictException', 'dataReplicationPrimaryBrokerArn', `Broker [${primary.brokerId}] is already in a data replication pair.`);
    }
    return primary;
  }

  private checkConfiguration(ref: ConfigurationRef, body: Json): void {
    const c = this.configurations.get(ref.id);
    this.configurations.revision(ref.id, ref.revision);
    const engine = String(body['engineType'] ?? '').toUpperCase();
    if (engine && c.engineType !== engine) {
      throw badRequest('configuration', `Configuration [${ref.id}] is for engine type [${c.engineType}], not [${engine}].`);
    }
  }

  /** start the broker's instance(s); a pair reserves the standby's ports now so both have endpoints */
  private async launch(record: BrokerRecord, rt: Runtime, users: Json[]): Promise<void> {
    await this.certificateAuthority();
    const first = await this.startInstanceOf(record, 0, users);
    rt.instances[0] = first;
    record.ports[0] = { ...first.ports } as Partial<Record<ListenerKey, number>>;
    if (record.deploymentMode === 'ACTIVE_STANDBY_MULTI_AZ') {
      const standby: Partial<Record<ListenerKey, number>> = {};
      for (const key of INSTANCE_LISTENERS[this.engineOf(record)]) standby[key] = await reserveFreePort();
      record.ports[1] = standby;
    }
    record.active = 0;
    if (this.stopped) {
      await first.stop();
      return;
    }
    if (record.dataReplication?.role === 'REPLICA') {
      // a replica holds its users in its store and refuses clients until it is promoted
      await first.stop();
      rt.instances[0] = undefined;
      rt.state = 'REPLICA';
    } else rt.state = 'RUNNING';
    this.save();
  }

  private engineOf(record: BrokerRecord): 'rabbitmq' | 'activemq' {
    return record.engineType === 'ACTIVEMQ' ? 'activemq' : 'rabbitmq';
  }

  private async startInstanceOf(record: BrokerRecord, index: number, users: Json[] = []): Promise<LocalMQ> {
    const o = offer(record.engineType, record.hostInstanceType);
    const isFirstBroker = this.records.size === 1;
    const conf = record.configuration && record.engineType === 'RABBITMQ' ? rabbitBrokerSettings(this.configurations.rabbitSettings(record.configuration.id, record.configuration.revision)) : undefined;
    if (conf?.ignored.length) this.logger.info('configuration keys kept but not applied by LocalMQ', { brokerId: record.brokerId, keys: conf.ignored });
    let deadLetter: ReturnType<typeof deadLetterResolver>;
    let prioritized: ReturnType<typeof prioritizedResolver>;
    if (record.configuration && record.engineType === 'ACTIVEMQ') {
      const entries = activeMqPolicies(this.configurations.activeMqXml(record.configuration.id, record.configuration.revision));
      deadLetter = deadLetterResolver(entries);
      prioritized = prioritizedResolver(entries);
      const notApplied = entries.flatMap((e) => e.notApplied.map((n) => `${e.kind}=${e.pattern}: ${n}`));
      if (notApplied.length) this.logger.info('destination policy settings kept but not applied by LocalMQ', { brokerId: record.brokerId, settings: notApplied });
    }
    const instance = await startInstance({
      limits: conf?.limits,
      amqp: conf?.amqp,
      management: conf?.management,
      engineVersion: record.engineVersion,
      brokerId: record.brokerId,
      brokerName: record.brokerName,
      engine: this.engineOf(record),
      region: record.region,
      dataDir: join(this.root(), record.brokerId),
      caDir: this.caDir!,
      hostname: this.options.hostname,
      hosts: this.options.hosts,
      instanceType: o?.limits,
      users: users.map((u) => ({
        name: String(u['username']),
        password: String(u['password']),
        tags: record.engineType === 'RABBITMQ' ? ['administrator'] : [],
        groups: Array.isArray(u['groups']) ? (u['groups'] as string[]) : undefined,
        consoleAccess: typeof u['consoleAccess'] === 'boolean' ? u['consoleAccess'] : undefined,
      })),
      ports: record.ports[index] ?? {},
      standardPorts: this.options.standardPorts && isFirstBroker && index === 0,
      logger: this.logger.child({ broker: record.brokerId, instance: index + 1 }),
    });
    // the revision's settings the core takes after start: ActiveMQ dead-letter strategies and
    // prioritizedMessages, RabbitMQ's default_queue_type and consumer_timeout
    instance.core.activeMqDeadLetterStrategy = deadLetter;
    instance.core.activeMqPrioritized = prioritized;
    if (conf?.defaultQueueType) {
      instance.core.engineRules = { ...instance.core.engineRules, defaultQueueType: conf.defaultQueueType };
      instance.core.defaultQueueType = conf.defaultQueueType;
    }
    if (conf?.consumerTimeoutMs !== undefined) instance.core.consumerTimeoutMs = conf.consumerTimeoutMs;
    return instance;
  }

  describeBroker(id: string): Json {
    const record = this.record(id);
    return describeBroker(record, this.state(id), this.presentation(record));
  }

  presentation(record: BrokerRecord): Presentation {
    return { hostname: this.options.hostname, amazonHostnames: this.options.amazonHostnames ?? false, configurations: this.configurations };
  }

  listBrokers(): BrokerRecord[] {
    return [...this.records.values()].filter((r) => this.runtime.has(r.brokerId)).sort((a, b) => a.created.localeCompare(b.created));
  }

  updateBroker(id: string, body: Json): Json {
    const record = this.record(id);
    applyUpdateBroker(record, body, (ref) => this.checkConfiguration(ref, { engineType: record.engineType }));
    this.save();
    return {
      authenticationStrategy: record.pending.authenticationStrategy ?? record.authenticationStrategy,
      autoMinorVersionUpgrade: record.autoMinorVersionUpgrade,
      brokerId: id,
      configuration: record.pending.configuration ?? record.configuration,
      engineVersion: record.pending.engineVersion ?? record.engineVersion,
      hostInstanceType: record.pending.hostInstanceType ?? record.hostInstanceType,
      logs: { general: record.pending.logs?.general ?? record.logs.general, ...(record.engineType === 'ACTIVEMQ' ? { audit: record.pending.logs?.audit ?? record.logs.audit ?? false } : {}) },
      maintenanceWindowStartTime: record.maintenanceWindowStartTime,
      securityGroups: record.pending.securityGroups ?? record.securityGroups,
      ...replicationFields(record),
    };
  }

  /**
   * Reboot as Amazon MQ does: pending settings and user changes take effect. A single
   * instance or a RabbitMQ cluster closes its clients (AMQP 320) and comes back on the
   * same endpoints with its durable state; an active/standby pair fails over.
   */
  rebootBroker(id: string): Promise<void> {
    const record = this.record(id);
    const rt = this.runtime.get(id)!;
    if (rt.state !== 'RUNNING') {
      throw new MqApiError('ConflictException', 'broker-id', `Broker [${id}] is in state [${rt.state}]; it can be rebooted only when it is RUNNING.`);
    }
    rt.state = 'REBOOT_IN_PROGRESS';
    const done = (rt.busy = rt.busy.then(async () => {
      this.applyPending(record);
      if (record.deploymentMode === 'ACTIVE_STANDBY_MULTI_AZ') await this.switchOver(record, rt);
      else {
        await rt.instances[record.active]?.stop();
        rt.instances[record.active] = await this.startInstanceOf(record, record.active);
      }
      rt.state = 'RUNNING';
      this.save();
    }));
    done.catch((err: unknown) => {
      rt.state = 'CRITICAL_ACTION_REQUIRED';
      this.logger.error('rebooting a broker failed', { brokerId: id, error: (err as Error).message });
    });
    return done.then(() => undefined);
  }

  /**
   * Fail an active/standby pair over now: the active instance stops abruptly (its clients
   * see the connection drop, as when a host dies), the standby takes the store's lock,
   * recovers the durable state and serves on its own endpoints.
   */
  async failover(id: string): Promise<FailoverResult> {
    const record = this.record(id);
    if (record.deploymentMode !== 'ACTIVE_STANDBY_MULTI_AZ') {
      throw badRequest('deploymentMode', `Broker [${id}] is a ${record.deploymentMode} broker: only ACTIVE_STANDBY_MULTI_AZ brokers have a standby to fail over to.`);
    }
    const rt = this.runtime.get(id)!;
    await rt.busy;
    if (rt.state !== 'RUNNING') throw new MqApiError('ConflictException', 'broker-id', `Broker [${id}] is in state [${rt.state}]: only a RUNNING broker serves and can fail over.`);
    rt.state = 'REBOOT_IN_PROGRESS';
    const started = process.hrtime.bigint();
    const run = this.switchOver(record, rt);
    rt.busy = run.catch(() => undefined);
    try {
      await run;
    } catch (err) {
      rt.state = 'CRITICAL_ACTION_REQUIRED';
      throw err;
    }
    rt.state = 'RUNNING';
    this.save();
    return { brokerId: id, activeInstance: record.active + 1, millis: Number(process.hrtime.bigint() - started) / 1e6 };
  }

  private async switchOver(record: BrokerRecord, rt: Runtime): Promise<void> {
    const from = record.active;
    const to = 1 - from;
    await rt.instances[from]?.stop({ abrupt: true });
    rt.instances[from] = undefined;
    rt.instances[to] = await this.startInstanceOf(record, to);
    record.ports[to] = { ...rt.instances[to]!.ports } as Partial<Record<ListenerKey, number>>;
    record.active = to;
    this.logger.info('broker failed over', { brokerId: record.brokerId, active: to + 1 });
  }

  private applyPending(record: BrokerRecord): void {
    const p = record.pending;
    if (p.engineVersion) record.engineVersion = p.engineVersion;
    if (p.hostInstanceType) record.hostInstanceType = p.hostInstanceType;
    if (p.securityGroups) record.securityGroups = p.securityGroups;
    if (p.authenticationStrategy) record.authenticationStrategy = p.authenticationStrategy;
    if (p.logs) record.logs = { ...record.logs, ...p.logs };
    if (p.configuration) {
      record.configuration = p.configuration;
      record.configurationHistory.push(p.configuration);
    }
    record.pending = {};
    if (record.pendingDataReplication) {
      record.dataReplication = record.pendingDataReplication;
      record.dataReplicationMode = 'CRDR';
      record.pendingDataReplication = undefined;
    }
    record.users = record.users
      .filter((u) => u.pending?.pendingChange !== 'DELETE')
      .map((u) => ({ ...u, consoleAccess: u.pending?.consoleAccess ?? u.consoleAccess, groups: u.pending?.groups ?? u.groups, pending: undefined }));
  }

  /**
   * Promote a CRDR replica to primary (Amazon MQ's Promote): SWITCHOVER stops the primary
   * cleanly, FAILOVER abruptly (as a lost region); the primary's durable state is copied to
   * the replica (see replication.ts for what is replicated), the replica starts serving on
   * its endpoints with its own users, and the former primary becomes the replica.
   */
  promote(id: string, mode: 'SWITCHOVER' | 'FAILOVER'): { brokerId: string } {
    const record = this.record(id);
    if (record.dataReplication?.role !== 'REPLICA') {
      throw badRequest('dataReplicationMode', `Broker [${id}] is not a replica in a cross-region data replication (CRDR) pair, so it cannot be promoted.`);
    }
    const primary = this.records.get(record.dataReplication.counterpart.brokerId);
    const prt = primary ? this.runtime.get(primary.brokerId) : undefined;
    if (!primary || !prt) throw badRequest('dataReplicationMode', `The primary broker [${record.dataReplication.counterpart.brokerId}] of replica [${id}] is gone.`);
    if (mode === 'SWITCHOVER' && (prt.state !== 'RUNNING' || primary.dataReplication?.role !== 'PRIMARY')) {
      throw badRequest('mode', `A SWITCHOVER needs the primary broker [${primary.brokerId}] RUNNING with replication in force (it is ${prt.state}${primary.pendingDataReplication ? ', replication pending its reboot' : ''}); use FAILOVER.`);
    }
    const rt = this.runtime.get(id)!;
    if (rt.state !== 'REPLICA') throw new MqApiError('ConflictException', 'broker-id', `Broker [${id}] is in state [${rt.state}].`);
    rt.state = 'REBOOT_IN_PROGRESS';
    const run = Promise.all([rt.busy, prt.busy]).then(async () => {
      prt.state = 'REBOOT_IN_PROGRESS';
      await Promise.all(prt.instances.map((i) => i?.stop(mode === 'FAILOVER' ? { abrupt: true } : undefined)));
      prt.instances = [];
      const replicaDir = join(this.root(), id);
      const own = await readUsers(replicaDir, this.logger);
      await copyStore(join(this.root(), primary.brokerId), replicaDir);
      const started = await this.startInstanceOf(record, record.active);
      restoreUsers(started, own);
      rt.instances[record.active] = started;
      record.ports[record.active] = { ...started.ports } as Partial<Record<ListenerKey, number>>;
      record.dataReplication = { role: 'PRIMARY', counterpart: { brokerId: primary.brokerId, region: primary.region } };
      primary.dataReplication = { role: 'REPLICA', counterpart: { brokerId: id, region: record.region } };
      primary.dataReplicationMode = 'CRDR';
      primary.pendingDataReplication = undefined;
      rt.state = 'RUNNING';
      prt.state = 'REPLICA';
      this.save();
      this.logger.info('replica promoted', { brokerId: id, mode, formerPrimary: primary.brokerId });
    });
    rt.busy = run.catch((err: unknown) => {
      rt.state = 'CRITICAL_ACTION_REQUIRED';
      this.logger.error('promoting a replica failed', { brokerId: id, error: (err as Error).message });
    });
    prt.busy = rt.busy;
    return { brokerId: id };
  }

  deleteBroker(id: string): { brokerId: string } {
    const record = this.record(id);
    const rt = this.runtime.get(id)!;
    if (rt.state === 'DELETION_IN_PROGRESS') return { brokerId: id };
    const pair = record.dataReplication ?? record.pendingDataReplication;
    const counterpart = pair ? this.records.get(pair.counterpart.brokerId) : undefined;
    if (pair?.role === 'PRIMARY' && counterpart) {
      throw badRequest('broker-id', `Broker [${id}] is the primary of a data replication pair: delete its replica [${counterpart.brokerId}] first.`);
    }
    if (counterpart) {
      // the replica goes: its primary leaves the pair
      counterpart.dataReplication = undefined;
      counterpart.pendingDataReplication = undefined;
      counterpart.dataReplicationMode = 'NONE';
    }
    rt.state = 'DELETION_IN_PROGRESS';
    rt.busy = rt.busy.then(async () => {
      await Promise.all(rt.instances.map((i) => i?.stop()));
      rt.instances = [];
      await rm(join(this.root(), id), { recursive: true, force: true });
      this.records.delete(id);
      this.runtime.delete(id);
      this.save();
    });
    rt.busy.catch((err: unknown) => this.logger.error('deleting a broker failed', { brokerId: id, error: (err as Error).message }));
    return { brokerId: id };
  }

  /** resolve once the broker reaches the state (or is gone, for deletion) */
  async settled(id: string): Promise<void> {
    await this.runtime.get(id)?.busy;
  }

  // ---- users (ActiveMQ) --------------------------------------------------------------------

  /** ActiveMQ user calls: Amazon MQ refuses them on RabbitMQ brokers */
  activeMqBroker(id: string): BrokerRecord {
    const record = this.record(id);
    if (record.engineType === 'RABBITMQ') {
      throw badRequest('engineType', `Broker [${id}] is a RabbitMQ broker: users of RabbitMQ brokers are managed through the RabbitMQ management API, not the Amazon MQ API.`);
    }
    return record;
  }

  userRecord(record: BrokerRecord, username: string): UserRecord | undefined {
    return record.users.find((u) => u.username === username);
  }

  // ---- tags ------------------------------------------------------------------------------

  taggable(arn: string): { tags: Record<string, string> } {
    checkOwnArn(arn);
    const broker = [...this.records.values()].find((r) => r.brokerArn === arn);
    if (broker) return broker;
    const configuration = [...this.configurations.records.values()].find((c) => c.arn === arn);
    if (configuration) return configuration;
    throw new MqApiError('NotFoundException', 'resource-arn', `Can't find requested resource [${arn}]. Make sure your resource exists.`);
  }

  // ---- persistence -----------------------------------------------------------------------

  save(): void {
    if (!this.options.dataDir || this.stopped) return;
    const file = join(this.root(), STATE_FILE);
    const data = { brokers: [...this.records.values()], configurations: [...this.configurations.records.values()] };
    writeFileSync(file + '.tmp', JSON.stringify(data, null, 2));
    renameSync(file + '.tmp', file);
  }

  /** bring back the brokers a previous run created (their stores hold their data) */
  async restore(): Promise<void> {
    if (!this.options.dataDir) return;
    const file = join(this.options.dataDir, 'brokers', STATE_FILE);
    if (!existsSync(file)) return;
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { brokers: BrokerRecord[]; configurations: Configurations['records'] extends Map<string, infer C> ? C[] : never };
    for (const c of saved.configurations ?? []) this.configurations.records.set(c.id, c);
    for (const r of saved.brokers ?? []) {
      this.records.set(r.brokerId, r);
      const rt: Runtime = { state: 'REBOOT_IN_PROGRESS', instances: [], busy: Promise.resolve() };
      this.runtime.set(r.brokerId, rt);
    }
    await this.certificateAuthority();
    for (const r of saved.brokers ?? []) {
      const rt = this.runtime.get(r.brokerId)!;
      if (r.dataReplication?.role === 'REPLICA') {
        rt.state = 'REPLICA';
        continue;
      }
      try {
        rt.instances[r.active] = await this.startInstanceOf(r, r.active);
        rt.state = 'RUNNING';
      } catch (err) {
        rt.state = 'CRITICAL_ACTION_REQUIRED';
        this.logger.error('a broker did not come back', { brokerId: r.brokerId, error: (err as Error).message });
      }
    }
  }

  /** stop every broker (their stores flushed); the temp dir of an in-memory LocalMQ goes */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.save();
    this.stopped = true;
    await Promise.all([...this.runtime.values()].map((rt) => rt.busy.catch(() => undefined)));
    await Promise.all([...this.runtime.values()].flatMap((rt) => rt.instances.map((i) => i?.stop())));
    if (this.tempRoot && this.rootDir) rmSync(this.rootDir, { recursive: true, force: true });
  }
}

/**
 * An ARN of another AWS account: Amazon MQ answers ForbiddenException (403), since the
 * caller may not act on resources it does not own. Every resource LocalMQ holds is in
 * account 000000000000.
 */
export function checkOwnArn(arn: string): void {
  const m = /^arn:aws[a-z-]*:mq:[a-z0-9-]*:(\d{12}):/.exec(arn);
  if (m && m[1] !== ACCOUNT) {
    throw new MqApiError('ForbiddenException', 'resource-arn', `User is not authorized to access resource [${arn}]: it belongs to account ${m[1]}, not ${ACCOUNT}.`);
  }
}
