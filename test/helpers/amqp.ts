import amqplib from 'amqplib';
import type { LocalMQ } from '../../src/index.js';

/** the URL amqplib connects to, with guest's credentials */
export function amqpUrl(broker: LocalMQ, vhost = '/'): string {
  return `${broker.urls.amqp!.replace('amqp://', 'amqp://guest:guest@')}/${encodeURIComponent(vhost)}`;
}

export async function connect(broker: LocalMQ, opts: { vhost?: string; user?: string; password?: string } = {}) {
  let url = amqpUrl(broker, opts.vhost);
  if (opts.user) url = url.replace('guest:guest', `${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password ?? '')}`);
  return amqplib.connect(url);
}

/** resolve with the error a channel closes with (amqplib rejects the pending call too) */
export function channelClosed(ch: { once(ev: 'error' | 'close', cb: (e?: unknown) => void): unknown }): Promise<Error & { code?: number }> {
  return new Promise((resolve) => ch.once('error', (e) => resolve(e as Error & { code?: number })));
}

/** collect `n` messages from a consumer */
export function take<T>(n: number, subscribe: (push: (m: T) => void) => void): Promise<T[]> {
  return new Promise((resolve) => {
    const got: T[] = [];
    subscribe((m) => {
      got.push(m);
      if (got.length === n) resolve(got);
    });
  });
}
