import type { Broker } from '../core/broker.js';
import type { ClientConnection } from '../protocols/context.js';
import type { UserRegistry } from '../server/auth/users.js';
import type { RetainedDefinitions } from '../server/definitions/retained.js';
import type { Endpoint } from '../server/endpoints.js';
import type { Logger } from '../server/logger.js';
import type { Engine } from '../server/options.js';
import type { RateSampler } from './rates.js';
import type { IoStats } from '../store/file/measured-fs.js';
import type { VhostDef } from '../store/store.js';

/**
 * What the management API, the console and the metrics need from a running broker, and
 * nothing more: the core model, the users, the live connections, the listeners, and
 * definitions import/export. `LocalMQ` hands one of these to the HTTP layer, which never
 * sees the class itself.
 */
export interface ManagementBackend {
  readonly core: Broker;
  readonly users: UserRegistry;
  /** definitions kept for export that the core does not act on (vhost metadata, parameters...) */
  readonly retained: RetainedDefinitions;
  readonly logger: Logger;
  readonly engine: Engine;
  /** listener name -> port, once listening */
  readonly ports: Readonly<Record<string, number>>;
  readonly endpoints: readonly Endpoint[];
  /** the CA file clients should trust, once TLS certificates exist on disk */
  readonly caFile: string | undefined;
  /** the CLI's control secret (Bearer), acting as an administrator */
  readonly controlToken: string;
  readonly startedAt: number;
  /** the broker's name in Amazon MQ terms (the CloudWatch `Broker` dimension) */
  readonly brokerName: string;
  /** where the journal lives (disk-free figures are taken there), if persistent */
  readonly dataDir: string | undefined;
  /** the journal's disk reads, writes and syncs since start (all 0 in memory) */
  readonly io: IoStats;
  /** what the memory alarm compares with the watermark (RabbitMQ's mem_calculation_strategy) */
  readonly memoryCalculation: string;
  /** RabbitMQ's disk_free_limit, bytes */
  readonly diskFreeLimit?: number;
  /** the data dir's free space as the disk monitor last read it, bytes (undefined: not monitored) */
  readonly diskFree?: number | undefined;
  /** message and byte rates, sampled every 5 s */
  readonly rates: RateSampler;
  /** `management.restrictions.operator_policy_changes.disabled`: operator policy writes answer 405 */
  readonly operatorPolicyChangesDisabled?: boolean;
  connections(): ClientConnection[];
  /** OpenWire producers by destination (`queue:orders`, `topic:prices`): CloudWatch's ProducerCount */
  producerCounts?(): Map<string, number>;
  /** keep a vhost's metadata (description, tags, default_queue_type: handed to the core) */
  putVhostMeta(meta: VhostDef): void;
  /** RabbitMQ's /api/definitions document */
  exportDefinitions(): Record<string, unknown>;
  /** apply a definitions document; throws DefinitionsError / DefinitionsImportError on refusal */
  importDefinitions(json: unknown): void;
}
