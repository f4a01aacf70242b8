import { afterEach, describe, expect, it, vi } from 'vitest';
import { Broker } from '../../src/core/broker.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { FASTEST_SAMPLE_MS, MemoryMonitor, nextSampleDelay, SLOWEST_SAMPLE_MS } from '../../src/server/memory-watermark.js';

const MiB = 1024 * 1024;

/** a broker with a 150 MiB watermark and its monitor on a faked clock, reading `m.rss` (counted in `m.reads`) */
function monitored(): { broker: Broker; monitor: MemoryMonitor; m: { rss: number; reads: number } } {
  vi.useFakeTimers();
  const broker = new Broker(new MemoryStore(), { memoryHighWatermark: 150 * MiB });
  const m = { rss: 60 * MiB, reads: 0 };
  const monitor = new MemoryMonitor(broker, SLOWEST_SAMPLE_MS, () => {
    m.reads++;
    return m.rss;
  }, () => Date.now());
  return { broker, monitor, m };
}

/**
 * The memory monitor's pace, on a faked clock and a made-up RSS: no real time passes and no
 * real memory is read, so what the alarm does is a function of the readings alone.
 */
describe('the memory monitor reads RSS faster as growth brings it near the watermark', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('nextSampleDelay: once a second far from the watermark; a quarter of the time to reach it at the recent growth, or at a tenth of the watermark a second; 20 ms at the closest', () => {
    const w = 150 * MiB;
    const perMs = (15 * MiB) / 1000;
    expect(nextSampleDelay(60 * MiB, w, 0)).toBe(SLOWEST_SAMPLE_MS);
    expect(nextSampleDelay(60 * MiB, w, perMs)).toBe(SLOWEST_SAMPLE_MS); // 6 s away: 1.5 s, capped
    expect(nextSampleDelay(120 * MiB, w, perMs)).toBe(500); // 2 s away
    expect(nextSampleDelay(120 * MiB, w, 2 * perMs)).toBe(250);
    expect(nextSampleDelay(149 * MiB, w, perMs)).toBe(FASTEST_SAMPLE_MS);
    // over: the alarm is on, publishers are stopped
    expect(nextSampleDelay(160 * MiB, w, perMs)).toBe(SLOWEST_SAMPLE_MS);
    // no growth seen (a collection freed heap that is being refilled): near the watermark it is read as often as if it grew 15 MiB/s
    expect(nextSampleDelay(140 * MiB, w, 0)).toBeCloseTo(1000 / 6, 5);
    expect(nextSampleDelay(149 * MiB, w, 0)).toBe(FASTEST_SAMPLE_MS);
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

  it('RSS standing still for seconds near the watermark, then climbing 30 MiB/s: still stopped within 1 MiB of it (the growth seen had decayed to nothing)', () => {
    vi.useFakeTimers();
    const broker = new Broker(new MemoryStore(), { memoryHighWatermark: 150 * MiB });
    const started = Date.now();
    // 15 MiB/s to 130 MiB (4.67 s), still for 3 s, then 30 MiB/s
    const at = (): number => {
      const s = (Date.now() - started) / 1000;
      const flat = 70 / 15;
      if (s < flat) return 60 * MiB + s * 15 * MiB;
      if (s < flat + 3) return 130 * MiB;
      return 130 * MiB + (s - flat - 3) * 30 * MiB;
    };
    const monitor = new MemoryMonitor(broker, SLOWEST_SAMPLE_MS, at, () => Date.now());
    monitor.start();
    let alarmedAt: number | undefined;
    for (let ms = 0; ms < 20_000 && alarmedAt === undefined; ms++) {
      vi.advanceTimersByTime(1);
      if (broker.alarms.memory) alarmedAt = at();
    }
    expect(alarmedAt).toBeDefined();
    expect(alarmedAt!).toBeGreaterThan(150 * MiB);
    expect(alarmedAt!).toBeLessThan(151 * MiB);
    monitor.stop();
  });

  // review-s10-1 #5: the readings were a chain of timeouts armed after each reading returned
  it("an 'alarm' listener that throws does not end the readings: the alarm still clears as memory falls", () => {
    const { broker, monitor, m } = monitored();
    const changes: boolean[] = [];
    broker.on('alarm', (on: boolean) => {
      changes.push(on);
      throw new Error('a listener that throws');
    });
    monitor.start();
    m.rss = 160 * MiB;
    expect(() => vi.advanceTimersByTime(SLOWEST_SAMPLE_MS)).toThrow('a listener that throws');
    expect(broker.alarms.memory).toBe(true);
    m.rss = 140 * MiB;
    expect(() => vi.advanceTimersByTime(SLOWEST_SAMPLE_MS)).toThrow('a listener that throws');
    expect(changes).toEqual([true, false]);
    // the readings go on (at least one a second)
    const before = m.reads;
    vi.advanceTimersByTime(3 * SLOWEST_SAMPLE_MS);
    expect(m.reads).toBeGreaterThanOrEqual(before + 3);
    monitor.stop();
  });

  it("stop() from inside a reading (an 'alarm' listener stopping the broker) stops the readings", () => {
    const { broker, monitor, m } = monitored();
    broker.on('alarm', () => monitor.stop());
    monitor.start();
    m.rss = 160 * MiB;
    vi.advanceTimersByTime(SLOWEST_SAMPLE_MS);
    const after = m.reads;
    // no timer left armed (one that fired would find no sampler: the reads alone cannot show it)
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10 * SLOWEST_SAMPLE_MS);
    expect(m.reads).toBe(after);
  });

  // review-s10-1 #6: a reading the broker takes itself (queued bytes grew) only updated the growth
  it('a reading the broker takes as queued bytes grow brings a timer armed for a second forward', () => {
    vi.useFakeTimers();
    const broker = new Broker(new MemoryStore(), { memoryHighWatermark: 150 * MiB });
    let rss = 60 * MiB;
    const readAt: number[] = [];
    const started = Date.now();
    const monitor = new MemoryMonitor(broker, SLOWEST_SAMPLE_MS, () => {
      readAt.push(Date.now() - started);
      return rss;
    }, () => Date.now());
    monitor.start();
    // steady: the timer is armed for a second; 10 ms later a flood starts, seen by the broker's own readings
    expect(monitor.delay).toBe(SLOWEST_SAMPLE_MS);
    vi.advanceTimersByTime(10);
    rss = 100 * MiB;
    broker.sampleMemory();
    vi.advanceTimersByTime(10);
    rss = 140 * MiB;
    broker.sampleMemory();
    const broker_readings = readAt.length;
    // 10 MiB left at 4 MiB/ms: the timer's next reading comes after FASTEST_SAMPLE_MS, not at 1000 ms
    vi.advanceTimersByTime(FASTEST_SAMPLE_MS);
    expect(readAt.length).toBe(broker_readings + 1);
    expect(readAt[readAt.length - 1]).toBeLessThanOrEqual(20 + FASTEST_SAMPLE_MS);
    monitor.stop();
  });
});
