/**
 * A sample of fuzz inputs through the real connection layer: an in-process broker on free
 * loopback ports, one socket per input, written chunk by chunk; half the inputs come after a
 * valid login (so they reach the session's state, not only the handshake). Afterwards each
 * protocol must still log a new client in, and no input may have made the broker log an
 * internal error (an exception outside the protocol's error path). Meanwhile a well-behaved
 * client on the same broker (bystander.ts) exchanges confirmed messages: none may be lost,
 * and its connections must stay up.
 */
import { connect, type Socket } from 'node:net';
import fc from 'fast-check';
import mqttPacket from 'mqtt-packet';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import { PROTOCOL_HEADER, encodeMethodFrame } from '../../src/protocols/amqp/codec/index.js';
import { Encoder, FRAME_AMQP, FRAME_SASL, HEADER_AMQP, HEADER_SASL, writeFrame, type Composite } from '../../src/protocols/amqp10/codec/index.js';
import { encodeFrame } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';
import { bystanderFor, type BystanderRow } from './bystander.js';
import type { FuzzTarget } from './harness.js';
import { chunksOf, corpusOf, fuzzInputs, type FuzzInput } from './mutate.js';
import { TARGETS } from './targets/index.js';

export interface SocketRow {
  protocol: string;
  inputs: number;
  closedByBroker: number;
  internalErrors: number;
  serving: boolean;
  /** the well-behaved client beside this protocol's inputs */
  bystander: BystanderRow;
}

function amqp10Frame(type: number, p: Composite): Buffer {
  const e = new Encoder(256);
  writeFrame(e, type, 0, p);
  return Buffer.from(e.buf.subarray(0, e.pos));
}

/** a valid login, pipelined: what a client sends before the fuzzed bytes */
const LOGIN: Record<string, Buffer> = {
  'amqp-0-9-1': Buffer.concat([
    PROTOCOL_HEADER,
    encodeMethodFrame(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' }),
    encodeMethodFrame(0, 'connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 0 }),
    encodeMethodFrame(0, 'connection.open', { virtualHost: '/' }),
    encodeMethodFrame(1, 'channel.open', {}),
  ]),
  stomp: Buffer.from('CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0'),
  mqtt: Buffer.from(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clientId: '', clean: true, keepalive: 0, username: 'guest', password: Buffer.from('guest') })),
  openwire: Buffer.concat([
    encodeFrame(brokerWireFormatInfo({ maxFrameSize: 1 << 20, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'fuzz' }), { version: 12, stackTraceEnabled: true }),
    encodeFrame({ type: T.ConnectionInfo, commandId: 1, responseRequired: true, connectionId: { type: T.ConnectionId, value: 'ID:fuzz' }, userName: 'guest', password: 'guest' }, { version: 12, stackTraceEnabled: true }),
  ]),
  'amqp-1.0': Buffer.concat([
    HEADER_SASL,
    amqp10Frame(FRAME_SASL, { $: 'sasl-init', mechanism: 'PLAIN', initialResponse: Buffer.from('\0guest\0guest') }),
    HEADER_AMQP,
    amqp10Frame(FRAME_AMQP, { $: 'open', containerId: 'fuzz' }),
  ]),
};

/** what each protocol's server answers a fresh, valid login with first */
const GREETING: Record<string, (b: Buffer) => boolean> = {
  'amqp-0-9-1': (b) => b.length >= 7 && b[0] === 1,
  stomp: (b) => b.toString('latin1').startsWith('CONNECTED'),
  mqtt: (b) => b[0] === 0x20,
  openwire: (b) => b.length > 5,
  'amqp-1.0': (b) => b.subarray(0, 8).equals(HEADER_SASL),
};

function portFor(protocol: string, all: LocalMQ, activemq: LocalMQ): number {
  const url = protocol === 'stomp' ? all.urls.stomp : protocol === 'mqtt' ? all.urls.mqtt : protocol === 'openwire' ? activemq.urls.openwire : all.urls.amqp;
  return Number(new URL(url!).port);
}

/**
 * Turns of the event loop a wait lasts beyond its time. The broker runs in this process: after
 * the process was starved (a loaded machine, higher-priority work), an expired timer runs
 * before the loop's poll phase has handed the broker the input waiting for it, so a timer alone
 * would call a broker that was never given the chance quiet (or not serving). Each turn has a
 * poll phase: a broker that does not answer in this many of them has had its chance.
 */
const TURNS = 20;

/** `then` after `ms` of time and TURNS more turns of the event loop; cancel() before stops it */
function after(ms: number, then: () => void): { cancel(): void } {
  let cancelled = false;
  let turns = 0;
  const turn = () => {
    if (cancelled) return;
    if (++turns >= TURNS) then();
    else setImmediate(turn);
  };
  const timer = setTimeout(turn, ms);
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}

/** write the input chunk by chunk; resolves true if the broker closed the socket, false if it went quiet and we closed it */
function feed(port: number, bytes: Iterable<Buffer>, quietMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = connect({ host: '127.0.0.1', port });
    let quiet: { cancel(): void } | undefined;
    let byUs = false;
    const idle = () => {
      quiet?.cancel();
      quiet = after(quietMs, () => {
        byUs = true;
        s.destroy();
      });
    };
    s.on('error', () => undefined);
    s.on('data', idle);
    s.on('close', () => {
      quiet?.cancel();
      resolve(!byUs);
    });
    s.on('connect', () => {
      for (const chunk of bytes) if (!s.destroyed) s.write(chunk);
      idle();
    });
  });
}

function greets(port: number, login: Buffer, ok: (b: Buffer) => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    let got = Buffer.alloc(0);
    const timer = after(5000, () => done(false));
    const done = (v: boolean) => {
      timer.cancel();
      s.destroy();
      resolve(v);
    };
    s.on('error', () => done(false));
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (ok(got)) done(true);
    });
    s.on('connect', () => s.write(login));
  });
}

export async function fuzzSockets(options: { inputsPerProtocol: number; seed: number; concurrency?: number; quietMs?: number }): Promise<{ rows: SocketRow[]; errors: string[] }> {
  const errors: string[] = [];
  const logger = createLogger('error', (line) => {
    const l = JSON.parse(line) as { msg: string; err?: unknown; error?: string };
    errors.push(`${l.msg} ${l.error ?? JSON.stringify(l.err ?? '')}`.slice(0, 400));
  });
  // a client-chosen delay that overflows a Node timer turns into a 1 ms timer: a finding too
  const onWarning = (w: Error) => {
    if (w.name === 'TimeoutOverflowWarning' || w.name === 'MaxListenersExceededWarning') errors.push(`${w.name}: ${w.message}`.slice(0, 400));
  };
  process.on('warning', onWarning);
  const all = await startBroker({ logger, limits: { handshakeTimeoutMs: 2000 } });
  const activemq = await startBroker({ engine: 'activemq', ports: { openwire: 0 }, logger, limits: { handshakeTimeoutMs: 2000 } });
  const rows: SocketRow[] = [];
  try {
    for (const [protocol, target] of Object.entries(TARGETS) as [string, FuzzTarget][]) {
      const port = portFor(protocol, all, activemq);
      const bystander = bystanderFor(protocol === 'openwire' ? activemq.urls : all.urls, `fuzz-bystander-${protocol}`);
      await bystander.start();
      const corpus = corpusOf(target.valid, 500, options.seed);
      const inputs: FuzzInput[] = fc.sample(fuzzInputs(corpus, target.variants), { numRuns: options.inputsPerProtocol, seed: options.seed });
      const before = errors.length;
      let closed = 0;
      let next = 0;
      const lane = async () => {
        while (next < inputs.length) {
          const i = next++;
          const input = inputs[i]!;
          const chunks = i % 2 === 0 ? [LOGIN[protocol]!, ...chunksOf(input)] : [...chunksOf(input)];
          if (await feed(port, chunks, options.quietMs ?? 100)) closed++;
        }
      };
      await Promise.all(Array.from({ length: options.concurrency ?? 16 }, lane));
      const serving = await greets(port, protocol === 'openwire' ? Buffer.alloc(0) : LOGIN[protocol]!, GREETING[protocol]!);
      rows.push({ protocol, inputs: inputs.length, closedByBroker: closed, internalErrors: errors.length - before, serving, bystander: await bystander.stop() });
    }
  } finally {
    await all.stop();
    await activemq.stop();
    // warnings are emitted on the next tick
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
  }
  return { rows, errors };
}
