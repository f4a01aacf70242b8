import { EventEmitter } from 'node:events';
import { engineVersionRules, type VersionRules } from './engine-versions.js';
import { randomBytes } from 'node:crypto';
import type { Store } from '../store/store.js';
import { Alarms, PublisherFlow, type AlarmResource, type FlowControlled } from './alarm.js';
import { ClientIds } from './client-ids.js';
import { Durability } from './durability.js';
import { StoreFlow } from './store-flow.js';
import type { Consumer, Delivery } from './consumer.js';
import { notFound } from './errors.js';
import { Limits, type LimitSettings } from './limits.js';
import { ConnectionUnacked } from './connection-unacked.js';
import { PolicyService } from './policies.js';
import { TenantLimits } from './tenant-limits.js';
import type { ActiveMqDlqStrategy } from './dead-letter.js';
import type { Message } from './message.js';
import type { QueueEntry } from './queues/entry.js';
import type { Queue } from './queues/queue.js';
import type { PagingMeter } from './queues/paged-fifo.js';
import { KeyedRecords } from './keyed-records.js';
import { RetainedMessages } from './retained.js';
import { Session } from './session.js';
import type { RecoveryTarget } from './recovery.js';
import { VHost } from './vhost.js';
import { SlicedWork } from './sliced-work.js';
import type { VHostHost } from './vhost-host.js';

export interface BrokerEvents {
  /** a message entered the broker; `queues` is how many queues took it */
  published: [message: Message, queues: number];
  delivered: [queue: Queue, delivery: Delivery];
  /** a message left a queue for good: acked by a consumer, or dropped/expired/dead-lettered */
  settled: [queue: Queue, entry: QueueEntry, how: 'acked' | 'dropped'];
  queueDeleted: [queue: Queue];
  /** a queue was created by a declare (not by recovery): ActiveMQ-style wildcard consumers pick it up */
  queueDeclared: [queue: Queue];
  /** the memory alarm went on (true) or off (false): publishers are blocked meanwhile */
  alarm: [on: boolean];
  /** a consumer started on a queue, or ended (cancelled, its session closed, its queue deleted) */
  consumerAdded: [queue: Queue, consumer: Consumer];
  consumerRemoved: [queue: Queue, consumer: Consumer];
  /** a queue was bound to an exchange, or unbound (bindings that go with their queue are not announced) */
  queueBound: [queue: Queue, exchange: string, key: string];
  queueUnbound: [queue: Queue, exchange: string, key: string];
  /** a protocol's producer bound to one destination appeared, or went (see ProducerRef) */
  producerAdded: [producer: ProducerRef];
  producerRemoved: [producer: ProducerRef];
}

/**
 * A producer that names its destination when it starts (an AMQP 1.0 sender link with a
 * target), as an adapter announces it: ActiveMQ's producer advisories report these. The
 * object itself is the producer's identity (the same one is given back on removal).
 */
export interface ProducerRef {
  readonly vhost: string;
  /** '' with the queue's name as key: a queue */
  readonly exchange: string;
  readonly routingKey: string;
}

/**
 * What a queued message counts for, besides its body, toward the next reading of memory
 * (sampleMemory): its entry, properties and their share of the parsing, so that small bodies
 * are not read as arriving for free (a 16 B message grows RSS by ~200-300 B).
 */
const ARRIVAL_COST = 256;
/** publishes take a reading at most once per this many bytes arrived, however near the watermark (a reading costs ~20-60 µs) */
const MIN_READ_AFTER = 64 * 1024;

/**
 * The broker model: vhosts with their exchanges and queues, the message-id sequence, the
 * store behind it and the resource alarm. No sockets, no protocols.
 */
export class Broker extends EventEmitter<BrokerEvents> implements VHostHost, RecoveryTarget {
  readonly vhosts = new Map<string, VHost>();
  readonly limits: Limits;
  /** each connection's unacked deliveries across its sessions (maxUnackedPerConnection); gone with the connection */
  private readonly unackedByConnection = new WeakMap<object, ConnectionUnacked>();
  /** per-vhost and per-user limits (RabbitMQ's vhost-limits and user limits) */
  readonly tenantLimits: TenantLimits;
  /** ActiveMQ's deadLetterStrategy per destination (an Amazon MQ configuration's destination policies); none: ActiveMQ.DLQ */
  activeMqDeadLetterStrategy: ((kind: 'queue' | 'topic', name: string) => ActiveMqDlqStrategy | undefined) | undefined;
  /** ActiveMQ's prioritizedMessages destination policy per queue name (an Amazon MQ configuration's); none: send order */
  activeMqPrioritized: ((queue: string) => boolean) | undefined;
  /** the engine version's rules (queue types, refusals); set by the server before clients come */
  engineRules: VersionRules = engineVersionRules('rabbitmq');
  /** the ActiveMQ side's version (the ActiveMQ STOMP dialect, OpenWire) when both engines run */
  activemqRules: VersionRules = engineVersionRules('activemq');
  /**
   * ActiveMQ's brokerName (its default 'localhost'): OpenWire's BrokerInfo and advisories carry it,
   * and every ActiveMQ-side refusal naming the broker (InvalidClientIDException "Broker: <name> - …",
   * over OpenWire and STOMP alike); set by the server from the OpenWire options
   */
  activeMqBrokerName = 'localhost';
  /**
   * the node-wide default queue type (RabbitMQ's `default_queue_type` in rabbitmq.conf, which
   * Amazon MQ configurations set); undefined: the engine version's (quorum on 4.2+)
   */
  defaultQueueType: 'classic' | 'quorum' | undefined;
  /**
   * RabbitMQ's `consumer_timeout` (rabbitmq.conf; Amazon MQ configurations set it): how long
   * a delivery may stay unacknowledged before its channel is closed with 406. 30 minutes by
   * default, as RabbitMQ 3.13/4.x; undefined turns it off.
   */
  consumerTimeoutMs: number | undefined = 1_800_000;
  /**
   * quorum queues' at-least-once dead-lettering: a message no queue took is kept and offered to
   * the dead-letter exchange again after this long (RabbitMQ's
   * dead_letter_worker_publisher_confirm_timeout, 180 s)
   */
  deadLetterRetryMs = 180_000;
  /**
   * ActiveMQ's expireMessagesPeriod (its policyEntry attribute, default 30 s): how often an ActiveMQ
   * queue takes the expired messages among its first 400 out to ActiveMQ.DLQ (maxExpirePageSize),
   * consumer or not. 0: never.
   */
  activeMqExpireMessagesPeriodMs = 30_000;
  /** RabbitMQ's policies, applied to queues by pattern and priority */
  readonly policies: PolicyService;
  /**
   * Broker-wide message counters since start (never reset: deleted queues keep counting),
   * which the management API and metrics turn into totals and rates.
   */
  readonly stats = {
    published: 0,
    /** routed nowhere; `returned` of them went back to a mandatory publisher (AMQP basic.return) */
    unroutable: 0,
    returned: 0,
    delivered: 0,
    acked: 0,
    /** published on a channel in confirm mode, and confirmed */
    receivedConfirm: 0,
    confirmed: 0,
    queueDeclares: 0,
  };
  /**
   * Published body sizes by RabbitMQ's buckets (rabbit_msg_size_metrics: up to 100 B, 1 kB,
   * 10 kB, 100 kB, 1 MB, 10 MB, 50 MB, 100 MB, larger), and their sum: the Prometheus
   * rabbitmq_message_size_bytes histogram.
   */
  readonly messageSizes = { buckets: [0, 0, 0, 0, 0, 0, 0, 0, 0], sum: 0 };
  /** the resource alarm: one subscription per connection, of any protocol */
  readonly alarms = new Alarms((on) => this.emit('alarm', on));
  /** bulk work on big queues (settling a purge, a mass expiry), in slices; finished before the store closes */
  readonly bulkWork = new SlicedWork();
  /** waits for the store before a confirm, receipt or PUBACK */
  readonly durability: Durability;
  /** holds persistent publishers while the journal is behind (RabbitMQ's credit flow to the message store) */
  readonly storeFlow: StoreFlow;
  /** retained messages (MQTT's), per vhost, kept through the store */
  readonly retained: RetainedMessages;
  /** protocol sessions' own small records (MQTT's shared subscriptions, wills, QoS 2 ids), kept through the store */
  readonly records: KeyedRecords;
  /** ActiveMQ's client ids in use, one connection each whatever its protocol (OpenWire, STOMP) */
  readonly clientIds = new ClientIds();
  private messageIds = 0;
  /** body bytes the queues hold (every copy of a message counts) */
  private memoryUsed = 0;
  /** body bytes of every queue's paged-out messages (PagedFifo keeps it): on disk, not in memory */
  readonly paging: PagingMeter = { bytes: 0 };
  /**
   * Reads the process's resident memory, set by the server when the watermark counts the
   * whole process (RabbitMQ's vm_memory_calculation_strategy = rss). Unset: only the bytes
   * of queued bodies count (an embedded broker shares its process with the app or tests).
   */
  private memorySampler: (() => number) | undefined;
  /** the last reading, and the queued bytes at that moment (growth since is added on top) */
  private sampledMemory = 0;
  private queuedAtSample = 0;
  /** what was queued since the last reading, paged out or not: bodies plus ARRIVAL_COST each (see sampleMemory) */
  private arrivedSinceSample = 0;
  /** a reading is taken once arrivedSinceSample passes this; set by each reading from the headroom it found */
  private readAfterArrived = Infinity;

  constructor(
    readonly store: Store,
    limits: Partial<LimitSettings> = {},
  ) {
    super();
    this.limits = new Limits(limits);
    this.tenantLimits = new TenantLimits(store);
    this.policies = new PolicyService(
      store,
      (vhost) => this.vhosts.get(vhost)?.queues.values() ?? [],
      () => this.engineRules.classicQueueMirroring,
    );
    this.retained = new RetainedMessages(store);
    this.records = new KeyedRecords(store);
    this.durability = new Durability(store, this.alarms);
    this.storeFlow = new StoreFlow(store);
    this.store.onError((err) => this.alarms.setDisk(err !== null));
  }

  /** one client connection's back-pressure: the resource alarm, the journal's credit flow, its durability backlogs */
  publisherFlow(client: FlowControlled): PublisherFlow {
    return new PublisherFlow(this.alarms, client, this.storeFlow);
  }

  vhost(name: string): VHost | undefined {
    return this.vhosts.get(name);
  }

  requireVhost(name: string): VHost {
    const v = this.vhosts.get(name);
    if (!v) throw notFound(`no vhost '${name}'`);
    return v;
  }

  addVhost(name: string, persist = true): VHost {
    let v = this.vhosts.get(name);
    if (!v) {
      v = new VHost(this, name);
      this.vhosts.set(name, v);
      if (persist) this.store.putVhost({ name });
    }
    return v;
  }

  deleteVhost(name: string): void {
    const v = this.vhosts.get(name);
    if (!v) return;
    for (const q of [...v.queues.keys()]) v.deleteQueue(q, false, false, null);
    this.vhosts.delete(name);
    this.policies.forgetVhost(name);
    this.tenantLimits.forgetVhost(name);
    this.store.deleteVhost(name);
  }

  /**
   * a session of the connection `owner`; its unbounded unacked deliveries count against the
   * connection's cap with its other sessions' (ConnectionUnacked). `uncapped`: the owner settles
   * everything it takes before it answers anyone (the management API's get), no cap for it.
   */
  openSession(vhost: VHost, owner: object, uncapped = false): Session {
    let unacked = this.unackedByConnection.get(owner);
    if (unacked === undefined) {
      unacked = new ConnectionUnacked(uncapped ? 0 : this.limits.settings.maxUnackedPerConnection);
      this.unackedByConnection.set(owner, unacked);
    }
    return new Session(vhost, owner, randomBytes(12).toString('base64url'), unacked);
  }

  nextMessageId(): number {
    return ++this.messageIds;
  }

  /** after recovery: ids continue above what the store holds */
  seedMessageIds(max: number): void {
    if (max > this.messageIds) this.messageIds = max;
  }

  queueCount(): number {
    let n = 0;
    for (const v of this.vhosts.values()) n += v.queues.size;
    return n;
  }

  get alarmed(): boolean {
    return this.alarms.on;
  }

  /** what the alarm is about, RabbitMQ's names: 'memory', 'disk' (a failing store) */
  get alarmResources(): AlarmResource[] {
    return this.alarms.resources;
  }

  /** what the memory alarm compares with the high watermark */
  get memoryInUse(): number {
    const queued = this.queuedInMemory;
    if (!this.memorySampler) return queued;
    // bodies queued or settled since the reading move the figure at once, both ways
    return Math.max(queued, this.sampledMemory + queued - this.queuedAtSample);
  }

  /** body bytes of the queued messages held in memory: paged-out ones are on disk */
  private get queuedInMemory(): number {
    return Math.max(0, this.memoryUsed - this.paging.bytes);
  }

  /** the high watermark in bytes */
  get memoryLimit(): number {
    return this.limits.settings.memoryHighWatermark;
  }

  /**
   * Count the whole process's memory from now on: `sample` reads it (RSS). The server calls
   * `sampleMemory` on a timer (RabbitMQ's memory monitor); publishes also read it anew once
   * enough arrived since the last reading that RSS could have reached the watermark (see
   * sampleMemory), so a flood cannot outrun the timer.
   */
  useMemorySampler(sample: (() => number) | undefined): void {
    this.memorySampler = sample;
    this.sampleMemory();
  }

  /**
   * Reads memory now, and sets how much may arrive before the next reading the publishes take
   * themselves: a quarter of the headroom the reading found (at least MIN_READ_AFTER, at most
   * a fiftieth of the watermark). Arrivals count whether or not they are paged out: a paged
   * message's body is on disk, but the reads, parsing and young-generation heap that carried it
   * are not, and RSS grows with those in steps (measured: 24 MiB in 457 ms under a 1 KiB flood,
   * the queue paging all of it) that a timer alone reads too late. So the alarm is set within
   * a quarter-headroom's arrivals of the crossing as long as RSS grows by at most four bytes per
   * byte that arrives (0.2-0.6 measured for 1 KiB bodies, ~1 for 16 B ones with ARRIVAL_COST).
   */
  sampleMemory(): void {
    if (this.memorySampler) {
      this.sampledMemory = this.memorySampler();
      this.queuedAtSample = this.queuedInMemory;
      const watermark = this.limits.settings.memoryHighWatermark;
      this.arrivedSinceSample = 0;
      this.readAfterArrived = Math.min(watermark / 50, Math.max(MIN_READ_AFTER, (watermark - this.sampledMemory) / 4));
    }
    this.checkMemory();
  }

  private checkMemory(): void {
    const over = this.memoryInUse > this.limits.settings.memoryHighWatermark;
    if (over !== this.alarms.memory) this.alarms.setMemory(over);
  }

  // ---- hooks the vhosts call ---------------------------------------------------------

  published(message: Message, queues: number): void {
    this.stats.published++;
    const size = message.body.length;
    const sizes = this.messageSizes;
    sizes.sum += size;
    sizes.buckets[size <= 100 ? 0 : size <= 1000 ? 1 : size <= 10_000 ? 2 : size <= 100_000 ? 3 : size <= 1_000_000 ? 4 : size <= 10_000_000 ? 5 : size <= 50_000_000 ? 6 : size <= 100_000_000 ? 7 : 8]!++;
    if (queues === 0) this.stats.unroutable++;
    if (this.listenerCount('published')) this.emit('published', message, queues);
  }

  delivered(queue: Queue, delivery: Delivery): void {
    this.stats.delivered++;
    if (this.listenerCount('delivered')) this.emit('delivered', queue, delivery);
  }

  settled(queue: Queue, entry: QueueEntry, how: 'acked' | 'dropped'): void {
    if (how === 'acked') this.stats.acked++;
    if (this.listenerCount('settled')) this.emit('settled', queue, entry, how);
  }

  queueDeleted(queue: Queue): void {
    if (this.listenerCount('queueDeleted')) this.emit('queueDeleted', queue);
  }

  queueDeclared(queue: Queue): void {
    if (this.listenerCount('queueDeclared')) this.emit('queueDeclared', queue);
  }

  consumerAdded(queue: Queue, consumer: Consumer): void {
    if (this.listenerCount('consumerAdded')) this.emit('consumerAdded', queue, consumer);
  }

  consumerRemoved(queue: Queue, consumer: Consumer): void {
    if (this.listenerCount('consumerRemoved')) this.emit('consumerRemoved', queue, consumer);
  }

  queueBound(queue: Queue, exchange: string, key: string): void {
    if (this.listenerCount('queueBound')) this.emit('queueBound', queue, exchange, key);
  }

  queueUnbound(queue: Queue, exchange: string, key: string): void {
    if (this.listenerCount('queueUnbound')) this.emit('queueUnbound', queue, exchange, key);
  }

  /** an adapter's producer with a fixed destination started (producer advisories) */
  producerAdded(producer: ProducerRef): void {
    if (this.listenerCount('producerAdded')) this.emit('producerAdded', producer);
  }

  producerRemoved(producer: ProducerRef): void {
    if (this.listenerCount('producerRemoved')) this.emit('producerRemoved', producer);
  }

  memoryAdded(bytes: number): void {
    this.memoryUsed += bytes;
    if (this.memorySampler && (this.arrivedSinceSample += bytes + ARRIVAL_COST) > this.readAfterArrived) this.sampleMemory();
    else if (!this.alarms.memory && this.memoryInUse > this.limits.settings.memoryHighWatermark) this.alarms.setMemory(true);
  }

  memoryReleased(bytes: number): void {
    this.memoryUsed -= bytes;
    if (this.memoryUsed < 0) this.memoryUsed = 0;
    // the alarm is almost always off: ask it first
    if (this.alarms.memory && this.memoryInUse <= this.limits.settings.memoryHighWatermark) this.alarms.setMemory(false);
  }
}
