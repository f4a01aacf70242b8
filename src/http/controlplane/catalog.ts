import type { InstanceType } from '../../server/instance-types.js';

/**
 * What Amazon MQ offers (read November 2026): engine versions, host instance types per
 * engine, deployment modes and storage. RabbitMQ 3.13 runs on t3, m5 and m7g; 4.2 and 4.3
 * on m7g only; ActiveMQ 5.18 and 5.19 on t3.micro (single instance) and m5.
 */
export type EngineType = 'ACTIVEMQ' | 'RABBITMQ';
export type DeploymentMode = 'SINGLE_INSTANCE' | 'ACTIVE_STANDBY_MULTI_AZ' | 'CLUSTER_MULTI_AZ';

export const ENGINE_VERSIONS: Record<EngineType, string[]> = {
  ACTIVEMQ: ['5.19', '5.18'],
  RABBITMQ: ['4.3', '4.2', '3.13'],
};

/** the version AWS picks when a request names none */
export const DEFAULT_ENGINE_VERSION: Record<EngineType, string> = { ACTIVEMQ: '5.19', RABBITMQ: '3.13' };

export const DEPLOYMENT_MODES: Record<EngineType, DeploymentMode[]> = {
  ACTIVEMQ: ['SINGLE_INSTANCE', 'ACTIVE_STANDBY_MULTI_AZ'],
  RABBITMQ: ['SINGLE_INSTANCE', 'CLUSTER_MULTI_AZ'],
};

export interface InstanceOffer {
  hostInstanceType: string;
  engineTypes: EngineType[];
  /** the LocalMQ size whose connection/channel/queue limits the broker gets */
  limits: InstanceType;
  multiAz: boolean;
  /** RabbitMQ versions on this type (ActiveMQ: all) */
  rabbitVersions: string[];
}

const M5 = ['mq.m5.large', 'mq.m5.xlarge', 'mq.m5.2xlarge', 'mq.m5.4xlarge'] as const;
const M7G = ['mq.m7g.medium', 'mq.m7g.large', 'mq.m7g.xlarge', 'mq.m7g.2xlarge', 'mq.m7g.4xlarge', 'mq.m7g.8xlarge', 'mq.m7g.12xlarge', 'mq.m7g.16xlarge'];

export const INSTANCE_OFFERS: InstanceOffer[] = [
  { hostInstanceType: 'mq.t3.micro', engineTypes: ['ACTIVEMQ', 'RABBITMQ'], limits: 'mq.t3.micro', multiAz: false, rabbitVersions: ['3.13'] },
  ...M5.map((t) => ({ hostInstanceType: t, engineTypes: ['ACTIVEMQ', 'RABBITMQ'] as EngineType[], limits: t, multiAz: true, rabbitVersions: ['3.13'] })),
  // m7g sizes run with the limits of the nearest m5 size (medium: t3.micro's)
  ...M7G.map((t) => ({
    hostInstanceType: t,
    engineTypes: ['RABBITMQ'] as EngineType[],
    limits: (t === 'mq.m7g.medium' ? 'mq.t3.micro' : t.endsWith('.large') ? 'mq.m5.large' : t.endsWith('.xlarge') && !/\dxlarge/.test(t) ? 'mq.m5.xlarge' : t.endsWith('2xlarge') ? 'mq.m5.2xlarge' : 'mq.m5.4xlarge') as InstanceType,
    multiAz: t !== 'mq.m7g.medium',
    rabbitVersions: ['3.13', '4.2', '4.3'],
  })),
];

export function offer(engine: EngineType, hostInstanceType: string): InstanceOffer | undefined {
  return INSTANCE_OFFERS.find((o) => o.hostInstanceType === hostInstanceType && o.engineTypes.includes(engine));
}

export function versionsOn(engine: EngineType, o: InstanceOffer): string[] {
  return engine === 'RABBITMQ' ? ENGINE_VERSIONS.RABBITMQ.filter((v) => o.rabbitVersions.includes(v)) : ENGINE_VERSIONS.ACTIVEMQ;
}

export function modesOn(engine: EngineType, o: InstanceOffer): DeploymentMode[] {
  return o.multiAz ? DEPLOYMENT_MODES[engine] : ['SINGLE_INSTANCE'];
}

export function storageTypes(engine: EngineType, o: InstanceOffer): string[] {
  // ActiveMQ: EFS (durable, multi-AZ) or EBS (throughput, single instance) on m5; RabbitMQ: EBS
  return engine === 'ACTIVEMQ' && o.hostInstanceType !== 'mq.t3.micro' ? ['EBS', 'EFS'] : engine === 'ACTIVEMQ' ? ['EFS'] : ['EBS'];
}

export const AVAILABILITY_ZONES = (region: string) => ['a', 'b', 'c'].map((z) => `${region}${z}`);

/** EngineType as requests may spell it (Terraform sends `ActiveMQ` / `RabbitMQ`) */
export function engineTypeOf(value: unknown): EngineType | undefined {
  if (typeof value !== 'string') return undefined;
  const up = value.toUpperCase();
  return up === 'ACTIVEMQ' || up === 'RABBITMQ' ? up : undefined;
}
