/**
 * The engine versions Amazon MQ runs, and every behaviour that differs between them, in one
 * table. Adapters and the core read a VersionRules; nothing else switches on a version string.
 *
 * Sources: RabbitMQ's release notes and source at the tags named in `fullVersion`
 * (4.0.1 notes: quorum queues' default delivery limit 20; 4.3.0 notes: transient non-exclusive
 * queues and global QoS denied by default, CQv1 removed; rabbit_amqqueue.erl check_queue_version),
 * and Amazon MQ's "Managing engine versions" pages (which versions exist, which is recommended).
 */
import type { QuorumPriorities } from './queues/quorum-ready-list.js';

export type EngineName = 'rabbitmq' | 'activemq';

export interface VersionRules {
  engine: EngineName;
  /** the version as Amazon MQ names it: '3.13', '4.2', '5.19' */
  version: string;
  /** the full version the broker reports (server properties, management API, BrokerInfo) */
  fullVersion: string;
  /** x-queue-type a durable, non-exclusive, non-auto-delete queue gets when it names none */
  defaultQueueType: 'classic' | 'quorum';
  /**
   * every vhost has a default queue type, so a declaration naming none gets x-queue-type
   * written into its arguments (the default, or classic where the default cannot apply):
   * RabbitMQ 4.x's rabbit_amqqueue:augment_declare_args/5; 3.13 does so only for a vhost whose
   * metadata sets default_queue_type
   */
  writesImplicitQueueType: boolean;
  /** a quorum queue's x-delivery-limit when it sets none (undefined: unlimited) */
  quorumDefaultDeliveryLimit: number | undefined;
  /**
   * whether a message a client gives back without failing it (basic.nack or STOMP NACK with
   * requeue, basic.recover, AMQP 1.0 `released` or `modified` without delivery-failed, a detached
   * link) counts toward a quorum queue's delivery limit and `x-delivery-count`. A failed delivery
   * (basic.reject with requeue, AMQP 1.0 modified delivery-failed) and a return because the
   * consumer's channel or session went away always count. 3.13 counts every return
   * (rabbit_fifo return_one: delivery_count); 4.2 too (v4.2.9 rabbit_fifo return_one compares
   * acquired_count, which every return adds to, and rabbit_fifo_client writes it as
   * x-delivery-count); 4.3 does not ("unlimited explicit message returns", 4.3.0 notes: the limit
   * is on delivery_count; rabbit_channel v4.3.5 maps basic.reject requeue to modify
   * delivery_failed, basic.nack requeue to a plain return; a channel going down returns as failed)
   */
  quorumReleasesCount: boolean;
  /**
   * a quorum queue's redeliveries carry `x-acquired-count`, the times the message went back to
   * the queue for any reason (4.3: rabbit_fifo_client:add_delivery_count_header, v4.3.5)
   */
  quorumAcquiredCount: boolean;
  /**
   * classic queues count failed deliveries (a return as failed: AMQP 1.0 modified delivery-failed,
   * basic.reject with requeue, the consumer's channel/session or link gone), the AMQP 1.0 header's
   * delivery-count: 4.3 ("Classic queues now implement AMQP 1.0 delivery-count and first-acquirer
   * headers properly", 4.3.0 notes; rabbit_variable_queue maybe_inc_delivery_count,
   * rabbit_amqqueue_process requeue_and_run/3); 3.13 and 4.2 count nothing there (delivery-count
   * always 0); ActiveMQ counts them in the message's redelivery counter (AmqpSender modified
   * delivery-failed, Queue.removeSubscription)
   */
  classicFailedDeliveries: boolean;
  /** queue.declare durable=false exclusive=false is accepted (4.3: denied by default) */
  transientNonExclusiveQueues: boolean;
  /** basic.qos global=true limits the channel (4.3: treated as per-consumer, as RabbitMQ does) */
  globalQos: boolean;
  /** x-queue-version 1 and x-queue-mode accepted (4.3: CQv1 removed) */
  classicQueueV1: boolean;
  /** GET /api/aliveness-test/:vhost answers ok without a queue (4.1+: rabbit_mgmt_wm_aliveness_test) */
  alivenessTestIsNoop: boolean;
  /**
   * the consumer timeout: 'channel' (3.13-4.2, rabbit_channel's evaluate_consumer_timeout): the
   * oldest unacked delivery of any queue type, past it the channel closes with 406;
   * 'quorum-queue' (4.3): rabbit_fifo returns a quorum consumer's timed-out messages and the
   * channel sends basic.cancel; classic queues have none
   */
  consumerTimeout: 'channel' | 'quorum-queue';
  /**
   * the consumer timeout as an AMQP 1.0 client meets it: 'end-session' (3.13: the
   * rabbitmq_amqp1_0 plugin consumes on a direct AMQP 0-9-1 channel, numbered 1, whose timeout
   * closes it; rabbit_amqp1_0_session_process then ends the session with
   * amqp:precondition-failed and the channel's text); 'none' (4.0-4.2: native AMQP 1.0,
   * rabbit_amqp_session, has none, nor has rabbit_fifo; and ActiveMQ); 'release' (4.3: a quorum
   * consumer's timed-out deliveries get `released` dispositions, unsettled, and the link gets
   * nothing until the client settles them: rabbit_amqp_session handle_stashed_consumer_timeout)
   */
  amqp10ConsumerTimeout: 'end-session' | 'none' | 'release';
  /**
   * how the resource alarm stops an AMQP 1.0 publisher. 'session-window' (4.x, native AMQP 1.0,
   * rabbit_amqp_session conserve_resources): every session's incoming window goes to 0 (a flow at
   * once; a session begun under it starts at 0), the reader never stops reading. 'reader' (3.13's
   * rabbitmq_amqp1_0 plugin): the session has no alarm and its window stays open; the reader stops
   * reading at the first transfer it reads under the alarm (rabbit_amqp1_0_reader
   * handle_1_0_session_frame `{#'v1_0.transfer'{}, _MsgPart}`, since 3.13.0: rabbitmq-server 5a870df
   * "Fix AMQP connection throttling"; up to 3.12 the clause never matched a transfer with a message
   * and nothing was stopped: 3.10.8 asked, transfers under the alarm all taken)
   */
  amqp10AlarmStops: 'reader' | 'session-window';
  /**
   * classic queue mirroring's policy keys (`ha-mode`, `ha-params`, …) are validated and accepted
   * (3.13: rabbit_mirror_queue_misc's policy validators; a single node mirrors nothing). 4.0
   * removed mirroring: they are "not recognised policy settings" like any unknown key (the
   * API answers 400, a definitions import fails), and policies kept from before have no effect
   */
  classicQueueMirroring: boolean;
  /**
   * a quorum queue's message priorities: none (3.13), two levels delivered 2:1 (4.0-4.2,
   * rabbit_fifo_q), strict 0..31 (4.3, rabbit_fifo_pq; 4.3.0 release notes)
   */
  quorumPriorities: QuorumPriorities;
  /**
   * ActiveMQ's STOMP wire format checks frames in server mode (5.19.8+, StompWireFormat
   * validateAction): a frame before CONNECT, a second CONNECT, a server-only frame from a client
   * and a negative content-length close the connection with its texts; before that (5.18) the
   * first two were answered "Not connected." / "Already connected." and the connection stayed
   */
  stompServerModeValidation: boolean;
}

const rabbit313: VersionRules = {
  engine: 'rabbitmq',
  version: '3.13',
  fullVersion: '3.13.7',
  defaultQueueType: 'classic',
  writesImplicitQueueType: false,
  quorumDefaultDeliveryLimit: undefined,
  quorumReleasesCount: true,
  quorumAcquiredCount: false,
  classicFailedDeliveries: false,
  transientNonExclusiveQueues: true,
  globalQos: true,
  classicQueueV1: true,
  alivenessTestIsNoop: false,
  consumerTimeout: 'channel',
  amqp10ConsumerTimeout: 'end-session',
  amqp10AlarmStops: 'reader',
  classicQueueMirroring: true,
  quorumPriorities: 'none',
  stompServerModeValidation: false,
};

const rabbit42: VersionRules = {
  ...rabbit313,
  version: '4.2',
  fullVersion: '4.2.9',
  defaultQueueType: 'quorum',
  writesImplicitQueueType: true,
  quorumDefaultDeliveryLimit: 20,
  alivenessTestIsNoop: true,
  classicQueueMirroring: false,
  quorumPriorities: 'two-level',
  amqp10ConsumerTimeout: 'none',
  amqp10AlarmStops: 'session-window',
};

const rabbit43: VersionRules = {
  ...rabbit42,
  version: '4.3',
  fullVersion: '4.3.5',
  transientNonExclusiveQueues: false,
  globalQos: false,
  classicQueueV1: false,
  consumerTimeout: 'quorum-queue',
  amqp10ConsumerTimeout: 'release',
  quorumReleasesCount: false,
  quorumAcquiredCount: true,
  classicFailedDeliveries: true,
  quorumPriorities: 'strict',
};

const activemqBase: VersionRules = {
  ...rabbit313,
  engine: 'activemq',
  version: '5.19',
  fullVersion: '5.19.10',
  stompServerModeValidation: true,
  classicFailedDeliveries: true,
  // ActiveMQ has no consumer timeout
  amqp10ConsumerTimeout: 'none',
};

export const ENGINE_VERSIONS: Record<EngineName, Record<string, VersionRules>> = {
  rabbitmq: { '3.13': rabbit313, '4.2': rabbit42, '4.3': rabbit43 },
  activemq: {
    '5.18': { ...activemqBase, version: '5.18', fullVersion: '5.18.7', stompServerModeValidation: false },
    '5.19': activemqBase,
  },
};

/** Amazon MQ's recommended version for new brokers of each engine */
export const DEFAULT_ENGINE_VERSION: Record<EngineName, string> = { rabbitmq: '4.2', activemq: '5.19' };

export class UnknownEngineVersionError extends Error {}

/** The rules of `version` ('4.2', or a full '4.2.9') for an engine; the default when none is given. */
export function engineVersionRules(engine: EngineName, version?: string): VersionRules {
  const table = ENGINE_VERSIONS[engine];
  const wanted = version ?? DEFAULT_ENGINE_VERSION[engine];
  const minor = wanted.split('.').slice(0, 2).join('.');
  const rules = table[minor];
  if (!rules) {
    throw new UnknownEngineVersionError(
      `unknown ${engine === 'rabbitmq' ? 'RabbitMQ' : 'ActiveMQ'} engine version '${wanted}' (Amazon MQ runs ${Object.keys(table).join(', ')})`,
    );
  }
  return rules;
}

/** the engine whose table holds `version` ('4.2' → rabbitmq, '5.18.7' → activemq), if any */
export function engineOfVersion(version: string): EngineName | undefined {
  const minor = version.split('.').slice(0, 2).join('.');
  for (const engine of Object.keys(ENGINE_VERSIONS) as EngineName[]) if (ENGINE_VERSIONS[engine][minor]) return engine;
  return undefined;
}

/**
 * The rules of both sides of a broker: `engine` (undefined: both engines' protocols, as
 * LocalMQ runs by default) with `version` naming one side's version. A version of the other
 * engine is refused for a single-engine broker unless `lenient` (an environment default that
 * applies only to the engine it names a version of).
 */
export function brokerVersionRules(engine: EngineName | undefined, version: string | undefined, lenient = false): Record<EngineName, VersionRules> {
  const out = { rabbitmq: engineVersionRules('rabbitmq'), activemq: engineVersionRules('activemq') };
  if (version === undefined) return out;
  const owner = engineOfVersion(version);
  if (owner === undefined || (engine !== undefined && owner !== engine && !lenient)) {
    if (engine !== undefined) engineVersionRules(engine, version); // throws, naming the versions Amazon MQ runs
    const runs = (e: EngineName) => Object.keys(ENGINE_VERSIONS[e]).join(', ');
    throw new UnknownEngineVersionError(`unknown engine version '${version}' (Amazon MQ runs RabbitMQ ${runs('rabbitmq')}; ActiveMQ ${runs('activemq')})`);
  }
  if (engine === undefined || owner === engine) out[owner] = engineVersionRules(owner, version);
  return out;
}
