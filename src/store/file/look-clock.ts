import type { JournalState } from './journal-state.js';

/** JournalState.look counts this many ms since the store opened, as of the last tick */
export const LOOK_MS = 100;
/**
 * the ends of this many looks are kept: the oldest kept ended more than (ENDS - 2) * LOOK_MS ago (6.2 s), so that
 * CompactionChoice's longest wait (CONSUMER_GONE_MS, 5 s, measured from a segment's last fall) reads a real time
 * even when the store ticks every look (a flush every 100 ms); with 16 (1.4 s) a fall older than that read as never
 */
const ENDS = 64;

/**
 * Dates what segments note in looks (SegmentInfo.fellIn, sealedIn): the store's removals note
 * JournalState.look without a clock read, and the look moves on only at a tick (every flush and seal,
 * FileStore). A fall noted in look L happened after the tick that made L current and
 * before the tick that ended it, so the end of L is the latest it can have happened, however long
 * the store was idle before it.
 */
export class LookClock {
  private readonly endedLook = new Float64Array(ENDS);
  private readonly endedAt = new Float64Array(ENDS);
  private ends = 0;

  constructor(
    private readonly state: JournalState,
    private readonly openedAt: number,
  ) {}

  tick(now: number): void {
    const look = Math.floor((now - this.openedAt) / LOOK_MS);
    if (look === this.state.look) return;
    const i = this.ends++ % ENDS;
    this.endedLook[i] = this.state.look;
    this.endedAt[i] = now;
    this.state.look = look;
  }

  /**
   * The latest time (ms, the store's clock) something noted in `look` can have happened: now for
   * the current look, -Infinity for never (-1) or a look ended before the ends kept (> 6.2 s ago).
   */
  latest(look: number, now: number): number {
    if (look < 0) return -Infinity;
    if (look >= this.state.look) return now;
    const kept = Math.min(this.ends, ENDS);
    let later = now;
    for (let k = 1; k <= kept; k++) {
      const i = (this.ends - k) % ENDS;
      const ended = this.endedLook[i]!;
      if (ended === look) return this.endedAt[i]!;
      // (a look never current is noted by nothing; were it, it ended when the next one kept did)
      if (ended < look) return later;
      later = this.endedAt[i]!;
    }
    return -Infinity;
  }
}
