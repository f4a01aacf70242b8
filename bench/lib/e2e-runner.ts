import { randomBytes } from 'node:crypto';
import type { ScenarioResult } from './e2e-results.js';
import { redactUrl, toJson, toTable } from './e2e-report.js';
import type { Metric, RunMeta, ServerInfo, TargetReport } from './e2e-report.js';

/**
 * Probes every URL once (so a typo fails before anything is measured) and
 * labels the targets A, B, C in command-line order. Null (after printing why)
 * when one cannot be reached.
 */
export async function probeTargets(urls: readonly string[], probe: (url: string) => Promise<ServerInfo | null>): Promise<TargetReport[] | null> {
  const targets: TargetReport[] = [];
  for (const [i, url] of urls.entries()) {
    const target: TargetReport = { label: String.fromCharCode(65 + i), url: redactUrl(url), server: null, rounds: {} };
    try {
      target.server = await probe(url);
    } catch (err) {
      process.stderr.write(`cannot connect to ${target.label} ${target.url}: ${(err as Error).message}\n`);
      return null;
    }
    targets.push(target);
  }
  return targets;
}

/**
 * Runs every scenario against every target `rounds` times, reversing the
 * target order every other round so warm caches, GC and thermal drift don't
 * favour one side. Outcomes (results or errors) go into `targets[].rounds`;
 * returns the number of failed runs.
 *
 * `warmup` rounds come first and are not counted: in the first round the client's
 * JIT (and a JIT-compiled broker's) is still compiling the hot paths, on the first
 * target's time only.
 */
export async function runRounds<S extends string>(opts: {
  targets: TargetReport[];
  urls: readonly string[];
  scenarios: readonly S[];
  rounds: number;
  warmup?: number;
  quiet: boolean;
  run(scenario: S, url: string): Promise<ScenarioResult>;
}): Promise<number> {
  const { targets, urls, scenarios, rounds, quiet } = opts;
  let failures = 0;
  for (let round = 0; round < (opts.warmup ?? 0); round++) {
    for (const scenario of scenarios) {
      for (const [i, target] of targets.entries()) {
        if (!quiet) process.stderr.write(`warmup ${round + 1}/${opts.warmup} ${target.label} ${scenario} ... `);
        try {
          const result = await opts.run(scenario, urls[i]!);
          if (!quiet) process.stderr.write(`${result.kind === 'rate' ? `${result.msgsPerSec} msgs/s` : `p50 ${result.p50Us} µs`} (not counted)\n`);
        } catch (err) {
          failures++;
          if (!quiet) process.stderr.write(`error: ${(err as Error).message}\n`);
        }
      }
    }
  }
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => i).reverse();
    for (const scenario of scenarios) {
      for (const i of order) {
        const target = targets[i]!;
        if (!quiet) process.stderr.write(`round ${round + 1}/${rounds} ${target.label} ${scenario} ... `);
        const outcomes = (target.rounds[scenario] ??= []);
        // with --expose-gc every measured run starts from a collected heap: a major GC of the
        // bench process's own garbage then falls in no target's run by chance
        (globalThis as { gc?: () => void }).gc?.();
        try {
          const cpu0 = process.cpuUsage();
          const wall0 = performance.now();
          const result = await opts.run(scenario, urls[i]!);
          outcomes.push(result);
          if (!quiet) {
            // the clients' share of a CPU over the run (connecting included): near 100% the run
            // measures the client library as much as the broker
            const cpu = process.cpuUsage(cpu0);
            const share = Math.round((cpu.user + cpu.system) / 10 / (performance.now() - wall0));
            const clients =
              result.kind === 'rate' && result.publisherCpu !== undefined
                ? `; publisher process ${result.publisherCpu}%, busiest subscriber process ${result.subscriberCpu}%`
                : '';
            process.stderr.write(
              (result.kind === 'rate' ? `${result.msgsPerSec} msgs/s` : `p50 ${result.p50Us} µs, p99 ${result.p99Us} µs`) + ` (bench process CPU ${share}%${clients})\n`,
            );
          }
        } catch (err) {
          failures++;
          outcomes.push({ kind: 'error', error: (err as Error).message });
          if (!quiet) process.stderr.write(`error: ${(err as Error).message}\n`);
        }
      }
    }
  }
  return failures;
}

/** What one end-to-end bench (AMQP, STOMP, MQTT) brings; `runBench` does the rest. */
export interface BenchSpec<S extends string, O extends object> {
  /** first line of the table, e.g. 'AMQP end-to-end bench' */
  title: string;
  usage: string;
  metrics: readonly Metric[];
  /** client library versions for the report */
  clients(): Record<string, string>;
  /** the command line: targets, scenarios, rounds, output and the scenarios' options; throws on bad input */
  parse(argv: string[]): { urls: string[]; scenarios: readonly S[]; rounds: number; warmup?: number; json: boolean; base: O };
  /** connects once to name the server (null when the protocol cannot tell) */
  probe(url: string): Promise<ServerInfo | null>;
  run(scenario: S, options: O & { url: string }): Promise<ScenarioResult>;
  /** the options in words, for the table's second line */
  settings(base: O): string;
}

/**
 * A bench's whole run: parse the command line (exit 2 with the usage on bad input), probe
 * every target (exit 1 when one is unreachable), run the rounds, print the table or JSON;
 * exit 1 when any run failed.
 */
export async function runBench<S extends string, O extends object>(spec: BenchSpec<S, O>): Promise<number> {
  let args;
  try {
    args = spec.parse(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${spec.usage}\n`);
    return 2;
  }
  const { urls, scenarios, rounds, warmup, json, base } = args;
  const targets = await probeTargets(urls, (url) => spec.probe(url));
  if (targets === null) return 1;
  const failures = await runRounds({ targets, urls, scenarios, rounds, warmup, quiet: json, run: (scenario, url) => spec.run(scenario, { ...base, url }) });
  const meta: RunMeta = {
    title: spec.title,
    date: new Date().toISOString(),
    node: process.version,
    clients: spec.clients(),
    rounds,
    options: base,
    settings: `${spec.settings(base)}, rounds ${rounds}${rounds > 1 ? ' (median)' : ''}${warmup ? `, after ${warmup} unmeasured warm-up round${warmup > 1 ? 's' : ''}` : ''}`,
  };
  process.stdout.write(json ? `${JSON.stringify(toJson(meta, targets, spec.metrics), null, 2)}\n` : `\n${toTable(meta, targets, spec.metrics)}\n`);
  return failures === 0 ? 0 : 1;
}

/** Runs a bench's main and turns its result or crash into the exit code. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}

/** `prefix.<pid>.<hex>`: unique to this process and call, so concurrent or aborted runs never collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}.${process.pid}.${randomBytes(4).toString('hex')}`;
}

/** Rejects after `ms` with a message naming what was being waited for; the timer never holds the process open. */
export function deadline(ms: number, what: string): { promise: Promise<never>; cancel(): void } {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    timer.unref();
  });
  promise.catch(() => undefined);
  return { promise, cancel: () => clearTimeout(timer) };
}
