import { afterEach, describe, expect, it, vi } from 'vitest';
import { Broker } from '../../src/core/broker.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FASTEST_SAMPLE_MS, MemoryMonitor, nextSampleDelay, SLOWEST_SAMPLE_MS } from '../../src/server/memory-watermark.js';

const MiB = 1024 * 1024;

/**
 * The memory monitor's pace, on a faked clock and a made-up RSS: no real time passes and no
 * real memory is read, so what the alarm does is a function of the readings alone.
 */
describe('the memory monitor reads RSS faster as growth brings it near the watermark', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('nextSampleDelay: once a second far from the watermark or with no growth; a quarter of the time to reach it; 20 ms at the closest', () => {
    const w = 150 * MiB;
    const perMs = (15 * MiB) / 1000;
    expect(nextSampleDelay(60 * MiB, w, 0)).toBe(SLOWEST_SAMPLE_MS);
    expect(nextSampleDelay(60 * MiB, w, perMs)).toBe(SLOWEST_SAMPLE_MS); // 6 s away: 1.5 s, capped
    expect(nextSampleDelay(120 * MiB, w, perMs)).toBe(500); // 2 s away
    expect(nextSampleDelay(149 * MiB, w, perMs)).toBe(FASTEST_SAMPLE_MS);
    // over: the alarm is on, publishers are stopped
    expect(nextSampleDelay(160 * MiB, w, perMs)).toBe(SLOWEST_SAMPLE_MS);
    // within 5 %: at most 100 ms apart, even when the growth seen so far is slow
    expect(nextSampleDelay(145 * MiB, w, 1)).toBe(5 * FASTEST_SAMPLE_MS);
  });

  it('a flood growing 15 MiB/s toward a 150 MiB watermark is stopped within 1 MiB of it (a reading a second let it reach ~165), and the alarm clears as memory falls', () => {
    vi.useFakeTimers();
    const broker = new Broker(new MemoryStore(), { memoryHighWatermark: 150 * MiB });
    let rss = 60 * MiB;
    let growing = true;
    const started = Date.now();
    const at = (): number => (growing ? 60 * MiB + ((Date.now() - started) * 15 * MiB) / 1000 : rss);
    let reads = 0;
    const monitor = new MemoryMonitor(broker, SLOWEST_SAMPLE_MS, () => {
      reads++;
      return (rss = at());
    }, () => Date.now());
    const changes: boolean[] = [];
    broker.on('alarm', (on: boolean) => changes.push(on));
    monitor.start();
    // no growth seen yet: the next reading is a second away
    expect(monitor.delay).toBe(SLOWEST_SAMPLE_MS);
    let alarmedAt: number | undefined;
    for (let ms = 0; ms < 10_000 && alarmedAt === undefined; ms++) {
      vi.advanceTimersByTime(1);
      if (broker.alarms.memory) alarmedAt = at();
    }
    expect(alarmedAt).toBeDefined();
    expect(alarmedAt!).toBeGreaterThan(150 * MiB);
    expect(alarmedAt!).toBeLessThan(151 * MiB);
    // 6 s of growth, read ~20 times: not every 20 ms all along
    expect(reads).toBeLessThan(40);
    expect(changes).toEqual([true]);
    // over the watermark: the slow pace
    growing = false;
    rss = 155 * MiB;
    vi.advanceTimersByTime(SLOWEST_SAMPLE_MS);
    expect(monitor.delay).toBe(SLOWEST_SAMPLE_MS);
    rss = 140 * MiB;
    vi.advanceTimersByTime(SLOWEST_SAMPLE_MS);
    expect(changes).toEqual([true, false]);
    monitor.stop();
  });
});
