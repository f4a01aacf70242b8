import { once } from 'node:events';
import amqp from 'amqplib';
import type { Channel, ChannelModel } from 'amqplib';
import { deadline, uniqueName } from './e2e-runner.js';

/**
 * A connection whose unexpected loss or error is surfaced as a rejected
 * promise, so a scenario waiting on deliveries fails fast instead of hanging
 * until its timeout when the broker closes the connection or a channel.
 */
export interface TrackedConnection {
  readonly model: ChannelModel;
  /** Rejects on the first connection or channel error / unexpected close. Never resolves. */
  readonly failed: Promise<never>;
  /** Registers a channel so its errors also reject `failed`. */
  track<C extends Channel>(channel: C): C;
  /** Closes the connection; safe to call more than once and after a failure. */
  close(): Promise<void>;
}

export async function openConnection(url: string, label: string): Promise<TrackedConnection> {
  const model = await amqp.connect(url);
  let closing = false;
  let fail!: (err: Error) => void;
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  // Waiters attach later; an unobserved rejection must not crash the process.
  failed.catch(() => undefined);

  model.on('error', (err: Error) => fail(new Error(`${label} connection error: ${err.message}`)));
  model.on('close', (err?: Error) => {
    if (!closing) fail(new Error(`${label} connection closed unexpectedly${err ? `: ${err.message}` : ''}`));
  });

  return {
    model,
    failed,
    track(channel) {
      channel.on('error', (err: Error) => fail(new Error(`${label} channel error: ${err.message}`)));
      return channel;
    },
    async close() {
      if (closing) return;
      closing = true;
      try {
        await model.close();
      } catch {
        // Already closed by the broker or by a failure: nothing left to release.
      }
    },
  };
}

/** A queue name unique to this process and call, so concurrent or aborted runs never collide. */
export function uniqueQueueName(scenario: string): string {
  return uniqueName(`bench.e2e.${scenario}`);
}

/** Waits for a channel's 'drain' event, or for the connection to fail. */
export async function waitForDrain(channel: Channel, conn: TrackedConnection): Promise<void> {
  await Promise.race([once(channel, 'drain'), conn.failed]);
}

export { deadline };
