import type { PublisherFlow } from './alarm.js';

/**
 * How long a channel still shows `flow` after its credit flow blocked it: RabbitMQ's
 * credit_flow:state/0 says `flow` while blocked, or when the block began less than
 * STATE_CHANGE_INTERVAL (1 s) ago.
 */
export const CHANNEL_FLOW_SHOWN_MS = 1000;

/**
 * One channel's own `state` under the journal's credit flow, as RabbitMQ's management shows it
 * (rabbit_channel's `state` info item is credit_flow:state() while the channel runs). In RabbitMQ
 * the store's back-pressure runs queue -> channel -> reader: a channel whose publishes wait for a
 * slow store runs out of credit first (`flow`), and its connection's reader follows; a channel of
 * the same connection that published nothing stays `running`. Here the connection is held as a
 * whole (StoreFlow); a channel is in flow from its first publish that found the journal behind
 * until that hold ends, and for the rest of the second after that publish.
 */
export class ChannelFlow {
  /** the connection's hold (PublisherFlow.flowHold) this channel's publish joined; 0: none */
  private hold = 0;
  /** `now()` when this channel's block began */
  private blockedAt = -Infinity;

  constructor(
    private readonly connection: () => PublisherFlow | undefined,
    /** the clock (ms) the 1 s is measured on: performance.now(), or a test's stepped one */
    private readonly now: () => number = () => performance.now(),
  ) {}

  /**
   * A publish of this channel came back with `flags` (VHost.publish): passes them to the
   * connection's flow (PublisherFlow.stored), and notes when one found the journal behind.
   */
  stored(flags: number): void {
    const flow = this.connection();
    if (!flow?.stored(flags)) return;
    const hold = flow.flowHold;
    if (hold === this.hold) return;
    this.hold = hold;
    this.blockedAt = this.now();
  }

  /** the channel's state for the management API */
  get inFlow(): boolean {
    if (this.hold !== 0 && this.connection()?.flowHold === this.hold) return true;
    return this.now() - this.blockedAt < CHANNEL_FLOW_SHOWN_MS;
  }
}
