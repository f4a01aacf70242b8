import { totalmem } from 'node:os';
import type { Broker } from '../core/broker.js';

/**
 * RabbitMQ's `vm_memory_high_watermark`: a fraction of the machine's RAM (`relative`,
 * default 0.4) or a size (`absolute`: bytes, or a string with RabbitMQ's units).
 * A bare number up to 1 is relative, above 1 absolute bytes; a string may carry a unit
 * ("512MiB", "1GB") or be a fraction ("0.4").
 */
export type MemoryWatermarkSetting = number | string | { relative: number } | { absolute: number | string };

/** how the memory the watermark is compared with is counted (RabbitMQ's vm_memory_calculation_strategy) */
export type MemoryCalculation = 'rss' | 'queued';

export const DEFAULT_RELATIVE_WATERMARK = 0.4;

// RabbitMQ's information units: k/kiB/K/KiB = 1024, kB/KB = 1000 (and so on for M and G)
const UNITS: Record<string, number> = {
  '': 1,
  k: 1024, kib: 1024, kb: 1000,
  m: 1024 ** 2, mib: 1024 ** 2, mb: 1000 ** 2,
  g: 1024 ** 3, gib: 1024 ** 3, gb: 1000 ** 3,
  t: 1024 ** 4, tib: 1024 ** 4, tb: 1000 ** 4,
};

/** bytes from "512MiB", "1GB", "1073741824"; undefined when it is not a size */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return undefined;
  const unit = UNITS[m[2]!.toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.floor(Number(m[1]) * unit);
}

/** the watermark in bytes; throws with what is allowed when the setting makes no sense */
export function watermarkBytes(setting: MemoryWatermarkSetting | undefined, ram = totalmem()): number {
  const bad = () =>
    new Error(`memory high watermark ${JSON.stringify(setting)}: use a fraction of RAM (0.4), a size ("512MiB", "1GB", bytes) or {relative} / {absolute}`);
  if (setting === undefined) return Math.floor(ram * DEFAULT_RELATIVE_WATERMARK);
  if (typeof setting === 'object' && setting !== null) {
    if ('relative' in setting) {
      if (typeof setting.relative !== 'number' || !(setting.relative > 0)) throw bad();
      return Math.floor(ram * setting.relative);
    }
    if ('absolute' in setting) {
      const n = typeof setting.absolute === 'number' ? setting.absolute : parseSize(setting.absolute);
      if (n === undefined || !(n > 0)) throw bad();
      return Math.floor(n);
    }
    throw bad();
  }
  if (typeof setting === 'number') {
    if (!(setting > 0) || !Number.isFinite(setting) || (setting > 1 && !Number.isInteger(setting))) throw bad();
    return setting <= 1 ? Math.floor(ram * setting) : Math.floor(setting);
  }
  if (typeof setting === 'string') {
    if (/^\s*\d*\.\d+\s*$/.test(setting) || /^\s*[01]\s*$/.test(setting)) return watermarkBytes(Number(setting), ram);
    const n = parseSize(setting);
    if (n === undefined || n <= 0) throw bad();
    return n;
  }
  throw bad();
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
