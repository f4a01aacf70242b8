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

/**
 * RabbitMQ's memory monitor: reads the process's resident memory every `intervalMs` and
 * hands it to the broker, whose alarm blocks publishers while it is over the watermark.
 */
export class MemoryMonitor {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly core: Broker,
    private readonly intervalMs = 1000,
  ) {}

  start(): void {
    this.core.useMemorySampler(() => process.memoryUsage.rss());
    this.timer = setInterval(() => this.core.sampleMemory(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.core.useMemorySampler(undefined);
  }
}
