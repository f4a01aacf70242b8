import { queueKey, type Store, type BindingDef, type ExchangeDef, type MessageIndex, type QueueDef, type RecoveredMessage, type RecoveredState } from '../store/store.js';
import { Exchange, isExchangeType } from './exchanges/exchange.js';
import type { Message } from './message.js';
import { resolveQueueArgs } from './queues/queue-args.js';
import { DLX_HELD_NAMESPACE, QUORUM_COUNTS_NAMESPACE, Queue, dlxHeldKey, type DeadLetterReason, type QuorumCounts } from './queues/queue.js';
import type { VHost } from './vhost.js';
import type { KeyedRecords } from './keyed-records.js';
import { RETAINED_NAMESPACE, type RetainedMessages } from './retained.js';

/** what recovery builds into: the broker's vhosts and its message-id sequence */
export interface RecoveryTarget {
  vhost(name: string): VHost | undefined;
  addVhost(name: string, persist: boolean): VHost;
  seedMessageIds(max: number): void;
  /** retained messages (MQTT's), restored from the store's records */
  readonly retained: RetainedMessages;
  /** protocol sessions' records, restored from the store's records */
  readonly records: KeyedRecords;
  /** where a stale record is dropped */
  readonly store: Store;
}

/**
 * Rebuild the broker model from what the store recovered: vhosts, durable exchanges,
 * queues and bindings, then each durable queue's persistent messages in their order.
 * Nothing is written back to the store. Users and permissions are the server's to restore.
 */
export function restoreBroker(broker: RecoveryTarget, state: RecoveredState): void {
  for (const v of state.vhosts) broker.addVhost(v.name, false);
  const vhostOf = (name: string) => broker.vhost(name) ?? broker.addVhost(name, false);
  for (const e of state.exchanges) restoreExchange(vhostOf(e.vhost), e);
  for (const q of state.queues) restoreQueue(vhostOf(q.vhost), q);
  for (const b of state.bindings) restoreBinding(vhostOf(b.vhost), b);
  broker.seedMessageIds(state.maxMessageId);
  broker.retained.restore(state.records.get(RETAINED_NAMESPACE));
  broker.records.restore(state.records);
  const held = new Map(state.records.get(DLX_HELD_NAMESPACE) ?? []);
  const counted = new Map(state.records.get(QUORUM_COUNTS_NAMESPACE) ?? []);
  const store = broker.store;
  const index: MessageIndex = { publishedAt: 0, priority: undefined, expiration: undefined, bodyLength: 0 };
  /** one message back in its queue; `stored`: the store holds it and reads it by id */
  const restoreOne = (vhost: VHost, queue: Queue, id: number, delivered: boolean, stored: boolean, m: RecoveredMessage | undefined): void => {
    let reason: DeadLetterReason | undefined;
    let counts: QuorumCounts | undefined;
    if (held.size || counted.size) {
      const key = dlxHeldKey(vhost.name, queue.name, id);
      reason = (held.get(key) as { reason: DeadLetterReason } | undefined)?.reason;
      held.delete(key);
      counts = counted.get(key) as QuorumCounts | undefined;
      counted.delete(key);
    }
    // past its level's in-memory head, a message the store holds goes straight into the
    // queue's paged part by its index: its body stays on disk (issue 18: a million messages
    // recovered without reading each back). Held dead-letters and quorum counts need the entry.
    if (stored && reason === undefined && counts === undefined && store.readMessageIndex?.(id, index)) {
      if (queue.restorePaged(id, index, delivered)) {
        vhost.host.memoryAdded(index.bodyLength);
        return;
      }
    }
    // otherwise the store reads it back as it is restored; one it could not read is left
    // out (the store has logged why)
    const message = (m ? m.message : store.readMessage?.(id)) as Message | undefined;
    if (message) restoreMessage(vhost, queue, id, message, delivered, reason, counts);
  };
  for (const q of state.queues) {
    const vhost = vhostOf(q.vhost);
    const queue = vhost.getQueue(q.name);
    if (!queue) continue;
    const key = queueKey(q.vhost, q.name);
    // ActiveMQ 5.17 (persistJMSRedelivered off, its default) brings every message back not
    // redelivered after a restart; a journal written before its queues stopped marking
    // deliveries (Session.track) may still hold marks for them
    const marks = !queue.config.activemq;
    if (state.stored) {
      // by id (a million of them without an object each)
      const stored = state.stored.get(key);
      if (stored) for (let i = 0; i < stored.ids.length; i++) restoreOne(vhost, queue, stored.ids[i]!, marks && stored.delivered[i] === 1, true, undefined);
      continue;
    }
    const messages = state.messages.get(key);
    if (messages) for (const m of messages) restoreOne(vhost, queue, m.id, marks && m.delivered, m.stored === true, m);
  }
  // records of held dead-letters whose message is gone (the queue went while the broker was down, say)
  for (const key of held.keys()) broker.store.putRecord(DLX_HELD_NAMESPACE, key, null);
  // and of counts whose message left by a way that did not drop them (a purge, a deleted queue)
  for (const key of counted.keys()) broker.store.putRecord(QUORUM_COUNTS_NAMESPACE, key, null);
}

function restoreExchange(vhost: VHost, def: ExchangeDef): void {
  if (vhost.exchanges.has(def.name) || !isExchangeType(def.type)) return;
  const { durable, autoDelete, internal } = def;
  vhost.exchanges.set(def.name, new Exchange(vhost.name, def.name, def.type, { durable, autoDelete, internal, arguments: def.arguments }));
}

function restoreQueue(vhost: VHost, def: QueueDef): void {
  if (vhost.queues.has(def.name)) return;
  let config;
  try {
    config = resolveQueueArgs(vhost.name, def.name, def.arguments);
  } catch {
    return;
  }
  const q = new Queue(vhost, def.name, { durable: true, exclusive: false, autoDelete: def.autoDelete, arguments: def.arguments, owner: null }, config);
  vhost.queues.set(def.name, q);
  vhost.host.policies.apply(q);
}

function restoreBinding(vhost: VHost, def: BindingDef): void {
  const source = vhost.exchanges.get(def.source);
  const destination = def.destinationType === 'queue' ? vhost.queues.get(def.destination) : vhost.exchanges.get(def.destination);
  if (source && destination) source.bind(destination, def.routingKey, def.arguments);
}

/**
 * A persistent message recovered into its queue, in order; delivered ones come back
 * redelivered, and one an at-least-once queue held for its dead-letter exchange is held again.
 */
function restoreMessage(vhost: VHost, q: Queue, id: number, message: Message, delivered: boolean, heldFor: DeadLetterReason | undefined, counts: QuorumCounts | undefined): void {
  const entry = q.makeEntry(id, message, true);
  if (delivered) entry.deliveryCount = 1;
  if (counts && q.config.queueType === 'quorum') q.restoreCounts(entry, counts);
  vhost.host.memoryAdded(message.body.length);
  if (heldFor !== undefined) q.restoreHeld(entry, heldFor);
  else q.enqueue(entry);
}
