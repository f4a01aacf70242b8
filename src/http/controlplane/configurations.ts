import { randomUUID } from 'node:crypto';
import { DEFAULT_ENGINE_VERSION, ENGINE_VERSIONS, type EngineType } from './catalog.js';
import { badRequest, configurationNotFound, MqApiError } from './errors.js';
import type { ConfigurationRecord } from './model.js';
import { engineType, str, tagMap, type Json } from './validate.js';
import { checkActiveMqXml, type SanitizationWarning } from './activemq-xml.js';

/** The XML a new ActiveMQ configuration starts with on Amazon MQ (revision 1). */
const DEFAULT_ACTIVEMQ_XML = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<broker xmlns="http://activemq.apache.org/schema/core">
  <destinationPolicy>
    <policyMap>
      <policyEntries>
        <policyEntry topic="&gt;">
          <pendingMessageLimitStrategy>
            <constantPendingMessageLimitStrategy limit="3000"/>
          </pendingMessageLimitStrategy>
        </policyEntry>
      </policyEntries>
    </policyMap>
  </destinationPolicy>
  <plugins>
  </plugins>
</broker>
`;

/** A new RabbitMQ configuration's revision 1: Cuttlefish lines (rabbitmq.conf). */
const DEFAULT_RABBITMQ_CONF = '# Default RabbitMQ delivery acknowledgement timeout is 30 minutes in milliseconds\nconsumer_timeout = 1800000\n';

/** Cuttlefish keys Amazon MQ lets a configuration set and LocalMQ reads. */
const RABBITMQ_KEYS = /^(consumer_timeout|default_queue_type|heartbeat|channel_max|max_message_size|quorum_queue\.property_equality\.enabled|management\.restrictions\.operator_policy_changes\.disabled|auth_backends\.\d+|vm_memory_high_watermark\.relative|log\.[a-z.]+)$/;

export class Configurations {
  readonly records = new Map<string, ConfigurationRecord>();

  constructor(
    private readonly arnPrefix: (region: string) => string,
    private readonly changed: () => void,
  ) {}

  create(body: Json, region: string): ConfigurationRecord {
    const engine = engineType(body);
    const name = str(body, 'name', true);
    if (!/^[A-Za-z0-9_-]{1,150}$/.test(name)) {
      throw badRequest('name', 'Configuration name is invalid. It must be 1-150 characters long and contain only letters, numbers, dashes, and underscores.');
    }
    const version = str(body, 'engineVersion') ?? DEFAULT_ENGINE_VERSION[engine];
    if (!ENGINE_VERSIONS[engine].includes(version.split('.').slice(0, 2).join('.'))) {
      throw badRequest('engineVersion', `Broker engine version [${version}] is not supported for engine type [${engine}]. Supported versions: [${ENGINE_VERSIONS[engine].join(', ')}].`);
    }
    const strategy = (str(body, 'authenticationStrategy') ?? 'SIMPLE').toUpperCase();
    if (strategy !== 'SIMPLE' && strategy !== 'LDAP') throw badRequest('authenticationStrategy', `Authentication strategy [${strategy}] is invalid. Valid values are: [SIMPLE, LDAP].`);
    const id = `c-${randomUUID()}`;
    const created = new Date().toISOString();
    const data = Buffer.from(engine === 'ACTIVEMQ' ? DEFAULT_ACTIVEMQ_XML : DEFAULT_RABBITMQ_CONF).toString('base64');
    const record: ConfigurationRecord = {
      id,
      arn: `${this.arnPrefix(region)}:configuration:${id}`,
      name,
      engineType: engine,
      engineVersion: version,
      authenticationStrategy: strategy,
      created,
      description: 'Auto-generated default for ' + name + ' on ' + engine + ' ' + version,
      tags: tagMap(body) ?? {},
      revisions: [{ revision: 1, created, description: 'Auto-generated default for ' + name + ' on ' + engine + ' ' + version, data }],
    };
    this.records.set(id, record);
    this.changed();
    return record;
  }

  get(id: string): ConfigurationRecord {
    const c = this.records.get(id);
    if (!c) throw configurationNotFound(id);
    return c;
  }

  revision(id: string, revision: string | number) {
    const c = this.get(id);
    const n = Number(revision);
    const r = Number.isInteger(n) ? c.revisions.find((x) => x.revision === n) : undefined;
    if (!r) {
      throw new MqApiError('NotFoundException', 'configuration_revision', `Can't find requested configuration revision [${revision}] of configuration [${id}]. Make sure your configuration revision exists.`);
    }
    return r;
  }

  /** a new revision: the data checked as Amazon MQ checks it, sanitized parts reported as warnings */
  update(id: string, body: Json): { record: ConfigurationRecord; warnings: SanitizationWarning[] } {
    const c = this.get(id);
    const data = str(body, 'data', true);
    const text = Buffer.from(data, 'base64').toString('utf8');
    if (Buffer.from(text, 'utf8').toString('base64').replace(/=+$/, '') !== data.replace(/\s+/g, '').replace(/=+$/, '')) {
      throw badRequest('data', 'The configuration data is not valid base64.');
    }
    let stored = text;
    let warnings: SanitizationWarning[] = [];
    if (c.engineType === 'ACTIVEMQ') {
      const checked = checkActiveMqXml(text);
      stored = checked.sanitized;
      warnings = checked.warnings;
    } else checkRabbitConf(text);
    const description = str(body, 'description') ?? '';
    const revision = c.revisions.length + 1;
    c.revisions.push({ revision, created: new Date().toISOString(), description, data: Buffer.from(stored).toString('base64') });
    this.changed();
    return { record: c, warnings };
  }

  latest(c: ConfigurationRecord) {
    return c.revisions[c.revisions.length - 1]!;
  }

  /** the settings of a RabbitMQ configuration revision LocalMQ applies at (re)boot */
  rabbitSettings(id: string, revision: number): Map<string, string> {
    const text = Buffer.from(this.revision(id, revision).data, 'base64').toString('utf8');
    return parseCuttlefish(text);
  }

  /** the XML of an ActiveMQ configuration revision */
  activeMqXml(id: string, revision: number): string {
    return Buffer.from(this.revision(id, revision).data, 'base64').toString('utf8');
  }

  describe(c: ConfigurationRecord) {
    const latest = this.latest(c);
    return {
      arn: c.arn,
      authenticationStrategy: c.authenticationStrategy,
      created: c.created,
      description: c.description,
      engineType: c.engineType,
      engineVersion: c.engineVersion,
      id: c.id,
      latestRevision: { created: latest.created, description: latest.description, revision: latest.revision },
      name: c.name,
      tags: c.tags,
    };
  }
}

export type EngineOf = EngineType;

/** what a RabbitMQ configuration revision sets in the broker it applies to */
export interface RabbitBrokerSettings {
  limits: { maxChannelsPerConnection?: number; maxMessageSize?: number };
  amqp: { channelMax?: number; heartbeat?: number };
  management: { operatorPolicyChangesDisabled?: boolean };
  /** `default_queue_type`: the type of queues declared without x-queue-type */
  defaultQueueType?: 'classic' | 'quorum';
  /** `consumer_timeout` (ms): applied where the core has a consumer timeout */
  consumerTimeoutMs?: number;
  /** keys kept in the revision that LocalMQ does not act on, with why */
  ignored: string[];
}

/**
 * What a RabbitMQ configuration revision changes in the broker LocalMQ starts, at (re)boot
 * as Amazon MQ applies a revision: `channel_max`, `max_message_size`, `heartbeat`,
 * `default_queue_type`, `management.restrictions.operator_policy_changes.disabled`. Other
 * keys Amazon MQ accepts are kept in the revision and named in the log as not applied.
 */
export function rabbitBrokerSettings(settings: Map<string, string>): RabbitBrokerSettings {
  const out: RabbitBrokerSettings = { limits: {}, amqp: {}, management: {}, ignored: [] };
  for (const [key, value] of settings) {
    const n = Number(value);
    if (key === 'channel_max' && Number.isInteger(n)) {
      out.limits.maxChannelsPerConnection = n;
      out.amqp.channelMax = n;
    } else if (key === 'max_message_size' && Number.isInteger(n)) out.limits.maxMessageSize = n;
    else if (key === 'heartbeat' && Number.isInteger(n)) out.amqp.heartbeat = n;
    else if (key === 'default_queue_type' && (value === 'quorum' || value === 'classic')) out.defaultQueueType = value;
    else if (key === 'consumer_timeout' && Number.isInteger(n) && n > 0) out.consumerTimeoutMs = n;
    else if (key === 'management.restrictions.operator_policy_changes.disabled' && (value === 'true' || value === 'false')) {
      out.management.operatorPolicyChangesDisabled = value === 'true';
    } else out.ignored.push(key);
  }
  return out;
}

function parseCuttlefish(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq > 0) out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/** rabbitmq.conf lines `key = value`; Amazon MQ accepts only the keys it lists as configurable */
function checkRabbitConf(text: string): void {
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const eq = line.indexOf('=');
    if (eq <= 0) throw badRequest('data', `Line ${i + 1} of the configuration is not a "key = value" setting.`);
    const key = line.slice(0, eq).trim();
    if (!RABBITMQ_KEYS.test(key)) throw badRequest('data', `Configuration key [${key}] on line ${i + 1} is not supported by Amazon MQ for RabbitMQ.`);
  });
}
