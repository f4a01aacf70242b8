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
import { AMQP_METRICS } from './lib/e2e-report.js';
import type { ServerInfo } from './lib/e2e-report.js';
import { runBench, runMain } from './lib/e2e-runner.js';

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

runMain(() =>
  runBench({
    title: 'AMQP end-to-end bench',
    usage: USAGE,
    metrics: AMQP_METRICS,
    clients: () => ({ amqplib: amqplibVersion() }),
    parse: parseE2eArgs,
    probe: serverInfo,
    run: (scenario, options) => runScenario(scenario, options),
    settings: (o) =>
      `count ${o.count} x ${o.size} B, persistent ${o.persistentCount}, latency ${o.latencyCount} round trips ` +
      `(+${o.latencyWarmup} warm-up), prefetch ${o.prefetch}, ack multiple every ${o.ackEvery}, confirm window ${o.confirmWindow}`,
  }),
);
