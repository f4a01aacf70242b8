import type { PolicyDef, Store } from '../store/store.js';
import type { FieldTable, FieldValue } from './fields.js';
import type { Queue } from './queues/queue.js';

/** What a policy may say about a queue, and how it combines with the queue's own x-argument. */
const QUEUE_KEYS: Record<string, 'min' | 'argument-wins'> = {
  // rabbit_amqqueue_process: the lower of policy and argument wins for the limits ...
  'message-ttl': 'min',
  expires: 'min',
  'max-length': 'min',
  'max-length-bytes': 'min',
  // ... and the queue's own argument wins for the rest
  'dead-letter-exchange': 'argument-wins',
  'dead-letter-routing-key': 'argument-wins',
  overflow: 'argument-wins',
};

/** the keys RabbitMQ (with its bundled plugins) accepts in a policy definition; LocalMQ applies those in QUEUE_KEYS */
const KNOWN_KEYS = new Set([
  'alternate-exchange',
  'queue-mode',
  'queue-version',
  'ha-mode',
  'ha-params',
  'ha-sync-mode',
  'ha-promote-on-shutdown',
  'ha-promote-on-failure',
  'delivery-limit',
  'federation-upstream',
  'federation-upstream-set',
  'queue-master-locator',
  'queue-leader-locator',
  'max-age',
  'stream-max-segment-size-bytes',
  'initial-cluster-size',
  'consumer-timeout',
  'dead-letter-strategy',
  'single-active-consumer',
  'message-ttl',
  'expires',
  'max-length',
  'max-length-bytes',
  'dead-letter-exchange',
  'dead-letter-routing-key',
  'overflow',
  'max-in-memory-length',
  'max-in-memory-bytes',
]);

export type PolicyApplyTo = PolicyDef['applyTo'] | 'classic_queues' | 'quorum_queues' | 'streams';

/** a policy refused as RabbitMQ's validation refuses it (the API answers 400 with this text) */
export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

function policyKey(vhost: string, name: string): string {
  return `${vhost}\u0000${name}`;
}

/**
 * RabbitMQ's policies: each vhost's named (pattern, apply-to, priority, definition). The
 * highest-priority policy whose pattern matches a queue's name (unanchored, as `re:run`)
 * is the queue's effective policy; its keys combine with the queue's x-arguments
 * (`message-ttl`, `expires`, `max-length(-bytes)`: the lower wins; `dead-letter-*`,
 * `overflow`: the argument wins). Queues re-evaluate whenever a policy changes.
 */
export class PolicyService {
  private readonly policies = new Map<string, { def: PolicyDef; pattern: RegExp }>();

  constructor(
    private readonly store: Store,
    /** the queues of a vhost, for re-evaluation */
    private readonly queuesOf: (vhost: string) => Iterable<Queue>,
  ) {}

  /** recovered from the store: no write back, no validation beyond the pattern */
  restore(def: PolicyDef): void {
    try {
      this.policies.set(policyKey(def.vhost, def.name), { def, pattern: new RegExp(def.pattern) });
    } catch {
      // a pattern JavaScript cannot compile stays out
    }
  }

  /**
   * Create or replace a policy, validated as RabbitMQ validates it (`strict`: the API), or
   * only its pattern (a definitions import, which may carry other plugins' keys), then
   * re-apply the vhost's queues.
   */
  put(def: PolicyDef, strict = true): void {
    const pattern = strict ? validatePolicy(def) : compilePattern(def.pattern);
    this.policies.set(policyKey(def.vhost, def.name), { def: { ...def }, pattern });
    this.store.putPolicy(def);
    this.reapply(def.vhost);
  }

  delete(vhost: string, name: string): boolean {
    if (!this.policies.delete(policyKey(vhost, name))) return false;
    this.store.deletePolicy(vhost, name);
    this.reapply(vhost);
    return true;
  }

  get(vhost: string, name: string): PolicyDef | undefined {
    return this.policies.get(policyKey(vhost, name))?.def;
  }

  /** every policy, or a vhost's, highest priority first as RabbitMQ lists them */
  list(vhost?: string): PolicyDef[] {
    const out: PolicyDef[] = [];
    for (const { def } of this.policies.values()) if (vhost === undefined || def.vhost === vhost) out.push(def);
    return out.sort(byPriority);
  }

  /** the vhost is gone: its policies go too (the store drops them with the vhost) */
  forgetVhost(vhost: string): void {
    for (const [key, p] of this.policies) if (p.def.vhost === vhost) this.policies.delete(key);
  }

  /** the policy that applies to a queue now, if any */
  effectiveFor(queue: Queue): PolicyDef | undefined {
    let best: PolicyDef | undefined;
    for (const { def, pattern } of this.policies.values()) {
      if (def.vhost !== queue.vhost || !appliesToQueue(def.applyTo as PolicyApplyTo, queue.config.queueType)) continue;
      if (!pattern.test(queue.name)) continue;
      if (!best || byPriority(def, best) < 0) best = def;
    }
    return best;
  }

  /** set a queue's effective arguments from its x-arguments and the policy that applies */
  apply(queue: Queue): void {
    const policy = this.effectiveFor(queue);
    // the common case: no policy now and none before, so the queue's own arguments stand
    if (!policy && queue.policy === undefined) return;
    queue.applyPolicy(policy?.name, policy ? queueDefinition(policy.definition) : {});
  }

  reapply(vhost: string): void {
    for (const q of this.queuesOf(vhost)) this.apply(q);
  }
}

/** higher priority first; among equals, by name (stable across restarts) */
function byPriority(a: PolicyDef, b: PolicyDef): number {
  return b.priority - a.priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

function appliesToQueue(applyTo: PolicyApplyTo, type: Queue['config']['queueType']): boolean {
  if (applyTo === 'all' || applyTo === 'queues') return true;
  if (applyTo === 'classic_queues') return type === 'classic';
  if (applyTo === 'quorum_queues') return type === 'quorum';
  if (applyTo === 'streams') return type === 'stream';
  return false;
}

/** the policy keys that act on queues, as x-arguments would name them, with how they combine */
function queueDefinition(definition: FieldTable): PolicyArguments {
  const out: PolicyArguments = {};
  for (const [key, how] of Object.entries(QUEUE_KEYS)) {
    const v = definition[key];
    if (v !== undefined && v !== null) out[`x-${key}`] = { value: v, how };
  }
  return out;
}

export type PolicyArguments = Record<string, { value: FieldValue; how: 'min' | 'argument-wins' }>;

/** the queue's x-arguments with a policy's values folded in (lower limit wins; own argument wins otherwise) */
export function effectiveArguments(args: FieldTable, policy: PolicyArguments): FieldTable {
  const out: FieldTable = { ...args };
  for (const [key, { value, how }] of Object.entries(policy)) {
    const own = args[key];
    if (own === undefined) out[key] = value;
    else if (how === 'min' && typeof own === 'number' && typeof value === 'number') out[key] = Math.min(own, value);
  }
  return out;
}

const nonNegativeInt = (v: FieldValue) => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** rabbit_policies:validate_policy0: what each key must hold, and the noun of its refusal */
const VALUE_CHECKS: Record<string, (v: FieldValue) => string | null> = {
  'message-ttl': (v) => (nonNegativeInt(v) ? null : 'message TTL'),
  expires: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 1 ? null : 'queue expiry'),
  'max-length': (v) => (nonNegativeInt(v) ? null : 'maximum length'),
  'max-length-bytes': (v) => (nonNegativeInt(v) ? null : 'maximum length in bytes'),
  'dead-letter-exchange': (v) => (typeof v === 'string' ? null : 'dead letter exchange name'),
  'dead-letter-routing-key': (v) => (typeof v === 'string' ? null : 'dead letter routing key'),
  overflow: (v) => (v === 'drop-head' || v === 'reject-publish' || v === 'reject-publish-dlx' ? null : 'overflow value'),
};

/** a value as Erlang's ~tp prints it (binaries as <<"text">>) */
function erlangTerm(v: FieldValue): string {
  return typeof v === 'string' ? `<<"${v}">>` : JSON.stringify(v);
}

/** RabbitMQ's policy validation (rabbit_policy, rabbit_policies), with its texts where it has them */
function compilePattern(source: string): RegExp {
  try {
    return new RegExp(source);
  } catch (err) {
    throw new PolicyError(`Validation failed\n\n${JSON.stringify(source)} is not a valid regular expression: ${(err as Error).message}\n`);
  }
}

function validatePolicy(def: PolicyDef): RegExp {
  const pattern = compilePattern(def.pattern);
  if (!['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams'].includes(def.applyTo)) {
    throw new PolicyError(`Validation failed\n\n'${def.applyTo}' is not a valid "apply-to" value\n`);
  }
  if (!Number.isFinite(def.priority)) throw new PolicyError(`Validation failed\n\n${String(def.priority)} priority must be a number\n`);
  const keys = Object.keys(def.definition);
  if (keys.length === 0) throw new PolicyError('Validation failed\n\nno policy provided\n');
  const problems: string[] = [];
  for (const key of keys) {
    const v = def.definition[key]!;
    if (!KNOWN_KEYS.has(key)) {
      problems.push(`[{<<"${key}">>,${erlangTerm(v)}}] are not recognised policy settings`);
      continue;
    }
    const refusal = VALUE_CHECKS[key]?.(v);
    if (refusal) problems.push(`${erlangTerm(v)} is not a valid ${refusal}`);
  }
  if (problems.length) throw new PolicyError(`Validation failed\n\n${problems.join('\n')}\n`);
  return pattern;
}
