import type { Message } from '../message.js';
import type { QueueEntry } from './entry.js';

/**
 * What stands in the in-memory head of a PagedFifo where an entry was taken out of its middle,
 * until the head reaches it: only its arrival number (the FIFO stays ordered by it, so that the
 * next removal still finds its entry by a binary search), not the entry, whose message would
 * otherwise stay in memory as long as the messages ahead of it do.
 */
export class Hole implements QueueEntry {
  readonly id = -1;
  readonly expiresAt = Infinity;
  readonly priority = 0;
  deliveryCount = 0;
  readonly persisted = false;

  constructor(readonly seq: number) {}

  get message(): Message {
    throw new Error('a removed entry has no message');
  }
}

/**
 * The places of the entries taken out of the middle of a FIFO that its front has not reached
 * yet, ascending. A place is absolute: the FIFO's slots are numbered from its first push on,
 * so places stay put as the front moves. The FIFO maps an index among its live entries to its
 * slot by a binary search here (O(log holes)); nothing is moved when an entry is taken out.
 */
export class Holes {
  private places: number[] = [];
  /** the first hole still ahead of the FIFO's front is places[first] */
  private first = 0;

  get count(): number {
    return this.places.length - this.first;
  }

  /** the first hole's place, or -1 */
  get next(): number {
    return this.first < this.places.length ? this.places[this.first]! : -1;
  }

  /** a hole at `place` (not there yet); taking out in order (a dispatch's walk) appends */
  add(place: number): void {
    const p = this.places;
    if (p.length === this.first || p[p.length - 1]! < place) {
      p.push(place);
      return;
    }
    p.splice(this.lowerBound(place), 0, place);
  }

  has(place: number): boolean {
    const i = this.lowerBound(place);
    return i < this.places.length && this.places[i] === place;
  }

  /** holes at places below `place` */
  before(place: number): number {
    return this.lowerBound(place) - this.first;
  }

  /** the first hole was reached by the front */
  shift(): void {
    this.first++;
    if (this.first === this.places.length) this.clear();
    else if (this.first >= 1024 && this.first * 2 >= this.places.length) {
      // let go of the passed part (Array#shift per hole would copy the rest each time)
      this.places = this.places.slice(this.first);
      this.first = 0;
    }
  }

  /**
   * The slot, counted from the front at place `front`, of the live entry `index` (counted among
   * live entries): `index` plus the holes whose live entries before them are at most `index`.
   */
  slotOf(index: number, front: number): number {
    const p = this.places;
    let lo = 0;
    let hi = this.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      // hole `mid` is at slot p - front, with (p - front) - mid live entries before it
      if (p[this.first + mid]! - front - mid <= index) lo = mid + 1;
      else hi = mid;
    }
    return index + lo;
  }

  /**
   * The runs of live places between the holes, over the `n` places from `start` on: `run(from,
   * length)` for each, in order, `from` counted from `start`. One walk of the sorted places with
   * a cursor: a close-up of a million slots looked each slot up by a binary search (`has`).
   */
  liveRuns(start: number, n: number, run: (from: number, length: number) => void): void {
    const p = this.places;
    let h = this.lowerBound(start);
    let i = 0;
    while (i < n) {
      const hole = h < p.length ? p[h]! - start : n;
      const next = hole < n ? hole : n;
      if (next > i) run(i, next - i);
      // past the hole (or the end)
      i = next + 1;
      h++;
    }
  }

  clear(): void {
    this.places = [];
    this.first = 0;
  }

  private lowerBound(place: number): number {
    const p = this.places;
    let lo = this.first;
    let hi = p.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (p[mid]! < place) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
