import { AckType } from './codec/types.js';

/**
 * A QueueBrowser's prefetch window, as ActiveMQ keeps it for a browser (QueueBrowserSubscription
 * is a PrefetchSubscription: it is full once `prefetch` dispatches are unacknowledged, the
 * client's queueBrowserPrefetch, 500 by default). The ActiveMQ JMS client acknowledges every
 * browsed message as the enumeration reaches it (a standard ack of one: the broker drops nothing
 * for a browser), so a browser that stops reading, or is closed, is sent no more than its
 * prefetch. "Delivered" acks widen it, as for a consumer.
 *
 * A prefetch of 0 is opened by MessagePulls alone, one dispatch each (the end marker included),
 * as ActiveMQ 5.17 answers a raw browser with prefetch 0: nothing before a pull, then one
 * message per pull (PrefetchSubscription.pullMessage extends the window by one per pull).
 */
export class BrowseWindow {
  private unacked = 0;
  private extension = 0;
  /** prefetch 0: dispatches the pulls so far allow */
  private pulls = 0;

  constructor(private readonly prefetch: number) {}

  get open(): boolean {
    return this.prefetch === 0 ? this.pulls > 0 : this.unacked - this.extension < this.prefetch;
  }

  /** how many more it takes now */
  get room(): number {
    return this.prefetch === 0 ? this.pulls : Math.max(0, this.prefetch - (this.unacked - this.extension));
  }

  sent(): void {
    if (this.prefetch === 0) this.pulls = Math.max(0, this.pulls - 1);
    else this.unacked++;
  }

  /** a MessagePull (prefetch 0): one more dispatch */
  pulled(): void {
    this.pulls++;
  }

  /**
   * a MessageAck of `count` messages from the browser: true when the window is at least half
   * open again (the browse goes on a batch at a time, not woken by every single ack); a
   * prefetch-0 browser's acks open nothing (its pulls do)
   */
  acked(type: number, count: number): boolean {
    if (this.prefetch === 0) return false;
    if (type === AckType.Delivered) this.extension += count;
    else if (type !== AckType.Redelivered) {
      this.unacked = Math.max(0, this.unacked - count);
      this.extension = Math.max(0, this.extension - count);
    }
    return this.unacked - this.extension <= this.prefetch >> 1;
  }
}
