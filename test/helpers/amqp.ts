import amqplib, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { afterStart } from './broker.js';
import { connect as netConnect, type Socket } from 'node:net';
import {
  decodeMethod,
  encodeMethodFrame,
  FRAME_METHOD,
  FrameParser,
  PROTOCOL_HEADER,
  type DecodedMethod,
  type Frame,
} from '../../src/protocols/amqp/codec/index.js';

/** the broker's AMQP port */
export function amqpPort(broker: LocalMQ): number {
  return Number(new URL(broker.urls.amqp!).port);
}

/** the URL amqplib connects to, with guest's credentials */
export function amqpUrl(broker: LocalMQ, vhost = '/'): string {
  return `${broker.urls.amqp!.replace('amqp://', 'amqp://guest:guest@')}/${encodeURIComponent(vhost)}`;
}

export async function connect(broker: LocalMQ, opts: { vhost?: string; user?: string; password?: string } = {}) {
  let url = amqpUrl(broker, opts.vhost);
  if (opts.user) url = url.replace('guest:guest', `${encodeURIComponent(opts.user)}:${encodeURIComponent(opts.password ?? '')}`);
  return amqplib.connect(url);
}

/**
 * One broker and one amqplib connection to it for a whole test file (as useBroker),
 * closed before the broker stops.
 */
export function useBrokerConnection(): { broker: () => LocalMQ; conn: () => ChannelModel } {
  let broker: LocalMQ | undefined;
  let conn: ChannelModel | undefined;
  beforeAll(async () => {
    broker = await startBroker();
    conn = await connect(broker);
  });
  afterAll(async () => {
    await conn?.close();
    await broker?.stop();
  });
  return { broker: afterStart('broker', () => broker), conn: afterStart('connection', () => conn) };
}

/** resolve with the error a channel closes with (amqplib rejects the pending call too) */
export function channelClosed(ch: { once(ev: 'error' | 'close', cb: (e?: unknown) => void): unknown }): Promise<Error & { code?: number }> {
  return new Promise((resolve) => ch.once('error', (e) => resolve(e as Error & { code?: number })));
}

let names = 0;
/** a name no other test of the file uses: `prefix.N` */
export function uniqueName(prefix: string): string {
  return `${prefix}.${++names}`;
}

/** the next message consumed from `queue` on `ch`: acked, then the consumer is cancelled */
export function nextMessage(ch: Channel, queue: string): Promise<ConsumeMessage> {
  return new Promise((resolve) => {
    void ch.consume(queue, (m) => {
      if (!m) return;
      ch.ack(m);
      void ch.cancel(m.fields.consumerTag).then(() => resolve(m));
    });
  });
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

// ---- a raw-socket AMQP client: for what no client library lets a test say (bad headers,
// oversized frames, silent peers, methods on unopened channels) --------------------------


export class RawAmqp {
  readonly frames: Frame[] = [];
  readonly bytes: Buffer[] = [];
  closed = false;
  private waiters: (() => void)[] = [];
  private readonly parser = new FrameParser({ onFrame: (f) => this.frames.push({ ...f, payload: Buffer.from(f.payload) }), frameMax: 0, expectProtocolHeader: false });
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: Socket, parse: boolean) {
    this.closedPromise = new Promise((resolve) => socket.on('close', () => {
      this.closed = true;
      this.wake();
      resolve();
    }));
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      this.bytes.push(chunk);
      if (parse) this.parser.push(chunk);
      this.wake();
    });
  }

  static open(port: number, parse = true): Promise<RawAmqp> {
    return new Promise((resolve, reject) => {
      const s = netConnect({ port, host: '127.0.0.1' }, () => resolve(new RawAmqp(s, parse)));
      s.once('error', reject);
    });
  }

  /** a connection through connection.open-ok, with the given tune-ok values */
  static async handshake(port: number, tune: { frameMax?: number; heartbeat?: number; channelMax?: number } = {}): Promise<RawAmqp> {
    const c = await RawAmqp.open(port);
    c.write(PROTOCOL_HEADER);
    await c.method('connection.start');
    c.send(0, 'connection.start-ok', {
      clientProperties: { capabilities: { 'connection.blocked': true, consumer_cancel_notify: true } },
      mechanism: 'PLAIN',
      response: Buffer.from('\0guest\0guest'),
      locale: 'en_US',
    });
    const t = await c.method('connection.tune');
    c.send(0, 'connection.tune-ok', {
      channelMax: tune.channelMax ?? (t.args as { channelMax: number }).channelMax,
      frameMax: tune.frameMax ?? (t.args as { frameMax: number }).frameMax,
      heartbeat: tune.heartbeat ?? 0,
    });
    c.send(0, 'connection.open', { virtualHost: '/' });
    await c.method('connection.open-ok');
    return c;
  }

  write(b: Buffer): void {
    this.socket.write(b);
  }

  send(channel: number, method: string, args: Record<string, unknown> = {}): void {
    this.write(encodeMethodFrame(channel, method as never, args as never));
  }

  /** resolves when the socket is closed by the server */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  /** the next method frame with this name; frames before it are skipped */
  async method(name: string): Promise<DecodedMethod> {
    for (;;) {
      while (this.frames.length) {
        const f = this.frames.shift()!;
        if (f.type !== FRAME_METHOD) continue;
        const m = decodeMethod(f.payload);
        if (m.name === name) return m;
      }
      if (this.closed) throw new Error(`socket closed before ${name}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** wait until a frame of this type has arrived (it stays in `frames`) */
  async seen(type: number): Promise<void> {
    for (;;) {
      if (this.frames.some((f) => f.type === type)) return;
      if (this.closed) throw new Error(`socket closed before a frame of type ${type}`);
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  /** wait until `n` bytes arrived in total */
  async received(n: number): Promise<Buffer> {
    for (;;) {
      const all = Buffer.concat(this.bytes);
      if (all.length >= n || this.closed) return all;
      await new Promise<void>((r) => this.waiters.push(r));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const r of w) r();
  }
}
