import type { Store } from '../store/store.js';
import { RETAINED_NAMESPACE } from './retained.js';
import { DLX_HELD_NAMESPACE, QUORUM_COUNTS_NAMESPACE } from './queues/queue.js';

/**
 * Small keyed records a protocol's sessions keep beyond their connection and beyond the
 * queues and bindings the core already holds for them (MQTT: a session's shared
 * subscriptions, its will, its QoS 2 packet ids in mid-handshake). Held in memory and
 * written through the store's keyed records, so with a data dir they survive a restart,
 * a crash included.
 */
export class KeyedRecords {
  private readonly byNamespace = new Map<string, Map<string, unknown>>();

  constructor(private readonly store: Store) {}

  get(namespace: string, key: string): unknown {
    return this.byNamespace.get(namespace)?.get(key);
  }

  /** keep `value` under `key` (written through the store); null or undefined deletes it */
  put(namespace: string, key: string, value: unknown): void {
    let m = this.byNamespace.get(namespace);
    if (value === null || value === undefined) {
      if (m?.delete(key)) this.store.putRecord(namespace, key, null);
      return;
    }
    if (!m) this.byNamespace.set(namespace, (m = new Map()));
    m.set(key, value);
    this.store.putRecord(namespace, key, value);
  }

  /** every record of a namespace */
  entries(namespace: string): IterableIterator<[string, unknown]> {
    return (this.byNamespace.get(namespace) ?? new Map<string, unknown>()).entries();
  }

  /** the records recovered from the store (retained messages, held dead-letters and quorum counts have services of their own) */
  restore(records: Map<string, Map<string, unknown>>): void {
    for (const [namespace, m] of records) {
      if (namespace === RETAINED_NAMESPACE || namespace === DLX_HELD_NAMESPACE || namespace === QUORUM_COUNTS_NAMESPACE) continue;
      this.byNamespace.set(namespace, new Map(m));
    }
  }
}
