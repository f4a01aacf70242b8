import { readFile } from 'node:fs/promises';
import { bindingDef, exchangeDef } from '../../core/definitions.js';
import { BrokerError } from '../../core/errors.js';
import { PolicyError } from '../../core/policies.js';
import type { VHost } from '../../core/vhost.js';
import type { BindingDef, ExchangeDef, QueueDef } from '../../store/store.js';
import type { LocalMQ } from '../local-mq.js';
import { PRODUCT } from '../product.js';
import { emptyDefinitions, formatDefinitions, parseDefinitions, DefinitionsError, type Definitions } from './format.js';
import { assertStrictUser, StrictModeError } from '../auth/strict.js';

/** How many of each kind an import created or replaced. */
export interface ImportSummary {
  users: number;
  vhosts: number;
  permissions: number;
  policies: number;
  queues: number;
  exchanges: number;
  bindings: number;
}

/** An import that a running broker refused part of: names the object and why. */
export class DefinitionsImportError extends Error {
  override readonly name = 'DefinitionsImportError';
}

/**
 * Apply definitions to a running broker, in RabbitMQ's import order (users, vhosts,
 * permissions, parameters, policies, queues, exchanges, bindings). Existing objects are
 * kept: users and permissions are replaced, queues and exchanges must be equivalent (as a
 * re-declare), bindings are added. Stops at the first object the broker refuses.
 */
export function importDefinitions(broker: LocalMQ, defs: Definitions, clearPasswords: ReadonlyMap<string, string> = new Map()): ImportSummary {
  const summary: ImportSummary = { users: 0, vhosts: 0, permissions: 0, policies: 0, queues: 0, exchanges: 0, bindings: 0 };
  const r = broker.retained;
  if (broker.options.strict) checkStrictUsers(broker, defs, clearPasswords);
  for (const u of defs.users) {
    broker.users.putUser(u);
    summary.users++;
  }
  Object.assign(r.userLimits, defs.userLimits);
  for (const v of defs.vhosts) {
    broker.core.addVhost(v.name);
    broker.putVhostMeta({ ...v });
    // addVhost writes only the name; the store keeps the metadata too
    broker.store.putVhost({ ...v });
    summary.vhosts++;
  }
  Object.assign(r.vhostLimits, defs.vhostLimits);
  for (const p of defs.permissions) {
    requireVhost(broker, p.vhost, `permission of user '${p.user}'`);
    if (!broker.users.getUser(p.user)) {
      throw new DefinitionsImportError(`permission in vhost '${p.vhost}' names user '${p.user}', which does not exist`);
    }
    broker.users.setPermission(p);
    summary.permissions++;
  }
  for (const t of defs.topicPermissions) {
    requireVhost(broker, t.vhost, `topic permission of user '${t.user}'`);
    if (!broker.users.getUser(t.user)) {
      throw new DefinitionsImportError(`topic permission in vhost '${t.vhost}' names user '${t.user}', which does not exist`);
    }
    broker.users.setTopicPermission(t);
  }
  for (const p of defs.parameters) {
    const i = r.parameters.findIndex((x) => x.vhost === p.vhost && x.component === p.component && x.name === p.name);
    if (i >= 0) r.parameters[i] = p;
    else r.parameters.push(p);
  }
  for (const p of defs.globalParameters) {
    const i = r.globalParameters.findIndex((x) => x.name === p.name);
    if (i >= 0) r.globalParameters[i] = p;
    else r.globalParameters.push(p);
  }
  for (const p of defs.policies) {
    requireVhost(broker, p.vhost, `policy '${p.name}'`);
    refusedAs(`policy '${p.name}' in vhost '${p.vhost}'`, () => broker.core.policies.put(p, false));
    summary.policies++;
  }
  for (const q of defs.queues) {
    const v = requireVhost(broker, q.vhost, `queue '${q.name}'`);
    refusedAs(`queue '${q.name}' in vhost '${q.vhost}'`, () =>
      // rabbit_definitions:add_queue_int/3 applies the default queue type (augment_declare_args)
      v.declareQueue(q.name, { passive: false, durable: q.durable, exclusive: false, autoDelete: q.autoDelete, arguments: q.arguments, defaultType: true }, null),
    );
    summary.queues++;
  }
  for (const x of defs.exchanges) {
    const v = requireVhost(broker, x.vhost, `exchange '${x.name}'`);
    // the predeclared exchanges come with every vhost; an export may list them
    if (x.name === '' || x.name.startsWith('amq.')) continue;
    refusedAs(`exchange '${x.name}' in vhost '${x.vhost}'`, () =>
      v.declareExchange(x.name, x.type, { passive: false, durable: x.durable, autoDelete: x.autoDelete, internal: x.internal, arguments: x.arguments }),
    );
    summary.exchanges++;
  }
  for (const b of defs.bindings) {
    const v = requireVhost(broker, b.vhost, `binding of '${b.source}'`);
    refusedAs(`binding from '${b.source}' to ${b.destinationType} '${b.destination}' in vhost '${b.vhost}'`, () => {
      if (b.destinationType === 'queue') v.bindQueue(b.destination, b.source, b.routingKey, b.arguments, null);
      else v.bindExchange(b.destination, b.source, b.routingKey, b.arguments);
    });
    summary.bindings++;
  }
  return summary;
}

/**
 * Everything an export holds, as RabbitMQ's export_definitions lists it: users with their
 * hashes, vhosts, permissions, policies, and every queue (but exclusive ones), exchange
 * (but the predeclared ones) and binding (but the default exchange's implicit ones).
 */
export function exportDefinitions(broker: LocalMQ): Definitions {
  const defs = emptyDefinitions();
  const r = broker.retained;
  defs.users = broker.users.listUsers().map((u) => ({ ...u, tags: [...u.tags] }));
  for (const name of Object.keys(r.userLimits)) if (broker.users.getUser(name)) defs.userLimits[name] = { ...r.userLimits[name] };
  for (const v of broker.core.vhosts.values()) {
    defs.vhosts.push({ ...(r.vhostMeta.get(v.name) ?? {}), name: v.name });
    const limits = r.vhostLimits[v.name];
    if (limits) defs.vhostLimits[v.name] = { ...limits };
    // one at a time: a vhost may hold more queues or bindings than a call takes arguments
    for (const q of queuesOf(v)) defs.queues.push(q);
    const { exchanges, bindings } = exchangesOf(v);
    for (const e of exchanges) defs.exchanges.push(e);
    for (const b of bindings) defs.bindings.push(b);
  }
  defs.permissions = broker.users.listPermissions().map((p) => ({ ...p }));
  const hasVhost = (name: string) => broker.core.vhost(name) !== undefined;
  defs.topicPermissions = broker.users.listTopicPermissions().filter((t) => hasVhost(t.vhost));
  defs.parameters = r.parameters.filter((p) => hasVhost(p.vhost));
  defs.globalParameters = [...r.globalParameters];
  defs.policies = broker.core.policies.list().filter((p) => hasVhost(p.vhost));
  return defs;
}

/** The export as JSON, in RabbitMQ's /api/definitions shape. */
export function exportDefinitionsJson(broker: LocalMQ): Record<string, unknown> {
  return formatDefinitions(exportDefinitions(broker), { productName: PRODUCT.name, productVersion: PRODUCT.version, ...(broker.core.engineRules.engine === 'rabbitmq' ? { rabbitmqVersion: broker.core.engineRules.fullVersion } : {}) });
}

/** Parse a definitions document and apply it; parse errors name the bad path. */
export function importDefinitionsJson(broker: LocalMQ, json: unknown): ImportSummary {
  return importDefinitions(broker, parseDefinitions(json), clearPasswordsOf(json));
}

/**
 * Strict mode, before anything is applied: every user must pass Amazon MQ's username (and
 * group) rules; its password rules only when the document gives the password in clear
 * (`password`), since a `password_hash` cannot be checked.
 */
function checkStrictUsers(broker: LocalMQ, defs: Definitions, clearPasswords: ReadonlyMap<string, string>): void {
  for (const u of defs.users) {
    try {
      assertStrictUser(broker.engine, { name: u.name, password: clearPasswords.get(u.name), groups: u.groups });
    } catch (err) {
      if (err instanceof StrictModeError) throw new DefinitionsImportError(err.message);
      throw err;
    }
  }
}

/** the clear-text `password` of each user that has one (the parsed form keeps only a hash) */
function clearPasswordsOf(json: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const users = (json as { users?: unknown } | null)?.users;
  if (!Array.isArray(users)) return out;
  for (const u of users) {
    const o = u as { name?: unknown; password?: unknown } | null;
    if (typeof o?.name === 'string' && typeof o.password === 'string') out.set(o.name, o.password);
  }
  return out;
}

/** Read, parse and apply a definitions file (`--definitions FILE` at start-up). */
export async function importDefinitionsFile(broker: LocalMQ, file: string): Promise<ImportSummary> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new DefinitionsImportError(`cannot read definitions file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new DefinitionsImportError(`definitions file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  try {
    return importDefinitionsJson(broker, json);
  } catch (err) {
    if (err instanceof DefinitionsError || err instanceof DefinitionsImportError) {
      throw new DefinitionsImportError(`definitions file ${file}: ${err.message}`);
    }
    throw err;
  }
}

function requireVhost(broker: LocalMQ, name: string, what: string): VHost {
  const v = broker.core.vhost(name);
  if (!v) throw new DefinitionsImportError(`${what} names vhost '${name}', which does not exist (list it under "vhosts")`);
  return v;
}

function refusedAs(what: string, declare: () => unknown): void {
  try {
    declare();
  } catch (err) {
    if (err instanceof BrokerError) throw new DefinitionsImportError(`${what} was refused: ${err.replyText}`);
    if (err instanceof PolicyError) throw new DefinitionsImportError(`${what} was refused: ${err.message.trim()}`);
    throw err;
  }
}

function queuesOf(v: VHost): QueueDef[] {
  const out: QueueDef[] = [];
  for (const q of v.queues.values()) {
    if (q.options.exclusive) continue;
    out.push({ vhost: v.name, name: q.name, durable: q.options.durable, autoDelete: q.options.autoDelete, arguments: q.options.arguments });
  }
  return out;
}

function exchangesOf(v: VHost): { exchanges: ExchangeDef[]; bindings: BindingDef[] } {
  const exchanges: ExchangeDef[] = [];
  const bindings: BindingDef[] = [];
  for (const x of v.exchanges.values()) {
    const predeclared = x.name === '' || x.name.startsWith('amq.');
    if (!predeclared) exchanges.push(exchangeDef(v.name, x));
    if (x.name === '') continue;
    for (const b of x.bindings.values()) {
      if (b.destination.kind === 'queue' && (b.destination as { options?: { exclusive?: boolean } }).options?.exclusive) continue;
      bindings.push(bindingDef(v.name, x, b.destination, b.routingKey, b.arguments));
    }
  }
  return { exchanges, bindings };
}
