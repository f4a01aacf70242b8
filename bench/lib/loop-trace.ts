/**
 * A process's own pauses, for the traces that place a gap between confirms (issue 18 part 3):
 * every GC pause (perf_hooks) and every event-loop stall over 10 ms (a 5 ms timer that came
 * late), as [epoch ms, what, ms, detail] events. Used by bench/lib/traced-broker.ts (the
 * broker's) and bench/confirm-latency.ts --trace-out (the client's): a gap either side caused
 * is then told apart.
 */
import { PerformanceObserver } from 'node:perf_hooks';

export type TraceEvent = [at: number, what: string, ms: number, detail?: number | string];

export const epoch = (): number => performance.timeOrigin + performance.now();

/** records into `events`, named `${prefix}gc` and `${prefix}stall`, for the rest of the process */
export function traceLoop(events: TraceEvent[], prefix = ''): void {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      // detail.kind: 1 scavenge, 2 minor mark-compact, 4 mark-sweep-compact, 8 incremental, 16 weak callbacks
      const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
      events.push([performance.timeOrigin + e.startTime, `${prefix}gc`, e.duration, kind]);
    }
  }).observe({ entryTypes: ['gc'] });
  let expected = epoch() + 5;
  setInterval(() => {
    const now = epoch();
    if (now - expected > 10) events.push([expected, `${prefix}stall`, now - expected]);
    expected = now + 5;
  }, 5).unref();
}
