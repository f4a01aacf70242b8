import { readdirSync } from 'node:fs';
import os from 'node:os';
import { readDiskSpaceSync } from '../../server/disk-space.js';

/** What the node's process and machine look like now: RabbitMQ's node figures, from Node.js. */
export interface ProcessStats {
  rssBytes: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
  heapLimitBytes: number;
  /** the machine's memory */
  totalMemoryBytes: number;
  diskFreeBytes: number;
  diskTotalBytes: number;
  openFds: number;
  maxFds: number;
  processors: number;
  uptimeMs: number;
  /** share of one core used by this process since the last call, in percent of all cores */
  cpuPercent: number;
  cpuUserSeconds: number;
  cpuSystemSeconds: number;
  startTimeSeconds: number;
}

let lastCpu = process.cpuUsage();
let lastCpuAt = process.hrtime.bigint();
let lastPercent = 0;

export function processStats(diskPath: string | undefined): ProcessStats {
  const mem = process.memoryUsage();
  const cpu = process.cpuUsage();
  const now = process.hrtime.bigint();
  const elapsedUs = Number(now - lastCpuAt) / 1000;
  // a reading over less than 100 ms says little: keep the last one
  if (elapsedUs > 100_000) {
    const usedUs = cpu.user - lastCpu.user + (cpu.system - lastCpu.system);
    lastPercent = Math.min(100, (usedUs / elapsedUs / os.cpus().length) * 100);
    lastCpu = cpu;
    lastCpuAt = now;
  }
  // no statfs here: reported as 0
  const disk = readDiskSpaceSync(diskPath ?? process.cwd()) ?? { free: 0, total: 0 };
  let openFds = 0;
  try {
    openFds = readdirSync('/proc/self/fd').length;
  } catch {
    // not Linux
  }
  const heapLimit = (process as { constrainedMemory?: () => number }).constrainedMemory?.() || os.totalmem();
  return {
    rssBytes: mem.rss,
    heapUsedBytes: mem.heapUsed,
    heapTotalBytes: mem.heapTotal,
    heapLimitBytes: heapLimit,
    totalMemoryBytes: os.totalmem(),
    diskFreeBytes: disk.free,
    diskTotalBytes: disk.total,
    openFds,
    maxFds: 1024 * 1024,
    processors: os.cpus().length,
    uptimeMs: Math.round(process.uptime() * 1000),
    cpuPercent: Math.round(lastPercent * 10) / 10,
    cpuUserSeconds: cpu.user / 1e6,
    cpuSystemSeconds: cpu.system / 1e6,
    startTimeSeconds: Math.floor(Date.now() / 1000 - process.uptime()),
  };
}
