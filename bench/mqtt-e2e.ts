/**
 * End-to-end MQTT 3.1.1 benchmark against any broker's MQTT port (LocalMQ,
 * Mosquitto, RabbitMQ's MQTT plugin) through mqtt.js: QoS 0 and QoS 1
 * publish -> subscribe throughput. With several URLs (up to three) it runs
 * them all in this process, reversing the order every other round, and prints
 * the ratio of every later target to every earlier one.
 *
 *   npx tsx bench/mqtt-e2e.ts --url mqtt://127.0.0.1:1883 [--count 100000] [--size 16] [--json]
 *   npx tsx bench/mqtt-e2e.ts --url mqtt://guest:guest@127.0.0.1:1883 --url mqtt://127.0.0.1:1884 --url mqtt://127.0.0.1:1885 --rounds 3
 *
 * See bench/README.md for what each scenario measures.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseCommonArgs, positiveInt } from './lib/e2e-args.js';
import { rateMetric, toJson, toTable } from './lib/e2e-report.js';
import type { RunMeta, ServerInfo } from './lib/e2e-report.js';
import { probeTargets, runMain, runRounds } from './lib/e2e-runner.js';
import { MQTT_SCENARIOS, openMqtt, runMqttThroughput } from './lib/mqtt-scenarios.js';
import type { MqttScenarioOptions } from './lib/mqtt-scenarios.js';

const USAGE = `usage: npx tsx bench/mqtt-e2e.ts --url MQTT_URL [--url MQTT_URL_B [--url MQTT_URL_C]] [--compare MQTT_URL]
  [--count 100000] [--size 16] [--window 1000] [--rounds N] [--timeout-ms 300000] [--scenarios qos0,qos1] [--json]

MQTT_URL: mqtt://[user:password@]host:port. With several URLs every scenario runs against each
(order reversed every other round) and the ratio of every later target to every earlier one is printed.`;

const METRICS = [rateMetric('qos0'), rateMetric('qos1')];

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

async function main(): Promise<number> {
  let args;
  try {
    args = parseCommonArgs(process.argv.slice(2), {
      usage: USAGE,
      scenarios: MQTT_SCENARIOS,
      maxUrls: 3,
      options: {
        count: { type: 'string' },
        size: { type: 'string' },
        window: { type: 'string' },
        'timeout-ms': { type: 'string' },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const v = args.values as Record<string, string | undefined>;
  const base: Omit<MqttScenarioOptions, 'url'> = {
    count: positiveInt('count', v.count, 100_000),
    size: v.size === '0' ? 0 : positiveInt('size', v.size, 16),
    window: positiveInt('window', v.window, 1000),
    timeoutMs: positiveInt('timeout-ms', v['timeout-ms'], 300_000),
  };

  const targets = await probeTargets(args.urls, serverInfo);
  if (targets === null) return 1;
  const failures = await runRounds({
    targets,
    urls: args.urls,
    scenarios: args.scenarios,
    rounds: args.rounds,
    quiet: args.json,
    run: (scenario, url) => runMqttThroughput({ ...base, url }, scenario),
  });

  const meta: RunMeta = {
    title: 'MQTT end-to-end bench',
    date: new Date().toISOString(),
    node: process.version,
    clients: { mqtt: mqttVersion() },
    rounds: args.rounds,
    options: base,
    settings:
      `count ${base.count} x ${base.size} B on a fresh topic, MQTT 3.1.1 clean sessions, publish window ${base.window}, ` +
      `rounds ${args.rounds}${args.rounds > 1 ? ' (median)' : ''}`,
  };
  process.stdout.write(
    args.json ? `${JSON.stringify(toJson(meta, targets, METRICS), null, 2)}\n` : `\n${toTable(meta, targets, METRICS)}\n`,
  );
  return failures === 0 ? 0 : 1;
}

runMain(main);
