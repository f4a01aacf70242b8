/**
 * Where a consumer's deliveries stand in its queue's order, kept cheaply enough to note at every
 * delivery: a lower bound of the queue order (QueueEntry.seq) of the deliveries it holds past any
 * point, so that a queue whose consumer's channel closed with a million unacked can go on
 * delivering what is ahead of every one of them still on its way back (Queue.dispatch), instead of
 * delivering nothing until the last is back.
 *
 * A consumer takes messages from its queue's head, so their order mostly grows delivery after
 * delivery; it drops where a requeued message is delivered again. Only those drops are kept (the
 * delivery tag and seq of each delivery lower than the one before it, the first delivery
 * included): between two of them the order only grows, so the deliveries after a tag are no lower
 * than the last drop at or before it, nor than the drops after it. Settling deliveries only takes
 * some away, so the bound stays a bound (perhaps a lower one than need be). Drops older than
 * anything the session still holds are let go as more come (prune).
 */
export class SeqTrail {
  private tags: number[] = [];
  private seqs: number[] = [];
  /** the seq of the last delivery noted */
  private last = Infinity;
  /** length at which note asks for a prune (doubles with what a prune keeps) */
  private pruneAt = 64;
  /** once handed to a requeue (no more notes): mins[i], the lowest of seqs[i..] */
  private mins: number[] | undefined;

  /** a trail of one delivery (a single settle handed to the bulk work) */
  static of(tag: number, seq: number): SeqTrail {
    const t = new SeqTrail();
    t.note(tag, seq);
    return t.frozen();
  }

  /** a delivery with `tag` and `seq`; true when the trail has grown enough to be pruned */
  note(tag: number, seq: number): boolean {
    const drop = seq < this.last;
    this.last = seq;
    if (!drop) return false;
    this.tags.push(tag);
    this.seqs.push(seq);
    return this.tags.length >= this.pruneAt;
  }

  /** drops no delivery at or after `oldestTag` (the lowest tag its session still holds) can need */
  prune(oldestTag: number): void {
    // the last drop at or before oldestTag still bounds the deliveries after it
    const k = this.lastAtOrBefore(oldestTag);
    if (k > 0) {
      this.tags.splice(0, k);
      this.seqs.splice(0, k);
    }
    this.pruneAt = Math.max(64, 2 * this.tags.length);
  }

  /** the whole trail, for a requeue of every delivery noted; this one starts afresh */
  takeAll(): SeqTrail {
    const t = new SeqTrail();
    t.tags = this.tags;
    t.seqs = this.seqs;
    this.tags = [];
    this.seqs = [];
    this.last = Infinity;
    this.pruneAt = 64;
    return t.frozen();
  }

  /** the part for a requeue of the deliveries up to `tag`; this one keeps what bounds the rest */
  takeThrough(tag: number): SeqTrail {
    const k = this.lastAtOrBefore(tag);
    const t = new SeqTrail();
    t.tags = this.tags.slice(0, k + 1);
    t.seqs = this.seqs.slice(0, k + 1);
    if (k > 0) {
      this.tags.splice(0, k);
      this.seqs.splice(0, k);
    }
    return t.frozen();
  }

  /**
   * A lower bound of the seqs of the deliveries noted after `tag` (those still to come back):
   * `lastSeq`, when given, is the seq of the delivery at `tag` itself, one of this trail's (the
   * deliveries after it up to the next drop are no lower); without it, the last drop at or before
   * `tag` bounds them (the requeue knows when none is left: it is then let go, Queue.returnsDone).
   */
  floorAfter(tag: number, lastSeq: number | undefined): number {
    const k = this.lastAtOrBefore(tag);
    const after = k + 1 < this.tags.length ? this.mins![k + 1]! : Infinity;
    const upTo = lastSeq ?? (k >= 0 ? this.seqs[k]! : Infinity);
    return upTo < after ? upTo : after;
  }

  private frozen(): this {
    const n = this.seqs.length;
    const mins = new Array<number>(n);
    let m = Infinity;
    for (let i = n - 1; i >= 0; i--) {
      const s = this.seqs[i]!;
      if (s < m) m = s;
      mins[i] = m;
    }
    this.mins = mins;
    return this;
  }

  /** index of the last drop with a tag at or before `tag`, -1 if none */
  private lastAtOrBefore(tag: number): number {
    let lo = 0;
    let hi = this.tags.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tags[mid]! <= tag) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }
}
