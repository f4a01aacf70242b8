import v8 from 'node:v8';

/**
 * The process's garbage collections and context switches: RabbitMQ's node gc_num,
 * gc_bytes_reclaimed and context_switches, read from Node.js (V8's collections instead of
 * Erlang's). Collections are recorded by V8's GCProfiler in rolling windows: each reading
 * closes the current window, adds it up and opens the next, so the totals cover the whole
 * time since the first reading.
 */
class GcTotals {
  count = 0;
  reclaimedBytes = 0;
  private profiler: v8.GCProfiler | undefined;

  read(): { count: number; reclaimedBytes: number } {
    if (typeof v8.GCProfiler !== 'function') return { count: 0, reclaimedBytes: 0 };
    const result = this.profiler?.stop();
    for (const s of result?.statistics ?? []) {
      this.count++;
      const freed = s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
      if (freed > 0) this.reclaimedBytes += freed;
    }
    this.profiler = new v8.GCProfiler();
    this.profiler.start();
    return { count: this.count, reclaimedBytes: this.reclaimedBytes };
  }
}

const gc = new GcTotals();

export interface RuntimeStats {
  gcCount: number;
  gcReclaimedBytes: number;
  contextSwitches: number;
}

export function runtimeStats(): RuntimeStats {
  const g = gc.read();
  const r = process.resourceUsage();
  return { gcCount: g.count, gcReclaimedBytes: g.reclaimedBytes, contextSwitches: r.voluntaryContextSwitches + r.involuntaryContextSwitches };
}
