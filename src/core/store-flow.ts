import type { Store } from '../store/store.js';

/** what StoreFlow holds: a connection (PublisherFlow: its reading, or its protocol's credit) */
export interface StoreFlowHeld {
  /** held by this flow (true), released (false): the connection shows `flow` (PublisherFlow.state) */
  flowHeld(on: boolean): void;
}

/**
 * RabbitMQ's credit flow from publishers to the message store, for the journal: while the
 * records the store accepted and has not yet made durable are over its bound (Store.onBacklog),
 * a connection whose publish goes to the journal (a persistent message to a durable queue:
 * the Stored flag) stops being read until the backlog falls under its low mark (AMQP 1.0: its
 * links stop granting credit instead; PublisherFlow.flowHeld). Nothing else
 * holds a publisher nobody waits on (OpenWire async sends, AMQP 0-9-1 without confirms, MQTT
 * QoS 0, AMQP 1.0 pre-settled): without this, its records piled up in memory for as long as a
 * sync took, bounded only by the memory alarm.
 *
 * One subscription to the store for the broker; a connection is known here only while it is
 * held (no listener per connection). Consumers are never held: the backlog drains by the disk
 * alone (a flush needs no client's ack; records nobody waits for are flushed within
 * LAZY_FLUSH_MS), so holding a connection that also consumes cannot stop its own release.
 * The in-memory store has no backlog: nothing is ever held.
 */
export class StoreFlow {
  /** the journal is over its bound: read on every persistent publish (a field, not a call) */
  behind = false;
  private readonly held = new Set<StoreFlowHeld>();

  constructor(store: Pick<Store, 'onBacklog'>) {
    store.onBacklog?.((behind) => this.changed(behind));
  }

  /** a connection's publish went to the journal while it is behind: hold its reading until it catches up */
  stored(flow: StoreFlowHeld): void {
    if (!this.behind || this.held.has(flow)) return;
    this.held.add(flow);
    flow.flowHeld(true);
  }

  /** the connection is gone */
  forget(flow: StoreFlowHeld): void {
    this.held.delete(flow);
  }

  /** connections held now (tests, management) */
  get holding(): number {
    return this.held.size;
  }

  private changed(behind: boolean): void {
    this.behind = behind;
    if (behind) return;
    const released = [...this.held];
    this.held.clear();
    for (const f of released) f.flowHeld(false);
  }
}
