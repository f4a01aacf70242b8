import type { Consumer, Delivery } from './consumer.js';
import type { Queue } from './queues/queue.js';

/**
 * What takeThrough counted on the side of the book it copied (the taken deliveries, or the ones
 * left behind), timed-out deliveries left out: how many each consumer has, how many
 * basic.gets (no consumer) each queue has, and how many count against the connection's cap.
 */
export interface BookCounts {
  readonly side: 'taken' | 'kept';
  readonly consumers: Map<Consumer, number>;
  readonly gets: Map<Queue, number>;
  /** deliveries that count against the connection's cap of unbounded unacked (Delivery.capped) */
  capped: number;
}

/**
 * A session's unsettled deliveries by tag, in tag order: what a Map<number, Delivery> gave
 * Session, without its cost per delivery. Tags only grow (a session hands them out in
 * order), so deliveries sit in one array in arrival order, found by their tag's place
 * (direct when no untracked tag lies between, else a binary search). A settled delivery
 * leaves a hole that the start skips over; holes elsewhere (one delivery left unacked while
 * later ones are acked) are squeezed out when the array is full and at least half holes,
 * so its length stays within twice the deliveries held. Nothing is allocated per delivery,
 * and the arrays are not shrunk and grown again as a window of deliveries drains and
 * refills (a Map's table is, each time: most of its cost).
 *
 * Iteration follows a Map's: in tag order, skipping what was deleted before it was reached,
 * and reaching what was added meanwhile (a settle may deliver again on the same session).
 */
export class OutstandingDeliveries {
  /** deliveries (undefined once settled) and their tags, [start, end) in use */
  private slots: (Delivery | undefined)[] = [];
  private tags: number[] = [];
  private start = 0;
  private end = 0;
  private live = 0;
  /** changes whenever deliveries move in the arrays: iterators find their place again by tag */
  private epoch = 0;
  /** a book takeThrough made: what it counted on the side it copied */
  counted: BookCounts | undefined;

  get size(): number {
    return this.live;
  }

  /** a new delivery; its tag is above every tag added before */
  add(d: Delivery): void {
    if (this.end === this.slots.length && this.end - this.live >= this.live && this.end > 0) this.squeeze();
    const at = this.end++;
    if (at < this.slots.length) {
      this.slots[at] = d;
      this.tags[at] = d.tag;
    } else {
      this.slots.push(d);
      this.tags.push(d.tag);
    }
    this.live++;
  }

  get(tag: number): Delivery | undefined {
    const i = this.indexOf(tag);
    return i < 0 ? undefined : this.slots[i];
  }

  has(tag: number): boolean {
    return this.get(tag) !== undefined;
  }

  delete(tag: number): boolean {
    const i = this.indexOf(tag);
    if (i < 0 || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    if (--this.live === 0) {
      this.reset();
      return true;
    }
    if (i === this.start) {
      let s = i + 1;
      while (this.slots[s] === undefined) s++;
      this.start = s;
    }
    return true;
  }

  /**
   * Every delivery with a tag up to `tag`, out of this book into a new one, in order (a nack
   * multiple of most of a million): the smaller side is copied and counted, the other keeps the
   * arrays; only the side copied is looked at (a million deliveries scattered over the heap
   * take 40-200 ms to visit). As it is copied, the side copied is counted by consumer (and gets
   * by queue) into the taken book's `counted`: the session works out where the taken deliveries
   * come from, and how many, from its own counts.
   */
  takeThrough(tag: number): OutstandingDeliveries {
    const taken = new OutstandingDeliveries();
    const from = this.start;
    const end = this.end;
    const cut = this.firstIndexAbove(tag);
    if (cut === from || this.live === 0) {
      taken.counted = { side: 'taken', consumers: new Map(), gets: new Map(), capped: 0 };
      return taken;
    }
    const slots = this.slots;
    const tags = this.tags;
    if (cut - from <= end - cut) {
      // fewer taken than kept: the taken ones are copied out
      const counted: BookCounts = { side: 'taken', consumers: new Map(), gets: new Map(), capped: 0 };
      taken.counted = counted;
      const n = countIn(slots, from, cut, counted);
      taken.slots = slots.slice(from, cut);
      taken.tags = tags.slice(from, cut);
      taken.end = cut - from;
      taken.live = n;
      slots.fill(undefined, from, cut);
      this.live -= n;
      if (this.live === 0) {
        // holes only after the cut (acked one by one): nothing to find a start in
        this.reset();
        return taken;
      }
      let s = cut;
      while (slots[s] === undefined) s++;
      this.start = s;
      return taken;
    }
    // fewer kept (a nack up to a recent tag): the taken book keeps the arrays, the rest is copied out
    const counted: BookCounts = { side: 'kept', consumers: new Map(), gets: new Map(), capped: 0 };
    taken.counted = counted;
    const kept = countIn(slots, cut, end, counted);
    this.slots = slots.slice(cut, end);
    this.tags = tags.slice(cut, end);
    slots.fill(undefined, cut, end);
    taken.slots = slots;
    taken.tags = tags;
    taken.start = from;
    taken.end = cut;
    taken.live = this.live - kept;
    this.live = kept;
    this.start = 0;
    this.end = end - cut;
    // the rest moved in the arrays: iterators find their place again by tag
    this.epoch++;
    if (kept === 0) this.reset();
    else while (this.slots[this.start] === undefined) this.start++;
    return taken;
  }

  /** the lowest tag held, or undefined */
  firstTag(): number | undefined {
    return this.live === 0 ? undefined : this.tags[this.start];
  }

  clear(): void {
    if (this.live === 0 && this.end === 0) return;
    this.slots.fill(undefined, this.start, this.end);
    this.live = 0;
    this.reset();
  }

  values(): IterableIterator<Delivery> {
    return this.walk((d) => d);
  }

  entries(): IterableIterator<[number, Delivery]> {
    return this.walk((d): [number, Delivery] => [d.tag, d]);
  }

  [Symbol.iterator](): IterableIterator<[number, Delivery]> {
    return this.entries();
  }

  private *walk<T>(as: (d: Delivery) => T): Generator<T, void, undefined> {
    let epoch = this.epoch;
    let i = this.start;
    let lastTag = -1;
    for (;;) {
      if (epoch !== this.epoch) {
        // squeezed or emptied meanwhile: on from the first tag after the last one seen
        epoch = this.epoch;
        i = this.firstIndexAbove(lastTag);
      } else if (i < this.start) i = this.start;
      if (i >= this.end) return;
      const d = this.slots[i++];
      if (d === undefined) continue;
      lastTag = d.tag;
      yield as(d);
    }
  }

  /** the index of `tag`, or -1 */
  private indexOf(tag: number): number {
    const s = this.start;
    const e = this.end;
    if (s === e) return -1;
    // tags handed out one after another sit at their distance from the first
    const guess = s + (tag - this.tags[s]!);
    if (guess >= s && guess < e && this.tags[guess] === tag) return guess;
    let lo = s;
    let hi = e - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.tags[mid]!;
      if (t === tag) return mid;
      if (t < tag) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  /** the index of the first slot in use whose tag is above `tag` (end if none) */
  private firstIndexAbove(tag: number): number {
    let lo = this.start;
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.tags[mid]! <= tag) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** move the deliveries held to the front, in order, dropping the holes */
  private squeeze(): void {
    let w = 0;
    for (let r = this.start; r < this.end; r++) {
      const d = this.slots[r];
      if (d === undefined) continue;
      this.slots[w] = d;
      this.tags[w] = this.tags[r]!;
      w++;
    }
    this.slots.fill(undefined, w, this.end);
    this.start = 0;
    this.end = w;
    this.epoch++;
  }

  /** nothing held: start over at the front (a very large array, left from a burst, is let go) */
  private reset(): void {
    this.start = 0;
    this.end = 0;
    this.epoch++;
    if (this.slots.length > 65536) {
      this.slots = [];
      this.tags = [];
    }
  }
}

/**
 * the deliveries in slots [from, to) (holes skipped), counted into `counts` by consumer (a run of
 * one consumer's deliveries at a time), basic.gets by queue and those counted against the
 * connection's cap, timed-out ones left out; returns
 * how many deliveries there are, timed-out ones included
 */
function countIn(slots: readonly (Delivery | undefined)[], from: number, to: number, counts: BookCounts): number {
  let n = 0;
  let runOf: Consumer | null = null;
  let run = 0;
  for (let i = from; i < to; i++) {
    const d = slots[i];
    if (d === undefined) continue;
    n++;
    if (d.timedOut) continue;
    if (d.capped) counts.capped++;
    const c = d.consumer;
    if (c !== null) {
      if (c !== runOf) {
        if (runOf !== null) counts.consumers.set(runOf, (counts.consumers.get(runOf) ?? 0) + run);
        runOf = c;
        run = 0;
      }
      run++;
    } else if (d.queue !== null) counts.gets.set(d.queue, (counts.gets.get(d.queue) ?? 0) + 1);
  }
  if (runOf !== null) counts.consumers.set(runOf, (counts.consumers.get(runOf) ?? 0) + run);
  return n;
}
