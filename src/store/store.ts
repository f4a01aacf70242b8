import type { FieldTable } from '../core/fields.js';
import type { Message } from '../core/message.js';

/**
 * What the broker keeps across restarts. The core calls these as state changes;
 * the store decides how (nothing, for the in-memory store; an fsynced journal on disk).
 * Writes are fire-and-forget; `sync` is how a caller learns that everything written
 * before it is durable (publisher confirms, tx.commit-ok, PUBACK and receipts wait on it).
 */
export interface Store {
  /** true when state survives a restart */
  readonly durable: boolean;
  /** Load what the store holds. Called once, before anything else. */
  open(): Promise<RecoveredState>;

  putVhost(def: VhostDef): void;
  deleteVhost(name: string): void;
  putUser(def: UserDef): void;
  deleteUser(name: string): void;
  putPermission(def: PermissionDef): void;
  deletePermission(user: string, vhost: string): void;
  putExchange(def: ExchangeDef): void;
  deleteExchange(vhost: string, name: string): void;
  /** durable queues only; deleting a queue drops every message it held */
  putQueue(def: QueueDef): void;
  deleteQueue(vhost: string, name: string): void;
  putBinding(def: BindingDef): void;
  deleteBinding(def: BindingDef): void;
  putPolicy(def: PolicyDef): void;
  deletePolicy(vhost: string, name: string): void;
  /** small keyed records for adapters (MQTT retained messages and sessions); null deletes */
  putRecord(namespace: string, key: string, value: unknown | null): void;

  /**
   * A persistent message entering durable queues. The body is written once even when it
   * goes to several queues. `id` is unique per store and grows (the core hands them out,
   * starting above `RecoveredState.maxMessageId`).
   */
  addMessage(id: number, message: Message, queues: QueueRef[]): void;
  /** the message left this queue (acked, expired, dropped, dead-lettered, purged) */
  removeMessage(queue: QueueRef, id: number): void;
  /** first delivery of a message: after a restart it comes back with redelivered set */
  markDelivered(queue: QueueRef, id: number): void;

  /**
   * Paging (a store that keeps message records it can read back): a persistent message of
   * a queue longer than `pageThreshold` may leave memory, and comes back through this.
   */
  readonly pageThreshold?: number;
  readMessage?(id: number): Message | undefined;
  /**
   * What places a message the store holds in a queue, without reading it back: recovery puts
   * a queue's messages past the threshold straight into its paged part. Fills `out`; false
   * when the store does not hold the message or cannot read its record.
   */
  readMessageIndex?(id: number, out: MessageIndex): boolean;
  /**
   * Paging of what the journal does not hold (transient messages, non-durable queues): a
   * store for this run only, there once `open` has run.
   */
  readonly transientPager?: TransientPager;

  /** `cb` runs once everything written before this call is durable, or with the error that stopped it */
  sync(cb: (err?: Error) => void): void;
  /**
   * A store that writes in group commits can name where what has been written so far becomes
   * durable (`syncPoint`, cheap: called after each write a client will wait on) and answer once
   * that is (`syncTo`), without also waiting for what was written after it (as `sync` called
   * then would). Without them, waits use `sync`.
   */
  syncPoint?(): number;
  syncTo?(point: number, cb: (err?: Error) => void): void;
  /**
   * A store whose writes can fall behind (a journal waiting for the disk): `listener(true)` once
   * what it accepted and has not yet made durable passes its bound, `listener(false)` once that
   * has fallen well under it. The broker holds the reading of persistent publishers meanwhile
   * (core/store-flow.ts). Without it (the in-memory store) nothing is held.
   */
  onBacklog?(listener: (behind: boolean) => void): void;
  /** called with write errors (a full disk): the broker blocks publishers until `onRecovered` */
  onError(listener: (err: Error | null) => void): void;
  close(): Promise<void>;
}

/**
 * Where a queue pages out messages the store does not keep across restarts: written when
 * they pass the threshold, read back (synchronously) when they reach the in-memory head,
 * released when the queue lets go of them. Gone at restart.
 */
export interface TransientPager {
  /** ready messages of one priority kept in memory before the rest is paged out */
  readonly threshold: number;
  /** where `message` can be read back from, or -1 when it cannot be paged out (it stays in memory) */
  write(message: Message): number;
  read(loc: number): Message | undefined;
  /** the queue is done with the record at `loc` */
  release(loc: number): void;
  /**
   * Page nothing out while `on` (free disk space is under the limit: RabbitMQ then keeps
   * transient messages in memory rather than fill the disk); what is paged stays readable.
   */
  hold?(on: boolean): void;
}

export interface QueueRef {
  vhost: string;
  queue: string;
}

export interface VhostDef {
  name: string;
  description?: string;
  tags?: string[];
  defaultQueueType?: string;
}

export interface UserDef {
  name: string;
  /** base64, RabbitMQ's form: salt(4 bytes) + hash(salt + password) */
  passwordHash: string;
  hashingAlgorithm: 'rabbit_password_hashing_sha256' | 'rabbit_password_hashing_sha512' | 'rabbit_password_hashing_md5';
  tags: string[];
  /** ActiveMQ profile: up to 20 groups */
  groups?: string[];
  /** ActiveMQ profile: may open the web console */
  consoleAccess?: boolean;
}

export interface PermissionDef {
  user: string;
  vhost: string;
  configure: string;
  write: string;
  read: string;
}

export interface ExchangeDef {
  vhost: string;
  name: string;
  type: string;
  durable: boolean;
  autoDelete: boolean;
  internal: boolean;
  arguments: FieldTable;
}

export interface QueueDef {
  vhost: string;
  name: string;
  durable: boolean;
  autoDelete: boolean;
  arguments: FieldTable;
}

export interface BindingDef {
  vhost: string;
  source: string;
  destination: string;
  destinationType: 'queue' | 'exchange';
  routingKey: string;
  arguments: FieldTable;
}

export interface PolicyDef {
  vhost: string;
  name: string;
  pattern: string;
  /** RabbitMQ 3.12+ also narrows "queues" to one queue type */
  applyTo: 'queues' | 'exchanges' | 'all' | 'classic_queues' | 'quorum_queues' | 'streams';
  definition: FieldTable;
  priority: number;
}

export interface RecoveredMessage {
  id: number;
  message: Message;
  /** it had been delivered before the restart */
  delivered: boolean;
  /** `message` is read from the store on use: `Store.readMessageIndex` can place it unread */
  readonly stored?: boolean;
}

/** a queue's recovered messages by id, in queue order; `delivered[i]` is 1 when `ids[i]` had been delivered */
export interface StoredMessages {
  readonly ids: Float64Array;
  readonly delivered: Uint8Array;
}

/** the parts of a message that place it in a queue (priority level, expiry, byte counts) */
export interface MessageIndex {
  publishedAt: number;
  priority: number | undefined;
  expiration: string | undefined;
  bodyLength: number;
}

export interface RecoveredState {
  vhosts: VhostDef[];
  users: UserDef[];
  permissions: PermissionDef[];
  exchanges: ExchangeDef[];
  queues: QueueDef[];
  bindings: BindingDef[];
  policies: PolicyDef[];
  /** namespace -> key -> value */
  records: Map<string, Map<string, unknown>>;
  /** `${vhost}\u0000${queue}` -> messages in queue order */
  messages: Map<string, RecoveredMessage[]>;
  /**
   * The same, compactly, from a store that reads messages back by id (`readMessage`,
   * `readMessageIndex`): recovery takes this when present, and `messages` is then built only
   * if someone asks for it (a million recovered messages as objects cost ~50 MB of heap).
   */
  stored?: Map<string, StoredMessages>;
  maxMessageId: number;
}

export function queueKey(vhost: string, queue: string): string {
  return `${vhost}\u0000${queue}`;
}

export function emptyRecoveredState(): RecoveredState {
  return {
    vhosts: [],
    users: [],
    permissions: [],
    exchanges: [],
    queues: [],
    bindings: [],
    policies: [],
    records: new Map(),
    messages: new Map(),
    maxMessageId: 0,
  };
}
