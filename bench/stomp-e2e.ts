/**
 * End-to-end STOMP benchmark against any broker's STOMP port (LocalMQ,
 * RabbitMQ's STOMP plugin): send -> subscribe throughput through a queue.
 * With two URLs it runs both in this process, alternating which goes first
 * each round, and prints B/A ratios.
 *
 *   npx tsx bench/stomp-e2e.ts --url stomp://guest:guest@127.0.0.1:61613 [--count 100000] [--size 16] [--json]
 *   npx tsx bench/stomp-e2e.ts --url stomp://…:61613 --url stomp://…:61614 --rounds 3
 *
 * See bench/README.md for what each scenario measures.
 */
import { parseCommonArgs, positiveInt } from './lib/e2e-args.js';
import { rateMetric } from './lib/e2e-report.js';
import type { ServerInfo } from './lib/e2e-report.js';
import { runBench, runMain } from './lib/e2e-runner.js';
import { runStompThroughput, STOMP_SCENARIOS } from './lib/stomp-scenarios.js';
import type { StompScenarioOptions } from './lib/stomp-scenarios.js';
import { StompBenchClient } from './lib/stomp-session.js';

const USAGE = `usage: npx tsx bench/stomp-e2e.ts --url STOMP_URL [--url STOMP_URL_B | --compare STOMP_URL_B]
  [--count 100000] [--size 16] [--prefetch 1000] [--ack-every 100] [--batch 100]
  [--rounds N] [--timeout-ms 300000] [--scenarios auto,client] [--json]

STOMP_URL: stomp://login:passcode@host:port[/vhost] (login and passcode default to guest).
With two URLs every scenario runs against both (order alternating per round) and B/A ratios are printed.`;

const METRICS = [rateMetric('auto'), rateMetric('client')];

async function serverInfo(url: string): Promise<ServerInfo> {
  const client = await StompBenchClient.connect(url, 'probe');
  await client.close();
  // `server` is name/version, e.g. RabbitMQ/3.10.8
  const [product, version] = (client.server ?? '').split('/');
  return { product: product || undefined, version };
}

function parseArgs(argv: string[]) {
  const args = parseCommonArgs(argv, {
    usage: USAGE,
    scenarios: STOMP_SCENARIOS,
    maxUrls: 2,
    options: {
      count: { type: 'string' },
      size: { type: 'string' },
      prefetch: { type: 'string' },
      'ack-every': { type: 'string' },
      batch: { type: 'string' },
      'timeout-ms': { type: 'string' },
    },
  });
  const v = args.values as Record<string, string | undefined>;
  const base: Omit<StompScenarioOptions, 'url'> = {
    count: positiveInt('count', v.count, 100_000),
    size: v.size === '0' ? 0 : positiveInt('size', v.size, 16),
    prefetch: positiveInt('prefetch', v.prefetch, 1000),
    ackEvery: positiveInt('ack-every', v['ack-every'], 100),
    batch: positiveInt('batch', v.batch, 100),
    timeoutMs: positiveInt('timeout-ms', v['timeout-ms'], 300_000),
  };
  if (base.ackEvery > base.prefetch) throw new Error(`--ack-every (${base.ackEvery}) must not exceed --prefetch (${base.prefetch})`);
  return { ...args, base };
}

runMain(() =>
  runBench({
    title: 'STOMP end-to-end bench',
    usage: USAGE,
    metrics: METRICS,
    clients: () => ({ client: 'bench/lib/stomp-session.ts (STOMP 1.2, raw TCP)' }),
    parse: parseArgs,
    probe: serverInfo,
    run: (scenario, options) => runStompThroughput(options, scenario),
    settings: (b) =>
      `count ${b.count} x ${b.size} B to /queue/<unique>, SEND frames written ${b.batch} per socket write; ` +
      `client mode: prefetch-count ${b.prefetch}, ACK every ${b.ackEvery}`,
  }),
);
