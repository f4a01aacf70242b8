/** Summary of a set of latency samples, all in microseconds. */
export interface LatencySummary {
  samples: number;
  minUs: number;
  p50Us: number;
  p90Us: number;
  p99Us: number;
  maxUs: number;
  meanUs: number;
}

/**
 * Nearest-rank percentile on an ascending-sorted array: the smallest sample
 * such that at least p% of samples are <= it. Nearest-rank (not interpolated)
 * so every reported figure is a latency that was actually observed.
 */
export function percentile(sortedAsc: ArrayLike<number>, p: number): number {
  const n = sortedAsc.length;
  if (n === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * n);
  return sortedAsc[Math.min(n, Math.max(1, rank)) - 1]!;
}

/** Summarises samples given in nanoseconds (as hrtime deltas) into microseconds. */
export function summariseNanos(samplesNs: Float64Array): LatencySummary {
  const sorted = Float64Array.from(samplesNs).sort();
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  const us = (ns: number): number => Math.round(ns / 100) / 10;
  return {
    samples: sorted.length,
    minUs: us(sorted[0] ?? Number.NaN),
    p50Us: us(percentile(sorted, 50)),
    p90Us: us(percentile(sorted, 90)),
    p99Us: us(percentile(sorted, 99)),
    maxUs: us(sorted[sorted.length - 1] ?? Number.NaN),
    meanUs: us(sorted.length ? sum / sorted.length : Number.NaN),
  };
}

/** Median of a small list of numbers (used to combine repeated rounds). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
