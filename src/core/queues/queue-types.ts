import { BrokerError, describeQueue, preconditionFailed } from '../errors.js';
import type { VersionRules } from '../engine-versions.js';
import type { FieldTable } from '../fields.js';
import { fieldToString } from './queue-args.js';

/**
 * What queue.declare may ask of each queue type, as RabbitMQ decides it before a queue exists
 * (rabbit_amqqueue:check_declare_arguments, rabbit_queue_type_util:check_*, each type's
 * `capabilities()` queue_arguments), for the engine version in force.
 */

export interface DeclareShape {
  durable: boolean;
  exclusive: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
}

/** arguments some queue type accepts that a quorum queue refuses (rabbit_quorum_queue:capabilities/0) */
const NOT_FOR_QUORUM = ['x-max-priority', 'x-queue-mode', 'x-queue-version', 'x-queue-master-locator'];
/** arguments only quorum queues (or streams) take, refused on a classic queue */
const NOT_FOR_CLASSIC = [
  'x-delivery-limit',
  'x-dead-letter-strategy',
  'x-quorum-initial-group-size',
  'x-max-in-memory-length',
  'x-max-in-memory-bytes',
  'x-max-age',
  'x-stream-max-segment-size-bytes',
  'x-initial-cluster-size',
];
const TYPE_MODULE = { classic: 'rabbit_classic_queue', quorum: 'rabbit_quorum_queue' } as const;

/** RabbitMQ's text for a deprecated feature denied by default (rabbit_deprecated_features) */
function deprecatedDenied(feature: string): string {
  return (
    `Feature \`${feature}\` is deprecated.\n` +
    'By default, this feature is not permitted anymore.\n' +
    'The feature will be removed from a future major RabbitMQ version, regardless of the configuration; actual version to be determined.\n' +
    'To continue using this feature when it is not permitted by default, set the following parameter in your configuration:\n' +
    `    "deprecated_features.permit.${feature} = true"`
  );
}

/**
 * Check a new queue's declaration against its type and the version's rules; returns the
 * arguments it is created with (the implicit default type written in, as RabbitMQ 4 does).
 * `declare` is given for RabbitMQ's rabbit_amqqueue:declare path (AMQP 0-9-1, STOMP queues,
 * the HTTP API, definitions): its `defaultType` is written into a declaration naming none (the
 * vhost's, node's or version's; undefined on 3.13 without one), and the version's refusals of
 * queue property combinations apply (4.3: transient non-exclusive queues).
 */
export function checkQueueDeclare(rules: VersionRules, vhost: string, name: string, o: DeclareShape, declare?: { defaultType: 'classic' | 'quorum' | undefined }): FieldTable {
  const defaultType = declare?.defaultType;
  const what = describeQueue(vhost, name);
  let args = o.arguments;
  const given = args['x-queue-type'] === undefined ? undefined : fieldToString(args['x-queue-type']);
  if ((given === undefined || given === '' || given === 'undefined') && defaultType !== undefined) {
    // rabbit_amqqueue:augment_declare_args/5: the default type where the queue can have it
    // (quorum: durable, not exclusive, not auto-delete), else classic, written in
    const fits = defaultType === 'classic' || (o.durable && !o.exclusive && !o.autoDelete);
    args = { ...args, 'x-queue-type': fits ? defaultType : 'classic' };
  }
  const type = args['x-queue-type'] === undefined ? 'classic' : fieldToString(args['x-queue-type']);

  if (type === 'stream') {
    throw preconditionFailed(
      `invalid arg 'x-queue-type' for ${what}: streams are not supported by Amazon MQ (creating a stream results in data loss)`,
    );
  }
  if (type === 'quorum') {
    // rabbit_quorum_queue:declare/2: auto-delete, then exclusive, then durable
    if (o.autoDelete) throw preconditionFailed(`invalid property 'auto-delete' for ${what}`);
    if (o.exclusive) throw preconditionFailed(`invalid property 'exclusive-owner' for ${what}`);
    if (!o.durable) throw preconditionFailed(`invalid property 'non-durable' for ${what}`);
    refuseKeys(args, NOT_FOR_QUORUM, what, TYPE_MODULE.quorum);
    const strategy = args['x-dead-letter-strategy'];
    if (strategy !== undefined) {
      const s = fieldToString(strategy);
      if (s !== 'at-most-once' && s !== 'at-least-once') {
        throw preconditionFailed(`invalid arg 'x-dead-letter-strategy' for ${what}: {invalid_value,<<"${s ?? ''}">>}`);
      }
    }
  } else if (type === 'classic') {
    refuseKeys(args, NOT_FOR_CLASSIC, what, TYPE_MODULE.classic);
    if (!rules.classicQueueV1) {
      const v = args['x-queue-version'];
      if (v !== undefined && v !== 2) {
        throw preconditionFailed(`invalid arg 'x-queue-version' for ${what}: "unsupported queue version '${String(v)}'"`);
      }
    }
  }
  if (declare) refuseDeniedCombination(rules, o);
  return args;
}

/**
 * rabbit_amqqueue:declare/7's is_queue_args_combination_permitted, before it looks for an
 * existing queue: 4.3 denies transient non-exclusive queues with internal_error (AMQP 541, a
 * connection error), for a new queue or a redeclaration alike.
 */
export function refuseDeniedCombination(rules: VersionRules, o: DeclareShape): void {
  if (!rules.transientNonExclusiveQueues && !o.durable && !o.exclusive) {
    throw new BrokerError(541, deprecatedDenied('transient_nonexcl_queues'), 'connection');
  }
}

function refuseKeys(args: FieldTable, refused: string[], what: string, typeModule: string): void {
  for (const key of Object.keys(args)) {
    if (refused.includes(key)) throw preconditionFailed(`invalid arg '${key}' for ${what} of queue type ${typeModule}`);
  }
}
