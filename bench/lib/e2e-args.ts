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
  [--scenarios throughput,confirms,latency,persistent] [--json]

With two URLs every scenario runs against both (order alternating per round) and B/A ratios are printed.`;

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive integer, got '${raw}'`);
  return n;
}

export function parseE2eArgs(argv: string[]): E2eArgs {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      url: { type: 'string', multiple: true },
      compare: { type: 'string' },
      count: { type: 'string' },
      size: { type: 'string' },
      'persistent-count': { type: 'string' },
      'latency-count': { type: 'string' },
      'latency-warmup': { type: 'string' },
      prefetch: { type: 'string' },
      'ack-every': { type: 'string' },
      'confirm-window': { type: 'string' },
      rounds: { type: 'string' },
      'timeout-ms': { type: 'string' },
      scenarios: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }

  const urls = [...(values.url ?? [])];
  if (values.compare !== undefined) urls.push(values.compare);
  if (urls.length === 0) throw new Error('at least one --url is required');
  if (urls.length > 2) throw new Error('at most two URLs (A and B) can be compared');

  const scenarios = (values.scenarios ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) {
      throw new Error(`unknown scenario '${s}'; known: ${SCENARIOS.join(', ')}`);
    }
  }

  const count = positiveInt('count', values.count, 100_000);
  const prefetch = positiveInt('prefetch', values.prefetch, 1000);
  const ackEvery = positiveInt('ack-every', values['ack-every'], 100);
  // A consumer acking less often than its prefetch allows would stall once prefetch is reached.
  if (ackEvery > prefetch) throw new Error(`--ack-every (${ackEvery}) must not exceed --prefetch (${prefetch})`);
  const size = values.size === '0' ? 0 : positiveInt('size', values.size, 16);
  return {
    urls,
    scenarios: scenarios as ScenarioName[],
    // Two rounds when comparing, so each target runs once first and once second.
    rounds: positiveInt('rounds', values.rounds, urls.length === 2 ? 2 : 1),
    json: values.json ?? false,
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
