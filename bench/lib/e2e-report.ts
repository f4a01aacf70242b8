import type { ScenarioResult } from './e2e-results.js';
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
  rounds: Record<string, ScenarioOutcome[]>;
}

/** One number per row of the comparison table. */
export interface Metric {
  name: string;
  scenario: string;
  unit: string;
  pick(result: ScenarioResult): number | undefined;
}

/** A msgs/s row for a throughput scenario. */
export function rateMetric(name: string, scenario: string = name): Metric {
  return { name, scenario, unit: 'msgs/s', pick: (r) => (r.kind === 'rate' ? r.msgsPerSec : undefined) };
}

export const AMQP_METRICS: readonly Metric[] = [
  rateMetric('throughput'),
  rateMetric('confirms'),
  rateMetric('persistent+confirms', 'persistent'),
  rateMetric('quorum pub→consume+confirms', 'quorum'),
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
  return combined as unknown as ScenarioResult;
}

function fmt(value: number | undefined): string {
  if (value === undefined || Number.isNaN(value)) return '-';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(1);
}

function ratio(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined || b === undefined || a === 0) return undefined;
  return Math.round((b / a) * 1000) / 1000;
}

/** B/A of one metric round by round (rounds where either failed are left out); with `metricB`, B's value of that metric */
function roundRatios(a: TargetReport, b: TargetReport, metric: Metric, metricB: Metric = metric): number[] {
  const ra = a.rounds[metric.scenario] ?? [];
  const rb = b.rounds[metricB.scenario] ?? [];
  const out: number[] = [];
  for (let r = 0; r < Math.min(ra.length, rb.length); r++) {
    const x = ra[r]!;
    const y = rb[r]!;
    if (x.kind === 'error' || y.kind === 'error') continue;
    const va = metric.pick(x);
    const vb = metricB.pick(y);
    if (va !== undefined && vb !== undefined && va > 0) out.push(vb / va);
  }
  return out;
}

/** median, quartiles, min, max and rounds >= 1 of per-round ratios, then the ratios themselves */
function spreadOf(r: readonly number[]): string {
  const sorted = [...r].sort((a, b) => a - b);
  const q = (f: number): string => sorted[Math.round(f * (sorted.length - 1))]!.toFixed(2);
  return (
    `median ${median(r).toFixed(2)} (quartiles ${q(0.25)}-${q(0.75)}, min ${q(0)}, max ${q(1)}; ` +
    `${r.filter((x) => x >= 1).length}/${r.length} rounds >= 1): ${r.map((x) => x.toFixed(2)).join(' ')}`
  );
}

/** Every pair (later target over earlier one): B/A; with three targets B/A, C/A, C/B. */
function pairs(targets: readonly TargetReport[]): [number, number][] {
  const out: [number, number][] = [];
  for (let j = 1; j < targets.length; j++) for (let i = 0; i < j; i++) out.push([i, j]);
  return out.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
}

export interface RunMeta {
  /** First line of the table, e.g. 'AMQP end-to-end bench'. */
  title: string;
  date: string;
  node: string;
  /** Client library versions, e.g. { amqplib: '2.3.1' }; spread into the JSON document's top level. */
  clients: Record<string, string>;
  rounds: number;
  options: object;
  /** Second line of the table: the options in words. */
  settings: string;
}

/**
 * The `--json` document. `ratios` is B/A (above 1 means B is faster for msgs/s
 * rows and slower for latency rows); with three targets `pairRatios` holds
 * every later/earlier pair ('B/A', 'C/A', 'C/B').
 */
export function toJson(meta: RunMeta, targets: readonly TargetReport[], metrics: readonly Metric[]): unknown {
  const doc: Record<string, unknown> = {
    date: meta.date,
    node: meta.node,
    ...meta.clients,
    rounds: meta.rounds,
    options: meta.options,
    targets: targets.map((t) => ({
      label: t.label,
      url: t.url,
      server: t.server,
      results: Object.fromEntries(Object.entries(t.rounds).map(([s, o]) => [s, combineRounds(o)])),
      rounds: t.rounds,
    })),
  };
  const ratiosOf = (i: number, j: number): Record<string, number | null> =>
    Object.fromEntries(metrics.map((m) => [m.name, ratio(metricValue(targets[i]!, m), metricValue(targets[j]!, m)) ?? null]));
  if (targets.length >= 2) doc.ratios = ratiosOf(0, 1);
  if (targets.length >= 3) {
    doc.pairRatios = Object.fromEntries(pairs(targets).map(([i, j]) => [`${targets[j]!.label}/${targets[i]!.label}`, ratiosOf(i, j)]));
  }
  return doc;
}

export function toTable(meta: RunMeta, targets: readonly TargetReport[], metrics: readonly Metric[]): string {
  const lines: string[] = [];
  const clients = Object.entries(meta.clients).map(([k, v]) => `  ${k} ${v}`).join('');
  lines.push(`${meta.title}  ${meta.date}  node ${meta.node}${clients}`, meta.settings);
  for (const t of targets) {
    const s = t.server;
    lines.push(`${t.label}: ${t.url}  ${s ? `${s.product ?? '?'} ${s.version ?? '?'}` : '(server unknown)'}`);
  }
  lines.push('');

  const ratioPairs = pairs(targets);
  const header = ['scenario', 'unit', ...targets.map((t) => t.label), ...ratioPairs.map(([i, j]) => `${targets[j]!.label}/${targets[i]!.label}`)];
  const rows: string[][] = [header];
  for (const m of metrics) {
    if (!targets.some((t) => t.rounds[m.scenario] !== undefined)) continue;
    const values = targets.map((t) => metricValue(t, m));
    const row = [m.name, m.unit, ...values.map((v, i) => (v === undefined && targets[i]!.rounds[m.scenario] ? 'error' : fmt(v)))];
    for (const [i, j] of ratioPairs) {
      const r = ratio(values[i], values[j]);
      row.push(r === undefined ? '-' : r.toFixed(2));
    }
    rows.push(row);
  }
  const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  for (const [i, row] of rows.entries()) {
    lines.push(row.map((cell, c) => (c < 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '));
    if (i === 0) lines.push(widths.map((w) => '-'.repeat(w)).join('  '));
  }

  // each round runs every target back to back, so a ratio within a round is the comparable
  // figure on a loaded machine: its median and spread say how far the medians above can be trusted
  if (ratioPairs.length && meta.rounds > 1) {
    const spread: string[] = [];
    for (const m of metrics) {
      for (const [i, j] of ratioPairs) {
        const r = roundRatios(targets[i]!, targets[j]!, m);
        if (r.length < 2) continue;
        spread.push(`  ${m.name} ${targets[j]!.label}/${targets[i]!.label}: ${spreadOf(r)}`);
      }
    }
    if (spread.length) lines.push('', 'per-round ratios (each round measures the targets back to back):', ...spread);
  }
  // a scenario and its `-v5` twin (MQTT): each target's MQTT 5 / 3.1.1 round by round
  if (meta.rounds > 1) {
    const versions: string[] = [];
    for (const m5 of metrics) {
      const m4 = m5.name.endsWith('-v5') ? metrics.find((m) => m.name === m5.name.slice(0, -3)) : undefined;
      if (!m4) continue;
      for (const t of targets) {
        const r = roundRatios(t, t, m4, m5);
        if (r.length < 2) continue;
        versions.push(`  ${t.label} ${m5.name} / ${m4.name}: ${spreadOf(r)}`);
      }
    }
    if (versions.length) lines.push('', 'per-round ratios of a scenario to its MQTT 5 twin (same target, same round):', ...versions);
  }

  const errors = targets.flatMap((t) =>
    Object.entries(t.rounds).flatMap(([scenario, outcomes]) =>
      outcomes.flatMap((out) => (out.kind === 'error' ? [`${t.label} ${scenario}: ${out.error}`] : [])),
    ),
  );
  if (errors.length) lines.push('', 'errors:', ...errors.map((e) => `  ${e}`));
  if (ratioPairs.length) lines.push('', 'X/Y: above 1 means X is faster on msgs/s rows and slower on latency rows.');
  return lines.join('\n');
}
