/**
 * End-to-end AMQP 0-9-1 benchmark against any broker URL (LocalMQ, RabbitMQ):
 * throughput, throughput with publisher confirms, round-trip latency and
 * persistent publishes with confirms. With two URLs it runs both in this
 * process, alternating which goes first each round, and prints B/A ratios.
 *
 *   npx tsx bench/amqp-e2e.ts --url amqp://guest:guest@127.0.0.1:5672 [--count 100000] [--size 16] [--json]
 *   npx tsx bench/amqp-e2e.ts --url amqp://…:5672 --url amqp://…:5673
 *
 * See bench/README.md for what each scenario measures.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { openConnection } from './lib/amqp-session.js';
import { runScenario } from './lib/amqp-scenarios.js';
import { parseE2eArgs, USAGE } from './lib/e2e-args.js';
import { redactUrl, toJson, toTable } from './lib/e2e-report.js';
import type { RunMeta, ServerInfo, TargetReport } from './lib/e2e-report.js';

async function serverInfo(url: string): Promise<ServerInfo> {
  const conn = await openConnection(url, 'probe');
  try {
    const p = conn.model.connection.serverProperties;
    return { product: p.product, version: p.version, platform: p.platform };
  } finally {
    await conn.close();
  }
}

function amqplibVersion(): string {
  // amqplib's `exports` hides package.json; its main module sits beside it.
  const main = createRequire(import.meta.url).resolve('amqplib');
  return (JSON.parse(readFileSync(join(dirname(main), 'package.json'), 'utf8')) as { version: string }).version;
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseE2eArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }

  const targets: TargetReport[] = [];
  for (const [i, url] of args.urls.entries()) {
    const target: TargetReport = { label: String.fromCharCode(65 + i), url: redactUrl(url), server: null, rounds: {} };
    try {
      target.server = await serverInfo(url);
    } catch (err) {
      process.stderr.write(`cannot connect to ${target.label} ${target.url}: ${(err as Error).message}\n`);
      return 1;
    }
    targets.push(target);
  }

  let failures = 0;
  for (let round = 0; round < args.rounds; round++) {
    // Alternate who goes first so warm caches, GC and thermal drift don't favour one side.
    const order = round % 2 === 0 ? targets.map((_, i) => i) : targets.map((_, i) => i).reverse();
    for (const scenario of args.scenarios) {
      for (const i of order) {
        const target = targets[i]!;
        const url = args.urls[i]!;
        if (!args.json) process.stderr.write(`round ${round + 1}/${args.rounds} ${target.label} ${scenario} ... `);
        const outcomes = (target.rounds[scenario] ??= []);
        try {
          const result = await runScenario(scenario, { ...args.base, url });
          outcomes.push(result);
          if (!args.json) {
            process.stderr.write(
              result.kind === 'rate'
                ? `${result.msgsPerSec} msgs/s\n`
                : `p50 ${result.p50Us} µs, p99 ${result.p99Us} µs\n`,
            );
          }
        } catch (err) {
          failures++;
          outcomes.push({ kind: 'error', error: (err as Error).message });
          if (!args.json) process.stderr.write(`error: ${(err as Error).message}\n`);
        }
      }
    }
  }

  const meta: RunMeta = {
    date: new Date().toISOString(),
    node: process.version,
    amqplib: amqplibVersion(),
    rounds: args.rounds,
    options: args.base,
  };
  process.stdout.write(args.json ? `${JSON.stringify(toJson(meta, targets), null, 2)}\n` : `\n${toTable(meta, targets)}\n`);
  return failures === 0 ? 0 : 1;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  },
);
