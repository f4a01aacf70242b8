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
  /** fanout: subscribers of the one topic */
  subscribers: number;
  /** fanout: messages published (each reaches every subscriber) */
  fanoutCount: number;
}

export const MQTT_SCENARIOS = ['qos0', 'qos1', 'fanout', 'qos0-v5', 'qos1-v5'] as const;
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

export async function openMqtt(url: string, label: string, protocolVersion: 4 | 5 = 4): Promise<TrackedMqttClient> {
  const options: IClientOptions = {
    protocolVersion,
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
 * Publishes `count` PUBLISHes of `body` on `topic` with at most `window` whose mqtt.js
 * callback has not fired yet: for QoS 1 until their PUBACK, for QoS 0 until mqtt.js has
 * written them (socket backpressure). Resolves when the last one was handed to mqtt.js
 * (its time); a publish error, or any of `failures`, rejects.
 */
export async function publishWindowed(
  publisher: MqttClient,
  p: { topic: string; count: number; body: Buffer; qos: 0 | 1; window: number },
  failures: Promise<never>[],
): Promise<bigint> {
  const { count, window } = p;
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
  const waits = [...failures, publishFailed];
  const publishOptions = { qos: p.qos, retain: false } as const;
  for (let i = 0; i < count; i++) {
    if (inFlight >= window) await Promise.race([new Promise<void>((resolve) => (windowOpen = resolve)), ...waits]);
    inFlight++;
    publisher.publish(p.topic, p.body, publishOptions, onPublished);
  }
  return nowNs();
}

/** Resolves with the time the `expect`-th message arrived on any of `clients`. */
export function countMessages(clients: readonly MqttClient[], expect: number): Promise<bigint> {
  let received = 0;
  return new Promise<bigint>((resolve) => {
    const onMessage = (): void => {
      if (++received === expect) resolve(nowNs());
    };
    for (const c of clients) c.on('message', onMessage);
  });
}

/** What a publish/subscribe scenario sends: QoS, protocol version and, for fanout, the shape. */
export function scenarioShape(opts: MqttScenarioOptions, scenario: MqttScenarioName) {
  if (scenario === 'fanout') {
    return { qos: 1 as const, version: 4 as const, count: opts.fanoutCount, subscribers: opts.subscribers, topic: uniqueName('bench/fanout').replace(/\./g, '/') };
  }
  return {
    qos: scenario === 'qos1' || scenario === 'qos1-v5' ? (1 as const) : (0 as const),
    version: scenario.endsWith('-v5') ? (5 as const) : (4 as const),
    count: opts.count,
    subscribers: 1,
    topic: uniqueName('bench/mqtt').replace(/\./g, '/'),
  };
}

/**
 * One publishing and one subscribing mqtt.js connection (clean sessions) on a
 * fresh topic `bench/mqtt/<pid>/<hex>`; the subscription is acknowledged
 * (SUBACK) before the first PUBLISH. The subscriber subscribes with the
 * scenario's QoS (mqtt.js PUBACKs each QoS 1 message as it arrives). The
 * publisher keeps at most `window` PUBLISHes in flight (publishWindowed).
 * msgs/s from just before the first PUBLISH to the last message received.
 */
export async function runMqttThroughput(opts: MqttScenarioOptions, scenario: MqttScenarioName): Promise<RateResult> {
  if (scenario === 'fanout') return runMqttFanout(opts);
  const { qos, version, topic, count } = scenarioShape(opts, scenario);
  const limit = deadline(opts.timeoutMs, `mqtt ${scenario} scenario`);
  let pub: TrackedMqttClient | undefined;
  let sub: TrackedMqttClient | undefined;
  try {
    sub = await openMqtt(opts.url, 'subscriber', version);
    pub = await openMqtt(opts.url, 'publisher', version);
    const allReceived = countMessages([sub.client], count);
    const granted = await Promise.race([sub.client.subscribeAsync(topic, { qos }), sub.failed, limit.promise]);
    if (granted[0]?.qos !== qos) throw new Error(`broker granted QoS ${granted[0]?.qos} for a QoS ${qos} subscription`);
    const failures = [pub.failed, sub.failed, limit.promise];
    const body = Buffer.alloc(opts.size, 0x61);
    const start = nowNs();
    const publishedAt = await publishWindowed(pub.client, { topic, count, body, qos, window: opts.window }, failures);
    const end = await Promise.race([allReceived, ...failures]);
    return rate(count, start, end, publishedAt);
  } finally {
    limit.cancel();
    await sub?.close();
    await pub?.close();
  }
}

/**
 * One topic fanned out to `subscribers` QoS 1 subscriptions (one mqtt.js connection each,
 * MQTT 3.1.1, all SUBACKed first); one publisher sends `fanoutCount` QoS 1 messages with
 * at most `window` unacknowledged. The rate is deliveries/s (messages x subscribers) from
 * just before the first PUBLISH to the last delivery.
 */
export async function runMqttFanout(opts: MqttScenarioOptions): Promise<RateResult> {
  const { topic, count, subscribers } = scenarioShape(opts, 'fanout');
  const limit = deadline(opts.timeoutMs, 'mqtt fanout scenario');
  const subs: TrackedMqttClient[] = [];
  let pub: TrackedMqttClient | undefined;
  try {
    const total = count * subscribers;
    for (let i = 0; i < subscribers; i++) {
      const s = await openMqtt(opts.url, `fan-${i}`);
      subs.push(s);
      await Promise.race([s.client.subscribeAsync(topic, { qos: 1 }), s.failed, limit.promise]);
    }
    const allReceived = countMessages(subs.map((s) => s.client), total);
    pub = await openMqtt(opts.url, 'fan-publisher');
    const failures = [pub.failed, limit.promise, ...subs.map((s) => s.failed)];
    const body = Buffer.alloc(opts.size, 0x61);
    const start = nowNs();
    const publishedAt = await publishWindowed(pub.client, { topic, count, body, qos: 1, window: opts.window }, failures);
    const end = await Promise.race([allReceived, ...failures]);
    return rate(total, start, end, publishedAt);
  } finally {
    limit.cancel();
    await pub?.close();
    for (const s of subs) await s.close();
  }
}
