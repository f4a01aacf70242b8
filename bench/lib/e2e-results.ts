import type { LatencySummary } from './latency-stats.js';

/** What a throughput scenario of any protocol bench reports. */
export interface RateResult {
  kind: 'rate';
  messages: number;
  /** From just before the first publish to the last delivery (and, with confirms, the last confirm). */
  elapsedMs: number;
  msgsPerSec: number;
  /** When the publisher had handed the last message to the socket. */
  publishedMs: number;
  /** With clients in processes of their own (MQTT --split): each side's % of one core over the run. */
  publisherCpu?: number;
  subscriberCpu?: number;
}

export interface LatencyResult extends LatencySummary {
  kind: 'latency';
}

export type ScenarioResult = RateResult | LatencyResult;

export function nowNs(): bigint {
  return process.hrtime.bigint();
}

function msSince(startNs: bigint, endNs: bigint): number {
  return Number(endNs - startNs) / 1e6;
}

export function rate(messages: number, startNs: bigint, endNs: bigint, publishedNs: bigint): RateResult {
  const elapsedMs = msSince(startNs, endNs);
  return {
    kind: 'rate',
    messages,
    elapsedMs: Math.round(elapsedMs * 10) / 10,
    msgsPerSec: Math.round((messages * 1000) / elapsedMs),
    publishedMs: Math.round(msSince(startNs, publishedNs) * 10) / 10,
  };
}
