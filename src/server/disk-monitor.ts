import { totalmem } from 'node:os';
import type { Broker } from '../core/broker.js';
import { readDiskSpace } from './disk-space.js';
import type { Logger } from './logger.js';
import { limitBytes, type LimitRules, type LimitSetting } from './resource-limit.js';

/**
 * RabbitMQ's `disk_free_limit`: the free space the data dir's filesystem must keep. A size
 * (`absolute`: bytes, or a string with RabbitMQ's units, "50MB" — the default — or "1GB"),
 * or a multiple of the machine's RAM (`relative`: `disk_free_limit.relative = 1.0`;
 * "mem_relative:1.0" as a string, rabbitmqctl set_disk_free_limit's `mem_relative 1.0`).
 */
export type DiskFreeLimitSetting = LimitSetting;

/** RabbitMQ's default: 50 MB */
export const DEFAULT_DISK_FREE_LIMIT = 50_000_000;

const DISK_FREE_LIMIT: LimitRules = {
  name: 'disk free limit',
  allowed: 'a size ("50MB", "1GB", bytes), "mem_relative:1.0" (a multiple of RAM) or {relative} / {absolute}',
  byDefault: () => DEFAULT_DISK_FREE_LIMIT,
  relativeText: /^\s*(?:mem_)?relative\s*[:= ]\s*(\d+(?:\.\d+)?)\s*$/i,
  // a limit of 0 never sets the alarm
  zero: true,
  // rabbit_disk_monitor's interpret_limit: round(Relative * total memory)
  roundRelative: Math.round,
};

/** the limit in bytes; throws with what is allowed when the setting makes no sense */
export function diskFreeLimitBytes(setting: DiskFreeLimitSetting | undefined, ram = totalmem()): number {
  return limitBytes(setting, DISK_FREE_LIMIT, ram);
}

/** RabbitMQ's rabbit_disk_monitor timing: 10 s apart normally, down to 100 ms close to the limit */
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 10_000;
/** bytes per ms the disk is assumed to fill at, at most (rabbit_disk_monitor's FAST_RATE) */
const FAST_RATE = 250_000;

/** how free space is read: fs.statfs, or a test's */
export type FreeSpaceReader = (dir: string, cb: (err: Error | null, freeBytes: number) => void) => void;

const readFree: FreeSpaceReader = (dir, cb) => readDiskSpace(dir, (err, space) => cb(err, space?.free ?? 0));

/**
 * RabbitMQ's free disk space monitor (rabbit_disk_monitor): reads the free space of the
 * filesystem holding the data dir (what a user may still write there: df's "Available"), and
 * while it is under the limit the broker's disk alarm is on: publishers of every protocol are
 * blocked through the core's alarm (AMQP connection.blocked "low on disk"), and the transient
 * store stops paging out (`onChange`), as RabbitMQ stops paging transient messages to disk. Checked every 10 s, more often as free space nears the limit (twice
 * the time the disk would take to fill at 250 MB/s, at least 100 ms), at once when the limit
 * changes. A filesystem that cannot be read leaves the alarm as it is and is tried again.
 * Without a data dir (a broker in memory) it only keeps the limit: nothing is monitored.
 */
export class DiskMonitor {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private stopped = true;
  /** the last reading, bytes; NaN before the first (RabbitMQ shows 'NaN' too) */
  free = Number.NaN;
  limit: number;
  private warnedUnreadable = false;

  constructor(
    private readonly core: Broker,
    /** the data dir; none: nothing to monitor */
    private readonly dir: string | undefined,
    setting: DiskFreeLimitSetting | undefined,
    private readonly logger: Logger,
    private readonly read: FreeSpaceReader = readFree,
    /** the alarm went on or off (the transient store holds its paging meanwhile) */
    private readonly onChange: (low: boolean) => void = () => undefined,
  ) {
    this.limit = diskFreeLimitBytes(setting);
  }

  /** the first reading is taken before this resolves: a broker starts with its alarm right */
  start(): Promise<void> {
    if (this.dir === undefined) return Promise.resolve();
    this.stopped = false;
    this.logger.info(`Enabling free disk space monitoring of ${this.dir}; disk free limit set to ${Math.trunc(this.limit / 1_000_000)}MB`);
    return this.check();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** rabbitmqctl set_disk_free_limit: a new limit, checked at once */
  setLimit(setting: DiskFreeLimitSetting): Promise<void> {
    this.limit = diskFreeLimitBytes(setting);
    if (this.dir === undefined) return Promise.resolve();
    this.logger.info(`Disk free limit set to ${Math.trunc(this.limit / 1_000_000)}MB`);
    return this.check();
  }

  /** read the free space now, set or clear the alarm, schedule the next reading */
  check(): Promise<void> {
    const dir = this.dir;
    if (this.stopped || dir === undefined) return Promise.resolve();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    return new Promise((resolve) => {
      this.checking = true;
      this.read(dir, (err, free) => {
        this.checking = false;
        if (this.stopped) return resolve();
        if (err) {
          if (!this.warnedUnreadable) this.logger.warn(`free disk space of ${this.dir} cannot be read: ${err.message}`);
          this.warnedUnreadable = true;
        } else {
          this.warnedUnreadable = false;
          this.free = free;
          this.apply(free < this.limit);
        }
        this.schedule();
        resolve();
      });
    });
  }

  /** a check is running (tests) */
  get busy(): boolean {
    return this.checking;
  }

  private apply(low: boolean): void {
    const alarms = this.core.alarms;
    if (low === alarms.isOn('disk-free')) return;
    if (low) this.logger.warn(`Free disk space is insufficient. Free bytes: ${this.free}. Limit: ${this.limit}. Disk alarm set: publishers are blocked`);
    else this.logger.info(`Free disk space is sufficient. Free bytes: ${this.free}. Limit: ${this.limit}. Disk alarm cleared`);
    alarms.setDisk(low, 'disk-free');
    this.onChange(low);
  }

  private schedule(): void {
    // a check asked for while another was reading: one timer
    if (this.timer) clearTimeout(this.timer);
    const low = this.core.alarms.isOn('disk-free');
    const ideal = Number.isNaN(this.free) || low ? MAX_INTERVAL_MS : (2 * (this.free - this.limit)) / FAST_RATE;
    const ms = Math.trunc(Math.max(MIN_INTERVAL_MS, Math.min(MAX_INTERVAL_MS, ideal)));
    this.timer = setTimeout(() => void this.check(), ms);
    this.timer.unref();
  }
}
