/** rabbit_queue_consumers' ?USE_AVG_HALF_LIFE: 1 s, in microseconds */
const HALF_LIFE_US = 1_000_000;

const nowUs = (): number => performance.now() * 1000;

/**
 * How much of the time a queue's consumers could take messages at once: RabbitMQ's
 * `consumer_capacity` (formerly `consumer_utilisation`, rabbit_queue_consumers:capacity).
 * The queue is "inactive" while it holds ready messages its consumers cannot take (each
 * at its prefetch limit or out of credit) and "active" otherwise; the ratio of active time
 * is a moving average with a 1 s half-life, as RabbitMQ computes it (update_use, use_avg).
 */
export class ConsumerUse {
  private active = true;
  private since = nowUs();
  /** active time of the inactive spell's preceding active spell */
  private activeSpan = 0;
  private avg: number | undefined;

  /** the queue's state after a dispatch, a consumer added or unblocked */
  set(active: boolean): void {
    if (active === this.active) return;
    const now = nowUs();
    if (active) {
      this.avg = useAvg(this.activeSpan, now - this.since, this.avg);
      this.active = true;
    } else {
      this.activeSpan = now - this.since;
      this.active = false;
    }
    this.since = now;
  }

  /** 0..1 now (capacity/1) */
  capacity(): number {
    const now = nowUs();
    const ratio = this.active ? useAvg(now - this.since, 0, this.avg) : useAvg(this.activeSpan, now - this.since, this.avg);
    return ratio ?? 1;
  }
}

/** rabbit_queue_consumers:use_avg with rabbit_misc:moving_average */
function useAvg(active: number, inactive: number, avg: number | undefined): number | undefined {
  if (active === 0 && inactive === 0) return avg;
  const time = inactive + active;
  const next = active / time;
  if (avg === undefined) return next;
  const weight = Math.exp((time * Math.log(0.5)) / HALF_LIFE_US);
  return next * (1 - weight) + avg * weight;
}
