import type { ListenerKey } from '../../server/profiles.js';
import type { DeploymentMode, EngineType } from './catalog.js';

/** A change to an ActiveMQ user that Amazon MQ applies at the next reboot. */
export type PendingChange = 'CREATE' | 'UPDATE' | 'DELETE';

export interface UserRecord {
  username: string;
  consoleAccess: boolean;
  groups: string[];
  replicationUser: boolean;
  /** what DescribeUser shows under `pending` until the next reboot */
  pending?: { pendingChange: PendingChange; consoleAccess?: boolean; groups?: string[] };
}

export interface ConfigurationRef {
  id: string;
  revision: number;
}

export interface WeeklyStartTime {
  dayOfWeek: string;
  timeOfDay: string;
  timeZone?: string;
}

/** Settings UpdateBroker changes: applied at the next reboot, shown as `pending...` until then. */
export interface PendingBrokerSettings {
  engineVersion?: string;
  hostInstanceType?: string;
  configuration?: ConfigurationRef;
  securityGroups?: string[];
  authenticationStrategy?: string;
  logs?: { general?: boolean; audit?: boolean };
}

/** a broker's side of a cross-region data replication (CRDR) pair */
export interface DataReplication {
  role: 'PRIMARY' | 'REPLICA';
  counterpart: { brokerId: string; region: string };
}

/** What the control plane keeps about a broker (in `<data dir>/brokers/control-plane.json`). */
export interface BrokerRecord {
  brokerId: string;
  brokerArn: string;
  brokerName: string;
  region: string;
  engineType: EngineType;
  engineVersion: string;
  deploymentMode: DeploymentMode;
  hostInstanceType: string;
  storageType: string;
  autoMinorVersionUpgrade: boolean;
  publiclyAccessible: boolean;
  authenticationStrategy: string;
  created: string;
  encryptionOptions: { useAwsOwnedKey: boolean; kmsKeyId?: string };
  logs: { general: boolean; audit?: boolean };
  maintenanceWindowStartTime: WeeklyStartTime;
  securityGroups: string[];
  subnetIds: string[];
  tags: Record<string, string>;
  configuration?: ConfigurationRef;
  configurationHistory: ConfigurationRef[];
  pending: PendingBrokerSettings;
  creatorRequestId?: string;
  /** ActiveMQ brokers' users as the API lists them (RabbitMQ: the one created with the broker) */
  users: UserRecord[];
  /** the ports each instance listens on (index 0: `-1`, index 1: the standby `-2`) */
  ports: Partial<Record<ListenerKey, number>>[];
  /** which instance holds the store's lock and serves */
  active: number;
  /** CRDR: `CRDR` once the broker is in a pair (a primary after its reboot), else NONE */
  dataReplicationMode?: 'NONE' | 'CRDR';
  dataReplication?: DataReplication;
  /** a primary's side of a pair its replica's creation asked for, in force after its reboot */
  pendingDataReplication?: DataReplication;
}

export interface ConfigurationRevisionRecord {
  revision: number;
  created: string;
  description: string;
  /** base64, as the API carries it */
  data: string;
}

export interface ConfigurationRecord {
  id: string;
  arn: string;
  name: string;
  engineType: EngineType;
  engineVersion: string;
  authenticationStrategy: string;
  created: string;
  description: string;
  tags: Record<string, string>;
  revisions: ConfigurationRevisionRecord[];
}

export type BrokerState =
  | 'CREATION_IN_PROGRESS'
  | 'CREATION_FAILED'
  | 'DELETION_IN_PROGRESS'
  | 'RUNNING'
  | 'REBOOT_IN_PROGRESS'
  | 'CRITICAL_ACTION_REQUIRED'
  /** a CRDR replica: it receives the primary's data and refuses clients */
  | 'REPLICA';
