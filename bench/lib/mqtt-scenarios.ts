import mqtt from 'mqtt';
import type { IClientOptions, MqttClient } from 'mqtt';
import { nowNs, rate } from './e2e-results.js';
import type { RateResult } from './e2e-results.js';
import { deadline, uniqueName } from './e2e-runner.js';

/** Knobs of the MQTT scenarios; documented in bench/README.md. */
export interface MqttScenarioOptions {
  url: string;
  /** Messages per scenario. */
  count: number;
  /** Payload size in bytes. */
  size: number;
  /** Most PUBLISHes whose callback has not fired yet: unacknowledged for QoS 1, unwritten (socket full) for QoS 0. */
  window: number;
  timeoutMs: number;
}

export const MQTT_SCENARIOS = ['qos0', 'qos1'] as const;
export type MqttScenarioName = (typeof MQTT_SCENARIOS)[number];

/**
 * A connected mqtt.js client, MQTT 3.1.1, clean session, no reconnect; its
 * errors and unexpected close reject `failed`.
 */
export interface TrackedMqttClient {
  readonly client: MqttClient;
  readonly failed: Promise<never>;
  close(): Promise<void>;
}

export async function openMqtt(url: string, label: string): Promise<TrackedMqttClient> {
  const options: IClientOptions = {
    protocolVersion: 4,
    clean: true,
    clientId: uniqueName(`bench-${label}`).replace(/\./g, '-'),
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    keepalive: 60,
  };
  const u = new URL(url);
  // mqtt.js reads credentials from the options, not from the URL.
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  const client = await mqtt.connectAsync(url, options);
  let closing = false;
  let fail!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  client.on('error', (err) => fail(new Error(`${label} error: ${err.message}`)));
  client.on('close', () => {
    if (!closing) fail(new Error(`${label} connection closed unexpectedly`));
  });
  return {
    client,
    failed,
    async close() {
      if (closing) return;
      closing = true;
      try {
        await client.endAsync();
      } catch {
        client.end(true);
      }
    },
  };
}

/**
 * One publishing and one subscribing mqtt.js connection (clean sessions) on a
 * fresh topic `bench/mqtt/<pid>/<hex>`; the subscription is acknowledged
 * (SUBACK) before the first PUBLISH. The subscriber subscribes with the
 * scenario's QoS (mqtt.js PUBACKs each QoS 1 message as it arrives). The
 * publisher keeps at most `window` PUBLISHes in flight: for QoS 1 until their
 * PUBACK, for QoS 0 until mqtt.js has written them (socket backpressure).
 * msgs/s from just before the first PUBLISH to the last message received.
 */
export async function runMqttThroughput(opts: MqttScenarioOptions, scenario: MqttScenarioName): Promise<RateResult> {
  const qos = scenario === 'qos1' ? 1 : 0;
  const topic = uniqueName('bench/mqtt').replace(/\./g, '/');
  const limit = deadline(opts.timeoutMs, `mqtt ${scenario} scenario`);
  let pub: TrackedMqttClient | undefined;
  let sub: TrackedMqttClient | undefined;
  try {
    sub = await openMqtt(opts.url, 'subscriber');
    pub = await openMqtt(opts.url, 'publisher');
    const { count, window } = opts;

    let received = 0;
    let receivedAll!: (t: bigint) => void;
    const allReceived = new Promise<bigint>((resolve) => (receivedAll = resolve));
    sub.client.on('message', () => {
      if (++received === count) receivedAll(nowNs());
    });
    const granted = await Promise.race([sub.client.subscribeAsync(topic, { qos }), sub.failed, limit.promise]);
    if (granted[0]?.qos !== qos) throw new Error(`broker granted QoS ${granted[0]?.qos} for a QoS ${qos} subscription`);

    let inFlight = 0;
    let windowOpen: (() => void) | null = null;
    let publishError: ((err: Error) => void) | null = null;
    const publishFailed = new Promise<never>((_, reject) => (publishError = reject));
    publishFailed.catch(() => undefined);
    // One callback for every publish: no per-message closure.
    const onPublished = (err?: Error): void => {
      if (err) {
        publishError?.(new Error(`publish failed: ${err.message}`));
        return;
      }
      inFlight--;
      if (windowOpen !== null && inFlight < window) {
        const open = windowOpen;
        windowOpen = null;
        open();
      }
    };
    const failures = [pub.failed, sub.failed, limit.promise, publishFailed];
    const body = Buffer.alloc(opts.size, 0x61);
    const publishOptions = { qos, retain: false } as const;
    const publisher = pub.client;

    const start = nowNs();
    for (let i = 0; i < count; i++) {
      if (inFlight >= window) await Promise.race([new Promise<void>((resolve) => (windowOpen = resolve)), ...failures]);
      inFlight++;
      publisher.publish(topic, body, publishOptions, onPublished);
    }
    const publishedAt = nowNs();
    const end = await Promise.race([allReceived, ...failures]);
    return rate(count, start, end, publishedAt);
  } finally {
    limit.cancel();
    await sub?.close();
    await pub?.close();
  }
}
