/**
 * Confirm latency (issue 18, part 3): a publisher at full speed that respects back-pressure
 * (waits for 'drain' whenever the socket says so) sends `count` persistent messages of
 * `size` bytes to a durable queue and times every publish -> confirm (AMQP publisher
 * confirms), SEND -> RECEIPT (STOMP) and PUBLISH -> PUBACK (MQTT QoS 1).
 *
 *   npx tsx bench/confirm-latency.ts --label localmq --amqp amqp://guest:guest@127.0.0.1:27000 \
 *     --stomp stomp://guest:guest@127.0.0.1:27001 --mqtt mqtt://127.0.0.1:27002 [--count 100000] [--size 16]
 *
 * The publisher yields to the event loop whenever it waits for back-pressure, as an
 * application does: confirms are timed when they are read, so a client that never reads
 * would measure itself.
 *
 * Prints one JSON line per protocol: p50/p99/max in ms, and the longest stretch after the
 * first 100 ms during which publishes were outstanding and no confirm came (`maxGapMs`),
 * with the number of 100 ms windows that had no confirm (`emptyWindows`) and every gap over 100 ms
 * (`gapsOver100`, to match against bench/fsync-probe.ts's slow syncs). bench/confirm-latency.sh
 * runs it against LocalMQ and RabbitMQ in the same run, alternating.
 *
 * `--publishers N` (default 1) publishes over N connections per protocol at once, each its share of
 * `count` into the same queue, every one at full speed: several publishers' records then share a
 * flush, the case where a confirm must wait for the flush that wrote it and not the next one
 * (session 12, eb03268). The figures are over all publishes of the run (one clock): a gap is a
 * stretch in which no publisher got a confirm.
 *
 * `--trace-out FILE` also records the client's own GC pauses and event-loop stalls over 10 ms
 * (epoch ms, the format of bench/lib/traced-broker.ts's trace) and adds to each result what the
 * client did during its longest gap (publishes sent, outstanding at its start): a gap the client
 * caused (it did not read) is then told apart from one the broker caused.
 */
import { writeFileSync } from 'node:fs';
import amqp from 'amqplib';
import mqtt from 'mqtt';
import { traceLoop, type TraceEvent } from './lib/loop-trace.js';
import { StompBenchClient } from './lib/stomp-session.js';

function flag(name: string, dflt?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

const label = flag('label', 'broker')!;
const count = Number(flag('count', '100000'));
const size = Number(flag('size', '16'));
const body = Buffer.alloc(size, 'x');
// MQTT 3.1.1 packet ids are 16-bit: keep every publish of the run outstanding-able
const mqttCount = Math.min(count, 60000);
const traceOut = flag('trace-out');
const publishers = Number(flag('publishers', '1'));
if (!Number.isInteger(publishers) || publishers < 1) throw new Error('--publishers must be a positive integer');
/** publisher p's share of n publishes: indexes [from, to) */
const shareOf = (n: number, p: number): [number, number] => [Math.floor((n * p) / publishers), Math.floor((n * (p + 1)) / publishers)];
const eachPublisher = <T>(f: (p: number) => Promise<T>): Promise<T[]> => Promise.all(Array.from({ length: publishers }, (_, p) => f(p)));

const clientTrace: TraceEvent[] = [];
// the client's own GC pauses and loop stalls: its busy loop (publishing, parsing) delays reading confirms too
if (traceOut) traceLoop(clientTrace, 'client ');

/** one line of the results file (bench/confirm-latency-report.ts reads them) */
export interface Result {
  label: string;
  protocol: string;
  count: number;
  /** connections publishing at once (--publishers) */
  publishers: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  maxGapMs: number;
  /** when (ms since the first publish) the longest gap began */
  maxGapAtMs: number;
  emptyWindows: number;
  /** every gap over 100 ms (after the first 100 ms): [began, ms since the first publish; length, ms] */
  gapsOver100: [number, number][];
  /** with --trace-out: publishes the client sent during the longest gap, and unconfirmed at its start */
  sentInGap?: number;
  outstandingAtGap?: number;
  /** the first publish, epoch ms: with maxGapAtMs, where to look in bench/lib/traced-broker.ts's trace */
  startEpochMs: number;
}

let startEpochMs = 0;

/** latencies and confirm times (ms since start) -> the figures */
function summarise(protocol: string, n: number, sent: Float64Array, confirmedAt: Float64Array): Result {
  const lat = new Float64Array(n);
  for (let i = 0; i < n; i++) lat[i] = confirmedAt[i]! - sent[i]!;
  lat.sort();
  const pct = (p: number) => lat[Math.min(n - 1, Math.max(0, Math.ceil((p / 100) * n) - 1))]!;
  const times = Float64Array.from(confirmedAt).sort();
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const end = times[n - 1]!;
  // gaps between confirms after the first 100 ms, while some publish was unconfirmed
  let maxGap = 0;
  let maxGapAt = 0;
  let prev = 100;
  const gapsOver100: [number, number][] = [];
  for (let i = 0; i < n; i++) {
    const t = times[i]!;
    if (t <= 100) continue;
    if (t - prev > 100) gapsOver100.push([r3(prev), r3(t - prev)]);
    if (t - prev > maxGap) {
      maxGap = t - prev;
      maxGapAt = prev;
    }
    prev = t;
  }
  let empty = 0;
  let j = 0;
  for (let w = 100; w < end; w += 100) {
    while (j < n && times[j]! < w) j++;
    if (j >= n || times[j]! >= w + 100) empty++;
  }
  const r: Result = { label, protocol, count: n, publishers, seconds: r3(end / 1000), p50Ms: r3(pct(50)), p99Ms: r3(pct(99)), maxMs: r3(lat[n - 1]!), maxGapMs: r3(maxGap), maxGapAtMs: r3(maxGapAt), emptyWindows: empty, gapsOver100, startEpochMs: r3(startEpochMs) };
  if (traceOut) {
    let sentInGap = 0;
    let outstanding = 0;
    for (let i = 0; i < n; i++) {
      const s = sent[i]!;
      if (s > maxGapAt && s < maxGapAt + maxGap) sentInGap++;
      if (s <= maxGapAt && confirmedAt[i]! > maxGapAt) outstanding++;
    }
    r.sentInGap = sentInGap;
    r.outstandingAtGap = outstanding;
    clientTrace.push([startEpochMs + maxGapAt, `gap ${protocol}`, maxGap, outstanding]);
  }
  return r;
}

const now = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

async function runAmqp(url: string): Promise<Result> {
  const conns = await eachPublisher(() => amqp.connect(url));
  const chans = await Promise.all(conns.map((c) => c.createConfirmChannel()));
  const q = 'bench.confirm.amqp';
  await chans[0]!.assertQueue(q, { durable: true });
  await chans[0]!.purgeQueue(q);
  const sent = new Float64Array(count);
  const confirmed = new Float64Array(count);
  const t0 = process.hrtime.bigint();
  startEpochMs = performance.timeOrigin + performance.now();
  await eachPublisher((p) => publishAmqp(chans[p]!, q, shareOf(count, p), t0, sent, confirmed));
  const r = summarise('amqp confirms', count, sent, confirmed);
  await chans[0]!.deleteQueue(q);
  await Promise.all(conns.map((c) => c.close()));
  return r;
}

/** one publisher: publishes [from, to) on its channel, recording send and confirm times */
function publishAmqp(ch: amqp.ConfirmChannel, q: string, [from, to]: [number, number], t0: bigint, sent: Float64Array, confirmed: Float64Array): Promise<void> {
  let left = to - from;
  return new Promise<void>((resolve, reject) => {
    if (left === 0) return resolve();
    let i = from;
    const pump = () => {
      while (i < to) {
        const k = i++;
        sent[k] = now(t0);
        const ok = ch.publish('', q, body, { persistent: true }, (err) => {
          if (err) return reject(err);
          confirmed[k] = now(t0);
          if (--left === 0) resolve();
        });
        if (!ok) {
          // resume after the event loop has read the socket: amqplib emits 'drain' synchronously
          // while the kernel takes the bytes, so resuming from the event itself publishes
          // megabytes without ever reading a confirm (the client, not the broker, then shows
          // seconds without one)
          ch.once('drain', () => setImmediate(pump));
          return;
        }
      }
    };
    pump();
  });
}

async function declareQueue(url: string, q: string, bindTopic?: string): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(q, { durable: true });
  await ch.purgeQueue(q);
  if (bindTopic) await ch.bindQueue(q, 'amq.topic', bindTopic);
  await conn.close();
}

async function deleteQueue(url: string, q: string): Promise<void> {
  const conn = await amqp.connect(url);
  const ch = await conn.createChannel();
  await ch.deleteQueue(q);
  await conn.close();
}

async function runStomp(url: string, amqpUrl: string): Promise<Result> {
  const q = 'bench.confirm.stomp';
  await declareQueue(amqpUrl, q);
  const clients = await eachPublisher((p) => StompBenchClient.connect(url, `${label} stomp ${p}`));
  const sent = new Float64Array(count);
  const confirmed = new Float64Array(count);
  const t0 = process.hrtime.bigint();
  startEpochMs = performance.timeOrigin + performance.now();
  await eachPublisher((p) => publishStomp(clients[p]!, q, shareOf(count, p), t0, sent, confirmed));
  const r = summarise('stomp receipts', count, sent, confirmed);
  await Promise.all(clients.map((c) => c.close()));
  await deleteQueue(amqpUrl, q);
  return r;
}

/** one publisher: SENDs [from, to) with a receipt each (receipt id = the publish's index) */
async function publishStomp(client: StompBenchClient, q: string, [from, to]: [number, number], t0: bigint, sent: Float64Array, confirmed: Float64Array): Promise<void> {
  let left = to - from;
  if (left === 0) return;
  const done = new Promise<void>((resolve) => {
    client.onReceipt = (id) => {
      confirmed[Number(id.slice(2))] = now(t0);
      if (--left === 0) resolve();
    };
  });
  for (let i = from; i < to; i++) {
    sent[i] = now(t0);
    const ok = client.write(client.frame('SEND', [['destination', `/amq/queue/${q}`], ['persistent', 'true'], ['receipt', `c-${i}`]], body));
    if (!ok) await client.drained();
    // the kernel takes MBs before write() says false: yield every 1024 frames as the AMQP
    // publisher does (amqplib's channel buffer), so the receipts are read as they come
    else if ((i & 1023) === 1023) await new Promise((r) => setImmediate(r));
  }
  await Promise.race([done, client.failed]);
}

async function runMqtt(url: string, amqpUrl: string): Promise<Result> {
  const q = 'bench.confirm.mqtt';
  await declareQueue(amqpUrl, q, 'bench.confirm');
  const clients = await eachPublisher((p) =>
    mqtt.connectAsync(url, { clientId: `bench-confirm-${label}${publishers > 1 ? `-${p}` : ''}`, clean: true, username: 'guest', password: 'guest', reconnectPeriod: 0 }),
  );
  const n = mqttCount;
  const sent = new Float64Array(n);
  const confirmed = new Float64Array(n);
  const t0 = process.hrtime.bigint();
  startEpochMs = performance.timeOrigin + performance.now();
  await eachPublisher((p) => publishMqtt(clients[p]!, shareOf(n, p), t0, sent, confirmed));
  const r = summarise('mqtt pubacks', n, sent, confirmed);
  await Promise.all(clients.map((c) => c.endAsync()));
  await deleteQueue(amqpUrl, q);
  return r;
}

/** one publisher: PUBLISHes [from, to) at QoS 1 */
function publishMqtt(client: mqtt.MqttClient, [from, to]: [number, number], t0: bigint, sent: Float64Array, confirmed: Float64Array): Promise<void> {
  let left = to - from;
  return new Promise<void>((resolve, reject) => {
    if (left === 0) return resolve();
    let i = from;
    const pump = () => {
      while (i < to) {
        const k = i++;
        sent[k] = now(t0);
        client.publish('bench/confirm', body, { qos: 1 }, (err) => {
          if (err) return reject(err);
          confirmed[k] = now(t0);
          if (--left === 0) resolve();
        });
        const stream = client.stream as unknown as { writableNeedDrain?: boolean; once(ev: 'drain', f: () => void): void };
        if (stream.writableNeedDrain) {
          stream.once('drain', () => setImmediate(pump));
          return;
        }
        // as the STOMP publisher: the kernel takes MBs before the stream needs a drain
        if (((i - from) & 1023) === 0) {
          setImmediate(pump);
          return;
        }
      }
    };
    pump();
  });
}

const amqpUrl = flag('amqp');
const stompUrl = flag('stomp');
const mqttUrl = flag('mqtt');
const only = (flag('protocols', 'amqp,stomp,mqtt') ?? '').split(',');
if (!amqpUrl) throw new Error('--amqp URL is required (queues are declared through it)');
if (only.includes('amqp')) console.log(JSON.stringify(await runAmqp(amqpUrl)));
if (stompUrl && only.includes('stomp')) console.log(JSON.stringify(await runStomp(stompUrl, amqpUrl)));
if (mqttUrl && only.includes('mqtt')) console.log(JSON.stringify(await runMqtt(mqttUrl, amqpUrl)));
if (traceOut) writeFileSync(traceOut, JSON.stringify(clientTrace));
process.exit(0);
