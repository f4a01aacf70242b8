/**
 * A bare MQTT 3.1.1 / 5.0 client for bench/mqtt-e2e.ts --split --raw: a TCP socket writing
 * pre-encoded packets in batches and reading only the fixed headers it needs (CONNACK,
 * SUBACK, PUBLISH, PUBACK). It costs a small fraction of what mqtt.js does per message, so
 * that with it the broker, not the client, sets the rate: mqtt.js's own MQTT 5 publisher
 * costs 13-20% more CPU per message than its 3.1.1 one (issue 16, session 10) and hides
 * what the broker's MQTT 5 costs. Packets it writes: CONNECT (clean, keep-alive 0, no
 * properties), SUBSCRIBE (one filter), PUBLISH (no properties), PUBACK, DISCONNECT.
 */
import { connect, type Socket } from 'node:net';
import { nowNs } from './e2e-results.js';

const CONNACK = 2;
const PUBLISH = 3;
const PUBACK = 4;
const SUBACK = 9;
const DISCONNECT = 14;

/** PUBLISHes encoded and written in one go while the window allows */
const BATCH = 256;

function varLength(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([Buffer.from([b.length >> 8, b.length & 0xff]), b]);
}

function packet(first: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([first, ...varLength(body.length)]), body]);
}

/** A connected bare client; `failed` rejects on an error, a DISCONNECT or an unexpected close. */
export class RawMqttClient {
  readonly failed: Promise<never>;
  private fail!: (err: Error) => void;
  private pending = Buffer.alloc(0);
  private closing = false;
  private waitingFor: { type: number; resolve: (body: Buffer) => void } | undefined;
  /** PUBLISHes received, and who waits for the n-th */
  private received = 0;
  private expect = 0;
  private onAllReceived: ((at: bigint) => void) | undefined;
  /** PUBACKs received by the publishing side, and who waits for the window to open */
  private acked = 0;
  private onAck: (() => void) | undefined;

  private constructor(
    private readonly socket: Socket,
    readonly version: 4 | 5,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.read(chunk));
    socket.on('error', (err) => this.fail(new Error(`raw MQTT client: ${err.message}`)));
    socket.on('close', () => {
      if (!this.closing) this.fail(new Error('raw MQTT client: connection closed unexpectedly'));
    });
  }

  /** CONNECT (clean session / clean start, keep-alive 0) and its CONNACK; a refusal rejects */
  static async open(url: string, clientId: string, version: 4 | 5): Promise<RawMqttClient> {
    const u = new URL(url);
    const socket = connect({ host: u.hostname, port: Number(u.port || 1883) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const c = new RawMqttClient(socket, version);
    const user = u.username ? decodeURIComponent(u.username) : undefined;
    const pass = u.password ? decodeURIComponent(u.password) : undefined;
    const flags = 0x02 | (user !== undefined ? 0x80 : 0) | (pass !== undefined ? 0x40 : 0);
    const parts = [str('MQTT'), Buffer.from([version, flags, 0, 0]), ...(version === 5 ? [Buffer.from([0])] : []), str(clientId)];
    if (user !== undefined) parts.push(str(user));
    if (pass !== undefined) parts.push(str(pass));
    const connack = c.await(CONNACK);
    socket.write(packet(0x10, Buffer.concat(parts)));
    const body = await Promise.race([connack, c.failed]);
    if (body[1] !== 0) throw new Error(`CONNACK refused: code 0x${body[1]!.toString(16)}`);
    return c;
  }

  /** one SUBSCRIBE of one filter; resolves with the granted QoS (or the failure code) */
  async subscribe(filter: string, qos: 0 | 1): Promise<number> {
    const suback = this.await(SUBACK);
    this.socket.write(packet(0x82, Buffer.concat([Buffer.from([0, 1]), ...(this.version === 5 ? [Buffer.from([0])] : []), str(filter), Buffer.from([qos])])));
    const body = await Promise.race([suback, this.failed]);
    return body[body.length - 1]!;
  }

  /** resolves with the time the `n`-th PUBLISH (from now) arrived */
  countPublishes(n: number): Promise<bigint> {
    this.received = 0;
    this.expect = n;
    return new Promise<bigint>((resolve) => (this.onAllReceived = resolve));
  }

  /**
   * `count` PUBLISHes of `body` on `topic`, at most `window` unacknowledged (QoS 1) or
   * written in batches as the socket drains (QoS 0). Resolves with the time the last was written.
   */
  async publish(p: { topic: string; count: number; body: Buffer; qos: 0 | 1; window: number }, failures: Promise<never>[]): Promise<bigint> {
    const topic = str(p.topic);
    const one = packet(0x30 | (p.qos << 1), Buffer.concat([topic, ...(p.qos > 0 ? [Buffer.from([0, 0])] : []), ...(this.version === 5 ? [Buffer.from([0])] : []), p.body]));
    // where the packet id sits in `one`
    const idAt = one.length - p.body.length - (this.version === 5 ? 1 : 0) - 2;
    const waits = [this.failed, ...failures];
    this.acked = 0;
    let sent = 0;
    let nextId = 1;
    while (sent < p.count) {
      let n = Math.min(BATCH, p.count - sent);
      if (p.qos > 0) {
        while (sent - this.acked >= p.window) await Promise.race([new Promise<void>((resolve) => (this.onAck = resolve)), ...waits]);
        n = Math.min(n, p.window - (sent - this.acked));
      }
      const batch = Buffer.allocUnsafe(one.length * n);
      for (let i = 0; i < n; i++) {
        const at = i * one.length;
        one.copy(batch, at);
        if (p.qos > 0) {
          batch[at + idAt] = nextId >> 8;
          batch[at + idAt + 1] = nextId & 0xff;
          nextId = nextId === 0xffff ? 1 : nextId + 1;
        }
      }
      sent += n;
      if (!this.socket.write(batch)) await Promise.race([new Promise<void>((resolve) => this.socket.once('drain', resolve)), ...waits]);
    }
    return nowNs();
  }

  /** DISCONNECT and close */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      this.socket.end(Buffer.from([DISCONNECT << 4, 0]));
    });
  }

  private await(type: number): Promise<Buffer> {
    return new Promise<Buffer>((resolve) => (this.waitingFor = { type, resolve }));
  }

  /** whole packets out of the stream; the PUBACKs a chunk's QoS 1 PUBLISHes need go in one write */
  private read(chunk: Buffer): void {
    const buf = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    let at = 0;
    let acks: Buffer | undefined;
    let ackAt = 0;
    let acked = 0;
    for (;;) {
      if (at + 2 > buf.length) break;
      let len = 0;
      let mul = 1;
      let h = at + 1;
      let complete = false;
      while (h < buf.length) {
        const b = buf[h++]!;
        len += (b & 0x7f) * mul;
        mul *= 128;
        if ((b & 0x80) === 0) {
          complete = true;
          break;
        }
      }
      if (!complete || h + len > buf.length) break;
      const type = buf[at]! >> 4;
      if (type === PUBLISH) {
        const qos = (buf[at]! >> 1) & 3;
        if (qos > 0) {
          const idAt = h + 2 + ((buf[h]! << 8) | buf[h + 1]!);
          acks ??= Buffer.allocUnsafe(4 * Math.ceil(buf.length / 4));
          acks[ackAt++] = PUBACK << 4;
          acks[ackAt++] = 2;
          acks[ackAt++] = buf[idAt]!;
          acks[ackAt++] = buf[idAt + 1]!;
        }
        if (++this.received === this.expect) this.onAllReceived?.(nowNs());
      } else if (type === PUBACK) {
        acked++;
      } else if (type === DISCONNECT) {
        this.fail(new Error(`raw MQTT client: DISCONNECT from the broker, reason 0x${(len > 0 ? buf[h]! : 0).toString(16)}`));
      } else if (this.waitingFor?.type === type) {
        const w = this.waitingFor;
        this.waitingFor = undefined;
        w.resolve(buf.subarray(h, h + len));
      }
      at = h + len;
    }
    this.pending = at < buf.length ? Buffer.from(buf.subarray(at)) : Buffer.alloc(0);
    if (acks) this.socket.write(acks.subarray(0, ackAt));
    if (acked > 0) {
      this.acked += acked;
      const open = this.onAck;
      this.onAck = undefined;
      open?.();
    }
  }
}
