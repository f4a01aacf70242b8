import { readFileSync } from 'node:fs';
import { brokerVersionRules } from '../core/engine-versions.js';
import { resolve } from 'node:path';
import type { LogFormat, LogLevel } from '../server/logger.js';
import type { BrokerOptions, Engine, PortOptions, PortSetting, UserOption } from '../server/options.js';
import { STANDARD_PORTS, type ListenerKey } from '../server/profiles.js';
import { INSTANCE_TYPES, type InstanceType } from '../server/instance-types.js';
import { watermarkBytes } from '../server/memory-watermark.js';
import { diskFreeLimitBytes, type DiskFreeLimitSetting } from '../server/disk-monitor.js';

/**
 * The settings of a `localmq` run, resolved from four layers, highest first:
 * command-line flags, LOCALMQ_* environment variables, the JSON config file, defaults.
 * Each layer is a partial `RawSettings`; `resolveSettings` merges and validates them.
 */
export interface Settings {
  hosts: string[];
  hostname: string;
  engine: Engine;
  /** Amazon MQ engine version ('3.13', '4.2', '4.3'; '5.18', '5.19'); undefined: the engine's default */
  engineVersion: string | undefined;
  ports: PortOptions;
  freePorts: boolean;
  users: UserOption[] | undefined;
  vhosts: string[];
  /** undefined: in memory */
  dataDir: string | undefined;
  /** where pid, log and state files go: the data dir, or ./.localmq in memory */
  runDir: string;
  logLevel: LogLevel;
  /** undefined: text on a terminal, JSON otherwise */
  logFormat: LogFormat | undefined;
  definitions: string | undefined;
  /** Amazon MQ's user rules wherever users are created */
  strict: boolean;
  /** brokers created through the Amazon MQ API list their endpoints at Amazon-style host names */
  amazonHostnames: boolean;
  /** Amazon MQ broker size whose limits apply; undefined: LocalMQ's defaults (mq.m5.large's) */
  instanceType: InstanceType | undefined;
  /** MQTT clients without a username act as guest; undefined: yes unless strict */
  mqttAllowAnonymous: boolean | undefined;
  /** the longest MQTT keep-alive allowed, in seconds (Mosquitto's max_keepalive); undefined: none */
  mqttMaxKeepAlive: number | undefined;
  /** ms a client has to finish its handshake (RabbitMQ's handshake_timeout); undefined: 10 000 */
  handshakeTimeoutMs: number | undefined;
  /** unbounded unacked deliveries one connection may hold (0: no cap); undefined: 100 000 */
  maxUnackedPerConnection: number | undefined;
  /** RabbitMQ's vm_memory_high_watermark: a fraction of RAM or a size; undefined: 0.4 */
  memoryHighWatermark: number | string | undefined;
  /** RabbitMQ's disk_free_limit: a size or a multiple of RAM; undefined: 50MB */
  diskFreeLimit: DiskFreeLimitSetting | undefined;
}

/** One layer of settings, as written by the user: strings from flags and env, JSON from the file. */
export interface RawSettings {
  host?: unknown;
  hostname?: unknown;
  engine?: unknown;
  engineVersion?: unknown;
  ports?: Partial<Record<ListenerKey, unknown>>;
  freePorts?: unknown;
  users?: unknown;
  vhosts?: unknown;
  dataDir?: unknown;
  inMemory?: unknown;
  runDir?: unknown;
  logLevel?: unknown;
  logFormat?: unknown;
  verbose?: unknown;
  definitions?: unknown;
  strict?: unknown;
  amazonHostnames?: unknown;
  instanceType?: unknown;
  /** the config file's `mqtt.allowAnonymous` */
  mqttAllowAnonymous?: unknown;
  /** the config file's `mqtt.maxKeepAlive` */
  mqttMaxKeepAlive?: unknown;
  handshakeTimeout?: unknown;
  maxUnackedPerConnection?: unknown;
  memoryHighWatermark?: unknown;
  diskFreeLimit?: unknown;
}

export const DEFAULT_DATA_DIR = '.localmq';
/** the config file's `mqtt` object: its keys and the settings they are */
const MQTT_FILE_KEYS: Record<string, 'mqttAllowAnonymous' | 'mqttMaxKeepAlive'> = { allowAnonymous: 'mqttAllowAnonymous', maxKeepAlive: 'mqttMaxKeepAlive' };
const ENGINES: readonly Engine[] = ['rabbitmq', 'activemq', 'all'];
const LOG_LEVELS: readonly LogLevel[] = ['silent', 'error', 'warn', 'info', 'debug', 'trace'];
const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];
export const LISTENER_KEYS = Object.keys(STANDARD_PORTS) as ListenerKey[];

/** A setting the user got wrong: the message says which, where it came from and what is allowed. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** `stompWs` -> `stomp-ws`: the flag and env spelling of a listener key */
export function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/** The LOCALMQ_* environment variables each setting reads. */
export const ENV_NAMES = {
  host: 'LOCALMQ_HOST',
  hostname: 'LOCALMQ_HOSTNAME',
  engine: 'LOCALMQ_ENGINE',
  engineVersion: 'LOCALMQ_ENGINE_VERSION',
  freePorts: 'LOCALMQ_FREE_PORTS',
  users: 'LOCALMQ_USERS',
  vhosts: 'LOCALMQ_VHOSTS',
  dataDir: 'LOCALMQ_DATA_DIR',
  inMemory: 'LOCALMQ_IN_MEMORY',
  runDir: 'LOCALMQ_RUN_DIR',
  logLevel: 'LOCALMQ_LOG_LEVEL',
  logFormat: 'LOCALMQ_LOG_FORMAT',
  definitions: 'LOCALMQ_DEFINITIONS',
  strict: 'LOCALMQ_STRICT',
  amazonHostnames: 'LOCALMQ_AMAZON_HOSTNAMES',
  instanceType: 'LOCALMQ_INSTANCE_TYPE',
  mqttAllowAnonymous: 'LOCALMQ_MQTT_ALLOW_ANONYMOUS',
  mqttMaxKeepAlive: 'LOCALMQ_MQTT_MAX_KEEP_ALIVE',
  handshakeTimeout: 'LOCALMQ_HANDSHAKE_TIMEOUT',
  maxUnackedPerConnection: 'LOCALMQ_MAX_UNACKED_PER_CONNECTION',
  memoryHighWatermark: 'LOCALMQ_MEMORY_HIGH_WATERMARK',
  diskFreeLimit: 'LOCALMQ_DISK_FREE_LIMIT',
  config: 'LOCALMQ_CONFIG',
} as const;

export function portEnvName(key: ListenerKey): string {
  return `LOCALMQ_${kebab(key).replace(/-/g, '_').toUpperCase()}_PORT`;
}

/** Read the LOCALMQ_* variables into a layer; lists are comma-separated, users space-separated. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const raw: RawSettings = {};
  const set = <K extends keyof RawSettings>(key: K, name: string, map: (v: string) => unknown = (v) => v) => {
    const v = env[name];
    if (v !== undefined && v !== '') raw[key] = map(v) as RawSettings[K];
  };
  const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
  set('host', ENV_NAMES.host, list);
  set('hostname', ENV_NAMES.hostname);
  set('engine', ENV_NAMES.engine);
  set('engineVersion', ENV_NAMES.engineVersion);
  set('freePorts', ENV_NAMES.freePorts);
  // users are separated by spaces or semicolons: their tags use commas
  set('users', ENV_NAMES.users, (v) => v.split(/[\s;]+/).filter(Boolean));
  set('vhosts', ENV_NAMES.vhosts, list);
  set('dataDir', ENV_NAMES.dataDir);
  set('inMemory', ENV_NAMES.inMemory);
  set('runDir', ENV_NAMES.runDir);
  set('logLevel', ENV_NAMES.logLevel);
  set('logFormat', ENV_NAMES.logFormat);
  set('definitions', ENV_NAMES.definitions);
  set('strict', ENV_NAMES.strict);
  set('amazonHostnames', ENV_NAMES.amazonHostnames);
  set('instanceType', ENV_NAMES.instanceType);
  set('mqttAllowAnonymous', ENV_NAMES.mqttAllowAnonymous);
  set('mqttMaxKeepAlive', ENV_NAMES.mqttMaxKeepAlive);
  set('handshakeTimeout', ENV_NAMES.handshakeTimeout);
  set('maxUnackedPerConnection', ENV_NAMES.maxUnackedPerConnection);
  set('memoryHighWatermark', ENV_NAMES.memoryHighWatermark);
  set('diskFreeLimit', ENV_NAMES.diskFreeLimit);
  for (const key of LISTENER_KEYS) {
    const v = env[portEnvName(key)];
    if (v !== undefined && v !== '') (raw.ports ??= {})[key] = v;
  }
  return raw;
}

/** Read a JSON config file into a layer; relative paths in it are relative to the file. */
export function settingsFromFile(file: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; check the --config path`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(`config file ${file} must hold a JSON object, like {"ports": {"amqp": 5672}}`);
  }
  const known = new Set<string>(['host', 'hosts', 'hostname', 'engine', 'engineVersion', 'ports', 'freePorts', 'users', 'vhosts', 'dataDir', 'inMemory', 'runDir', 'logLevel', 'logFormat', 'verbose', 'definitions', 'strict', 'instanceType', 'amazonHostnames', 'mqtt', 'handshakeTimeout', 'maxUnackedPerConnection', 'memoryHighWatermark', 'diskFreeLimit']);
  const obj = json as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) throw new ConfigError(`config file ${file}: unknown setting '${key}' (known: ${[...known].join(', ')})`);
  }
  const raw: RawSettings = { ...obj, host: obj['hosts'] ?? obj['host'] };
  delete (raw as Record<string, unknown>)['hosts'];
  delete (raw as Record<string, unknown>)['mqtt'];
  if (obj['mqtt'] !== undefined) {
    const mqtt = obj['mqtt'];
    if (typeof mqtt !== 'object' || mqtt === null || Array.isArray(mqtt)) {
      throw new ConfigError(`config file ${file}: 'mqtt' must be an object like {"allowAnonymous": false, "maxKeepAlive": 60}`);
    }
    for (const [key, value] of Object.entries(mqtt)) {
      const setting = MQTT_FILE_KEYS[key];
      if (setting === undefined) throw new ConfigError(`config file ${file}: unknown setting 'mqtt.${key}' (known: ${Object.keys(MQTT_FILE_KEYS).map((k) => `mqtt.${k}`).join(', ')})`);
      raw[setting] = value;
    }
  }
  if (obj['ports'] !== undefined) {
    if (typeof obj['ports'] !== 'object' || obj['ports'] === null || Array.isArray(obj['ports'])) {
      throw new ConfigError(`config file ${file}: 'ports' must be an object like {"amqp": 5672, "mqtt": false}`);
    }
    for (const key of Object.keys(obj['ports'])) {
      if (!LISTENER_KEYS.includes(key as ListenerKey)) {
        throw new ConfigError(`config file ${file}: unknown listener 'ports.${key}' (known: ${LISTENER_KEYS.join(', ')})`);
      }
    }
  }
  const base = resolve(file, '..');
  for (const key of ['dataDir', 'runDir', 'definitions'] as const) {
    const v = raw[key];
    if (typeof v === 'string') raw[key] = resolve(base, v);
  }
  return raw;
}

/**
 * Merge the layers (first wins) and validate. `where` names each layer in error messages
 * ("--amqp-port", "LOCALMQ_AMQP_PORT", "config file x.json").
 */
export function resolveSettings(layers: { raw: RawSettings; source: 'flag' | 'env' | 'file' }[], cwd = process.cwd()): Settings {
  const pick = <K extends keyof RawSettings>(key: K): { value: RawSettings[K]; source: string } | undefined => {
    for (const l of layers) if (l.raw[key] !== undefined) return { value: l.raw[key], source: describe(l.source, key) };
    return undefined;
  };
  const pickPort = (key: ListenerKey): { value: unknown; source: string } | undefined => {
    for (const l of layers) {
      const v = l.raw.ports?.[key];
      if (v !== undefined) return { value: v, source: describePort(l.source, key) };
    }
    return undefined;
  };

  const hosts = stringList(pick('host'), ['127.0.0.1', '::1']);
  const hostname = stringValue(pick('hostname')) ?? 'localhost';
  const engine = oneOf(pick('engine'), ENGINES) ?? 'all';
  const engineVersionPick = pick('engineVersion');
  const engineVersion = stringValue(engineVersionPick);
  if (engineVersion !== undefined) {
    try {
      brokerVersionRules(engine === 'all' ? undefined : engine, engineVersion);
    } catch (err) {
      throw new ConfigError(`${(err as Error).message}, from ${engineVersionPick!.source}`);
    }
  }
  const freePorts = booleanValue(pick('freePorts')) ?? false;
  const ports: PortOptions = {};
  for (const key of LISTENER_KEYS) {
    const p = pickPort(key);
    if (p) ports[key] = portValue(p);
  }
  const userSpecs = pick('users');
  const users = userSpecs === undefined ? undefined : userList(userSpecs);
  const vhosts = stringList(pick('vhosts'), []);

  const inMemory = booleanValue(pick('inMemory')) ?? false;
  const dataDirSetting = stringValue(pick('dataDir'));
  const dataDir = inMemory ? undefined : resolve(cwd, dataDirSetting ?? DEFAULT_DATA_DIR);
  const runDir = resolve(cwd, stringValue(pick('runDir')) ?? dataDir ?? DEFAULT_DATA_DIR);

  const verbose = booleanValue(pick('verbose')) ?? false;
  const logLevel = verbose ? 'trace' : oneOf(pick('logLevel'), LOG_LEVELS) ?? 'info';
  const logFormat = oneOf(pick('logFormat'), LOG_FORMATS);
  const definitionsSetting = stringValue(pick('definitions'));
  const definitions = definitionsSetting === undefined ? undefined : resolve(cwd, definitionsSetting);
  const strict = booleanValue(pick('strict')) ?? false;
  const amazonHostnames = booleanValue(pick('amazonHostnames')) ?? false;
  const instanceType = oneOf(pick('instanceType'), INSTANCE_TYPES);
  const mqttAllowAnonymous = booleanValue(pick('mqttAllowAnonymous'));
  const mqttMaxKeepAlive = keepAliveValue(pick('mqttMaxKeepAlive'));
  const handshakeTimeoutMs = positiveInteger(pick('handshakeTimeout'), 'milliseconds');
  const maxUnackedPerConnection = positiveInteger(pick('maxUnackedPerConnection'), 'deliveries', true);
  const memoryHighWatermark = watermarkValue(pick('memoryHighWatermark'));
  const diskFreeLimit = diskFreeLimitValue(pick('diskFreeLimit'));
  return { hosts, hostname, engine, engineVersion, ports, freePorts, users, vhosts, dataDir, runDir, logLevel, logFormat, definitions, strict, instanceType, amazonHostnames, mqttAllowAnonymous, mqttMaxKeepAlive, handshakeTimeoutMs, maxUnackedPerConnection, memoryHighWatermark, diskFreeLimit };
}

/** What `startBroker` gets from the settings. */
export function brokerOptions(s: Settings): BrokerOptions {
  const o: BrokerOptions = {
    hosts: s.hosts,
    hostname: s.hostname,
    engine: s.engine,
    ports: s.ports,
    ...(s.engineVersion !== undefined ? { engineVersion: s.engineVersion } : {}),
    freePorts: s.freePorts,
    vhosts: s.vhosts,
    logLevel: s.logLevel,
    logFormat: s.logFormat ?? (process.stderr.isTTY ? 'text' : 'json'),
    // a broker of its own process: the watermark counts its resident memory, as RabbitMQ's does
    memoryCalculation: 'rss',
    // nothing in this process calls broker.controlPlane: its code waits for the first API request
    lazyControlPlane: true,
  };
  if (s.memoryHighWatermark !== undefined) o.memoryHighWatermark = s.memoryHighWatermark;
  if (s.diskFreeLimit !== undefined) o.diskFreeLimit = s.diskFreeLimit;
  if (s.dataDir !== undefined) o.dataDir = s.dataDir;
  if (s.users !== undefined) o.users = s.users;
  if (s.strict) o.strict = true;
  if (s.amazonHostnames) o.amazonHostnames = true;
  if (s.instanceType !== undefined) o.instanceType = s.instanceType;
  if (s.mqttAllowAnonymous !== undefined) o.mqtt = { allowAnonymous: s.mqttAllowAnonymous };
  if (s.mqttMaxKeepAlive !== undefined) o.mqtt = { ...o.mqtt, maxKeepAlive: s.mqttMaxKeepAlive };
  if (s.handshakeTimeoutMs !== undefined) o.limits = { ...o.limits, handshakeTimeoutMs: s.handshakeTimeoutMs };
  if (s.maxUnackedPerConnection !== undefined) o.limits = { ...o.limits, maxUnackedPerConnection: s.maxUnackedPerConnection };
  return o;
}

function describe(source: 'flag' | 'env' | 'file', key: keyof RawSettings): string {
  if (source === 'flag') return `--${kebab(key === 'users' ? 'user' : key)}`;
  if (source === 'env') return key in ENV_NAMES ? ENV_NAMES[key as keyof typeof ENV_NAMES] : `LOCALMQ_${key.toUpperCase()}`;
  const mqttKey = Object.keys(MQTT_FILE_KEYS).find((k) => MQTT_FILE_KEYS[k] === key);
  return `config file setting '${mqttKey !== undefined ? `mqtt.${mqttKey}` : key}'`;
}

function describePort(source: 'flag' | 'env' | 'file', key: ListenerKey): string {
  if (source === 'flag') return `--${kebab(key)}-port`;
  if (source === 'env') return portEnvName(key);
  return `config file setting 'ports.${key}'`;
}

type Picked = { value: unknown; source: string } | undefined;

/** a fraction of RAM or a size, checked now so a typo fails before the broker starts */
function watermarkValue(p: Picked): number | string | undefined {
  if (p === undefined) return undefined;
  if (typeof p.value !== 'number' && typeof p.value !== 'string') {
    throw new ConfigError(`${p.source} must be a fraction of RAM (0.4) or a size ("512MiB", "1GB", bytes), got ${show(p.value)}`);
  }
  try {
    watermarkBytes(p.value);
  } catch {
    throw new ConfigError(`${p.source} must be a fraction of RAM (0.4) or a size ("512MiB", "1GB", bytes), got ${show(p.value)}`);
  }
  return p.value;
}

/** a size or a multiple of RAM (RabbitMQ's disk_free_limit.absolute / .relative), checked now */
function diskFreeLimitValue(p: Picked): DiskFreeLimitSetting | undefined {
  if (p === undefined) return undefined;
  const bad = () =>
    new ConfigError(`${p.source} must be a size ("50MB", "1GB", bytes), "mem_relative:1.0" (a multiple of RAM) or {"relative": 1.0} / {"absolute": "1GB"}, got ${show(p.value)}`);
  const v = p.value;
  const object = typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length === 1 && ('relative' in v || 'absolute' in v);
  if (typeof v !== 'number' && typeof v !== 'string' && !object) throw bad();
  // a flag or a variable is a string: bytes written as digits are a size
  const setting = (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v) as DiskFreeLimitSetting;
  try {
    diskFreeLimitBytes(setting);
  } catch {
    throw bad();
  }
  return setting;
}

function stringValue(p: Picked): string | undefined {
  if (p === undefined) return undefined;
  if (typeof p.value !== 'string' || p.value === '') throw new ConfigError(`${p.source} must be a non-empty string, got ${show(p.value)}`);
  return p.value;
}

function stringList(p: Picked, fallback: string[]): string[] {
  if (p === undefined) return fallback;
  const v = typeof p.value === 'string' ? [p.value] : p.value;
  if (!Array.isArray(v) || v.length === 0 || !v.every((s) => typeof s === 'string' && s !== '')) {
    throw new ConfigError(`${p.source} must be one or more names, got ${show(p.value)}`);
  }
  return v as string[];
}

function booleanValue(p: Picked): boolean | undefined {
  if (p === undefined) return undefined;
  const v = p.value;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
  }
  throw new ConfigError(`${p.source} must be true or false, got ${show(v)}`);
}

/** a whole number above 0 (or, with `zeroAllowed`, 0 too: a limit turned off) */
function positiveInteger(p: Picked, unit: string, zeroAllowed = false): number | undefined {
  if (p === undefined) return undefined;
  const v = p.value;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  const least = zeroAllowed ? 0 : 1;
  if (!Number.isSafeInteger(n) || n < least) {
    throw new ConfigError(`${p.source} must be a whole number of ${unit}${zeroAllowed ? ' (0: no limit)' : ' above 0'}, got ${show(v)}`);
  }
  return n;
}

/** MQTT's keep-alive is a two-byte number of seconds; 0 would mean no cap, which is leaving the setting out */
function keepAliveValue(p: Picked): number | undefined {
  const n = positiveInteger(p, 'seconds');
  if (n !== undefined && n > 65535) throw new ConfigError(`${p!.source} must be at most 65535 seconds (MQTT's keep-alive is two bytes), got ${show(p!.value)}`);
  return n;
}

function oneOf<T extends string>(p: Picked, allowed: readonly T[]): T | undefined {
  if (p === undefined) return undefined;
  if (typeof p.value === 'string' && (allowed as readonly string[]).includes(p.value)) return p.value as T;
  throw new ConfigError(`${p.source} must be one of ${allowed.join(', ')}, got ${show(p.value)}`);
}

/** a port number, 0 for a free one, or off/false to turn the listener off */
function portValue(p: { value: unknown; source: string }): PortSetting {
  const v = p.value;
  if (v === false || v === 'off' || v === 'false') return false;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${p.source} must be a port number 0-65535 (0 picks a free port) or 'off', got ${show(v)}`);
  }
  return n;
}

/** `name:password[:tag,tag]` strings or {name, password, tags} objects */
function userList(p: { value: unknown; source: string }): UserOption[] {
  const items = Array.isArray(p.value) ? p.value : [p.value];
  return items.map((item): UserOption => {
    if (typeof item === 'string') {
      const first = item.indexOf(':');
      if (first <= 0) throw new ConfigError(`${p.source}: user '${item}' must be written name:password[:tag,tag]`);
      const name = item.slice(0, first);
      const rest = item.slice(first + 1);
      // tags come after the last colon only when they look like tags, so passwords may hold colons
      const last = rest.lastIndexOf(':');
      const maybeTags = last >= 0 ? rest.slice(last + 1) : undefined;
      const hasTags = maybeTags !== undefined && /^[a-z_]+(,[a-z_]+)*$|^$/.test(maybeTags);
      const password = hasTags ? rest.slice(0, last) : rest;
      if (password === '') throw new ConfigError(`${p.source}: user '${name}' needs a password (RabbitMQ refuses blank passwords)`);
      const user: UserOption = { name, password };
      if (hasTags) user.tags = maybeTags === '' ? [] : maybeTags.split(',');
      return user;
    }
    if (typeof item === 'object' && item !== null) {
      const o = item as Record<string, unknown>;
      if (typeof o['name'] !== 'string' || o['name'] === '' || typeof o['password'] !== 'string' || o['password'] === '') {
        throw new ConfigError(`${p.source}: each user needs a non-empty "name" and "password", got ${show(item)}`);
      }
      const user: UserOption = { name: o['name'], password: o['password'] };
      if (o['tags'] !== undefined) {
        const tags = o['tags'];
        if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string')) {
          throw new ConfigError(`${p.source}: "tags" of user '${o['name']}' must be an array of strings`);
        }
        user.tags = tags as string[];
      }
      if (o['groups'] !== undefined) {
        const groups = o['groups'];
        if (!Array.isArray(groups) || !groups.every((g) => typeof g === 'string')) {
          throw new ConfigError(`${p.source}: "groups" of user '${o['name']}' must be an array of strings`);
        }
        user.groups = groups as string[];
      }
      if (o['consoleAccess'] !== undefined) {
        if (typeof o['consoleAccess'] !== 'boolean') throw new ConfigError(`${p.source}: "consoleAccess" of user '${o['name']}' must be true or false`);
        user.consoleAccess = o['consoleAccess'];
      }
      return user;
    }
    throw new ConfigError(`${p.source}: a user is name:password[:tag,tag] or {"name","password","tags","groups","consoleAccess"}, got ${show(item)}`);
  });
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : JSON.stringify(v);
}
