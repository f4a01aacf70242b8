import net from 'node:net';
import { Encoder } from '../../src/protocols/amqp10/codec/encoder.js';
import { FRAME_AMQP, FRAME_SASL, FrameReader, HEADER_AMQP, HEADER_SASL, decodeFrameBody, writeFrame } from '../../src/protocols/amqp10/codec/frames.js';
import type { Composite } from '../../src/protocols/amqp10/codec/composites.js';
import { encodeMessage } from '../../src/protocols/amqp10/codec/message.js';
import { uint } from '../../src/protocols/amqp10/codec/types.js';

/**
 * A minimal AMQP 1.0 load generator for bench/amqp10-e2e.ts (`--client raw`): one link per
 * connection, written against the spec with LocalMQ's own codec, doing only what a
 * throughput run needs, so that the broker, not the client library, is what is measured.
 * The producer writes pre-encoded transfer frames (only delivery-id and tag patched) in
 * batches as credit and the session window allow; the consumer grants credit in bulk,
 * counts transfer frames without decoding them, and settles unsettled deliveries with one
 * disposition range per batch. Works against any AMQP 1.0 broker (RabbitMQ's plugin too).
 */
export interface LoadOptions {
  url: string;
  address: string;
  settled: boolean;
  count: number;
  size: number;
}

const CREDIT = 10_000;
const WINDOW = 0x7fffffff;

class RawConnection {
  readonly socket: net.Socket;
  private readonly reader: FrameReader;
  private readonly enc = new Encoder(64 * 1024);
  onFrame: (channel: number, body: Buffer) => void = () => undefined;
  private opened!: () => void;
  readonly open: Promise<void>;
  private saslDone = false;

  constructor(private readonly o: LoadOptions) {
    const u = new URL(o.url);
    this.open = new Promise((r) => (this.opened = r));
    this.socket = net.connect(Number(u.port || 5672), u.hostname);
    this.socket.setNoDelay(true);
    this.reader = new FrameReader({ header: () => undefined, frame: (type, ch, body) => this.frame(type, ch, body) }, 1 << 30);
    this.reader.frameType = FRAME_SASL;
    this.socket.on('data', (d) => this.reader.push(d));
    this.socket.on('error', (e) => {
      console.error(`load client: ${e.message}`);
      process.exit(1);
    });
    this.socket.write(HEADER_SASL);
  }

  private frame(type: number, channel: number, body: Buffer): void {
    if (body.length === 0) return;
    if (type === FRAME_SASL) {
      const p = decodeFrameBody(body).performative;
      if (p.$ === 'sasl-mechanisms') {
        const u = new URL(this.o.url);
        const user = decodeURIComponent(u.username || 'guest');
        const pass = decodeURIComponent(u.password || 'guest');
        this.send(0, { $: 'sasl-init', mechanism: 'PLAIN', initialResponse: Buffer.from(`\0${user}\0${pass}`) }, FRAME_SASL);
      } else if (p.$ === 'sasl-outcome') {
        if (p['code'] !== 0) throw new Error('SASL refused');
        this.saslDone = true;
        this.reader.frameType = FRAME_AMQP;
        this.reader.expectHeader = true;
        this.socket.write(HEADER_AMQP);
        this.send(0, { $: 'open', containerId: `load-${process.pid}`, hostname: new URL(this.o.url).hostname, maxFrameSize: uint(1 << 20), channelMax: uint(0) });
        this.send(0, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(WINDOW), outgoingWindow: uint(WINDOW) });
      }
      return;
    }
    if (!this.saslDone) return;
    if (body[0] === 0x00 && body[1] === 0x53 && body[2] === 0x10) {
      this.opened();
      return;
    }
    this.onFrame(channel, body);
  }

  send(channel: number, p: Composite, type = FRAME_AMQP): void {
    this.enc.reset();
    writeFrame(this.enc, type, channel, p);
    this.socket.write(this.enc.take());
  }

  close(): void {
    this.send(0, { $: 'close' });
    this.socket.end();
  }
}

/** the performative code of a frame body (0x14 transfer, 0x13 flow, 0x15 disposition…) */
const codeOf = (body: Buffer): number => (body[0] === 0x00 && body[1] === 0x53 ? body[2]! : -1);

/** receive `count` messages; `ready` once attached, `done` at the last */
export async function loadConsumer(o: LoadOptions, ready: () => void, done: () => void): Promise<void> {
  const c = new RawConnection(o);
  await c.open;
  let received = 0;
  let granted = 0;
  let unsettledFrom = -1;
  let nextIncomingId = 0;
  const flow = () => {
    granted = received + CREDIT;
    c.send(0, {
      $: 'flow',
      nextIncomingId: uint(nextIncomingId),
      incomingWindow: uint(WINDOW),
      nextOutgoingId: uint(0),
      outgoingWindow: uint(WINDOW),
      handle: uint(0),
      deliveryCount: uint(received),
      linkCredit: uint(CREDIT),
    });
  };
  let firstId = -1;
  c.onFrame = (_ch, body) => {
    const code = codeOf(body);
    if (code === 0x14) {
      // a whole message per transfer (the bench's messages fit in one frame)
      if (firstId < 0) firstId = decodeFrameBody(body).performative['deliveryId'] as number;
      nextIncomingId++;
      received++;
      if (!o.settled && unsettledFrom < 0) unsettledFrom = received - 1;
      if (received === o.count) {
        settle();
        done();
        c.close();
        return;
      }
      if (granted - received < CREDIT / 2) {
        settle();
        flow();
      }
      return;
    }
    const p = decodeFrameBody(body).performative;
    if (p.$ === 'begin') nextIncomingId = p['nextOutgoingId'] as number;
    else if (p.$ === 'attach') {
      flow();
      ready();
    } else if (p.$ === 'detach' || p.$ === 'end' || (p.$ === 'close' && p['error'])) throw new Error(`consumer: ${JSON.stringify(p)}`);
  };
  // unsettled: accept what came since the last disposition, as one range
  const settle = () => {
    if (o.settled || unsettledFrom < 0) return;
    const first = (firstId + unsettledFrom) >>> 0;
    const last = (firstId + received - 1) >>> 0;
    c.send(0, { $: 'disposition', role: true, first: uint(first), last: uint(last), settled: true, state: { $: 'accepted' } });
    unsettledFrom = -1;
  };
  c.send(0, {
    $: 'attach',
    name: `load-rx-${process.pid}`,
    handle: uint(0),
    role: true,
    sndSettleMode: o.settled ? 1 : 0,
    rcvSettleMode: 0,
    source: { $: 'source', address: o.address },
    target: { $: 'target' },
  } as Composite);
}

/** send `count` messages of `size` bytes; `start` when the first credit arrives; resolves when all are sent (and, unsettled, accepted) */
export async function loadProducer(o: LoadOptions, start: () => void): Promise<void> {
  const c = new RawConnection(o);
  await c.open;
  // the transfer frame, written once: handle 0, delivery-id and tag patched per message
  const message = encodeMessage({ body: { kind: 'data', chunks: [Buffer.alloc(o.size, 0x61)] } });
  const perf = Buffer.from([
    0x00, 0x53, 0x14, 0xd0, 0, 0, 0, 0, 0, 0, 0, 5,
    0x70, 0, 0, 0, 0, // handle
    0x70, 0, 0, 0, 0, // delivery-id (patched)
    0xa0, 4, 0, 0, 0, 0, // delivery-tag (patched)
    0x43, // message-format 0
    o.settled ? 0x41 : 0x42, // settled
  ]);
  perf.writeUInt32BE(perf.length - 8, 4);
  const frameLen = 8 + perf.length + message.length;
  const template = Buffer.alloc(frameLen);
  template.writeUInt32BE(frameLen, 0);
  template[4] = 2;
  perf.copy(template, 8);
  message.copy(template, 8 + perf.length);
  const idAt = 8 + 18;
  const tagAt = 8 + 24;

  let credit = 0;
  let deliveryCount = 0;
  let sent = 0;
  let accepted = 0;
  let remoteWindow = 0;
  let nextOutgoingId = 0;
  let started = false;
  let writing = false;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const pump = () => {
    if (writing) return;
    while (sent < o.count && credit > 0 && remoteWindow > 0) {
      const n = Math.min(credit, remoteWindow, o.count - sent, 256);
      const batch = Buffer.allocUnsafe(n * frameLen);
      for (let i = 0; i < n; i++) {
        const at = i * frameLen;
        template.copy(batch, at);
        batch.writeUInt32BE(nextOutgoingId + i, at + idAt);
        batch.writeUInt32BE(sent + i, at + tagAt);
      }
      sent += n;
      credit -= n;
      deliveryCount += n;
      remoteWindow -= n;
      nextOutgoingId += n;
      if (!c.socket.write(batch)) {
        writing = true;
        c.socket.once('drain', () => {
          writing = false;
          pump();
        });
        break;
      }
    }
    if (o.settled && sent === o.count) finished();
  };
  c.onFrame = (_ch, body) => {
    const p = decodeFrameBody(body).performative;
    if (p.$ === 'flow') {
      const theirNextIncoming = (p['nextIncomingId'] as number | undefined) ?? 0;
      remoteWindow = theirNextIncoming + (p['incomingWindow'] as number) - nextOutgoingId;
      if (p['handle'] !== undefined && p['linkCredit'] !== undefined) credit = ((p['deliveryCount'] as number) ?? 0) + (p['linkCredit'] as number) - deliveryCount;
      if (!started && credit > 0) {
        started = true;
        start();
      }
      pump();
    } else if (p.$ === 'begin') {
      remoteWindow = p['incomingWindow'] as number;
    } else if (p.$ === 'disposition') {
      const first = p['first'] as number;
      const last = (p['last'] as number | undefined) ?? first;
      accepted += last - first + 1;
      if (accepted >= o.count) finished();
    } else if (p.$ === 'detach' || p.$ === 'end' || (p.$ === 'close' && p['error'])) throw new Error(`producer: ${JSON.stringify(p)}`);
  };
  c.send(0, {
    $: 'attach',
    name: `load-tx-${process.pid}`,
    handle: uint(0),
    role: false,
    sndSettleMode: o.settled ? 1 : 0,
    rcvSettleMode: 0,
    source: { $: 'source' },
    target: { $: 'target', address: o.address },
    initialDeliveryCount: uint(0),
  } as Composite);
  await all;
  c.close();
}

