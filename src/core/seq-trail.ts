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
 * anything the session still holds are let go as more come (prune). One old delivery left unacked
 * while requeued ones keep coming (a reject-with-requeue loop) would keep every drop after it: past
 * MAX_DROPS the trail gives up (overflowed: a requeue of its deliveries gets no bound and the queue
 * holds everything behind it until it is back, as before the trails) until the session holds
 * nothing older than the delivery being noted (review-s12-1 F1: 2M cycles kept 2M drops, +45 MiB).
 */
const MAX_DROPS = 1024;

export class SeqTrail {
  private tags: number[] = [];
  private seqs: number[] = [];
  /** the seq of the last delivery noted */
  private last = Infinity;
  /** length at which note asks for a prune (doubles with what a prune keeps) */
  private pruneAt = 64;
  /** once handed to a requeue (no more notes): mins[i], the lowest of seqs[i..] */
  private mins: number[] | undefined;
  /**
   * more than MAX_DROPS were needed: no bound is given. Meanwhile a fresh trail is noted from
   * `validFrom` on, which takes over once the session holds nothing older (prune)
   */
  private overflowed = false;
  /** while overflowed: the tag of the first delivery of the fresh trail (0: the next one) */
  private validFrom = 0;

  /** a trail of one delivery (a single settle handed to the bulk work) */
  static of(tag: number, seq: number): SeqTrail {
    const t = new SeqTrail();
    t.note(tag, seq);
    return t.frozen();
  }

  /** a delivery with `tag` and `seq`; true when the trail has grown enough to be pruned */
  note(tag: number, seq: number): boolean {
    if (this.validFrom === 0 && this.overflowed) this.validFrom = tag;
    const drop = seq < this.last;
    this.last = seq;
    if (drop) {
      this.tags.push(tag);
      this.seqs.push(seq);
    }
    // while overflowed, asks at each delivery whether the fresh trail can take over
    return this.overflowed || (drop && this.tags.length >= this.pruneAt);
  }

  /** drops no delivery at or after `oldestTag` (the lowest tag its session still holds) can need */
  prune(oldestTag: number): void {
    if (this.overflowed) {
      // nothing older than the fresh trail is held: it bounds everything held, and takes over
      if (oldestTag >= this.validFrom) this.overflowed = false;
      // else it too has grown too long: begin another at the next delivery
      else if (this.tags.length > MAX_DROPS) this.startOver();
      else return;
    }
    // the last drop at or before oldestTag still bounds the deliveries after it
    const k = this.lastAtOrBefore(oldestTag);
    if (k > 0) {
      this.tags.splice(0, k);
      this.seqs.splice(0, k);
    }
    if (this.tags.length > MAX_DROPS) {
      this.overflowed = true;
      this.startOver();
      return;
    }
    this.pruneAt = Math.max(64, 2 * this.tags.length);
  }

  /** nothing kept: the next delivery noted is the first of a fresh trail */
  private startOver(): void {
    this.tags = [];
    this.seqs = [];
    this.last = Infinity;
    this.validFrom = 0;
  }

  /** the whole trail, for a requeue of every delivery noted (undefined: overflowed, no bound); this one starts afresh */
  takeAll(): SeqTrail | undefined {
    const overflowed = this.overflowed;
    const t = new SeqTrail();
    t.tags = this.tags;
    t.seqs = this.seqs;
    this.overflowed = false;
    this.startOver();
    this.pruneAt = 64;
    return overflowed ? undefined : t.frozen();
  }

  /** the part for a requeue of the deliveries up to `tag` (undefined: overflowed, no bound); this one keeps what bounds the rest */
  takeThrough(tag: number): SeqTrail | undefined {
    if (this.overflowed) return undefined;
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

  /**
   * While deliveries are still noted (a QueueBrowse gathering what its consumer holds): a lower
   * bound of the seqs of the deliveries noted after `tag` that `seq` (the seq of the one at `tag`,
   * one of this trail's) and the drops after it give; every delivery noted when `seq` is not given.
   * -Infinity while overflowed (no bound). Drops pruned since stay bounded: pruning keeps the last
   * drop at or before the oldest delivery held, and between drops the order only grows.
   */
  floorFrom(tag: number, seq: number | undefined): number {
    if (this.overflowed) return -Infinity;
    let floor = seq ?? Infinity;
    const tags = this.tags;
    for (let k = tags.length - 1; k >= 0 && (seq === undefined || tags[k]! > tag); k--) {
      const s = this.seqs[k]!;
      if (s < floor) floor = s;
    }
    return floor;
  }

  /** drops kept (tests: the trail stays bounded) */
  get drops(): number {
    return this.tags.length;
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
