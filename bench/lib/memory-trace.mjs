/**
 * Preloaded into a broker (`node --import ./bench/lib/memory-trace.mjs dist/cli/main.js ...` with
 * LOCALMQ_MEMORY_TRACE=<file>) by bench/memory-goals.ts --flood-trace: what the broker's RSS is made
 * of while a flood runs. Every 10 ms one line `m <ms> <rss> <heapTotal> <heapUsed> <external>
 * <arrayBuffers> <new space committed> <old space committed> <large object space committed>`
 * (bytes; epoch ms, as the bench's own readings), and after every GC one line `g <ms> <kind> <duration ms>`
 * (perf_hooks kind: 1 scavenge, 2 minor mark-compact, 4 mark-compact, 8 incremental marking, 16 weak
 * callbacks). Lines go out with a synchronous write per 100 ms batch, so a SIGKILL loses at most the
 * last 100 ms.
 *
 * Plain JavaScript (not TypeScript): node loads it before anything else, without tsx.
 */
import { openSync, writeSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const file = process.env.LOCALMQ_MEMORY_TRACE;
if (file) {
  const fd = openSync(file, 'w');
  let lines = [];
  const committed = (spaces, name) => spaces.find((s) => s.space_name === name)?.space_size ?? 0;
  const sample = () => {
    const m = process.memoryUsage();
    const spaces = getHeapSpaceStatistics();
    lines.push(`m ${Date.now()} ${m.rss} ${m.heapTotal} ${m.heapUsed} ${m.external} ${m.arrayBuffers} ${committed(spaces, 'new_space')} ${committed(spaces, 'old_space')} ${committed(spaces, 'large_object_space')}`);
    if (lines.length >= 10) flush();
  };
  const flush = () => {
    if (lines.length === 0) return;
    writeSync(fd, lines.join('\n') + '\n');
    lines = [];
  };
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) lines.push(`g ${Math.round(performance.timeOrigin + e.startTime + e.duration)} ${e.detail?.kind ?? 0} ${e.duration.toFixed(1)}`);
  }).observe({ entryTypes: ['gc'] });
  setInterval(sample, 10).unref();
  process.on('exit', flush);
}
