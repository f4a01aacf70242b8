import type { JournalState, SegmentInfo } from './journal-state.js';

/** a partly live oldest segment is copied once its own dead bytes are this many times its live ones (7: 7/8 dead) */
const OWN_DEAD_PER_LIVE = 7;
/** ...or once the store's dead bytes are this many times its live ones (and a segment's worth) */
const DEAD_PER_LIVE_AT_MOST = 3;
/** ...or, under that, once its live bytes have not fallen for this long (nobody is consuming it), ms */
const STILL_MS = 1000;
/** JournalState.look counts this many ms since the store opened (as of the compaction's last look) */
const LOOK_MS = 100;
/**
 * A segment whose live bytes last fell no later than this many looks after the one it was sealed
 * in (~500 ms: half of STILL_MS, so a consumer at work while the segment before it is watched shows)
 * lost only churn, taken as it was written; one that fell later was consumed from after it was
 * written.
 */
const CHURN_LOOKS = 5;

/**
 * Which oldest sealed segment a compaction lets go of, and when (FileStore.compactLoop). Only the
 * oldest can go (later segments' removes may concern it), so one that stays mostly live holds every
 * later segment's dead bytes on disk.
 *
 * - A fully dead one goes at once.
 * - Otherwise nothing is copied until the store's dead bytes outweigh its live ones and a segment's
 *   worth (so copying pays for itself). Then a partly live one is copied when it is mostly dead
 *   itself (OWN_DEAD_PER_LIVE), or the dead data is DEAD_PER_LIVE_AT_MOST times the live, or its
 *   live bytes have not fallen for STILL_MS (nobody consumes it: a DLQ, a backlog; the store then
 *   holds about twice its live data, as RabbitMQ's message store; review-s14-2 D1). A queue consumed
 *   from the front leaves its oldest segment partly consumed, its live records next in line: copying
 *   them then copied ~half a million messages at 1M that the consumer took right after (s13).
 * - A segment that has just become the oldest is watched for STILL_MS, unless it is part of a backlog
 *   copied just before it: the segment before it went with live records nobody had taken after they
 *   were written, and nothing was taken from this one after it was written either. A single clue that
 *   a consumer reads the data (a segment consumed from after it was written, copied for stopping)
 *   makes every later one wait for itself until a segment empties: the segments after a consumer's
 *   place are that consumer's next ones (review-s14-1 D3: a queue consumed right behind a backlog had
 *   its whole backlog copied; review-s14-2 D1b: a consumer's pause copied the rest of its queue).
 *
 * A segment notes in which look its live bytes last fell (SegmentInfo.fellIn) and was sealed: no clock
 * read or allocation per removal.
 */
export class CompactionChoice {
  /** the oldest segment's live bytes at its last fall, and when (the clock's ms) */
  private oldestSeen: { no: number; live: number; fellAt: number } | undefined;
  /** the last segment copied held a backlog: nothing was taken from it after it was written, and no consumer's place came before it */
  private backlogBefore = false;
  /** a segment consumed from after it was written was copied, and no segment has emptied since */
  private consumerAhead = false;
  /** the last verdict copies the segment for staying put (still, part of a backlog, or past the bound), not for being mostly dead */
  private forStaying = false;
  private readonly openedAt: number;

  constructor(
    private readonly state: JournalState,
    private readonly segmentSize: number,
    now: number,
  ) {
    this.openedAt = now;
  }

  /** whether `oldest` (the oldest sealed segment) should go now; `now` from the store's clock */
  worth(oldest: SegmentInfo, diskBytes: number, liveBytes: number, now: number): boolean {
    this.state.look = Math.floor((now - this.openedAt) / LOOK_MS);
    this.forStaying = false;
    if (oldest.live <= 0) return true;
    const dead = diskBytes - liveBytes;
    if (dead <= liveBytes || dead <= this.segmentSize) return false;
    if (oldest.size - oldest.live >= OWN_DEAD_PER_LIVE * oldest.live) return true;
    this.forStaying = true;
    if (dead > DEAD_PER_LIVE_AT_MOST * Math.max(liveBytes, this.segmentSize)) return true;
    const seen = this.oldestSeen;
    if (seen === undefined || seen.no !== oldest.no) {
      const carried = this.backlogBefore && untouchedSinceSealed(oldest);
      this.oldestSeen = { no: oldest.no, live: oldest.live, fellAt: carried ? -Infinity : now };
      return carried;
    }
    if (oldest.live < seen.live) {
      seen.live = oldest.live;
      seen.fellAt = now;
    }
    return now - seen.fellAt >= STILL_MS;
  }

  /** `info` goes now (copied if partly live, then deleted) */
  going(info: SegmentInfo): void {
    if (info.live <= 0) {
      // emptied: whatever consumer was reading here got through it
      this.consumerAhead = false;
      this.backlogBefore = false;
      return;
    }
    if (!untouchedSinceSealed(info)) {
      // consumed from after it was written: the segments after it are that consumer's next ones
      this.consumerAhead = true;
      this.backlogBefore = false;
    } else if (this.forStaying) this.backlogBefore = !this.consumerAhead;
    // (one copied for being mostly dead says nothing either way)
  }
}

/** its live bytes fell at most CHURN_LOOKS looks after it was sealed: nothing was consumed from it later */
function untouchedSinceSealed(info: SegmentInfo): boolean {
  return info.fellIn <= info.sealedIn + CHURN_LOOKS;
}
