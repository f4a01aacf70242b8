import { validateUser } from '../../server/auth/amazon-rules.js';
import { DEFAULT_ENGINE_VERSION, engineTypeOf, modesOn, offer, versionsOn, type DeploymentMode, type EngineType, type InstanceOffer } from './catalog.js';
import { badRequest, missing } from './errors.js';
import type { WeeklyStartTime } from './model.js';

/**
 * Request checks in Amazon MQ's order and with its `errorAttribute`s: required members,
 * names, engine, instance type, deployment mode and version as offered together, users
 * (Amazon MQ's username and password rules), maintenance window.
 */
export type Json = Record<string, unknown>;

export function object(value: unknown, attribute: string): Json {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(attribute, `The request failed because [${attribute}] is not an object.`);
  return value as Json;
}

export function str(body: Json, key: string, required: true): string;
export function str(body: Json, key: string, required?: false): string | undefined;
export function str(body: Json, key: string, required = false): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw missing(key);
    return undefined;
  }
  if (typeof v !== 'string') throw badRequest(key, `The request failed because [${key}] is not a string.`);
  if (required && v === '') throw missing(key);
  return v;
}

export function bool(body: Json, key: string, required = false): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) {
    if (required) throw missing(key);
    return undefined;
  }
  if (typeof v !== 'boolean') throw badRequest(key, `The request failed because [${key}] is not a boolean.`);
  return v;
}

export function strings(body: Json, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw badRequest(key, `The request failed because [${key}] is not a list of strings.`);
  return v as string[];
}

export function tagMap(body: Json, key = 'tags'): Record<string, string> | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw badRequest(key, 'The request failed because [tags] is not a map of strings.');
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(v as Json)) {
    if (typeof val !== 'string') throw badRequest(key, 'The request failed because [tags] is not a map of strings.');
    if (k.length < 1 || k.length > 128 || k.startsWith('aws:')) throw badRequest(key, `Tag key [${k}] is invalid. Tag keys are 1 to 128 characters and cannot start with aws:.`);
    if (val.length > 256) throw badRequest(key, `Tag value for key [${k}] is invalid. Tag values are at most 256 characters.`);
    out[k] = val;
  }
  return out;
}

const BROKER_NAME = /^[A-Za-z0-9_-]{1,50}$/;

export function brokerName(body: Json): string {
  const name = str(body, 'brokerName', true);
  if (!BROKER_NAME.test(name)) {
    throw badRequest(
      'brokerName',
      'Broker name is invalid. A broker name must be 1-50 characters long and contain only letters, numbers, dashes, and underscores.',
    );
  }
  return name;
}

export function engineType(body: Json): EngineType {
  const raw = str(body, 'engineType', true);
  const engine = engineTypeOf(raw);
  if (!engine) throw badRequest('engineType', `Broker engine type [${raw}] is invalid. Valid values are: [ACTIVEMQ, RABBITMQ].`);
  return engine;
}

export function hostInstanceType(engine: EngineType, value: string): InstanceOffer {
  const o = offer(engine, value);
  if (!o) throw badRequest('hostInstanceType', `Broker instance type [${value}] is not supported for engine type [${engine}]. Use DescribeBrokerInstanceOptions to list the supported instance types.`);
  return o;
}

/** `5.18` or a patch form `5.18.4` of an offered version */
export function engineVersion(engine: EngineType, hostType: string, value: string | undefined): string {
  const o = hostInstanceType(engine, hostType);
  const version = value ?? DEFAULT_ENGINE_VERSION[engine];
  const offered = versionsOn(engine, o);
  const minor = version.split('.').slice(0, 2).join('.');
  if (!/^\d+\.\d+(\.\d+)?$/.test(version) || !offered.includes(minor)) {
    throw badRequest(
      'engineVersion',
      `Broker engine version [${version}] is not supported for engine type [${engine}] on host instance type [${hostType}]. Supported versions: [${offered.join(', ')}].`,
    );
  }
  return version;
}

export function deploymentMode(engine: EngineType, hostType: string, value: string): DeploymentMode {
  const o = hostInstanceType(engine, hostType);
  const modes = modesOn(engine, o);
  if (!(modes as string[]).includes(value)) {
    throw badRequest('deploymentMode', `Deployment mode [${value}] is not supported for engine type [${engine}] on host instance type [${hostType}]. Supported modes: [${modes.join(', ')}].`);
  }
  return value as DeploymentMode;
}

export interface UserInput {
  username: string;
  password: string;
  consoleAccess: boolean;
  groups: string[];
  replicationUser: boolean;
}

export function userInput(engine: EngineType, raw: Json, usernameFromPath?: string): UserInput {
  const username = usernameFromPath ?? str(raw, 'username', true);
  const password = str(raw, 'password', true);
  const groups = strings(raw, 'groups') ?? [];
  const violation = validateUser(engine === 'ACTIVEMQ' ? 'activemq' : 'rabbitmq', username, password, groups);
  if (violation) throw badRequest(violation.attribute, violation.message);
  return { username, password, consoleAccess: bool(raw, 'consoleAccess') ?? false, groups, replicationUser: bool(raw, 'replicationUser') ?? false };
}

const DAYS = ['MONDAY', 'TUESDAY', 'WEDNESDAY', 'THURSDAY', 'FRIDAY', 'SATURDAY', 'SUNDAY'];

export function maintenanceWindow(body: Json): WeeklyStartTime | undefined {
  if (body['maintenanceWindowStartTime'] === undefined) return undefined;
  const w = object(body['maintenanceWindowStartTime'], 'maintenanceWindowStartTime');
  const day = str(w, 'dayOfWeek', true).toUpperCase();
  const time = str(w, 'timeOfDay', true);
  if (!DAYS.includes(day)) throw badRequest('dayOfWeek', `Day of week [${day}] is invalid. Valid values are: [${DAYS.join(', ')}].`);
  if (!/^([01]\d|2[0-3]):[0-5]\d$/.test(time)) throw badRequest('timeOfDay', `Time of day [${time}] is invalid. Use the 24-hour format HH:MM.`);
  const zone = str(w, 'timeZone');
  return zone === undefined ? { dayOfWeek: day, timeOfDay: time } : { dayOfWeek: day, timeOfDay: time, timeZone: zone };
}

export function maxResults(query: URLSearchParams, low = 1, high = 100): number {
  const raw = query.get('maxResults');
  if (raw === null) return high;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < low || n > high) throw badRequest('maxResults', `The maximum number of results [${raw}] is invalid. Enter a number from ${low} to ${high}.`);
  return n;
}

/** nextToken: the offset of the next page, opaque to clients */
export function page<T>(items: T[], query: URLSearchParams, low = 1, high = 100): { items: T[]; nextToken?: string } {
  const max = maxResults(query, low, high);
  const token = query.get('nextToken');
  let start = 0;
  if (token !== null && token !== '') {
    const decoded = Number(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Number.isInteger(decoded) || decoded < 0) throw badRequest('nextToken', 'The next token is invalid.');
    start = decoded;
  }
  const slice = items.slice(start, start + max);
  const next = start + max < items.length ? Buffer.from(String(start + max)).toString('base64url') : undefined;
  return next === undefined ? { items: slice } : { items: slice, nextToken: next };
}
