import type { FieldTable } from '../../core/fields.js';
import type {
  BindingDef,
  ExchangeDef,
  PermissionDef,
  PolicyDef,
  QueueDef,
  UserDef,
  VhostDef,
} from '../../store/store.js';
import { compilePermissionPattern } from '../auth/users.js';
import { DEFAULT_HASHING_ALGORITHM, hashPassword, type HashingAlgorithm } from '../auth/password.js';
import { fieldTableFromJson, fieldTableToJson, isPlainObject } from './json-values.js';
import { DefinitionsError, expected, listAt, objectAt, tagList, type ObjectReader } from './reader.js';

export { DefinitionsError } from './reader.js';

/** RabbitMQ topic permissions (per user, vhost and exchange) */
export interface TopicPermissionDef {
  user: string;
  vhost: string;
  exchange: string;
  write: string;
  read: string;
}

/** vhost-scoped runtime parameter (federation upstreams, shovels, ...) kept as given */
export interface ParameterDef {
  vhost: string;
  component: string;
  name: string;
  value: unknown;
}

export interface GlobalParameterDef {
  name: string;
  value: unknown;
}

/** `max-connections` / `max-channels` (users), `max-queues` / `max-connections` (vhosts) */
export type Limits = Record<string, number>;

/** A definitions file, read into the store's shapes. */
export interface Definitions {
  rabbitVersion?: string;
  rabbitmqVersion?: string;
  productName?: string;
  productVersion?: string;
  users: UserDef[];
  vhosts: VhostDef[];
  permissions: PermissionDef[];
  topicPermissions: TopicPermissionDef[];
  parameters: ParameterDef[];
  globalParameters: GlobalParameterDef[];
  policies: PolicyDef[];
  queues: QueueDef[];
  exchanges: ExchangeDef[];
  bindings: BindingDef[];
  /** user name -> limits, only for users that have some */
  userLimits: Record<string, Limits>;
  /** vhost name -> limits, only for vhosts that have some */
  vhostLimits: Record<string, Limits>;
}

export function emptyDefinitions(): Definitions {
  return {
    users: [],
    vhosts: [],
    permissions: [],
    topicPermissions: [],
    parameters: [],
    globalParameters: [],
    policies: [],
    queues: [],
    exchanges: [],
    bindings: [],
    userLimits: {},
    vhostLimits: {},
  };
}

export interface ParseOptions {
  /**
   * For a single-vhost export (GET /api/definitions/{vhost}), whose objects carry no
   * `vhost`: the vhost they belong to.
   */
  vhost?: string;
}

const POLICY_TARGETS = ['queues', 'exchanges', 'all', 'classic_queues', 'quorum_queues', 'streams'] as const;
const HASHING_ALGORITHMS: readonly HashingAlgorithm[] = [
  'rabbit_password_hashing_sha256',
  'rabbit_password_hashing_sha512',
  'rabbit_password_hashing_md5',
];

/**
 * Read a RabbitMQ definitions document (rabbitmqctl export_definitions, or the management
 * API's /api/definitions) into the store's types, accepting what RabbitMQ's importer does:
 * tags as "a,b" or an array, the legacy `administrator` flag, clear-text `password`, missing
 * `hashing_algorithm` (MD5 for exports older than 3.6), vhost description and tags at the top
 * level or under `metadata`. Throws DefinitionsError naming the first bad path.
 */
export function parseDefinitions(json: unknown, options: ParseOptions = {}): Definitions {
  const root = objectAt(json, 'definitions');
  const defs = emptyDefinitions();
  const rabbitVersion = root.optionalString('rabbit_version');
  const rabbitmqVersion = root.optionalString('rabbitmq_version');
  if (rabbitVersion !== undefined) defs.rabbitVersion = rabbitVersion;
  if (rabbitmqVersion !== undefined) defs.rabbitmqVersion = rabbitmqVersion;
  const productName = root.optionalString('product_name');
  const productVersion = root.optionalString('product_version');
  if (productName !== undefined) defs.productName = productName;
  if (productVersion !== undefined) defs.productVersion = productVersion;

  const version = rabbitmqVersion ?? rabbitVersion;
  const vhostOf = (r: ObjectReader): string =>
    options.vhost !== undefined && !r.has('vhost') ? options.vhost : r.string('vhost');

  for (const r of listAt(root, 'users')) {
    const user = parseUser(r, version);
    defs.users.push(user);
    const limits = parseLimits(r, 'limits');
    if (limits) defs.userLimits[user.name] = limits;
  }
  for (const r of listAt(root, 'vhosts')) {
    const vhost = parseVhost(r);
    defs.vhosts.push(vhost);
    const limits = parseLimits(r, 'limits');
    if (limits) defs.vhostLimits[vhost.name] = limits;
  }
  for (const r of listAt(root, 'permissions')) {
    defs.permissions.push({
      user: r.string('user'),
      vhost: vhostOf(r),
      configure: pattern(r, 'configure'),
      write: pattern(r, 'write'),
      read: pattern(r, 'read'),
    });
  }
  for (const r of listAt(root, 'topic_permissions')) {
    defs.topicPermissions.push({
      user: r.string('user'),
      vhost: vhostOf(r),
      exchange: r.string('exchange'),
      write: pattern(r, 'write'),
      read: pattern(r, 'read'),
    });
  }
  for (const r of listAt(root, 'parameters')) {
    defs.parameters.push({ vhost: vhostOf(r), component: r.string('component'), name: r.string('name'), value: r.value['value'] });
  }
  for (const r of listAt(root, 'global_parameters')) {
    defs.globalParameters.push({ name: r.string('name'), value: r.value['value'] });
  }
  for (const r of listAt(root, 'policies')) {
    const target = r.oneOf('apply-to', POLICY_TARGETS, 'all');
    defs.policies.push({
      vhost: vhostOf(r),
      name: r.string('name'),
      pattern: pattern(r, 'pattern'),
      // PolicyDef has no room for 3.12's queue-type targets; they narrow "queues"
      applyTo: target === 'classic_queues' || target === 'quorum_queues' || target === 'streams' ? 'queues' : target,
      definition: fieldTableFromJson(r.value['definition'] ?? {}, r.at('definition')),
      priority: r.integer('priority', 0),
    });
  }
  for (const r of listAt(root, 'queues')) {
    const args = table(r);
    const type = r.optionalString('type');
    // the export names the type beside the arguments; a declare names it in them
    if (type !== undefined && type !== 'classic' && args['x-queue-type'] === undefined) args['x-queue-type'] = type;
    defs.queues.push({
      vhost: vhostOf(r),
      name: r.string('name'),
      durable: r.boolean('durable', true),
      autoDelete: r.boolean('auto_delete', false),
      arguments: args,
    });
  }
  for (const r of listAt(root, 'exchanges')) {
    defs.exchanges.push({
      vhost: vhostOf(r),
      name: r.string('name'),
      type: r.string('type'),
      durable: r.boolean('durable', true),
      autoDelete: r.boolean('auto_delete', false),
      internal: r.boolean('internal', false),
      arguments: table(r),
    });
  }
  for (const r of listAt(root, 'bindings')) {
    defs.bindings.push({
      vhost: vhostOf(r),
      source: r.string('source'),
      destination: r.string('destination'),
      destinationType: r.oneOf('destination_type', ['queue', 'exchange'] as const),
      routingKey: r.string('routing_key', ''),
      arguments: table(r),
    });
  }
  return defs;
}

function parseUser(r: ObjectReader, version: string | undefined): UserDef {
  const name = r.string('name');
  const hasPassword = r.has('password');
  const hasHash = r.has('password_hash');
  if (hasPassword && hasHash) {
    throw new DefinitionsError(r.path, 'both password and password_hash are given; give one');
  }
  let hashingAlgorithm: HashingAlgorithm;
  let passwordHash: string;
  if (hasPassword) {
    hashingAlgorithm = DEFAULT_HASHING_ALGORITHM;
    passwordHash = hashPassword(r.string('password'), hashingAlgorithm);
  } else {
    hashingAlgorithm = r.has('hashing_algorithm')
      ? r.oneOf('hashing_algorithm', HASHING_ALGORITHMS)
      : defaultHashingAlgorithm(version);
    // no hash at all: a user that can only log in by certificate, as RabbitMQ imports it
    passwordHash = r.string('password_hash', '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(passwordHash) || passwordHash.length % 4 !== 0) {
      throw expected(r.at('password_hash'), 'a base64 string', passwordHash);
    }
  }
  const user: UserDef = { name, passwordHash, hashingAlgorithm, tags: userTags(r) };
  if (r.has('groups')) {
    const groups = r.value['groups'];
    if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
      throw expected(r.at('groups'), 'an array of strings', groups);
    }
    user.groups = [...(groups as string[])];
  }
  if (r.has('console_access')) user.consoleAccess = r.boolean('console_access', false);
  return user;
}

/** definitions without hashing_algorithm: MD5 before 3.6.0, as RabbitMQ's importer decides */
function defaultHashingAlgorithm(version: string | undefined): HashingAlgorithm {
  if (version !== undefined && /^3\.[0-5]\./.test(version)) return 'rabbit_password_hashing_md5';
  return DEFAULT_HASHING_ALGORITHM;
}

function userTags(r: ObjectReader): string[] {
  if (r.has('tags')) return tagList(r, 'tags');
  if (r.has('administrator')) {
    // before tags existed: "administrator": "true" | true
    const admin = r.value['administrator'];
    if (admin === true || admin === 'true') return ['administrator'];
    if (admin === false || admin === 'false') return [];
    throw expected(r.at('administrator'), 'a boolean', admin);
  }
  throw expected(r.at('tags'), 'a string or an array of strings', undefined);
}

function parseVhost(r: ObjectReader): VhostDef {
  const vhost: VhostDef = { name: r.string('name') };
  const metadata = r.has('metadata') ? objectAt(r.value['metadata'], r.at('metadata')) : undefined;
  const from = (key: string): ObjectReader | undefined =>
    r.has(key) ? r : metadata?.has(key) ? metadata : undefined;
  const descriptionFrom = from('description');
  if (descriptionFrom) vhost.description = descriptionFrom.string('description');
  const tagsFrom = from('tags');
  if (tagsFrom) vhost.tags = tagList(tagsFrom, 'tags');
  const typeFrom = from('default_queue_type');
  if (typeFrom) vhost.defaultQueueType = typeFrom.string('default_queue_type');
  return vhost;
}

/** `{}` / `[]` (RabbitMQ's empty proplist) mean none */
function parseLimits(r: ObjectReader, key: string): Limits | undefined {
  const value = r.value[key];
  if (value === undefined || (Array.isArray(value) && value.length === 0)) return undefined;
  if (!isPlainObject(value)) throw expected(r.at(key), 'an object', value);
  const limits: Limits = {};
  for (const [name, limit] of Object.entries(value)) {
    if (typeof limit !== 'number' || !Number.isInteger(limit)) throw expected(`${r.at(key)}.${name}`, 'an integer', limit);
    limits[name] = limit;
  }
  return Object.keys(limits).length > 0 ? limits : undefined;
}

function pattern(r: ObjectReader, key: string): string {
  const source = r.string(key);
  try {
    compilePermissionPattern(source);
  } catch {
    throw new DefinitionsError(r.at(key), `invalid regular expression ${JSON.stringify(source)}`);
  }
  return source;
}

function table(r: ObjectReader): FieldTable {
  const value = r.value['arguments'];
  // RabbitMQ's importer takes a missing table or an empty list as no arguments
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) return {};
  return fieldTableFromJson(value, r.at('arguments'));
}

export interface FormatOptions {
  /** goes into rabbit_version / rabbitmq_version; importers use it to pick a default hash */
  rabbitmqVersion?: string;
  productName?: string;
  productVersion?: string;
}

/** the RabbitMQ release whose export format formatDefinitions writes */
export const EXPORT_RABBITMQ_VERSION = '3.13.7';

/**
 * Write definitions the way RabbitMQ 3.13's /api/definitions does (tags as arrays,
 * vhost description and tags under metadata), so RabbitMQ can import them.
 */
export function formatDefinitions(defs: Definitions, options: FormatOptions = {}): Record<string, unknown> {
  const version = options.rabbitmqVersion ?? EXPORT_RABBITMQ_VERSION;
  const out: Record<string, unknown> = { rabbit_version: version, rabbitmq_version: version };
  if (options.productName !== undefined) out['product_name'] = options.productName;
  if (options.productVersion !== undefined) out['product_version'] = options.productVersion;

  out['users'] = defs.users.map((u) => {
    const user: Record<string, unknown> = {
      name: u.name,
      password_hash: u.passwordHash,
      hashing_algorithm: u.hashingAlgorithm,
      tags: [...u.tags],
      limits: { ...defs.userLimits[u.name] },
    };
    if (u.groups !== undefined) user['groups'] = [...u.groups];
    if (u.consoleAccess !== undefined) user['console_access'] = u.consoleAccess;
    return user;
  });
  out['vhosts'] = defs.vhosts.map((v) => {
    const metadata: Record<string, unknown> = { description: v.description ?? '', tags: [...(v.tags ?? [])] };
    if (v.defaultQueueType !== undefined) metadata['default_queue_type'] = v.defaultQueueType;
    const limits = defs.vhostLimits[v.name];
    return { name: v.name, limits: limits ? { ...limits } : [], metadata };
  });
  out['permissions'] = defs.permissions.map((p) => ({
    user: p.user,
    vhost: p.vhost,
    configure: p.configure,
    write: p.write,
    read: p.read,
  }));
  out['topic_permissions'] = defs.topicPermissions.map((p) => ({
    user: p.user,
    vhost: p.vhost,
    exchange: p.exchange,
    write: p.write,
    read: p.read,
  }));
  out['parameters'] = defs.parameters.map((p) => ({ value: p.value, vhost: p.vhost, component: p.component, name: p.name }));
  out['global_parameters'] = defs.globalParameters.map((p) => ({ name: p.name, value: p.value }));
  out['policies'] = defs.policies.map((p) => ({
    vhost: p.vhost,
    name: p.name,
    pattern: p.pattern,
    'apply-to': p.applyTo,
    definition: fieldTableToJson(p.definition),
    priority: p.priority,
  }));
  out['queues'] = defs.queues.map((q) => {
    const type = q.arguments['x-queue-type'];
    return {
      name: q.name,
      vhost: q.vhost,
      durable: q.durable,
      auto_delete: q.autoDelete,
      arguments: fieldTableToJson(q.arguments),
      type: typeof type === 'string' ? type : 'classic',
    };
  });
  out['exchanges'] = defs.exchanges.map((x) => ({
    name: x.name,
    vhost: x.vhost,
    type: x.type,
    durable: x.durable,
    auto_delete: x.autoDelete,
    internal: x.internal,
    arguments: fieldTableToJson(x.arguments),
  }));
  out['bindings'] = defs.bindings.map((b) => ({
    source: b.source,
    vhost: b.vhost,
    destination: b.destination,
    destination_type: b.destinationType,
    routing_key: b.routingKey,
    arguments: fieldTableToJson(b.arguments),
  }));
  return out;
}

