/**
 * The 1.2 ack ids a connection's closed subscriptions left unacknowledged. ActiveMQ 5.17 keeps a
 * connection's pending acks (ProtocolConverter's ack id map) when a subscription goes, so an ACK or
 * NACK of one after the UNSUBSCRIBE gets a RECEIPT, once, and settles nothing: the messages went back
 * to the queue (measured, /work/notes/s17-fidelity.md §2: also while another subscription of the same
 * connection holds them again, and for a durable topic subscription); an `ack:client` subscription's
 * stale ACK takes the earlier ones of that subscription with it (their ACK is then refused).
 *
 * ActiveMQ keeps them for the connection's life; here they are numbers (the ack id's counter, 8 B
 * each), per closed subscription, at most MAX_STALE per connection: past that the oldest go, and an
 * ACK of one of those is refused as unknown (review-s16-2 L2: a poller that subscribes with a big
 * window and leaves must not grow the connection without bound).
 */
export const MAX_STALE = 65_536;

interface StaleGroup {
  /** ascending */
  readonly ids: Float64Array;
  /** 1 while ids[i] is still stale */
  readonly left: Uint8Array;
  /** how many are still stale */
  remaining: number;
  /** no index below this one is still stale (a cumulative ACK starts here) */
  first: number;
  /** `ack:client`: an ACK takes the earlier ones too */
  readonly cumulative: boolean;
}

export class StaleAckIds {
  private groups: StaleGroup[] = [];
  private total = 0;

  /** a subscription closed with these ack numbers unacknowledged */
  add(numbers: readonly number[], cumulative: boolean): void {
    if (numbers.length === 0) return;
    const sorted = Float64Array.from(numbers).sort();
    const ids = sorted.length > MAX_STALE ? sorted.subarray(sorted.length - MAX_STALE) : sorted;
    this.groups.push({ ids, left: new Uint8Array(ids.length).fill(1), remaining: ids.length, first: 0, cumulative });
    this.total += ids.length;
    while (this.total > MAX_STALE) this.total -= this.groups.shift()!.ids.length;
  }

  /** an ACK / NACK of ack number `n`: true when it was stale (it is not any more) */
  take(n: number, command: 'ACK' | 'NACK'): boolean {
    for (let g = 0; g < this.groups.length; g++) {
      const group = this.groups[g]!;
      const i = indexOf(group.ids, n);
      if (i < 0 || group.left[i] === 0) continue;
      const from = command === 'ACK' && group.cumulative ? group.first : i;
      for (let k = from; k <= i; k++) {
        group.remaining -= group.left[k]!;
        group.left[k] = 0;
      }
      while (group.first < group.left.length && group.left[group.first] === 0) group.first++;
      if (group.remaining === 0) {
        this.groups.splice(g, 1);
        this.total -= group.ids.length;
      }
      return true;
    }
    return false;
  }

  clear(): void {
    this.groups = [];
    this.total = 0;
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
