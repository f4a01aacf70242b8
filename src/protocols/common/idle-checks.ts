/**
 * The rules by which a connection's peer is taken for gone when nothing comes from it, each
 * asked by the connection's own timer at its period (the clock is the caller's, so a test steps
 * it instead of sleeping past the timeouts). None judges while the connection's reading is held
 * (the memory alarm, the journal's credit flow): what the peer sent then waits unread in the
 * socket, which is not its silence.
 */

/**
 * RabbitMQ's receiver side (rabbit_heartbeat, AMQP 1.0 on RabbitMQ): the bytes read, sampled
 * every heartbeat; {StatVal, SameCount} from {0, 0}, threshold 1, so the first sample always sees
 * bytes and a peer silent from its open is closed at the third
 */
export class SampledSilence {
  private seen = 0;
  private silentSamples = 0;

  /** a heartbeat's sample: true when the peer is gone */
  sample(bytesIn: number, held: boolean): boolean {
    if (bytesIn !== this.seen || held) {
      this.seen = bytesIn;
      this.silentSamples = 0;
      return false;
    }
    if (this.silentSamples < 1) {
      this.silentSamples++;
      return false;
    }
    return true;
  }
}

/** ActiveMQ's AMQP idle timeout (proton-j's transport): nothing received for the whole timeout */
export class SilenceSince {
  private last: number;

  constructor(
    private readonly closeAfterMs: number,
    now: number,
  ) {
    this.last = now;
  }

  /** bytes came in at `now`; or the reading resumed after a hold (the peer's silence counts from there) */
  received(now: number): void {
    this.last = now;
  }

  /** true when the peer is gone at `now` */
  expired(now: number, held: boolean): boolean {
    return !held && now - this.last > this.closeAfterMs;
  }
}

/** ActiveMQ's InactivityMonitor (OpenWire): each period must have read something */
export class PeriodActivity {
  private readSince = false;

  /** the first period begins (after the initial delay): what came before does not count for it */
  begin(): void {
    this.readSince = false;
  }

  /** bytes came in; or the reading resumed after a hold (a full period from there before silence counts) */
  received(): void {
    this.readSince = true;
  }

  /** a period ends: true when the peer is gone */
  periodEnds(held: boolean): boolean {
    if (!this.readSince && !held) return true;
    this.readSince = false;
    return false;
  }
}
