import { getHeader } from '../../src/protocols/stomp/codec/index.js';
import type { StompFrame } from '../../src/protocols/stomp/codec/index.js';
import { nowNs, rate } from './e2e-results.js';
import type { RateResult } from './e2e-results.js';
import { deadline, uniqueName } from './e2e-runner.js';
import { StompBenchClient } from './stomp-session.js';

/** Knobs of the STOMP scenarios; documented in bench/README.md. */
export interface StompScenarioOptions {
  url: string;
  /** Messages per scenario. */
  count: number;
  /** Body size in bytes. */
  size: number;
  /** prefetch-count of the `client` subscription. */
  prefetch: number;
  /** The `client` subscriber sends a (cumulative) ACK every this many MESSAGEs, and on the last. */
  ackEvery: number;
  /** SEND frames handed to the socket per write() call. */
  batch: number;
  timeoutMs: number;
}

/** `auto`: ack:auto subscription. `client`: ack:client (cumulative) with prefetch-count and periodic ACKs. */
export const STOMP_SCENARIOS = ['auto', 'client'] as const;
export type StompScenarioName = (typeof STOMP_SCENARIOS)[number];

/**
 * One sending connection and one subscribing connection on a fresh
 * `/queue/<unique>`. The subscription is confirmed (RECEIPT) before the first
 * SEND, so no message waits for a consumer. The sender writes pre-serialised
 * SEND frames (`destination`, `content-length`, the body), `batch` per write,
 * waiting for 'drain' whenever the socket says its buffer is full: the broker's
 * read rate sets the pace. msgs/s from just before the first SEND to the last
 * MESSAGE seen by the subscriber.
 */
export async function runStompThroughput(opts: StompScenarioOptions, mode: StompScenarioName): Promise<RateResult> {
  const destination = `/queue/${uniqueName(`bench.stomp.${mode}`)}`;
  const limit = deadline(opts.timeoutMs, `stomp ${mode} scenario`);
  let pub: StompBenchClient | undefined;
  let sub: StompBenchClient | undefined;
  try {
    sub = await StompBenchClient.connect(opts.url, 'subscriber');
    pub = await StompBenchClient.connect(opts.url, 'sender');
    const subscriber = sub;

    const { count, ackEvery } = opts;
    let received = 0;
    let receivedAll!: (t: bigint) => void;
    const allReceived = new Promise<bigint>((resolve) => (receivedAll = resolve));
    subscriber.onMessage =
      mode === 'auto'
        ? () => {
            if (++received === count) receivedAll(nowNs());
          }
        : (frame: StompFrame) => {
            received++;
            if (received === count || received % ackEvery === 0) {
              // 1.2: ACK names the MESSAGE's `ack` header; in client mode it acks everything up to it.
              subscriber.write(subscriber.frame('ACK', [['id', getHeader(frame, 'ack') ?? getHeader(frame, 'message-id') ?? '']]));
            }
            if (received === count) receivedAll(nowNs());
          };
    await subscriber.request(
      'SUBSCRIBE',
      mode === 'auto'
        ? [['id', '0'], ['destination', destination], ['ack', 'auto']]
        : [['id', '0'], ['destination', destination], ['ack', 'client'], ['prefetch-count', String(opts.prefetch)]],
    );

    const body = Buffer.alloc(opts.size, 0x61);
    const one = pub.frame('SEND', [['destination', destination]], body);
    const fullBatch = Buffer.concat(Array.from({ length: Math.min(opts.batch, count) }, () => one));
    const failures = [pub.failed, sub.failed, limit.promise];

    const start = nowNs();
    for (let sent = 0; sent < count; ) {
      const n = Math.min(opts.batch, count - sent);
      const ok = pub.write(n === opts.batch ? fullBatch : fullBatch.subarray(0, n * one.length));
      sent += n;
      if (!ok) await Promise.race([pub.drained(), ...failures]);
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
