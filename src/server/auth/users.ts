import type { PermissionDef, Store, UserDef } from '../../store/store.js';
import type { TopicPermissionDef } from '../definitions/format.js';
import { isLoopbackAddress } from './loopback.js';
import { DEFAULT_HASHING_ALGORITHM, hashPassword, verifyPassword, type HashingAlgorithm } from './password.js';

export type PermissionKind = 'configure' | 'write' | 'read';

export type AuthResult =
  | { ok: true; user: UserDef }
  | { ok: false; reason: 'bad-credentials' | 'loopback-only' };

export interface UserRegistryOptions {
  /** written through on every change; omit for a registry that only lives in memory */
  store?: Store;
  /** users that may only log in from a loopback address (RabbitMQ's `loopback_users`) */
  loopbackUsers?: readonly string[];
  /** algorithm for passwords set in clear text */
  hashingAlgorithm?: HashingAlgorithm;
}

/** one user's permissions in one vhost, with the regexes compiled once */
interface CompiledPermission {
  def: PermissionDef;
  configure: RegExp;
  write: RegExp;
  read: RegExp;
}

/**
 * Compile a permission pattern the way RabbitMQ applies it: unanchored (re:run on the
 * resource name), and the empty string meaning "^$" (rabbit_auth_backend_internal).
 */
export function compilePermissionPattern(pattern: string): RegExp {
  try {
    return new RegExp(pattern === '' ? '^$' : pattern);
  } catch (err) {
    throw new Error(`regular expression '${pattern}' is invalid: ${(err as Error).message}`);
  }
}

function permissionKey(user: string, vhost: string): string {
  return `${user}\u0000${vhost}`;
}

/** the store's namespace for topic permissions (one record per user, vhost and exchange) */
export const TOPIC_PERMISSIONS_RECORDS = 'topic-permissions';

/** compiled, variable-expanded topic patterns kept at most (a cache: cleared when full) */
const TOPIC_PATTERN_CACHE = 1000;

/** a variable's value inside a pattern matches itself only (rabbit_re:escape) */
function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
}

/**
 * RabbitMQ's topic-permission variables (rabbit_auth_backend_internal:expand_topic_permission):
 * each `{name}` of the map is replaced, everywhere, by its value escaped.
 */
export function expandTopicPattern(pattern: string, variables: Readonly<Record<string, string>>): string {
  let out = pattern;
  for (const name of Object.keys(variables)) {
    const placeholder = `{${name}}`;
    if (out.includes(placeholder)) out = out.split(placeholder).join(escapeRegExp(variables[name]!));
  }
  return out;
}

/** Users, their passwords and their per-vhost permissions: RabbitMQ's internal auth backend. */
export class UserRegistry {
  private readonly users = new Map<string, UserDef>();
  private readonly permissions = new Map<string, CompiledPermission>();
  /** user + vhost -> exchange -> topic permission (RabbitMQ 3.7+) */
  private readonly topicPermissions = new Map<string, Map<string, TopicPermissionDef>>();
  /** expanded topic patterns, compiled (null: does not compile, so nothing matches) */
  private readonly topicPatterns = new Map<string, RegExp | null>();
  private readonly store: Store | undefined;
  private readonly hashingAlgorithm: HashingAlgorithm;
  /** mutable: the server applies config changes here */
  readonly loopbackUsers: Set<string>;

  constructor(options: UserRegistryOptions = {}) {
    this.store = options.store;
    this.loopbackUsers = new Set(options.loopbackUsers ?? ['guest']);
    this.hashingAlgorithm = options.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM;
  }

  /** Fill the registry from recovered or imported state without writing back to the store. */
  load(users: readonly UserDef[], permissions: readonly PermissionDef[]): void {
    for (const user of users) this.users.set(user.name, copyUser(user));
    for (const permission of permissions) this.installPermission(permission);
  }

  /** `activemq` carries the ActiveMQ-profile fields (Amazon MQ's groups and console access) */
  addUser(name: string, password: string, tags: string[] = [], activemq: Pick<UserDef, 'groups' | 'consoleAccess'> = {}): UserDef {
    if (this.users.has(name)) throw new Error(`user '${name}' already exists`);
    const def: UserDef = {
      name,
      passwordHash: hashPassword(password, this.hashingAlgorithm),
      hashingAlgorithm: this.hashingAlgorithm,
      tags,
    };
    if (activemq.groups !== undefined) def.groups = activemq.groups;
    if (activemq.consoleAccess !== undefined) def.consoleAccess = activemq.consoleAccess;
    return this.putUser(def);
  }

  /** create or replace a user, hash included (definitions import, management API PUT) */
  putUser(def: UserDef): UserDef {
    const user = copyUser(def);
    this.users.set(user.name, user);
    this.store?.putUser(copyUser(user));
    return user;
  }

  setPassword(name: string, password: string): UserDef {
    const user = this.requireUser(name);
    return this.putUser({
      ...user,
      passwordHash: hashPassword(password, this.hashingAlgorithm),
      hashingAlgorithm: this.hashingAlgorithm,
    });
  }

  /** leaves the user unable to log in with a password (rabbitmqctl clear_password) */
  clearPassword(name: string): UserDef {
    return this.putUser({ ...this.requireUser(name), passwordHash: '' });
  }

  setTags(name: string, tags: string[]): UserDef {
    return this.putUser({ ...this.requireUser(name), tags: [...tags] });
  }

  /** deleting a user drops its permissions too, as RabbitMQ does */
  deleteUser(name: string): boolean {
    if (!this.users.delete(name)) return false;
    for (const [key, permission] of this.permissions) {
      if (permission.def.user !== name) continue;
      this.permissions.delete(key);
      this.store?.deletePermission(name, permission.def.vhost);
    }
    for (const t of this.listTopicPermissions({ user: name })) this.clearTopicPermissions(t.user, t.vhost, t.exchange);
    this.store?.deleteUser(name);
    return true;
  }

  getUser(name: string): UserDef | undefined {
    return this.users.get(name);
  }

  listUsers(): UserDef[] {
    return [...this.users.values()];
  }

  hasTag(name: string, tag: string): boolean {
    return this.users.get(name)?.tags.includes(tag) ?? false;
  }

  /**
   * Check a username and password, then the loopback restriction, in RabbitMQ's order:
   * a loopback-only user with the right password from afar is told so; a wrong password is not.
   * Blank passwords are refused outright, as RabbitMQ's internal backend does.
   */
  authenticate(name: string, password: string | Uint8Array, remoteAddress: string | undefined): AuthResult {
    const user = this.users.get(name);
    if (!user || password.length === 0) return { ok: false, reason: 'bad-credentials' };
    if (!verifyPassword(password, user.passwordHash, user.hashingAlgorithm)) {
      return { ok: false, reason: 'bad-credentials' };
    }
    if (this.loopbackUsers.has(name) && !isLoopbackAddress(remoteAddress)) {
      return { ok: false, reason: 'loopback-only' };
    }
    return { ok: true, user };
  }

  /** a login with no password acting as `name` (anonymous MQTT clients): the loopback rule still holds */
  authenticateWithoutPassword(name: string, remoteAddress: string | undefined): AuthResult {
    const user = this.users.get(name);
    if (!user) return { ok: false, reason: 'bad-credentials' };
    if (this.loopbackUsers.has(name) && !isLoopbackAddress(remoteAddress)) return { ok: false, reason: 'loopback-only' };
    return { ok: true, user };
  }

  /** throws on an unknown user or a pattern that does not compile; the caller checks the vhost exists */
  setPermission(def: PermissionDef): void {
    this.requireUser(def.user);
    const compiled = this.installPermission(def);
    this.store?.putPermission({ ...compiled.def });
  }

  clearPermission(user: string, vhost: string): boolean {
    if (!this.permissions.delete(permissionKey(user, vhost))) return false;
    this.store?.deletePermission(user, vhost);
    return true;
  }

  /** a vhost was deleted: every permission in it goes (the store drops them with the vhost) */
  forgetVhost(vhost: string): void {
    for (const [key, permission] of this.permissions) {
      if (permission.def.vhost === vhost) this.permissions.delete(key);
    }
    for (const t of this.listTopicPermissions({ vhost })) this.clearTopicPermissions(t.user, t.vhost, t.exchange);
  }

  // ---- topic permissions ------------------------------------------------------------

  /** Fill the topic permissions from the store's records, without writing back. */
  loadTopicPermissions(records: Iterable<unknown>): void {
    for (const r of records) {
      const t = r as TopicPermissionDef;
      if (typeof t?.user === 'string' && typeof t.vhost === 'string' && typeof t.exchange === 'string') this.installTopicPermission(t);
    }
  }

  /**
   * Set one user's topic permission on one exchange of a vhost (rabbitmqctl
   * set_topic_permissions): replaces the one there was. Throws on an unknown user or a
   * pattern that does not compile; the caller checks the vhost exists.
   */
  setTopicPermission(def: TopicPermissionDef): void {
    this.requireUser(def.user);
    compilePermissionPattern(def.write);
    compilePermissionPattern(def.read);
    const t = this.installTopicPermission(def);
    this.store?.putRecord(TOPIC_PERMISSIONS_RECORDS, topicRecordKey(t), { ...t });
  }

  /** clear_topic_permissions: the user's in the vhost, on one exchange or all; false if there were none */
  clearTopicPermissions(user: string, vhost: string, exchange?: string): boolean {
    const byExchange = this.topicPermissions.get(permissionKey(user, vhost));
    if (!byExchange) return false;
    let cleared = false;
    for (const t of [...byExchange.values()]) {
      if (exchange !== undefined && t.exchange !== exchange) continue;
      byExchange.delete(t.exchange);
      this.store?.putRecord(TOPIC_PERMISSIONS_RECORDS, topicRecordKey(t), null);
      cleared = true;
    }
    if (byExchange.size === 0) this.topicPermissions.delete(permissionKey(user, vhost));
    return cleared;
  }

  listTopicPermissions(filter: { user?: string; vhost?: string } = {}): TopicPermissionDef[] {
    const out: TopicPermissionDef[] = [];
    for (const byExchange of this.topicPermissions.values()) {
      for (const t of byExchange.values()) {
        if (filter.user !== undefined && t.user !== filter.user) continue;
        if (filter.vhost !== undefined && t.vhost !== filter.vhost) continue;
        out.push({ ...t });
      }
    }
    return out;
  }

  /**
   * RabbitMQ's topic authorisation (rabbit_auth_backend_internal:check_topic_access): with
   * no topic permission for the user on `exchange`, allowed; else the routing key must match
   * the `write` (publish) or `read` (bind, consume) pattern, unanchored, "" meaning "^$",
   * after `{username}`, `{vhost}` and the protocol's variables (MQTT's `{client_id}`) are
   * replaced by their escaped values.
   */
  checkTopic(user: string, vhost: string, permission: 'write' | 'read', exchange: string, routingKey: string, variables: Readonly<Record<string, string>> = {}): boolean {
    if (this.topicPermissions.size === 0) return true;
    const t = this.topicPermissions.get(permissionKey(user, vhost))?.get(exchange);
    if (!t) return true;
    const raw = t[permission] === '' ? '^$' : t[permission];
    const pattern = expandTopicPattern(raw, { ...variables, username: user, vhost });
    let re = this.topicPatterns.get(pattern);
    if (re === undefined) {
      try {
        re = new RegExp(pattern);
      } catch {
        re = null; // RabbitMQ denies on a regex error
      }
      if (this.topicPatterns.size >= TOPIC_PATTERN_CACHE) this.topicPatterns.clear();
      this.topicPatterns.set(pattern, re);
    }
    return re !== null && re.test(routingKey);
  }

  private installTopicPermission(def: TopicPermissionDef): TopicPermissionDef {
    const t: TopicPermissionDef = { user: def.user, vhost: def.vhost, exchange: def.exchange, write: def.write, read: def.read };
    const key = permissionKey(t.user, t.vhost);
    let byExchange = this.topicPermissions.get(key);
    if (!byExchange) this.topicPermissions.set(key, (byExchange = new Map()));
    byExchange.set(t.exchange, t);
    return t;
  }

  getPermission(user: string, vhost: string): PermissionDef | undefined {
    return this.permissions.get(permissionKey(user, vhost))?.def;
  }

  listPermissions(filter: { user?: string; vhost?: string } = {}): PermissionDef[] {
    const out: PermissionDef[] = [];
    for (const { def } of this.permissions.values()) {
      if (filter.user !== undefined && def.user !== filter.user) continue;
      if (filter.vhost !== undefined && def.vhost !== filter.vhost) continue;
      out.push(def);
    }
    return out;
  }

  /** a user may open a vhost when it has any permission entry there, even all-empty */
  canAccessVhost(user: string, vhost: string): boolean {
    return this.permissions.has(permissionKey(user, vhost));
  }

  /**
   * May `user` do `kind` on the resource `resourceName` in `vhost`? The pattern is matched
   * unanchored, as RabbitMQ does. For exchanges use checkExchange, which knows the default
   * exchange's name for permissions.
   */
  check(user: string, vhost: string, kind: PermissionKind, resourceName: string): boolean {
    const permission = this.permissions.get(permissionKey(user, vhost));
    return permission !== undefined && permission[kind].test(resourceName);
  }

  /** as check(), naming the default exchange "" as RabbitMQ does for access control */
  checkExchange(user: string, vhost: string, kind: PermissionKind, exchange: string): boolean {
    return this.check(user, vhost, kind, exchange === '' ? 'amq.default' : exchange);
  }

  private installPermission(def: PermissionDef): CompiledPermission {
    const compiled: CompiledPermission = {
      def: { user: def.user, vhost: def.vhost, configure: def.configure, write: def.write, read: def.read },
      configure: compilePermissionPattern(def.configure),
      write: compilePermissionPattern(def.write),
      read: compilePermissionPattern(def.read),
    };
    this.permissions.set(permissionKey(def.user, def.vhost), compiled);
    return compiled;
  }

  private requireUser(name: string): UserDef {
    const user = this.users.get(name);
    if (!user) throw new Error(`user '${name}' does not exist`);
    return user;
  }
}

function topicRecordKey(t: TopicPermissionDef): string {
  return `${t.user}\u0000${t.vhost}\u0000${t.exchange}`;
}

function copyUser(def: UserDef): UserDef {
  const user: UserDef = {
    name: def.name,
    passwordHash: def.passwordHash,
    hashingAlgorithm: def.hashingAlgorithm,
    tags: [...def.tags],
  };
  if (def.groups !== undefined) user.groups = [...def.groups];
  if (def.consoleAccess !== undefined) user.consoleAccess = def.consoleAccess;
  return user;
}

/**
 * RabbitMQ's first-boot state: guest/guest, tagged administrator, with full permissions
 * on `vhost`. The server calls this only when it starts with no users at all.
 */
export function withDefaultUser(registry: UserRegistry, vhost = '/'): UserRegistry {
  if (!registry.getUser('guest')) registry.addUser('guest', 'guest', ['administrator']);
  registry.setPermission({ user: 'guest', vhost, configure: '.*', write: '.*', read: '.*' });
  return registry;
}

/** RabbitMQ's ACCESS_REFUSED text for a resource: "access to queue 'q' in vhost '/' refused for user 'app'" */
export function accessRefusedMessage(kind: 'exchange' | 'queue' | 'topic', name: string, vhost: string, user: string): string {
  const shown = kind === 'exchange' && name === '' ? 'amq.default' : name;
  return `access to ${kind} '${shown}' in vhost '${vhost}' refused for user '${user}'`;
}

/** RabbitMQ's text when a user has no permissions in the vhost it opens */
export function vhostRefusedMessage(vhost: string, user: string): string {
  return `access to vhost '${vhost}' refused for user '${user}'`;
}
