import type { Store } from '../store/store.js';

/**
 * What the connections the journal's credit flow holds by credit (AMQP 1.0) may still put into the
 * journal, all of them together, on credit granted before the hold (it cannot be taken back): a
 * link's maximum (ActiveMQ 1000, RabbitMQ 170) of 4 KiB messages is within it. Once it is spent, a
 * held connection that sends more has its reading paused as well (PublisherFlow.ranAhead). One
 * budget for the broker, not one per connection: N held connections put the backlog at most this
 * far past its bound (and what each had read already), not N times this (review-s17-1 H-M2).
 */
export const RUN_AHEAD_BYTES = 4 * 1024 * 1024;

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
  /** bytes the held connections took on credit granted before this hold (RUN_AHEAD_BYTES) */
  private ranAheadBytes = 0;

  constructor(store: Pick<Store, 'onBacklog'>) {
    store.onBacklog?.((behind) => this.changed(behind));
  }

  /** a connection's publish went to the journal while it is behind: hold its reading until it catches up */
  stored(flow: StoreFlowHeld): void {
    if (!this.behind || this.held.has(flow)) return;
    this.held.add(flow);
    flow.flowHeld(true);
  }

  /**
   * A connection held by credit took `bytes` on credit granted before the hold: true once the
   * held connections together took more than RUN_AHEAD_BYTES (its reading must pause too)
   */
  ranAhead(bytes: number): boolean {
    this.ranAheadBytes += bytes;
    return this.ranAheadBytes > RUN_AHEAD_BYTES;
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
    this.ranAheadBytes = 0;
    const released = [...this.held];
    this.held.clear();
    for (const f of released) f.flowHeld(false);
  }
}
