import { totalmem } from 'node:os';
import type { Broker } from '../core/broker.js';
import { limitBytes, type LimitRules, type LimitSetting } from './resource-limit.js';


/**
 * RabbitMQ's `vm_memory_high_watermark`: a fraction of the machine's RAM (`relative`,
 * default 0.4) or a size (`absolute`: bytes, or a string with RabbitMQ's units).
 * A bare number up to 1 is relative, above 1 absolute bytes; a string may carry a unit
 * ("512MiB", "1GB") or be a fraction ("0.4").
 */
export type MemoryWatermarkSetting = LimitSetting;

/** how the memory the watermark is compared with is counted (RabbitMQ's vm_memory_calculation_strategy) */
export type MemoryCalculation = 'rss' | 'queued';

export const DEFAULT_RELATIVE_WATERMARK = 0.4;

const WATERMARK: LimitRules = {
  name: 'memory high watermark',
  allowed: 'a fraction of RAM (0.4), a size ("512MiB", "1GB", bytes) or {relative} / {absolute}',
  byDefault: (ram) => Math.floor(ram * DEFAULT_RELATIVE_WATERMARK),
  relativeUpTo: 1,
  zero: false,
  roundRelative: Math.floor,
};

/** the watermark in bytes; throws with what is allowed when the setting makes no sense */
export function watermarkBytes(setting: MemoryWatermarkSetting | undefined, ram = totalmem()): number {
  return limitBytes(setting, WATERMARK, ram);
}

/** the memory monitor reads RSS at least this often (RabbitMQ's memory_monitor_interval is 2.5 s; ours was 1 s) */
export const SLOWEST_SAMPLE_MS = 1000;
/** and at most this often, however close to the watermark (a reading of /proc/self/stat costs ~20-60 µs) */
export const FASTEST_SAMPLE_MS = 20;
/** growth is remembered with this half-life (RSS grows in steps: a window of a few ms may see none) */
const GROWTH_HALF_LIFE_MS = 500;
/**
 * the growth assumed at least, per second, as a share of the watermark: RSS can stand still for
 * seconds (a collection freed heap that is refilled first) and then climb at full speed again
 */
const ASSUMED_GROWTH_PER_S = 0.1;

/**
 * How long until the next reading of RSS: a quarter of the time it takes to reach the watermark
 * at the recent growth, or at a tenth of the watermark per second if that is faster, between
 * `fastest` and `slowest`. A broker far below the watermark is read once a second; one flooded
 * at 15 MiB/s toward a 150 MiB watermark is read every ~0.5 s at 120 MiB and every 20 ms within
 * 1 MiB of it, so the alarm fires within a reading's growth (~0.3 MiB) of the watermark instead
 * of up to one second's growth (15 MiB) past it. Over the watermark the alarm is on and
 * publishers are stopped: the slow pace (its end is also seen between readings, as queued bytes leave).
 */
export function nextSampleDelay(rss: number, watermark: number, growthPerMs: number, slowest = SLOWEST_SAMPLE_MS, fastest = FASTEST_SAMPLE_MS): number {
  const headroom = watermark - rss;
  if (headroom <= 0) return slowest;
  const growth = Math.max(growthPerMs, (watermark * ASSUMED_GROWTH_PER_S) / 1000);
  return Math.min(slowest, Math.max(fastest, headroom / growth / 4));
}

/**
 * RabbitMQ's memory monitor: reads the process's resident memory and hands it to the broker,
 * whose alarm blocks publishers while it is over the watermark. It reads once a second while
 * memory is steady or far below the watermark, and faster as growth brings it near
 * (nextSampleDelay), so a publisher flooding a queue is stopped close to the watermark.
 */
export class MemoryMonitor {
  private timer: NodeJS.Timeout | undefined;
  /** when the pending timer fires (this.now()'s clock) */
  private dueAt = 0;
  /** stop() was called (an 'alarm' listener may call it from inside a reading) */
  private stopped = true;
  private lastRss = 0;
  private lastAt = -1;
  /** recent growth of RSS, bytes per ms (the largest seen, halving every GROWTH_HALF_LIFE_MS) */
  private growth = 0;

  constructor(
    private readonly core: Broker,
    private readonly slowestMs = SLOWEST_SAMPLE_MS,
    private readonly read: () => number = () => process.memoryUsage.rss(),
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    this.stopped = false;
    this.core.useMemorySampler(() => this.sample());
    this.arm();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.core.useMemorySampler(undefined);
  }

  /** ms until the next reading (tests) */
  get delay(): number {
    return nextSampleDelay(this.lastRss, this.core.memoryLimit, this.growth, this.slowestMs);
  }

  /** one reading (the timer's, or the broker's when queued bytes grew): growth is measured from the readings */
  private sample(): number {
    const rss = this.read();
    const at = this.now();
    const dt = at - this.lastAt;
    if (this.lastAt < 0) {
      this.lastAt = at;
      this.lastRss = rss;
    } else if (dt >= 1) {
      this.growth = Math.max((rss - this.lastRss) / dt, this.growth * 0.5 ** (dt / GROWTH_HALF_LIFE_MS));
      this.lastAt = at;
      this.lastRss = rss;
    }
    // a reading the broker took (queued bytes grew) that finds the pending timer too far off brings it
    // forward: growth that began just after a one-second timer was armed is not left unread for a second
    if (this.timer !== undefined && at + this.delay + FASTEST_SAMPLE_MS < this.dueAt) this.arm();
    return rss;
  }

  /** (re)arms the timer for the next reading */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const delay = this.delay;
    this.dueAt = this.now() + delay;
    this.timer = setTimeout(this.fire, delay);
    this.timer.unref();
  }

  /**
   * the timer's reading: the next one is armed whatever the reading did (an 'alarm' listener that
   * throws must not end the readings, or an alarm on would never be cleared by them), unless the
   * monitor was stopped meanwhile
   */
  private readonly fire = (): void => {
    this.timer = undefined;
    try {
      this.core.sampleMemory();
    } finally {
      if (!this.stopped) this.arm();
    }
  };
}
