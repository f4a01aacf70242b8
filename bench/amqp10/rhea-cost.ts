/**
 * What does rhea's producer cost per message, and does anything a broker does change it?
 * rhea (in this process) sends `count` messages of `size` bytes the way bench/amqp10-e2e.ts
 * sends them (as many as sendable() allows per 'sendable' event, as rhea's own examples do)
 * to a null AMQP 1.0 peer in a child process that only grants credit, counts transfers and
 * (unsettled) settles them. This process's CPU time per message is rhea's own cost, the peer's
 * behaviour the only variable:
 *   credit:      rabbit = 170, topped up once down to half (RabbitMQ 4, LocalMQ's RabbitMQ profile);
 *                activemq = 1000, +700 once at 30% (ActiveMQ 5.19, LocalMQ's ActiveMQ profile);
 *                huge = 10^9 at once
 *   idle:        the idle-time-out the peer announces (ms; 0 = none). rhea re-arms a timer for
 *                every frame it writes when there is one
 *   disposition: (unsettled) `range` = one disposition per read of the socket (what LocalMQ
 *                does), `each` = one per message
 *   window:      the session incoming-window the peer announces (refreshed at half)
 *
 *   npx tsx bench/amqp10/rhea-cost.ts [--count 100000] [--size 1024] [--rounds 3]
 */
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import rhea, { type EventContext } from 'rhea';
import type { Composite } from '../../src/protocols/amqp10/codec/composites.js';
import { Encoder } from '../../src/protocols/amqp10/codec/encoder.js';
import { FRAME_AMQP, FRAME_SASL, FrameReader, HEADER_AMQP, HEADER_SASL, decodeFrameBody, writeFrame } from '../../src/protocols/amqp10/codec/frames.js';
import { uint } from '../../src/protocols/amqp10/codec/types.js';

interface Variant {
  name: string;
  settled: boolean;
  credit: 'rabbit' | 'activemq' | 'huge';
  idle: number;
  disposition: 'range' | 'each';
  window: number;
}

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

// ---- the null peer (child process) ---------------------------------------------------

function peer(v: Variant, count: number): void {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    const enc = new Encoder(64 * 1024);
    const out: Buffer[] = [];
    const send = (channel: number, p: Composite, type = FRAME_AMQP) => {
      enc.reset();
      writeFrame(enc, type, channel, p);
      out.push(enc.take());
    };
    let received = 0;
    let credit = 0;
    let deliveryCount = 0;
    let windowUsed = 0;
    let nextIncomingId = 0;
    let settleFrom = -1;
    let settleTo = -1;
    const grant = (n: number) => {
      credit += n;
      send(0, { $: 'flow', nextIncomingId: uint(nextIncomingId), incomingWindow: uint(v.window - windowUsed), nextOutgoingId: uint(0), outgoingWindow: uint(0x7fffffff), handle: uint(0), deliveryCount: uint(deliveryCount), linkCredit: uint(credit) });
    };
    const topUp = () => {
      if (received >= count) return;
      if (v.credit === 'rabbit' && credit <= 85) grant(170 - credit);
      else if (v.credit === 'activemq' && credit <= 300) grant(700);
      else if (windowUsed >= v.window / 2) {
        windowUsed = 0;
        send(0, { $: 'flow', nextIncomingId: uint(nextIncomingId), incomingWindow: uint(v.window), nextOutgoingId: uint(0), outgoingWindow: uint(0x7fffffff) });
      }
    };
    const reader = new FrameReader(
      {
        header: (h) => {
          if (h[4] === 3) {
            socket.write(HEADER_SASL);
            send(0, { $: 'sasl-mechanisms', saslServerMechanisms: ['PLAIN', 'ANONYMOUS'] }, FRAME_SASL);
          } else socket.write(HEADER_AMQP);
        },
        frame: (type, channel, body) => {
          if (body.length === 0) return;
          if (type === FRAME_SASL) {
            send(0, { $: 'sasl-outcome', code: 0 } as unknown as Composite, FRAME_SASL);
            reader.frameType = FRAME_AMQP;
            reader.expectHeader = true;
            return;
          }
          if (body[2] === 0x14) {
            // a transfer: count it, settle it (unsettled), keep credit and window going
            received++;
            nextIncomingId++;
            windowUsed++;
            credit--;
            deliveryCount++;
            if (!v.settled) {
              const id = decodeFrameBody(body).performative['deliveryId'] as number;
              if (v.disposition === 'each') send(channel, { $: 'disposition', role: true, first: uint(id), settled: true, state: { $: 'accepted' } } as Composite);
              else {
                if (settleFrom < 0) settleFrom = id;
                settleTo = id;
              }
            }
            if (received === count) {
              flushSettle(channel);
              send(0, { $: 'close' });
            } else topUp();
            return;
          }
          const p = decodeFrameBody(body).performative;
          if (p.$ === 'open') send(0, { $: 'open', containerId: 'null-peer', maxFrameSize: uint(131072), channelMax: uint(0), ...(v.idle ? { idleTimeOut: uint(v.idle) } : {}) } as Composite);
          else if (p.$ === 'begin') send(channel, { $: 'begin', remoteChannel: channel, nextOutgoingId: uint(0), incomingWindow: uint(v.window), outgoingWindow: uint(0x7fffffff), handleMax: uint(0xffffffff) } as Composite);
          else if (p.$ === 'attach') {
            send(channel, { $: 'attach', name: p['name'], handle: uint(0), role: true, sndSettleMode: p['sndSettleMode'], rcvSettleMode: 0, source: p['source'], target: p['target'] } as unknown as Composite);
            grant(v.credit === 'rabbit' ? 170 : v.credit === 'activemq' ? 1000 : 1e9);
          } else if (p.$ === 'close') socket.end();
        },
      },
      1 << 20,
    );
    reader.frameType = FRAME_SASL;
    const flushSettle = (channel: number) => {
      if (settleFrom < 0) return;
      send(channel, { $: 'disposition', role: true, first: uint(settleFrom), last: uint(settleTo), settled: true, state: { $: 'accepted' } } as Composite);
      settleFrom = -1;
    };
    socket.on('data', (d) => {
      reader.push(d);
      flushSettle(0);
      if (out.length) socket.write(out.length === 1 ? out[0]! : Buffer.concat(out));
      out.length = 0;
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as net.AddressInfo).port }));
}

// ---- rhea, measured ------------------------------------------------------------------

async function measure(v: Variant, count: number, size: number): Promise<number> {
  const child = fork(fileURLToPath(import.meta.url), ['--peer', JSON.stringify(v), String(count)], { execArgv: ['--import', 'tsx'] });
  const port = await new Promise<number>((r) => child.once('message', (m: { port: number }) => r(m.port)));
  const conn = rhea.create_container().connect({ host: '127.0.0.1', port, username: 'guest', password: 'guest', reconnect: false });
  const body = rhea.message.data_section(Buffer.alloc(size, 0x61));
  const sender = conn.open_sender({ target: { address: '/queue/x' }, snd_settle_mode: v.settled ? 1 : 0 } as never);
  let sent = 0;
  let cpu0: NodeJS.CpuUsage | undefined;
  const closed = new Promise<void>((r) => conn.once('connection_close', () => r()));
  sender.on('sendable', () => {
    cpu0 ??= process.cpuUsage();
    while (sent < count && sender.sendable()) {
      sender.send({ body });
      sent++;
    }
  });
  conn.on('disconnected', (ctx: EventContext) => ctx.error && console.error(ctx.error));
  await closed;
  const used = process.cpuUsage(cpu0);
  child.kill();
  return (used.user + used.system) / count;
}

async function main(): Promise<void> {
  const count = flag('--count', 100_000);
  const size = flag('--size', 1024);
  const rounds = flag('--rounds', 3);
  const base = { credit: 'rabbit', idle: 30_000, disposition: 'range', window: 65536 } as const;
  const variants: Variant[] = [
    { name: 'settled   as LocalMQ/RabbitMQ 4 (credit 170, idle 30 s)', settled: true, ...base },
    { name: 'settled   no idle-time-out', settled: true, ...base, idle: 0 },
    { name: 'settled   credit 1000 +700 (ActiveMQ)', settled: true, ...base, credit: 'activemq' },
    { name: 'settled   credit 10^9 at once', settled: true, ...base, credit: 'huge' },
    { name: 'settled   session window 2^31', settled: true, ...base, window: 0x7fffffff },
    { name: 'unsettled as LocalMQ (credit 170, idle 30 s, ranges)', settled: false, ...base },
    { name: 'unsettled a disposition per message', settled: false, ...base, disposition: 'each' },
    { name: 'unsettled credit 10^9, no idle-time-out', settled: false, ...base, credit: 'huge', idle: 0 },
  ];
  console.log(`# rhea producer CPU per message (us), ${count} x ${size} B to a null peer, ${rounds} rounds alternating`);
  const results = new Map<string, number[]>();
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 ? [...variants].reverse() : variants;
    for (const v of order) results.set(v.name, [...(results.get(v.name) ?? []), await measure(v, count, size)]);
  }
  for (const v of variants) {
    const xs = [...results.get(v.name)!].sort((a, b) => a - b);
    console.log(`  ${v.name.padEnd(56)} median ${xs[Math.floor(xs.length / 2)]!.toFixed(1)} [${xs[0]!.toFixed(1)}-${xs[xs.length - 1]!.toFixed(1)}]`);
  }
  process.exit(0);
}

const peerArg = process.argv.indexOf('--peer');
if (peerArg > 0) peer(JSON.parse(process.argv[peerArg + 1]!) as Variant, Number(process.argv[peerArg + 2]));
else void main();
