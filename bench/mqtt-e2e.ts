/**
 * End-to-end MQTT 3.1.1 benchmark against any broker's MQTT port (LocalMQ,
 * Mosquitto, RabbitMQ's MQTT plugin) through mqtt.js: QoS 0 and QoS 1
 * publish -> subscribe throughput. With several URLs (up to three) it runs
 * them all in this process, reversing the order every other round, and prints
 * the ratio of every later target to every earlier one.
 *
 *   npx tsx bench/mqtt-e2e.ts --url mqtt://127.0.0.1:1883 [--count 100000] [--size 16] [--json]
 *   npx tsx bench/mqtt-e2e.ts --url mqtt://guest:guest@127.0.0.1:1883 --url mqtt://127.0.0.1:1884 --url mqtt://127.0.0.1:1885 --rounds 3
 *   npx tsx bench/mqtt-e2e.ts --split --url ... --url ...    (publisher and subscribers in processes of their own)
 *
 * See bench/README.md for what each scenario measures.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseCommonArgs, positiveInt } from './lib/e2e-args.js';
import { rateMetric } from './lib/e2e-report.js';
import type { ServerInfo } from './lib/e2e-report.js';
import { runBench, runMain } from './lib/e2e-runner.js';
import { MQTT_SCENARIOS, openMqtt, runMqttThroughput } from './lib/mqtt-scenarios.js';
import type { MqttScenarioOptions } from './lib/mqtt-scenarios.js';
import { SplitClients } from './lib/mqtt-split.js';

const USAGE = `usage: npx tsx bench/mqtt-e2e.ts --url MQTT_URL [--url MQTT_URL_B [--url MQTT_URL_C]] [--compare MQTT_URL]
  [--count 100000] [--size 16] [--window 1000] [--subscribers 200] [--fanout-count 2000] [--rounds N] [--warmup N]
  [--timeout-ms 300000] [--scenarios qos0,qos1,fanout,qos0-v5,qos1-v5] [--json]
  [--split [--raw] [--publisher-processes 1] [--subscriber-processes 1] [--publisher-cpus LIST] [--subscriber-cpus LIST]]

MQTT_URL: mqtt://[user:password@]host:port. With several URLs every scenario runs against each
(order reversed every other round) and the ratio of every later target to every earlier one is printed.
--warmup N: N rounds first that are not counted (the client's JIT, and LocalMQ's, warm up on them).
--split: the publisher and the subscriber(s) each in a child process with its own mqtt.js client (this
process only coordinates), so no one client process is the bottleneck; the rate is what the subscribers
received. --subscriber-processes N spreads fanout's subscribers over N processes; --publisher-processes N
shares the messages among N publishing processes (one client each, same topic); --publisher-cpus and
--subscriber-cpus pin those processes (taskset -c LIST, e.g. 0 or 0,1). --raw: bare clients
(bench/lib/mqtt-raw-client.ts: pre-encoded packets, a fraction of mqtt.js's CPU per message) instead of
mqtt.js, so that the broker, not the client, sets the rate.`;

const METRICS = [rateMetric('qos0'), rateMetric('qos1'), rateMetric('fanout'), rateMetric('qos0-v5'), rateMetric('qos1-v5')];

/**
 * MQTT's CONNACK names no server; Mosquitto publishes its version on the retained
 * `$SYS/broker/version`. Brokers without it (RabbitMQ, LocalMQ) stay unnamed.
 */
async function serverInfo(url: string): Promise<ServerInfo | null> {
  const probe = await openMqtt(url, 'probe');
  try {
    const version = new Promise<string>((resolve) => probe.client.on('message', (_t, payload) => resolve(payload.toString())));
    await probe.client.subscribeAsync('$SYS/broker/version', { qos: 0 });
    const answer = await Promise.race([version, new Promise<null>((resolve) => setTimeout(resolve, 500, null))]);
    if (answer === null) return null;
    const m = /^(\S+) version (\S+)/.exec(answer);
    return m ? { product: m[1], version: m[2] } : { product: answer };
  } finally {
    await probe.close();
  }
}

function mqttVersion(): string {
  const require = createRequire(import.meta.url);
  return (JSON.parse(readFileSync(require.resolve('mqtt/package.json'), 'utf8')) as { version: string }).version;
}

function parseArgs(argv: string[]) {
  const args = parseCommonArgs(argv, {
    usage: USAGE,
    scenarios: MQTT_SCENARIOS,
    maxUrls: 3,
    options: {
      count: { type: 'string' },
      size: { type: 'string' },
      window: { type: 'string' },
      'timeout-ms': { type: 'string' },
      subscribers: { type: 'string' },
      'fanout-count': { type: 'string' },
      split: { type: 'boolean', default: false },
      raw: { type: 'boolean', default: false },
      'publisher-processes': { type: 'string' },
      'subscriber-processes': { type: 'string' },
      'publisher-cpus': { type: 'string' },
      'subscriber-cpus': { type: 'string' },
    },
  });
  const v = args.values as Record<string, string | undefined>;
  const base: Omit<MqttScenarioOptions, 'url'> = {
    count: positiveInt('count', v.count, 100_000),
    size: v.size === '0' ? 0 : positiveInt('size', v.size, 16),
    window: positiveInt('window', v.window, 1000),
    timeoutMs: positiveInt('timeout-ms', v['timeout-ms'], 300_000),
    subscribers: positiveInt('subscribers', v.subscribers, 200),
    fanoutCount: positiveInt('fanout-count', v['fanout-count'], 2000),
  };
  const split = args.values.split === true;
  const raw = args.values.raw === true;
  const splitOnly = ['publisher-processes', 'subscriber-processes', 'publisher-cpus', 'subscriber-cpus'].filter((k) => v[k] !== undefined);
  if (!split && splitOnly.length) throw new Error(`--${splitOnly[0]} needs --split`);
  if (!split && raw) throw new Error('--raw needs --split');
  if (split) {
    clients = new SplitClients({
      raw,
      publisherProcesses: positiveInt('publisher-processes', v['publisher-processes'], 1),
      subscriberProcesses: positiveInt('subscriber-processes', v['subscriber-processes'], 1),
      publisherCpus: cpuList('publisher-cpus', v['publisher-cpus']),
      subscriberCpus: cpuList('subscriber-cpus', v['subscriber-cpus']),
    });
  }
  return { ...args, base };
}

function cpuList(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && !/^\d+([-,]\d+)*$/.test(raw)) throw new Error(`--${name} must be a CPU list as taskset -c takes it (e.g. 0 or 0,1), got '${raw}'`);
  return raw;
}

/** the client processes of --split; undefined: publisher and subscribers in this process */
let clients: SplitClients | undefined;

runMain(async () => {
  try {
    return await runBench({
    title: 'MQTT end-to-end bench',
    usage: USAGE,
    metrics: METRICS,
    clients: () => (clients?.raw ? { mqtt: 'bare client (bench/lib/mqtt-raw-client.ts)' } : { mqtt: mqttVersion() }),
    parse: parseArgs,
    probe: serverInfo,
    run: (scenario, options) => (clients ? clients.run(options, scenario) : runMqttThroughput(options, scenario)),
    settings: (b) =>
      `count ${b.count} x ${b.size} B on a fresh topic, clean sessions (MQTT 3.1.1; 5.0 in the -v5 scenarios), publish window ${b.window}; fanout: ${b.fanoutCount} QoS 1 messages to ${b.subscribers} QoS 1 subscribers; ` +
      (clients ? `${clients.describe()} (--split)` : 'publisher and subscribers in one process'),
    });
  } finally {
    clients?.stop();
  }
});
