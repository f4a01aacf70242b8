import { hostInstanceType as checkHostType, str, bool, strings, tagMap, object, brokerName, engineType, engineVersion, deploymentMode, userInput, maintenanceWindow, type Json } from './validate.js';
import { badRequest, MqApiError } from './errors.js';
import { storageTypes, offer, versionsOn } from './catalog.js';
import type { BrokerRecord, ConfigurationRef } from './model.js';

export interface CreateContext {
  brokerId: string;
  region: string;
  account: string;
  nameTaken(name: string): boolean;
  configuration(ref: ConfigurationRef): void;
  /** CRDR: the primary a replica is created for, checked (own account, engine, mode, not paired) */
  replicationPrimary(arn: string, replica: { engineType: string; deploymentMode: string; region: string }): BrokerRecord;
}

function configurationRef(body: Json): ConfigurationRef | undefined {
  if (body['configuration'] === undefined || body['configuration'] === null) return undefined;
  const c = object(body['configuration'], 'configuration');
  const id = str(c, 'id', true);
  const revision = c['revision'];
  if (revision !== undefined && (typeof revision !== 'number' || !Number.isInteger(revision) || revision < 1)) {
    throw badRequest('revision', 'The configuration revision must be a whole number from 1.');
  }
  return { id, revision: (revision as number | undefined) ?? 1 };
}

/** CreateBroker's request checked in Amazon MQ's way and turned into the broker's record. */
export function applyCreateBroker(body: Json, ctx: CreateContext): BrokerRecord {
  const name = brokerName(body);
  const engine = engineType(body);
  const hostType = str(body, 'hostInstanceType', true);
  const o = checkHostType(engine, hostType);
  const mode = deploymentMode(engine, hostType, str(body, 'deploymentMode', true));
  const version = engineVersion(engine, hostType, str(body, 'engineVersion'));
  const publiclyAccessible = bool(body, 'publiclyAccessible', true)!;
  const autoMinor = bool(body, 'autoMinorVersionUpgrade') ?? true;
  const strategy = (str(body, 'authenticationStrategy') ?? 'SIMPLE').toUpperCase();
  if (strategy === 'LDAP') throw badRequest('authenticationStrategy', 'LocalMQ does not implement LDAP authentication: use SIMPLE (users created with the broker and CreateUser).');
  if (strategy !== 'SIMPLE') throw badRequest('authenticationStrategy', `Authentication strategy [${strategy}] is invalid. Valid values are: [SIMPLE, LDAP].`);
  const storage = (str(body, 'storageType') ?? (engine === 'ACTIVEMQ' ? (mode === 'ACTIVE_STANDBY_MULTI_AZ' || hostType !== 'mq.t3.micro' ? 'EFS' : 'EFS') : 'EBS')).toUpperCase();
  if (!storageTypes(engine, o).includes(storage)) {
    throw badRequest('storageType', `Storage type [${storage}] is not supported for engine type [${engine}] on host instance type [${hostType}].`);
  }
  const rawUsers = body['users'];
  if (!Array.isArray(rawUsers) || rawUsers.length === 0) throw badRequest('users', 'The request failed because it is missing the required parameter [users]. A broker needs at least one user.');
  if (engine === 'RABBITMQ' && rawUsers.length > 1) throw badRequest('users', 'RabbitMQ brokers accept exactly one user at creation: create others through the RabbitMQ management API.');
  const users = rawUsers.map((u) => userInput(engine, object(u, 'users')));
  const seen = new Set<string>();
  for (const u of users) {
    if (seen.has(u.username)) throw badRequest('username', `Username [${u.username}] is repeated.`);
    seen.add(u.username);
  }
  if (ctx.nameTaken(name)) throw new MqApiError('ConflictException', 'brokerName', `Broker name [${name}] is already used by another broker in this account and region.`);
  const configuration = configurationRef(body);
  if (configuration) ctx.configuration(configuration);
  const replicationMode = (str(body, 'dataReplicationMode') ?? 'NONE').toUpperCase();
  if (replicationMode !== 'NONE' && replicationMode !== 'CRDR') throw badRequest('dataReplicationMode', `Data replication mode [${replicationMode}] is invalid. Valid values are: [NONE, CRDR].`);
  const primaryArn = str(body, 'dataReplicationPrimaryBrokerArn');
  if (replicationMode === 'CRDR' && !primaryArn) throw badRequest('dataReplicationPrimaryBrokerArn', 'The request failed because it is missing the required parameter [dataReplicationPrimaryBrokerArn]: a CRDR replica names its primary broker.');
  if (replicationMode === 'NONE' && primaryArn) throw badRequest('dataReplicationMode', 'dataReplicationPrimaryBrokerArn is set only on a replica broker created with dataReplicationMode CRDR.');
  const primary = primaryArn ? ctx.replicationPrimary(primaryArn, { engineType: engine, deploymentMode: mode, region: ctx.region }) : undefined;
  const encryption = object(body['encryptionOptions'], 'encryptionOptions');
  const logs = object(body['logs'], 'logs');
  if (engine === 'RABBITMQ' && logs['audit'] === true) throw badRequest('logs', 'Audit logs are not supported for RabbitMQ brokers.');
  const created = new Date().toISOString();
  return {
    brokerId: ctx.brokerId,
    brokerArn: `arn:aws:mq:${ctx.region}:${ctx.account}:broker:${name}:${ctx.brokerId}`,
    brokerName: name,
    region: ctx.region,
    engineType: engine,
    engineVersion: version,
    deploymentMode: mode,
    hostInstanceType: hostType,
    storageType: storage,
    autoMinorVersionUpgrade: autoMinor,
    publiclyAccessible,
    authenticationStrategy: strategy,
    created,
    encryptionOptions: { useAwsOwnedKey: bool(encryption, 'useAwsOwnedKey') ?? true, ...(str(encryption, 'kmsKeyId') ? { kmsKeyId: str(encryption, 'kmsKeyId')! } : {}) },
    logs: engine === 'ACTIVEMQ' ? { general: bool(logs, 'general') ?? false, audit: bool(logs, 'audit') ?? false } : { general: bool(logs, 'general') ?? false },
    maintenanceWindowStartTime: maintenanceWindow(body) ?? { dayOfWeek: 'SUNDAY', timeOfDay: '00:00', timeZone: 'UTC' },
    securityGroups: strings(body, 'securityGroups') ?? ['sg-00000000000000000'],
    subnetIds: strings(body, 'subnetIds') ?? (mode === 'SINGLE_INSTANCE' ? ['subnet-00000000000000001'] : ['subnet-00000000000000001', 'subnet-00000000000000002']),
    tags: tagMap(body) ?? {},
    ...(configuration ? { configuration } : {}),
    configurationHistory: [],
    pending: {},
    ...(typeof body['creatorRequestId'] === 'string' ? { creatorRequestId: body['creatorRequestId'] } : {}),
    users: users.map((u) => ({ username: u.username, consoleAccess: u.consoleAccess, groups: engine === 'ACTIVEMQ' ? u.groups : [], replicationUser: u.replicationUser })),
    ports: [],
    active: 0,
    dataReplicationMode: primary ? 'CRDR' : 'NONE',
    ...(primary ? { dataReplication: { role: 'REPLICA' as const, counterpart: { brokerId: primary.brokerId, region: primary.region } } } : {}),
  };
}

/** UpdateBroker: what takes effect at the next reboot goes into `pending`; the rest at once. */
export function applyUpdateBroker(record: BrokerRecord, body: Json, checkConfiguration: (ref: ConfigurationRef) => void): void {
  const hostType = str(body, 'hostInstanceType');
  if (hostType !== undefined) {
    const o = checkHostType(record.engineType, hostType);
    if (record.deploymentMode !== 'SINGLE_INSTANCE' && !o.multiAz) {
      throw badRequest('hostInstanceType', `Host instance type [${hostType}] does not support deployment mode [${record.deploymentMode}].`);
    }
  }
  const version = str(body, 'engineVersion');
  if (version !== undefined) {
    const type = hostType ?? record.pending.hostInstanceType ?? record.hostInstanceType;
    engineVersion(record.engineType, type, version);
    const offered = versionsOn(record.engineType, offer(record.engineType, type)!);
    const minor = (v: string) => v.split('.').slice(0, 2).join('.');
    if (offered.indexOf(minor(version)) > offered.indexOf(minor(record.engineVersion))) {
      throw badRequest('engineVersion', `Broker engine version [${version}] is older than the broker's [${record.engineVersion}]: downgrades are not supported.`);
    }
  }
  const configuration = configurationRef(body);
  if (configuration) checkConfiguration(configuration);
  const strategy = str(body, 'authenticationStrategy');
  if (strategy !== undefined && strategy.toUpperCase() !== 'SIMPLE') {
    throw badRequest('authenticationStrategy', 'LocalMQ does not implement LDAP authentication: use SIMPLE.');
  }
  const replication = str(body, 'dataReplicationMode')?.toUpperCase();
  if (replication !== undefined) {
    if (replication !== 'NONE' && replication !== 'CRDR') throw badRequest('dataReplicationMode', `Data replication mode [${replication}] is invalid. Valid values are: [NONE, CRDR].`);
    const paired = record.dataReplication !== undefined || record.pendingDataReplication !== undefined;
    if (replication === 'CRDR' && !paired) {
      throw badRequest('dataReplicationMode', `Broker [${record.brokerId}] has no replica: create one with CreateBroker (DataReplicationMode CRDR, DataReplicationPrimaryBrokerArn ${record.brokerArn}) in another region.`);
    }
    if (replication === 'NONE' && paired) {
      throw badRequest('dataReplicationMode', `Broker [${record.brokerId}] is in a data replication pair: delete the replica broker to end the pair.`);
    }
  }
  const window = maintenanceWindow(body);
  const autoMinor = bool(body, 'autoMinorVersionUpgrade');
  const groups = strings(body, 'securityGroups');
  const logs = body['logs'] === undefined ? undefined : object(body['logs'], 'logs');
  if (record.engineType === 'RABBITMQ' && logs?.['audit'] === true) throw badRequest('logs', 'Audit logs are not supported for RabbitMQ brokers.');
  if (version !== undefined && version !== record.engineVersion) record.pending.engineVersion = version;
  if (hostType !== undefined && hostType !== record.hostInstanceType) record.pending.hostInstanceType = hostType;
  if (configuration) record.pending.configuration = configuration;
  if (strategy !== undefined) record.pending.authenticationStrategy = strategy.toUpperCase();
  if (groups) record.pending.securityGroups = groups;
  if (logs) record.pending.logs = { general: bool(logs, 'general'), audit: bool(logs, 'audit') };
  if (window) record.maintenanceWindowStartTime = window;
  if (autoMinor !== undefined) record.autoMinorVersionUpgrade = autoMinor;
}
