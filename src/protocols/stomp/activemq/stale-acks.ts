/**
 * The 1.2 ack ids a connection's closed subscriptions left unacknowledged. ActiveMQ 5.17 keeps a
 * connection's pending acks (ProtocolConverter's ack id map) when a subscription goes, so an ACK or
 * NACK of one after the UNSUBSCRIBE gets a RECEIPT, once, and settles nothing: the messages went back
 * to the queue (measured, /work/notes/s17-fidelity.md §2: also while another subscription of the same
 * connection holds them again, and for a durable topic subscription); an `ack:client` subscription's
 * stale ACK takes the earlier ones of that subscription with it (their ACK is then refused).
 *
 * ActiveMQ keeps them for the connection's life; here they are numbers (the ack id's counter), at most
 * MAX_STALE per connection: past that the oldest go, and an ACK of one of those is refused as unknown (review-s16-2 L2: a poller that subscribes with a big
 * window and leaves must not grow the connection without bound).
 */
export const MAX_STALE = 65_536;

/** an `ack:client` subscription's stale ids (more than one): an ACK takes the earlier ones too */
interface CumulativeGroup {
  /** ascending */
  readonly ids: Float64Array;
  /** no index below this one is still stale (a cumulative ACK starts here) */
  first: number;
}

export class StaleAckIds {
  /**
   * every stale ack number, oldest first (a Map keeps insertion order: eviction takes the front), with its
   * cumulative group, or null: one index for the connection, so an ACK finds its id in O(1) whatever the
   * number of closed subscriptions, and a subscription's ids cost a Map entry each, not an object per
   * subscription (review-s17-2 SA1: 489 B per id at one id per subscription)
   */
  private readonly stale = new Map<number, CumulativeGroup | null>();

  /** a subscription closed with these ack numbers unacknowledged */
  add(numbers: readonly number[], cumulative: boolean): void {
    if (numbers.length === 0) return;
    const sorted = Float64Array.from(numbers).sort();
    const ids = sorted.length > MAX_STALE ? sorted.subarray(sorted.length - MAX_STALE) : sorted;
    const group = cumulative && ids.length > 1 ? { ids, first: 0 } : null;
    for (let i = 0; i < ids.length; i++) this.stale.set(ids[i]!, group);
    // past the bound the oldest go
    for (const n of this.stale.keys()) {
      if (this.stale.size <= MAX_STALE) break;
      this.stale.delete(n);
    }
  }

  /** an ACK / NACK of ack number `n`: true when it was stale (it is not any more) */
  take(n: number, command: 'ACK' | 'NACK'): boolean {
    const group = this.stale.get(n);
    if (group === undefined) return false;
    if (group === null || command === 'NACK') {
      this.stale.delete(n);
      return true;
    }
    const i = indexOf(group.ids, n);
    for (let k = group.first; k <= i; k++) this.stale.delete(group.ids[k]!);
    group.first = i + 1;
    return true;
  }

  clear(): void {
    this.stale.clear();
  }
}

function indexOf(ids: Float64Array, n: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = ids[mid]!;
    if (v === n) return mid;
    if (v < n) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
