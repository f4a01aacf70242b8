import { endpointTable } from '../../server/endpoints.js';
import type { ListenerKey } from '../../server/profiles.js';
import type { Configurations } from './configurations.js';
import type { BrokerRecord, BrokerState } from './model.js';
import type { Json } from './validate.js';

export interface Presentation {
  hostname: string;
  amazonHostnames: boolean;
  configurations: Configurations;
}

/** Amazon MQ lists an ActiveMQ instance's endpoints in this order (OpenWire first). */
const SCHEME_ORDER = ['ssl', 'amqp+ssl', 'amqps', 'stomp+ssl', 'mqtt+ssl', 'wss'];

/** The host an instance's endpoints name: `localhost` by default, or Amazon's form. */
export function instanceHost(record: BrokerRecord, index: number, p: Presentation): string {
  if (!p.amazonHostnames) return p.hostname;
  const suffix = record.engineType === 'ACTIVEMQ' ? `-${index + 1}` : '';
  return `${record.brokerId}${suffix}.mq.${record.region}.amazonaws.com`;
}

/**
 * One `brokerInstances[]` entry: Amazon MQ's URL forms (`amqps://…` for RabbitMQ;
 * `ssl://`, `amqp+ssl://`, `stomp+ssl://`, `mqtt+ssl://`, `wss://` for ActiveMQ) on the
 * live listeners' ports, and the console URL.
 */
export function brokerInstance(record: BrokerRecord, index: number, p: Presentation): Json {
  const host = instanceHost(record, index, p);
  const ports = record.ports[index] ?? {};
  const table = endpointTable(host, ports as Partial<Record<ListenerKey, number>>);
  const endpoints = table
    .filter((e) => e.tls && e.key !== 'console' && e.key !== 'https')
    .map((e) => e.url)
    .sort((a, b) => SCHEME_ORDER.indexOf(a.split('://')[0]!) - SCHEME_ORDER.indexOf(b.split('://')[0]!));
  const consolePort = record.engineType === 'ACTIVEMQ' ? ports.console : ports.https;
  const out: Json = { consoleURL: consolePort === undefined ? `https://${host}` : `https://${host}:${consolePort}`, endpoints };
  // Amazon MQ gives ActiveMQ instances an IP address; RabbitMQ's sit behind a load balancer
  if (record.engineType === 'ACTIVEMQ') out['ipAddress'] = '127.0.0.1';
  return out;
}

export function describeBroker(record: BrokerRecord, state: BrokerState, p: Presentation): Json {
  const instances = state === 'CREATION_IN_PROGRESS' || state === 'CREATION_FAILED' ? [] : record.ports.map((_, i) => brokerInstance(record, i, p));
  const pending = record.pending;
  const out: Json = {
    actionsRequired: [],
    authenticationStrategy: record.authenticationStrategy,
    autoMinorVersionUpgrade: record.autoMinorVersionUpgrade,
    brokerArn: record.brokerArn,
    brokerId: record.brokerId,
    brokerInstances: instances,
    brokerName: record.brokerName,
    brokerState: state,
    configurations: {
      ...(record.configuration ? { current: record.configuration } : {}),
      history: record.configurationHistory,
      ...(pending.configuration ? { pending: pending.configuration } : {}),
    },
    created: record.created,
    deploymentMode: record.deploymentMode,
    encryptionOptions: record.encryptionOptions,
    engineType: record.engineType,
    engineVersion: record.engineVersion,
    hostInstanceType: record.hostInstanceType,
    logs: {
      general: record.logs.general,
      ...(record.logs.general ? { generalLogGroup: `/aws/amazonmq/broker/${record.brokerId}/general` } : {}),
      ...(record.engineType === 'ACTIVEMQ' ? { audit: record.logs.audit ?? false } : {}),
      ...(record.engineType === 'ACTIVEMQ' && record.logs.audit ? { auditLogGroup: `/aws/amazonmq/broker/${record.brokerId}/audit` } : {}),
      ...(pending.logs ? { pending: pending.logs } : {}),
    },
    maintenanceWindowStartTime: record.maintenanceWindowStartTime,
    publiclyAccessible: record.publiclyAccessible,
    securityGroups: record.securityGroups,
    storageType: record.storageType,
    subnetIds: record.subnetIds,
    tags: record.tags,
    users: record.engineType === 'ACTIVEMQ' ? record.users.map((u) => (u.pending ? { username: u.username, pendingChange: u.pending.pendingChange } : { username: u.username })) : [],
    ...replicationFields(record),
  };
  if (pending.engineVersion) out['pendingEngineVersion'] = pending.engineVersion;
  if (pending.hostInstanceType) out['pendingHostInstanceType'] = pending.hostInstanceType;
  if (pending.securityGroups) out['pendingSecurityGroups'] = pending.securityGroups;
  if (pending.authenticationStrategy) out['pendingAuthenticationStrategy'] = pending.authenticationStrategy;
  return out;
}

/** dataReplicationMode / Metadata and their pending forms, as DescribeBroker and UpdateBroker answer them */
export function replicationFields(record: BrokerRecord): Json {
  const meta = (d: NonNullable<BrokerRecord['dataReplication']>) => ({ dataReplicationCounterpart: { brokerId: d.counterpart.brokerId, region: d.counterpart.region }, dataReplicationRole: d.role });
  return {
    dataReplicationMode: record.dataReplicationMode ?? 'NONE',
    ...(record.dataReplication ? { dataReplicationMetadata: meta(record.dataReplication) } : {}),
    ...(record.pendingDataReplication ? { pendingDataReplicationMode: 'CRDR', pendingDataReplicationMetadata: meta(record.pendingDataReplication) } : {}),
  };
}

export function brokerSummary(record: BrokerRecord, state: BrokerState): Json {
  return {
    brokerArn: record.brokerArn,
    brokerId: record.brokerId,
    brokerName: record.brokerName,
    brokerState: state,
    created: record.created,
    deploymentMode: record.deploymentMode,
    engineType: record.engineType,
    hostInstanceType: record.hostInstanceType,
  };
}
