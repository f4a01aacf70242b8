import net from 'node:net';
import { EMPTY_PROPERTY_BLOCK, FrameParser, decodeMethod, encodeContentFrames, encodeMethodFrame, type Frame } from '../../src/protocols/amqp/codec/index.js';
import type { LoadOptions } from './amqp10-load.js';

/**
 * The AMQP 0-9-1 twin of bench/lib/amqp10-load.ts (`--client raw091` in bench/amqp10-e2e.ts):
 * a minimal client written on LocalMQ's own 0-9-1 codec that does what the AMQP 1.0 load
 * generator does, the same way, so that the broker's CPU per message for the two protocols is
 * compared with equally cheap clients:
 * - the producer writes pre-encoded basic.publish + header + body frames (no properties: the
 *   AMQP 1.0 generator sends a data section alone), 256 messages per socket write at most;
 *   unsettled, on a confirm channel with at most CREDIT unconfirmed (the AMQP 1.0 generator is
 *   held by the broker's link credit), counting basic.ack (multiple) frames;
 * - the consumer (prefetch CREDIT, as the AMQP 1.0 generator's link credit) counts basic.deliver
 *   frames without decoding them and, unsettled, acks with one basic.ack multiple=true every
 *   CREDIT / 2 messages, as the AMQP 1.0 generator settles one disposition range per credit refill.
 * The queue is the one `/queue/name` declares over AMQP 1.0 (non-durable), messages transient.
 */
const CREDIT = 10_000;
const FRAME_MAX = 131072;
const CH = 1;

function queueOf(address: string): string {
  return address.replace(/^\/queue\//, '');
}

class RawConnection {
  readonly socket: net.Socket;
  private readonly parser: FrameParser;
  /** frames after the channel is open */
  onFrame: (f: Frame) => void = () => undefined;
  readonly open: Promise<void>;

  constructor(
    private readonly o: LoadOptions,
    setup: (c: RawConnection) => Buffer[],
  ) {
    const u = new URL(o.url);
    let opened!: () => void;
    this.open = new Promise((r) => (opened = r));
    // the handshake, then the set-up methods one at a time, each waiting for its -ok
    let steps: Buffer[] = [];
    this.parser = new FrameParser({
      expectProtocolHeader: false,
      frameMax: 0,
      onFrame: (f) => {
        if (f.type !== 1 || steps === undefined) return this.onFrame(f);
        const m = decodeMethod(f.payload);
        switch (m.name) {
          case 'connection.start':
            return this.write(
              encodeMethodFrame(0, 'connection.start-ok', {
                clientProperties: { product: 'localmq-bench' },
                mechanism: 'PLAIN',
                response: Buffer.from(`\0${decodeURIComponent(u.username || 'guest')}\0${decodeURIComponent(u.password || 'guest')}`).toString('latin1'),
                locale: 'en_US',
              }),
            );
          case 'connection.tune':
            this.write(encodeMethodFrame(0, 'connection.tune-ok', { channelMax: 0, frameMax: FRAME_MAX, heartbeat: 0 }));
            return this.write(encodeMethodFrame(0, 'connection.open', { virtualHost: '/' }));
          case 'connection.open-ok':
            return this.write(encodeMethodFrame(CH, 'channel.open', {}));
          case 'channel.open-ok':
            steps = setup(this);
            break;
          case 'connection.close':
          case 'channel.close':
            throw new Error(`raw091: ${m.name} ${JSON.stringify(m.args)}`);
          default:
            if (f.channel === 0) return;
        }
        // the next set-up method, or open
        const next = steps.shift();
        if (next) this.write(next);
        else {
          steps = undefined as unknown as Buffer[];
          opened();
        }
      },
    });
    this.socket = net.connect(Number(u.port || 5672), u.hostname);
    this.socket.setNoDelay(true);
    this.socket.on('data', (d) => this.parser.push(d));
    this.socket.on('error', (e) => {
      console.error(`raw091 client: ${e.message}`);
      process.exit(1);
    });
    this.socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
  }

  write(b: Buffer): boolean {
    return this.socket.write(b);
  }
}

/** basic.deliver / basic.ack method frames, told from their class and method ids */
const isMethod = (f: Frame, classId: number, methodId: number): boolean =>
  f.type === 1 && f.payload.readUInt16BE(0) === classId && f.payload.readUInt16BE(2) === methodId;

/** receive `count` messages; `ready` once consuming, `done` at the last */
export async function raw091Consumer(o: LoadOptions, ready: () => void, done: () => void): Promise<void> {
  const queue = queueOf(o.address);
  const c = new RawConnection(o, () => [
    encodeMethodFrame(CH, 'queue.declare', { queue, durable: false }),
    encodeMethodFrame(CH, 'basic.qos', { prefetchCount: o.settled ? 0 : CREDIT }),
    encodeMethodFrame(CH, 'basic.consume', { queue, consumerTag: 'raw', noAck: o.settled }),
  ]);
  let received = 0;
  let acked = 0;
  const ack = () => {
    if (o.settled || acked === received) return;
    c.write(encodeMethodFrame(CH, 'basic.ack', { deliveryTag: received, multiple: true }));
    acked = received;
  };
  c.onFrame = (f) => {
    if (!isMethod(f, 60, 60)) return;
    received++;
    if (received === o.count) {
      ack();
      done();
      c.socket.end();
    } else if (received - acked >= CREDIT / 2) ack();
  };
  await c.open;
  ready();
}

/** send `count` messages of `size` bytes; `start` once the channel is ready; resolves when all are sent (and, unsettled, confirmed) */
export async function raw091Producer(o: LoadOptions, start: () => void): Promise<void> {
  const queue = queueOf(o.address);
  const c = new RawConnection(o, () => [encodeMethodFrame(CH, 'queue.declare', { queue, durable: false }), ...(o.settled ? [] : [encodeMethodFrame(CH, 'confirm.select', {})])]);
  const template = encodeContentFrames(CH, 'basic.publish', { exchange: '', routingKey: queue }, EMPTY_PROPERTY_BLOCK, Buffer.alloc(o.size, 0x61), FRAME_MAX);
  const perWrite = 256;
  const batch = Buffer.allocUnsafe(perWrite * template.length);
  for (let i = 0; i < perWrite; i++) template.copy(batch, i * template.length);
  let sent = 0;
  let confirmed = 0;
  let writing = false;
  let finished!: () => void;
  const all = new Promise<void>((r) => (finished = r));
  const pump = () => {
    if (writing) return;
    while (sent < o.count) {
      const room = o.settled ? perWrite : Math.min(perWrite, CREDIT - (sent - confirmed));
      if (room <= 0) return;
      const n = Math.min(room, o.count - sent);
      sent += n;
      // a copy per write: the socket may still hold the previous one
      if (!c.write(Buffer.from(batch.subarray(0, n * template.length)))) {
        writing = true;
        c.socket.once('drain', () => {
          writing = false;
          pump();
        });
        return;
      }
    }
    if (o.settled) finished();
  };
  c.onFrame = (f) => {
    if (!isMethod(f, 60, 80)) return;
    const m = decodeMethod(f.payload) as unknown as { args: { deliveryTag: number; multiple: boolean } };
    confirmed = m.args.multiple ? Number(m.args.deliveryTag) : confirmed + 1;
    if (confirmed >= o.count) finished();
    else pump();
  };
  await c.open;
  start();
  pump();
  await all;
}
