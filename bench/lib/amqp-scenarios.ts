import type { Channel, ConfirmChannel, ConsumeMessage, Options } from 'amqplib';
import { deadline, openConnection, uniqueQueueName, waitForDrain } from './amqp-session.js';
import type { TrackedConnection } from './amqp-session.js';
import { summariseNanos } from './latency-stats.js';
import { nowNs, rate } from './e2e-results.js';
import type { LatencyResult, RateResult, ScenarioResult } from './e2e-results.js';

/** Fixed knobs of every scenario; documented in bench/README.md. */
export interface ScenarioOptions {
  url: string;
  /** Messages per throughput scenario (throughput, confirms). */
  count: number;
  /** Body size in bytes. */
  size: number;
  /** Persistent-publish message count. */
  persistentCount: number;
  /** Measured round trips in the latency scenario. */
  latencyCount: number;
  /** Unmeasured round trips before the measured ones (JIT, socket buffers, broker queue process). */
  latencyWarmup: number;
  /** basic.qos prefetch-count of the throughput consumers (per consumer, global=false). */
  prefetch: number;
  /** The throughput consumers ack with multiple=true every this many deliveries. */
  ackEvery: number;
  /** Maximum unconfirmed publishes in flight on a confirm channel. */
  confirmWindow: number;
  /** Upper bound on one scenario's wall time; the bench stops by itself past it. */
  timeoutMs: number;
}

export const SCENARIOS = ['throughput', 'confirms', 'latency', 'persistent', 'quorum'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export type { LatencyResult, RateResult, ScenarioResult } from './e2e-results.js';

const NON_DURABLE: Options.AssertQueue = { durable: false, autoDelete: false, exclusive: false };
/** a quorum queue, named explicitly so RabbitMQ 3.x and every LocalMQ version agree */
const QUORUM: Options.AssertQueue = { durable: true, autoDelete: false, exclusive: false, arguments: { 'x-queue-type': 'quorum' } };
const TRANSIENT_PUBLISH: Options.Publish = {};
const PERSISTENT_PUBLISH: Options.Publish = { persistent: true };

/**
 * Deletes the scenario's queue even when the scenario failed half-way; uses a
 * fresh connection when the publisher's is gone so no bench queue is left behind.
 */
async function deleteQueue(url: string, queue: string, via: TrackedConnection | undefined): Promise<void> {
  const tryDelete = async (conn: TrackedConnection): Promise<void> => {
    const ch = await conn.model.createChannel();
    ch.on('error', () => undefined);
    await ch.deleteQueue(queue);
    await ch.close();
  };
  try {
    if (via) return await tryDelete(via);
  } catch {
    // fall through to a fresh connection
  }
  let fresh: TrackedConnection | undefined;
  try {
    fresh = await openConnection(url, 'cleanup');
    await tryDelete(fresh);
  } catch (err) {
    process.stderr.write(`warning: could not delete queue ${queue}: ${(err as Error).message}\n`);
  } finally {
    await fresh?.close();
  }
}

/**
 * Publishes `count` copies of `body` to `queue` through the default exchange,
 * honouring socket backpressure (sendToQueue false -> wait for 'drain') and,
 * on a confirm channel, keeping at most `window` publishes unconfirmed.
 * Resolves when the last message has been handed to amqplib; `allConfirmed`
 * (confirm channels only) resolves when the broker has confirmed every one.
 */
function startPublisher(
  conn: TrackedConnection,
  channel: Channel | ConfirmChannel,
  confirm: boolean,
  queue: string,
  body: Buffer,
  count: number,
  window: number,
  props: Options.Publish,
): { published: Promise<bigint>; allConfirmed: Promise<bigint> } {
  let outstanding = 0;
  let confirmed = 0;
  let windowOpen: (() => void) | null = null;
  let confirmedAll!: (t: bigint) => void;
  let nacked!: (err: Error) => void;
  const allConfirmed = new Promise<bigint>((resolve, reject) => {
    confirmedAll = resolve;
    nacked = reject;
  });
  allConfirmed.catch(() => undefined);

  // One callback object for every publish: no per-message closure.
  const onConfirm = (err: unknown): void => {
    if (err) {
      nacked(new Error(`broker nacked a publish: ${String(err)}`));
      return;
    }
    outstanding--;
    confirmed++;
    if (windowOpen !== null && outstanding < window) {
      const open = windowOpen;
      windowOpen = null;
      open();
    }
    if (confirmed === count) confirmedAll(nowNs());
  };

  const published = (async (): Promise<bigint> => {
    const confirmChannel = channel as ConfirmChannel;
    for (let i = 0; i < count; i++) {
      let ok: boolean;
      if (confirm) {
        if (outstanding >= window) {
          await Promise.race([new Promise<void>((resolve) => (windowOpen = resolve)), allConfirmed, conn.failed]);
        }
        outstanding++;
        ok = confirmChannel.sendToQueue(queue, body, props, onConfirm);
      } else {
        ok = channel.sendToQueue(queue, body, props);
      }
      if (!ok) await waitForDrain(channel, conn);
    }
    return nowNs();
  })();
  published.catch(() => undefined);
  return { published, allConfirmed };
}

/**
 * Scenarios a and b: one publisher connection and one consumer connection on a
 * fresh non-durable queue; msgs/s from the first publish to the last delivery
 * (and, with confirms, to the last confirm if that comes later).
 */
export async function runThroughput(opts: ScenarioOptions, confirm: boolean, quorum = false): Promise<RateResult> {
  const label = quorum ? 'quorum' : confirm ? 'confirms' : 'throughput';
  const queue = uniqueQueueName(label);
  const body = Buffer.alloc(opts.size, 0x61);
  const limit = deadline(opts.timeoutMs, `${label} scenario`);
  let pub: TrackedConnection | undefined;
  let sub: TrackedConnection | undefined;
  try {
    pub = await openConnection(opts.url, 'publisher');
    sub = await openConnection(opts.url, 'consumer');
    const admin = pub.track(await pub.model.createChannel());
    await admin.assertQueue(queue, quorum ? QUORUM : NON_DURABLE);

    const consumerChannel = sub.track(await sub.model.createChannel());
    await consumerChannel.prefetch(opts.prefetch, false);
    let received = 0;
    let receivedAll!: (t: bigint) => void;
    const allReceived = new Promise<bigint>((resolve) => (receivedAll = resolve));
    const { count, ackEvery } = opts;
    await consumerChannel.consume(
      queue,
      (msg: ConsumeMessage | null) => {
        if (msg === null) return; // cancelled by the broker; `failed`/deadline report it
        received++;
        if (received === count) {
          const t = nowNs();
          consumerChannel.ack(msg, true);
          receivedAll(t);
        } else if (received % ackEvery === 0) {
          consumerChannel.ack(msg, true);
        }
      },
      { noAck: false },
    );

    const publisherChannel = pub.track(confirm ? await pub.model.createConfirmChannel() : await pub.model.createChannel());
    const failures = [pub.failed, sub.failed, limit.promise];
    const start = nowNs();
    const run = startPublisher(pub, publisherChannel, confirm, queue, body, count, opts.confirmWindow, quorum ? PERSISTENT_PUBLISH : TRANSIENT_PUBLISH);
    const publishedAt = await Promise.race([run.published, ...failures]);
    let end = await Promise.race([allReceived, ...failures]);
    if (confirm) {
      const lastConfirm = await Promise.race([run.allConfirmed, ...failures]);
      if (lastConfirm > end) end = lastConfirm;
    }
    return rate(count, start, end, publishedAt);
  } finally {
    limit.cancel();
    await sub?.close();
    await deleteQueue(opts.url, queue, pub);
    await pub?.close();
  }
}

/**
 * Scenario c: one message in flight at a time, publisher and consumer on
 * separate connections; each sample is publish call -> delivery callback.
 */
export async function runLatency(opts: ScenarioOptions): Promise<LatencyResult> {
  const queue = uniqueQueueName('latency');
  const body = Buffer.alloc(opts.size, 0x61);
  const limit = deadline(opts.timeoutMs, 'latency scenario');
  let pub: TrackedConnection | undefined;
  let sub: TrackedConnection | undefined;
  try {
    pub = await openConnection(opts.url, 'publisher');
    sub = await openConnection(opts.url, 'consumer');
    const admin = pub.track(await pub.model.createChannel());
    await admin.assertQueue(queue, NON_DURABLE);

    const consumerChannel = sub.track(await sub.model.createChannel());
    await consumerChannel.prefetch(1, false);
    let delivered: ((t: bigint) => void) | null = null;
    await consumerChannel.consume(
      queue,
      (msg: ConsumeMessage | null) => {
        if (msg === null) return;
        const t = nowNs();
        consumerChannel.ack(msg);
        const resolve = delivered;
        delivered = null;
        resolve?.(t);
      },
      { noAck: false },
    );

    const publisherChannel = pub.track(await pub.model.createChannel());
    const failures = [pub.failed, sub.failed, limit.promise];
    const total = opts.latencyWarmup + opts.latencyCount;
    const samples = new Float64Array(opts.latencyCount);
    for (let i = 0; i < total; i++) {
      const arrived = new Promise<bigint>((resolve) => (delivered = resolve));
      const sentAt = nowNs();
      if (!publisherChannel.sendToQueue(queue, body, TRANSIENT_PUBLISH)) await waitForDrain(publisherChannel, pub);
      const at = await Promise.race([arrived, ...failures]);
      if (i >= opts.latencyWarmup) samples[i - opts.latencyWarmup] = Number(at - sentAt);
    }
    return { kind: 'latency', ...summariseNanos(samples) };
  } finally {
    limit.cancel();
    await sub?.close();
    await deleteQueue(opts.url, queue, pub);
    await pub?.close();
  }
}

/**
 * Scenario d: persistent (delivery-mode 2) publishes with confirms to a fresh
 * durable queue and no consumer, so every message must reach the store;
 * msgs/s from the first publish to the last confirm. Checks afterwards that the
 * queue holds exactly `persistentCount` messages.
 */
export async function runPersistent(opts: ScenarioOptions): Promise<RateResult> {
  const queue = uniqueQueueName('persistent');
  const body = Buffer.alloc(opts.size, 0x61);
  const limit = deadline(opts.timeoutMs, 'persistent scenario');
  let pub: TrackedConnection | undefined;
  try {
    pub = await openConnection(opts.url, 'publisher');
    const admin = pub.track(await pub.model.createChannel());
    await admin.assertQueue(queue, { durable: true, autoDelete: false, exclusive: false });
    const publisherChannel = pub.track(await pub.model.createConfirmChannel());
    const count = opts.persistentCount;
    const failures = [pub.failed, limit.promise];
    const start = nowNs();
    const run = startPublisher(pub, publisherChannel, true, queue, body, count, opts.confirmWindow, PERSISTENT_PUBLISH);
    const publishedAt = await Promise.race([run.published, ...failures]);
    const end = await Promise.race([run.allConfirmed, ...failures]);
    const { messageCount } = await admin.checkQueue(queue);
    if (messageCount !== count) {
      throw new Error(`durable queue holds ${messageCount} messages after ${count} confirmed publishes`);
    }
    return rate(count, start, end, publishedAt);
  } finally {
    limit.cancel();
    await deleteQueue(opts.url, queue, pub);
    await pub?.close();
  }
}

export function runScenario(name: ScenarioName, opts: ScenarioOptions): Promise<ScenarioResult> {
  switch (name) {
    case 'throughput':
      return runThroughput(opts, false);
    case 'confirms':
      return runThroughput(opts, true);
    case 'latency':
      return runLatency(opts);
    case 'persistent':
      return runPersistent(opts);
    case 'quorum':
      // a quorum queue, persistent publishes with confirms, consumed and acked meanwhile
      return runThroughput(opts, true, true);
  }
}
