import type { Store } from '../store/store.js';
import { QueueLimitExceeded } from './errors.js';

/** the store's record namespaces: key = vhost or user name, value = the limits object */
export const VHOST_LIMITS_NAMESPACE = 'vhost-limits';
export const USER_LIMITS_NAMESPACE = 'user-limits';

/** RabbitMQ's per-vhost limits (rabbit_vhost_limit): `max-connections`, `max-queues` */
export const VHOST_LIMIT_NAMES = ['max-connections', 'max-queues'] as const;
/** RabbitMQ's per-user limits (rabbit_auth_backend_internal): `max-connections`, `max-channels` */
export const USER_LIMIT_NAMES = ['max-connections', 'max-channels'] as const;

export type LimitValues = Record<string, number>;

/** a limit refused as RabbitMQ's parameter validation refuses it (the API answers 400 with the text) */
export class LimitValidationError extends Error {
  override readonly name = 'LimitValidationError';
}

/**
 * Per-vhost and per-user limits, as RabbitMQ keeps them (the `vhost-limits` runtime
 * parameter, the internal user's `limits`): a negative value means no limit, 0 refuses
 * everything. Connection and channel counts are the server's; the queue count is the
 * vhost's. Kept in the store's keyed records, so they survive a restart with a data dir.
 */
export class TenantLimits {
  private readonly vhosts = new Map<string, LimitValues>();
  private readonly users = new Map<string, LimitValues>();
  /** open AMQP channels per user, across connections */
  private readonly channelsByUser = new Map<string, number>();

  constructor(private readonly store: Store) {}

  restore(records: Map<string, Map<string, unknown>>): void {
    for (const [k, v] of records.get(VHOST_LIMITS_NAMESPACE) ?? []) this.vhosts.set(k, { ...(v as LimitValues) });
    for (const [k, v] of records.get(USER_LIMITS_NAMESPACE) ?? []) this.users.set(k, { ...(v as LimitValues) });
  }

  // ---- values ----------------------------------------------------------------------------

  vhostLimits(vhost: string): LimitValues | undefined {
    return this.vhosts.get(vhost);
  }

  userLimits(user: string): LimitValues | undefined {
    return this.users.get(user);
  }

  /** every vhost with limits, in name order */
  allVhostLimits(): { vhost: string; value: LimitValues }[] {
    return [...this.vhosts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([vhost, value]) => ({ vhost, value: { ...value } }));
  }

  allUserLimits(): { user: string; value: LimitValues }[] {
    return [...this.users].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([user, value]) => ({ user, value: { ...value } }));
  }

  /** rabbit_vhost_limit:update_limit: one name set, validated as rabbit_parameter_validation does */
  setVhostLimit(vhost: string, name: string, value: unknown): void {
    // rabbit_vhost_limit:update_limit puts the new one first ([{Name, Value} | keydelete(Name, Old)]), as RabbitMQ 3.10 lists them
    const { [name]: _old, ...rest } = this.vhosts.get(vhost) ?? {};
    this.vhosts.set(vhost, validated({ [name]: value, ...rest }, VHOST_LIMIT_NAMES, 'limits'));
    this.store.putRecord(VHOST_LIMITS_NAMESPACE, vhost, this.vhosts.get(vhost));
  }

  clearVhostLimit(vhost: string, name: string): void {
    const current = this.vhosts.get(vhost);
    if (!current) return;
    delete current[name];
    if (Object.keys(current).length === 0) this.vhosts.delete(vhost);
    this.store.putRecord(VHOST_LIMITS_NAMESPACE, vhost, this.vhosts.get(vhost) ?? null);
  }

  /** rabbit_auth_backend_internal:set_user_limits with one name */
  setUserLimit(user: string, name: string, value: unknown): void {
    // a user's limits are an Erlang map: listed in key order; its refusal carries no "Validation failed" head (RabbitMQ 3.10, measured)
    const merged = validated({ ...this.users.get(user), [name]: value }, USER_LIMIT_NAMES, 'user-limits', false);
    this.users.set(user, Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : 1))));
    this.store.putRecord(USER_LIMITS_NAMESPACE, user, this.users.get(user));
  }

  /** clear_user_limits: one name, or `all` */
  clearUserLimit(user: string, name: string): void {
    const current = this.users.get(user);
    if (!current) return;
    if (name === 'all') this.users.delete(user);
    else {
      delete current[name];
      if (Object.keys(current).length === 0) this.users.delete(user);
    }
    this.store.putRecord(USER_LIMITS_NAMESPACE, user, this.users.get(user) ?? null);
  }

  /** a vhost or user is deleted: its limits go with it */
  forgetVhost(vhost: string): void {
    if (this.vhosts.delete(vhost)) this.store.putRecord(VHOST_LIMITS_NAMESPACE, vhost, null);
  }

  forgetUser(user: string): void {
    if (this.users.delete(user)) this.store.putRecord(USER_LIMITS_NAMESPACE, user, null);
  }

  // ---- enforcement -------------------------------------------------------------------------

  /**
   * The refusal text of a new connection to `vhost` as `user`, given how many each has
   * now (rabbit_reader: is_over_vhost_connection_limit, then is_over_user_connection_limit).
   */
  connectionRefusal(vhost: string | undefined, user: string | undefined, counts: { vhost: number; user: number }): string | null {
    const vmax = vhost === undefined ? undefined : limitOf(this.vhosts.get(vhost), 'max-connections');
    if (vmax !== undefined && counts.vhost >= vmax) {
      return `access to vhost '${vhost}' refused for user '${user ?? ''}': connection limit (${vmax}) is reached`;
    }
    const umax = user === undefined ? undefined : limitOf(this.users.get(user), 'max-connections');
    if (umax !== undefined && counts.user >= umax) {
      return `connection refused for user '${user}': user connection limit (${umax}) is reached`;
    }
    return null;
  }

  /** rabbit_queue_type:check_vhost_queue_limit: 406 on the declaring channel */
  checkVhostQueues(vhost: string, current: number, queueName: string): void {
    const max = limitOf(this.vhosts.get(vhost), 'max-queues');
    if (max !== undefined && current >= max) {
      throw new QueueLimitExceeded(`cannot declare queue '${queueName}': queue limit in vhost '${vhost}' (${max}) is reached`);
    }
  }

  /**
   * Take one of the user's channel slots; the refusal text (rabbit_reader's is_over_limits)
   * when `max-channels` of the user's channels are open.
   */
  reserveUserChannel(user: string): string | null {
    const open = this.channelsByUser.get(user) ?? 0;
    const max = limitOf(this.users.get(user), 'max-channels');
    if (max !== undefined && open >= max) {
      return `number of channels opened for user '${user}' has reached the maximum allowed user limit of (${max})`;
    }
    this.channelsByUser.set(user, open + 1);
    return null;
  }

  releaseUserChannel(user: string): void {
    const open = this.channelsByUser.get(user) ?? 0;
    if (open <= 1) this.channelsByUser.delete(user);
    else this.channelsByUser.set(user, open - 1);
  }

  userChannels(user: string): number {
    return this.channelsByUser.get(user) ?? 0;
  }
}

/** a limit in force: negative values mean none */
function limitOf(values: LimitValues | undefined, name: string): number | undefined {
  const v = values?.[name];
  return v === undefined || v < 0 ? undefined : v;
}

/** rabbit_parameter_validation:proplist with integer/2 for each known name */
function validated(values: Record<string, unknown>, names: readonly string[], what: string, framed = true): LimitValues {
  const errors: string[] = [];
  const out: LimitValues = {};
  const unknown: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (!names.includes(k)) unknown.push(k);
    else if (typeof v !== 'number' || !Number.isInteger(v)) errors.push(`${k} should be a number, actually was ${erlang(v)}`);
    else out[k] = v;
  }
  if (unknown.length) errors.unshift(`Unrecognised terms [${unknown.map((k) => `{<<"${k}">>,${erlang(values[k])}}`).join(',')}] in ${what}`);
  if (errors.length) throw new LimitValidationError(framed ? `Validation failed\n\n${errors.join('\n')}\n` : errors.join('\n'));
  return out;
}

function erlang(v: unknown): string {
  return typeof v === 'string' ? `<<"${v}">>` : JSON.stringify(v);
}
