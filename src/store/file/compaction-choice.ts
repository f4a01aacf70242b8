import type { JournalState, SegmentInfo } from './journal-state.js';
import { LookClock } from './look-clock.js';

/** a partly live oldest segment is copied once its own dead bytes are this many times its live ones (7: 7/8 dead) */
const OWN_DEAD_PER_LIVE = 7;
/** ...or once the store's dead bytes are this many times its live ones (and a segment's worth) */
const DEAD_PER_LIVE_AT_MOST = 3;
/** ...or, under that, once its live bytes have not fallen for this long (nobody is consuming it), ms */
const STILL_MS = 1000;
/**
 * a segment carried with a backlog has had nothing taken from it for at least this long, ms (a consumer
 * taking in priority order has its place elsewhere between takes), unless its last fall came within
 * AS_WRITTEN_LOOKS of its seal (churn taken as it was written: segments reach the front that soon)
 */
const CARRIED_QUIET_MS = 250;
/** ~500 ms in looks (LOOK_MS) */
const AS_WRITTEN_LOOKS = 5;
/**
 * a consumer whose place was in a segment that went is taken for gone after this long, ms (its next segments
 * wait until then); a segment a consumer reads in waits as long after its last fall
 */
const CONSUMER_GONE_MS = 5000;

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
 * - "Not fallen for STILL_MS" reads the segment's own last fall (SegmentInfo.fellIn, dated by
 *   LookClock) and the last fall of the segments gone before it (a consumer that emptied one is on its
 *   way through the next).
 * - A segment no consumer reads in (no queue took its last message from it: SegmentInfo.places) and nothing
 *   was taken from for CARRIED_QUIET_MS (or only as it was written) goes at once when the one copied before it was such a backlog
 *   segment too (carried): segments reach the front
 *   sooner than STILL_MS after they were written when the backlog is a small share of the traffic, and
 *   a queue consumed some time after publishing leaves its last falls there recent.
 * - When a segment a consumer read in goes (emptied or copied), the segments no consumer reads in yet
 *   are that consumer's next ones: for CONSUMER_GONE_MS none of them goes for being still (only mostly
 *   dead or at the 3x bound), unless a consumer takes from it (review-s14-1 D3: a queue consumed right
 *   behind a backlog had its whole backlog copied; review-s14-2 D1b: a consumer's pause copied the rest
 *   of its queue). Nor does the segment a consumer reads in (SegmentInfo.places) go for being still
 *   before CONSUMER_GONE_MS after its last fall: a pause shorter than that copies nothing of its queue
 *   (s15 copied one a second, what the consumer took right after: 1.8x the bytes of the reviewer's D1b
 *   repro; s16 still the segment it was reading in, 306,539 B in the pause test). A consumer away
 *   longer is taken for gone: the rest of its queue then goes as a backlog.
 *
 * No clock read or allocation per removal: a fall notes the current look (one field write).
 */
export class CompactionChoice {
  /** dates the looks segments note */
  readonly clock: LookClock;
  /** the last segment copied held a backlog: no consumer read in it, and no consumer's place went shortly before */
  private backlogBefore = false;
  /** when a segment a consumer read in last went (-Infinity: never) */
  private placeWentAt = -Infinity;
  /** why the last verdict lets the oldest go */
  private verdict: 'empty' | 'mostlyDead' | 'bound' | 'staying' = 'empty';
  /** the latest the segments gone so far had live bytes fall (from the open on): a consumer that emptied one goes on with the next */
  private frontFell: number;

  constructor(
    state: JournalState,
    private readonly segmentSize: number,
    now: number,
  ) {
    this.clock = new LookClock(state, now);
    this.frontFell = now;
  }

  /** whether `oldest` (the oldest sealed segment) should go now; `now` from the store's clock, ticked */
  worth(oldest: SegmentInfo, diskBytes: number, liveBytes: number, now: number): boolean {
    this.verdict = 'empty';
    if (oldest.live <= 0) return true;
    const dead = diskBytes - liveBytes;
    if (dead <= liveBytes || dead <= this.segmentSize) return false;
    this.verdict = 'mostlyDead';
    if (oldest.size - oldest.live >= OWN_DEAD_PER_LIVE * oldest.live) return true;
    this.verdict = 'bound';
    if (dead > DEAD_PER_LIVE_AT_MOST * Math.max(liveBytes, this.segmentSize)) return true;
    this.verdict = 'staying';
    const read = oldest.places > 0;
    const fell = this.clock.latest(oldest.fellIn, now);
    // part of the backlog copied just before it
    if (!read && this.backlogBefore && (now - fell >= CARRIED_QUIET_MS || oldest.fellIn <= oldest.sealedIn + AS_WRITTEN_LOOKS)) return true;
    // a consumer's next one: it reads it once back (or is taken for gone: CONSUMER_GONE_MS)
    if (!read && this.consumerAhead(now)) return false;
    // its live bytes have not fallen since, as far as the journal says: its own last fall, and that of the
    // segments gone before it (a consumer that emptied one is on its way through this one). One a consumer
    // reads in waits as long as its next ones do: a consumer's pause (a slow batch, a reconnect) copied the
    // rest of the segment it was reading, which it took right after (306,539 B in the 3 s pause test)
    return now - Math.max(fell, this.frontFell) >= (read ? CONSUMER_GONE_MS : STILL_MS);
  }

  /** `info` goes now (copied if partly live, then deleted) */
  going(info: SegmentInfo, now: number): void {
    this.frontFell = Math.max(this.frontFell, this.clock.latest(info.fellIn, now));
    if (info.places > 0) {
      // a consumer read here: the segments after it are its next ones
      this.placeWentAt = now;
      this.backlogBefore = false;
    } else if (info.live <= 0) this.backlogBefore = false;
    else if (this.verdict === 'staying' || this.verdict === 'bound') this.backlogBefore = !this.consumerAhead(now);
    // (one copied for being mostly dead says nothing either way)
  }

  private consumerAhead(now: number): boolean {
    return now - this.placeWentAt < CONSUMER_GONE_MS;
  }
}
