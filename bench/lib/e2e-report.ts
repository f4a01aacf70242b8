import type { LatencyResult, RateResult, ScenarioName, ScenarioOptions, ScenarioResult } from './amqp-scenarios.js';
import { median } from './latency-stats.js';

export interface ScenarioError {
  kind: 'error';
  error: string;
}
export type ScenarioOutcome = ScenarioResult | ScenarioError;

export interface ServerInfo {
  product?: string;
  version?: string;
  platform?: string;
}

/** Everything measured against one broker URL. */
export interface TargetReport {
  label: string;
  /** The URL with its password replaced by `***`. */
  url: string;
  server: ServerInfo | null;
  /** Each scenario's outcome in every round, in run order. */
  rounds: Partial<Record<ScenarioName, ScenarioOutcome[]>>;
}

/** One number per row of the comparison table. */
interface Metric {
  name: string;
  scenario: ScenarioName;
  unit: string;
  pick(result: ScenarioResult): number | undefined;
}

const METRICS: readonly Metric[] = [
  { name: 'throughput', scenario: 'throughput', unit: 'msgs/s', pick: (r) => (r.kind === 'rate' ? r.msgsPerSec : undefined) },
  { name: 'confirms', scenario: 'confirms', unit: 'msgs/s', pick: (r) => (r.kind === 'rate' ? r.msgsPerSec : undefined) },
  { name: 'persistent+confirms', scenario: 'persistent', unit: 'msgs/s', pick: (r) => (r.kind === 'rate' ? r.msgsPerSec : undefined) },
  { name: 'latency p50', scenario: 'latency', unit: 'µs', pick: (r) => (r.kind === 'latency' ? r.p50Us : undefined) },
  { name: 'latency p99', scenario: 'latency', unit: 'µs', pick: (r) => (r.kind === 'latency' ? r.p99Us : undefined) },
  { name: 'latency max', scenario: 'latency', unit: 'µs', pick: (r) => (r.kind === 'latency' ? r.maxUs : undefined) },
];

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

function successes(outcomes: readonly ScenarioOutcome[] | undefined): ScenarioResult[] {
  return (outcomes ?? []).filter((o): o is ScenarioResult => o.kind !== 'error');
}

/** Median over rounds of one metric; undefined when no round succeeded. */
function metricValue(target: TargetReport, metric: Metric): number | undefined {
  const values = successes(target.rounds[metric.scenario])
    .map((r) => metric.pick(r))
    .filter((v): v is number => v !== undefined);
  return values.length ? median(values) : undefined;
}

/** Per-scenario summary across rounds: the median of every numeric field. */
export function combineRounds(outcomes: readonly ScenarioOutcome[] | undefined): ScenarioOutcome | undefined {
  const ok = successes(outcomes);
  if (ok.length === 0) return outcomes?.find((o) => o.kind === 'error');
  const first = ok[0]!;
  const combined: Record<string, unknown> = { kind: first.kind };
  for (const key of Object.keys(first) as (keyof ScenarioResult)[]) {
    if (key === 'kind') continue;
    const m = median(ok.map((r) => (r as unknown as Record<string, number>)[key]!));
    combined[key] = Math.round(m * 10) / 10;
  }
  return combined as unknown as RateResult | LatencyResult;
}

function fmt(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || a === 0) return undefined;
  return Math.round((b / a) * 1000) / 1000;
}

export interface RunMeta {
  date: string;
  node: string;
  amqplib: string;
  rounds: number;
  options: Omit<ScenarioOptions, 'url'>;
}

/** The `--json` document. Ratios are B/A: above 1 means B is faster for msgs/s rows and slower for latency rows. */
export function toJson(meta: RunMeta, targets: readonly TargetReport[]): unknown {
  const doc: Record<string, unknown> = {
    ...meta,
    targets: targets.map((t) => ({
      label: t.label,
      url: t.url,
      server: t.server,
      results: Object.fromEntries(Object.entries(t.rounds).map(([s, o]) => [s, combineRounds(o)])),
      rounds: t.rounds,
    })),
  };
  if (targets.length === 2) {
    doc.ratios = Object.fromEntries(
      METRICS.map((m) => [m.name, ratio(metricValue(targets[0]!, m), metricValue(targets[1]!, m)) ?? null]),
    );
  }
  return doc;
}

export function toTable(meta: RunMeta, targets: readonly TargetReport[]): string {
  const o = meta.options;
  const lines: string[] = [];
  lines.push(
    `AMQP end-to-end bench  ${meta.date}  node ${meta.node}  amqplib ${meta.amqplib}`,
    `count ${o.count} x ${o.size} B, persistent ${o.persistentCount}, latency ${o.latencyCount} round trips ` +
      `(+${o.latencyWarmup} warm-up), prefetch ${o.prefetch}, ack multiple every ${o.ackEvery}, ` +
      `confirm window ${o.confirmWindow}, rounds ${meta.rounds}${meta.rounds > 1 ? ' (median)' : ''}`,
  );
  for (const t of targets) {
    const s = t.server;
    lines.push(`${t.label}: ${t.url}  ${s ? `${s.product ?? '?'} ${s.version ?? '?'}` : '(server unknown)'}`);
  }
  lines.push('');

  const header = ['scenario', 'unit', ...targets.map((t) => t.label)];
  if (targets.length === 2) header.push('B/A');
  const rows: string[][] = [header];
  for (const m of METRICS) {
    if (!targets.some((t) => t.rounds[m.scenario] !== undefined)) continue;
    const values = targets.map((t) => metricValue(t, m));
    const row = [m.name, m.unit, ...values.map((v, i) => (v === undefined && targets[i]!.rounds[m.scenario] ? 'error' : fmt(v)))];
    if (targets.length === 2) {
      const r = ratio(values[0], values[1]);
      row.push(r === undefined ? '-' : r.toFixed(2));
    }
    rows.push(row);
  }
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, row] of rows.entries()) {
    lines.push(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  }

  const errors = targets.flatMap((t) =>
    Object.entries(t.rounds).flatMap(([scenario, outcomes]) =>
      (outcomes ?? []).flatMap((out) => (out.kind === 'error' ? [`${t.label} ${scenario}: ${out.error}`] : [])),
    ),
  );
  if (errors.length) lines.push('', 'errors:', ...errors.map((e) => `  ${e}`));
  if (targets.length === 2) lines.push('', 'B/A: above 1 means B is faster on msgs/s rows and slower on latency rows.');
  return lines.join('\n');
}
