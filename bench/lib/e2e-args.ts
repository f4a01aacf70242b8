import { parseArgs } from 'node:util';
import { SCENARIOS } from './amqp-scenarios.js';
import type { ScenarioName, ScenarioOptions } from './amqp-scenarios.js';

export interface E2eArgs {
  urls: string[];
  scenarios: ScenarioName[];
  rounds: number;
  json: boolean;
  base: Omit<ScenarioOptions, 'url'>;
}

export const USAGE = `usage: npx tsx bench/amqp-e2e.ts --url AMQP_URL [--url AMQP_URL_B | --compare AMQP_URL_B]
  [--count 100000] [--size 16] [--persistent-count N] [--latency-count 10000] [--latency-warmup 200]
  [--prefetch 1000] [--ack-every 100] [--confirm-window 1000] [--rounds N] [--timeout-ms 300000]
  [--scenarios throughput,confirms,latency,persistent,quorum] [--json]

With two URLs every scenario runs against both (order alternating per round) and B/A ratios are printed.`;

/** A positive integer option, or `fallback` when absent. */
export function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

type OptionSpec = { type: 'string' | 'boolean'; multiple?: boolean; short?: string; default?: string | boolean };

/** What every end-to-end bench takes: the URLs, scenarios, rounds and --json; plus its own options, raw. */
export interface CommonArgs<S extends string> {
  urls: string[];
  scenarios: S[];
  rounds: number;
  /** unmeasured rounds before the measured ones (--warmup; default 0) */
  warmup: number;
  json: boolean;
  values: Record<string, string | boolean | string[] | undefined>;
}

/**
 * Parses --url (repeatable), --compare, --rounds, --scenarios, --json and
 * --help plus the bench's own `options`. Prints `usage` and exits on --help.
 */
export function parseCommonArgs<S extends string>(
  argv: string[],
  spec: { usage: string; scenarios: readonly S[]; defaultScenarios?: readonly S[]; maxUrls: number; options: Record<string, OptionSpec> },
): CommonArgs<S> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      ...spec.options,
      url: { type: 'string', multiple: true },
      compare: { type: 'string' },
      rounds: { type: 'string' },
      warmup: { type: 'string' },
      scenarios: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${spec.usage}\n`);
    process.exit(0);
  }

  const urls = [...((values.url as string[] | undefined) ?? [])];
  if (values.compare !== undefined) urls.push(values.compare as string);
  if (urls.length === 0) throw new Error('at least one --url is required');
  if (urls.length > spec.maxUrls) throw new Error(`at most ${spec.maxUrls} URLs can be compared`);

  const raw = values.scenarios as string | undefined;
  const scenarios = raw === undefined ? [...(spec.defaultScenarios ?? spec.scenarios)] : raw.split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!(spec.scenarios as readonly string[]).includes(s)) {
      throw new Error(`unknown scenario '${s}'; known: ${spec.scenarios.join(', ')}`);
    }
  }
  return {
    urls,
    scenarios: scenarios as S[],
    // Two rounds when comparing, so each target runs once first and once second.
    rounds: positiveInt('rounds', values.rounds as string | undefined, urls.length >= 2 ? 2 : 1),
    warmup: values.warmup === '0' ? 0 : positiveInt('warmup', values.warmup as string | undefined, 0),
    json: (values.json as boolean | undefined) ?? false,
    values,
  };
}

export function parseE2eArgs(argv: string[]): E2eArgs {
  const { urls, scenarios, rounds, json, values: v } = parseCommonArgs(argv, {
    usage: USAGE,
    scenarios: SCENARIOS,
    // the quorum scenario needs a broker with quorum queues (RabbitMQ 3.8+): asked for by name
    defaultScenarios: SCENARIOS.filter((s) => s !== 'quorum'),
    maxUrls: 2,
    options: {
      count: { type: 'string' },
      size: { type: 'string' },
      'persistent-count': { type: 'string' },
      'latency-count': { type: 'string' },
      'latency-warmup': { type: 'string' },
      prefetch: { type: 'string' },
      'ack-every': { type: 'string' },
      'confirm-window': { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  const values = v as Record<string, string | undefined>;
  const count = positiveInt('count', values.count, 100_000);
  const prefetch = positiveInt('prefetch', values.prefetch, 1000);
  const ackEvery = positiveInt('ack-every', values['ack-every'], 100);
  // A consumer acking less often than its prefetch allows would stall once prefetch is reached.
  if (ackEvery > prefetch) throw new Error(`--ack-every (${ackEvery}) must not exceed --prefetch (${prefetch})`);
  const size = values.size === '0' ? 0 : positiveInt('size', values.size, 16);
  return {
    urls,
    scenarios,
    rounds,
    json,
    base: {
      count,
      size,
      persistentCount: positiveInt('persistent-count', values['persistent-count'], count),
      latencyCount: positiveInt('latency-count', values['latency-count'], 10_000),
      latencyWarmup: values['latency-warmup'] === '0' ? 0 : positiveInt('latency-warmup', values['latency-warmup'], 200),
      prefetch,
      ackEvery,
      confirmWindow: positiveInt('confirm-window', values['confirm-window'], 1000),
      timeoutMs: positiveInt('timeout-ms', values['timeout-ms'], 300_000),
    },
  };
}
