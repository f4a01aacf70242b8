import { connect as netConnect, type Socket } from 'node:net';
import { Encoder, FRAME_AMQP, FrameReader, HEADER_AMQP, decodeFrameBody, writeFrame, type Composite } from '../../src/protocols/amqp10/codec/index.js';

export type Got = { header: Buffer } | { empty: true; channel: number } | { channel: number; performative: Composite; payload: Buffer };

/** a client that writes AMQP 1.0 bytes by hand (no SASL: the broker treats it as ANONYMOUS guest) */
export class RawClient {
  readonly got: Got[] = [];
  private waiters: (() => void)[] = [];
  ended = false;
  private constructor(readonly socket: Socket) {
    const reader = new FrameReader(
      {
        header: (h) => this.push({ header: Buffer.from(h) }),
        frame: (_t, channel, body) => {
          let got: Got;
          if (body.length === 0) got = { empty: true, channel };
          else {
            const { performative, payload } = decodeFrameBody(body);
            got = { channel, performative, payload: Buffer.from(payload) };
          }
          // answer the broker's close, as a client does, so it hangs up at once
          if ('performative' in got && got.performative.$ === 'close') this.frame(0, { $: 'close' });
          this.push(got);
        },
      },
      1 << 30,
    );
    socket.on('data', (chunk) => reader.push(chunk));
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  static async open(p: number, open: Record<string, unknown> = {}): Promise<RawClient> {
    const socket = netConnect(p, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise((r) => socket.once('connect', r));
    const c = new RawClient(socket);
    socket.write(HEADER_AMQP);
    c.frame(0, { $: 'open', containerId: 'raw', ...open });
    await c.next((g) => 'performative' in g && g.performative.$ === 'open');
    return c;
  }

  private push(g: Got): void {
    this.got.push(g);
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  frame(channel: number, performative: Composite, payload?: Buffer): void {
    const e = new Encoder();
    writeFrame(e, FRAME_AMQP, channel, performative, payload);
    this.socket.write(e.take());
  }

  /** the first performative of a name received (now or later) after `from` frames, with its payload */
  async performative(name: string, from = 0): Promise<{ performative: Composite; payload: Buffer }> {
    const g = await this.next((x) => 'performative' in x && x.performative.$ === name && this.got.indexOf(x) >= from);
    return g as { performative: Composite; payload: Buffer };
  }

  /** the first frame received (now or later) that matches */
  next(match: (g: Got) => boolean): Promise<Got> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const g = this.got.find(match);
        if (g) resolve(g);
        else if (this.ended) reject(new Error(`connection ended; got ${JSON.stringify(this.got.map((x) => ('performative' in x ? x.performative.$ : 'header' in x ? 'header' : 'empty')))}`));
        else this.waiters.push(check);
      };
      check();
    });
  }

  closed(): Promise<void> {
    return new Promise((resolve) => (this.ended ? resolve() : this.socket.once('close', () => resolve())));
  }

  async error(performative: 'close' | 'end' | 'detach'): Promise<{ condition: string; description: string }> {
    const g = (await this.next((x) => 'performative' in x && x.performative.$ === performative)) as { performative: Composite };
    return g.performative['error'] as { condition: string; description: string };
  }
}

