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
  // rabbit_channel:get_queue_consumer_timeout/2: args_policy_lookup with min
  'consumer-timeout': 'min',
  // ... and the queue's own argument wins for the rest
  'dead-letter-exchange': 'argument-wins',
  'dead-letter-routing-key': 'argument-wins',
  overflow: 'argument-wins',
  // rabbit_quorum_queue:dead_letter_handler/2: queue_arg_has_precedence
  'dead-letter-strategy': 'argument-wins',
};

/** the keys RabbitMQ (with its bundled plugins) accepts in a policy definition; LocalMQ applies those in QUEUE_KEYS */
const KNOWN_KEYS = new Set([
  'alternate-exchange',
  'queue-mode',
  'queue-version',
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

/** classic queue mirroring's keys: known where the version has mirroring (rabbit_mirror_queue_misc) */
const HA_KEYS = new Set(['ha-mode', 'ha-params', 'ha-sync-mode', 'ha-sync-batch-size', 'ha-promote-on-shutdown', 'ha-promote-on-failure']);
/** the mirroring keys an operator policy may set on 3.13 (rabbit_mirror_queue_misc's operator_policy_validator) */
const HA_OPERATOR_KEYS = new Set(['ha-mode', 'ha-params', 'ha-sync-mode']);

export type PolicyApplyTo = PolicyDef['applyTo'] | 'classic_queues' | 'quorum_queues' | 'streams';

/** the store's record namespace for operator policies (key: vhost NUL name) */
export const OPERATOR_POLICY_NAMESPACE = 'operator-policies';

/**
 * The keys an operator policy may set (rabbit_policies' operator_policy_validator) and how
 * a value meets the same key of the user policy (rabbit_policies:merge_policy_value): the
 * lower limit wins; for `overflow` and `queue-version` the operator's value.
 */
const OPERATOR_KEYS: Record<string, 'min' | 'operator-wins' | 'delivery-limit'> = {
  expires: 'min',
  'message-ttl': 'min',
  'max-length': 'min',
  'max-length-bytes': 'min',
  'max-in-memory-length': 'min',
  'max-in-memory-bytes': 'min',
  'delivery-limit': 'delivery-limit',
  'queue-version': 'operator-wins',
  overflow: 'operator-wins',
};

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
  /** operator policies: same shape, matched the same way, merged over the user policy */
  private readonly operatorPolicies = new Map<string, { def: PolicyDef; pattern: RegExp }>();
  /** queues an operator policy applies to now (so a removal re-resolves them) */
  private readonly operated = new WeakSet<Queue>();

  constructor(
    private readonly store: Store,
    /** the queues of a vhost, for re-evaluation */
    private readonly queuesOf: (vhost: string) => Iterable<Queue>,
    /** whether the engine version validates and accepts classic queue mirroring keys (3.13) */
    private readonly mirroring: () => boolean = () => true,
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
    const pattern = strict ? validatePolicy(def, 'policy', this.mirroring()) : compilePattern(def.pattern);
    // an import skips other plugins' keys, but RabbitMQ 4 refuses mirroring keys there as anywhere (rabbit_definitions:add_policy)
    if (!strict && !this.mirroring()) refuseMirroringKeys(def);
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
    for (const [key, p] of this.operatorPolicies) {
      if (p.def.vhost !== vhost) continue;
      this.operatorPolicies.delete(key);
      this.store.putRecord(OPERATOR_POLICY_NAMESPACE, key, null);
    }
  }

  // ---- operator policies (rabbit_policy's `operator_policy` component) ----------------

  /** recovered from the store's records */
  restoreOperatorPolicies(records: Map<string, unknown> | undefined): void {
    for (const value of records?.values() ?? []) {
      const def = value as PolicyDef;
      try {
        this.operatorPolicies.set(policyKey(def.vhost, def.name), { def, pattern: new RegExp(def.pattern) });
      } catch {
        // a pattern JavaScript cannot compile stays out
      }
    }
  }

  /** create or replace an operator policy (validated against the operator keys), then re-apply the vhost */
  putOperator(def: PolicyDef): void {
    const pattern = validatePolicy(def, 'operator', this.mirroring());
    const key = policyKey(def.vhost, def.name);
    this.operatorPolicies.set(key, { def: { ...def }, pattern });
    this.store.putRecord(OPERATOR_POLICY_NAMESPACE, key, { ...def });
    this.reapply(def.vhost);
  }

  deleteOperator(vhost: string, name: string): boolean {
    const key = policyKey(vhost, name);
    if (!this.operatorPolicies.delete(key)) return false;
    this.store.putRecord(OPERATOR_POLICY_NAMESPACE, key, null);
    this.reapply(vhost);
    return true;
  }

  getOperator(vhost: string, name: string): PolicyDef | undefined {
    return this.operatorPolicies.get(policyKey(vhost, name))?.def;
  }

  listOperator(vhost?: string): PolicyDef[] {
    const out: PolicyDef[] = [];
    for (const { def } of this.operatorPolicies.values()) if (vhost === undefined || def.vhost === vhost) out.push(def);
    return out.sort(byPriority);
  }

  /** the operator policy that applies to a queue now, if any (highest priority, as for policies) */
  operatorFor(queue: Queue): PolicyDef | undefined {
    return bestMatch(this.operatorPolicies.values(), queue);
  }

  /**
   * What the queue's policies say together (rabbit_policy:merge_operator_definitions): the
   * user policy's definition with the operator policy's keys merged in, the management
   * API's `effective_policy_definition`.
   */
  effectiveDefinition(queue: Queue): FieldTable {
    return mergeOperatorDefinition(this.effectiveFor(queue)?.definition, this.operatorFor(queue)?.definition);
  }

  /** the policy that applies to a queue now, if any */
  effectiveFor(queue: Queue): PolicyDef | undefined {
    return bestMatch(this.policies.values(), queue);
  }

  /** set a queue's effective arguments from its x-arguments and the policies that apply */
  apply(queue: Queue): void {
    const policy = this.effectiveFor(queue);
    const operator = this.operatorPolicies.size ? this.operatorFor(queue) : undefined;
    // the common case: no policy now and none before, so the queue's own arguments stand
    if (!policy && !operator && queue.policy === undefined && !this.operated.has(queue)) return;
    if (operator) this.operated.add(queue);
    else this.operated.delete(queue);
    const definition = mergeOperatorDefinition(policy?.definition, operator?.definition);
    queue.applyPolicy(policy?.name, policy || operator ? queueDefinition(definition) : {});
  }

  reapply(vhost: string): void {
    for (const q of this.queuesOf(vhost)) this.apply(q);
  }
}

function bestMatch(candidates: Iterable<{ def: PolicyDef; pattern: RegExp }>, queue: Queue): PolicyDef | undefined {
  let best: PolicyDef | undefined;
  for (const { def, pattern } of candidates) {
    if (def.vhost !== queue.vhost || !appliesToQueue(def.applyTo as PolicyApplyTo, queue.config.queueType)) continue;
    if (!pattern.test(queue.name)) continue;
    if (!best || byPriority(def, best) < 0) best = def;
  }
  return best;
}

/** rabbit_policy:merge_operator_definitions with rabbit_policies:merge_policy_value */
export function mergeOperatorDefinition(policy: FieldTable | undefined, operator: FieldTable | undefined): FieldTable {
  const out: FieldTable = { ...(policy ?? {}) };
  for (const [key, opValue] of Object.entries(operator ?? {})) {
    const own = out[key];
    if (own === undefined || own === null) {
      out[key] = opValue;
      continue;
    }
    const how = OPERATOR_KEYS[key];
    if (how === 'min' && typeof own === 'number' && typeof opValue === 'number') out[key] = Math.min(own, opValue);
    else if (how === 'delivery-limit' && typeof own === 'number' && typeof opValue === 'number') {
      // a negative limit means "none": the other one stands
      out[key] = own < 0 ? opValue : opValue < 0 ? own : Math.min(own, opValue);
    } else out[key] = opValue;
  }
  // lists:umerge of the two key lists: in key order, as RabbitMQ shows effective_policy_definition
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
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

function validatePolicy(def: PolicyDef, kind: 'policy' | 'operator', mirroring: boolean): RegExp {
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
    const mirroringKey = mirroring && (kind === 'operator' ? HA_OPERATOR_KEYS : HA_KEYS).has(key);
    if (!mirroringKey && (kind === 'operator' ? !(key in OPERATOR_KEYS) : !KNOWN_KEYS.has(key))) {
      problems.push(`[{<<"${key}">>,${erlangTerm(v)}}] are not recognised policy settings`);
      continue;
    }
    const refusal = VALUE_CHECKS[key]?.(v);
    if (refusal) problems.push(`${erlangTerm(v)} is not a valid ${refusal}`);
  }
  if (problems.length === 0 && mirroring) {
    const refusal = mirroringRefusal(def.definition);
    if (refusal) problems.push(refusal);
  }
  if (problems.length) throw new PolicyError(`Validation failed\n\n${problems.join('\n')}\n`);
  return pattern;
}

/** RabbitMQ 4 has no validator for the mirroring keys: they are unknown settings (rabbitmq_4_0_deprecations_SUITE set_cmq_policy) */
function refuseMirroringKeys(def: PolicyDef): void {
  const problems: string[] = [];
  for (const [key, v] of Object.entries(def.definition)) {
    if (HA_KEYS.has(key)) problems.push(`[{<<"${key}">>,${erlangTerm(v)}}] are not recognised policy settings`);
  }
  if (problems.length) throw new PolicyError(`Validation failed\n\n${problems.join('\n')}\n`);
}

/** rabbit_mirror_queue_misc:validate_policy/1 (3.13) and the ha-mode modules' validate_policy/1, with their texts */
function mirroringRefusal(d: FieldTable): string | null {
  const mode = d['ha-mode'];
  const params = d['ha-params'];
  const others = ['ha-params', 'ha-sync-mode', 'ha-sync-batch-size', 'ha-promote-on-shutdown', 'ha-promote-on-failure'];
  if (mode === undefined) {
    return others.some((k) => d[k] !== undefined) ? 'ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown' : null;
  }
  if (mode !== 'all' && mode !== 'exactly' && mode !== 'nodes') return `${erlangTerm(mode)} is not a valid ha-mode value`;
  if (mode === 'all' && params !== undefined) return 'ha-mode="all" does not take parameters';
  if (mode === 'exactly' && !(typeof params === 'number' && Number.isInteger(params) && params > 0)) {
    return `ha-mode="exactly" takes an integer, ${params === undefined ? 'none' : erlangTerm(params)} given`;
  }
  if (mode === 'nodes') {
    if (!Array.isArray(params)) return `ha-mode="nodes" takes a list, ${params === undefined ? 'none' : erlangTerm(params)} given`;
    if (params.length === 0) return 'ha-mode="nodes" list must be non-empty';
    const invalid = params.filter((n) => typeof n !== 'string');
    if (invalid.length) return `ha-mode="nodes" takes a list of strings, ${erlangTerm(invalid)} was not a string`;
  }
  const sync = d['ha-sync-mode'];
  if (sync !== undefined && sync !== 'automatic' && sync !== 'manual') return `ha-sync-mode must be "manual" or "automatic", got ${erlangTerm(sync)}`;
  const batch = d['ha-sync-batch-size'];
  if (batch !== undefined && !(typeof batch === 'number' && Number.isInteger(batch) && batch > 0)) {
    return `ha-sync-batch-size takes an integer greater than 0, ${erlangTerm(batch)} given`;
  }
  for (const k of ['ha-promote-on-shutdown', 'ha-promote-on-failure']) {
    const v = d[k];
    if (v !== undefined && v !== 'always' && v !== 'when-synced') return `${k} must be "always" or "when-synced", got ${erlangTerm(v)}`;
  }
  return null;
}
