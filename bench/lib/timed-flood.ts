/**
 * A publisher flooding one queue that has no consumer, for a fixed time, in a process of its own
 * (bench/memory-goals.ts `flood` for the protocols other than AMQP 0-9-1): it publishes as fast as
 * its socket takes the bytes and reports how long the broker kept it waiting, which is how a
 * client of these protocols sees the memory alarm (the broker stops reading its socket, or,
 * AMQP 1.0, stops granting credit).
 *   node --import tsx bench/lib/timed-flood.ts --protocol stomp|mqtt4|mqtt5|amqp10 --url URL
 *     --queue Q --seconds S [--size 1024] [--persistent false]
 * - stomp: SEND frames to /amq/queue/Q (bench/lib/stomp-session.ts, the frame serialised once),
 *   `persistent:true` with --persistent;
 * - mqtt4 / mqtt5: mqtt.js at MQTT 3.1.1 / 5, PUBLISHes to topic Q (the bench binds the queue to
 *   amq.topic); QoS 0, or QoS 1 with --persistent (RabbitMQ's MQTT plugin stores QoS 1 messages
 *   persistent), at most 1000 PUBACKs outstanding;
 * - amqp10: rhea, pre-settled transfers to /queues/Q as fast as the link's credit allows,
 *   `durable` in the header with --persistent.
 * Each waits for 'drain' when its socket's buffer is full, yields to the event loop every 256
 * publishes and after each wait (so it keeps reading the broker), and stops after S seconds.
 * Prints one JSON line: published (handed to the client library), the longest wait with nothing
 * accepted (`longestStallMs`, from `stallAtMs` after the start) and the waits of a second or more.
 */
import mqtt, { type MqttClient } from 'mqtt';
import rhea, { type Sender } from 'rhea';
import { StompBenchClient } from './stomp-session.js';

const arg = (name: string, dflt?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const protocol = arg('protocol');
const url = arg('url')!;
const queue = arg('queue')!;
const seconds = Number(arg('seconds', '20'));
const persistent = arg('persistent', 'false') === 'true';
const body = Buffer.alloc(Number(arg('size', '1024')), 'f');
const turn = () => new Promise<void>((r) => setImmediate(r));

const t0 = performance.now();
const until = t0 + seconds * 1000;
let published = 0;
let longestStallMs = 0;
let stallAtMs = 0;
/** waits of a second or more: [start ms, length ms] */
const stalls: [number, number][] = [];

/** waits on `p` (the client's buffer full, or no credit), timing it as a stall; false once time is up */
async function stall(p: Promise<unknown>): Promise<boolean> {
  const from = performance.now();
  const left = until - from;
  if (left <= 0) return false;
  await Promise.race([p, new Promise((r) => setTimeout(r, left).unref())]);
  const ms = performance.now() - from;
  if (ms > longestStallMs) [longestStallMs, stallAtMs] = [ms, from - t0];
  if (ms >= 1000) stalls.push([Math.round(from - t0), Math.round(ms)]);
  await turn();
  return performance.now() < until;
}

async function stomp(): Promise<void> {
  const client = await StompBenchClient.connect(url, 'timed flood stomp');
  const headers: [string, string][] = [['destination', `/amq/queue/${queue}`]];
  if (persistent) headers.push(['persistent', 'true']);
  const frame = client.frame('SEND', headers, body);
  for (;;) {
    published++;
    if (!client.write(frame)) {
      if (!(await stall(client.drained()))) break;
    } else if ((published & 255) === 0) {
      await turn();
      if (performance.now() >= until) break;
    }
  }
}

async function mqttFlood(version: 4 | 5): Promise<void> {
  const client: MqttClient = await mqtt.connectAsync(url, { clientId: `timed-flood-${process.pid}`, protocolVersion: version, clean: true, username: 'guest', password: 'guest', reconnectPeriod: 0, keepalive: 0 });
  const stream = client.stream as unknown as { writableNeedDrain?: boolean; once(ev: 'drain', f: () => void): void };
  const qos = persistent ? 1 : 0;
  // LocalMQ's MQTT 5 receive maximum is 1024 by default: 1000 PUBACKs outstanding stay under both
  const window = 1000;
  let outstanding = 0;
  let acked: (() => void) | undefined;
  const onAck = () => {
    outstanding--;
    acked?.();
  };
  for (;;) {
    if (qos === 1) {
      outstanding++;
      client.publish(queue, body, { qos }, onAck);
    } else client.publish(queue, body, { qos });
    published++;
    if (stream.writableNeedDrain) {
      if (!(await stall(new Promise<void>((r) => stream.once('drain', r))))) break;
    } else if (outstanding >= window) {
      if (!(await stall(new Promise<void>((r) => (acked = r))))) break;
      acked = undefined;
    } else if ((published & 255) === 0) {
      await turn();
      if (performance.now() >= until) break;
    }
  }
  client.end(true);
}

async function amqp10(): Promise<void> {
  const u = new URL(url);
  const container = rhea.create_container({ id: `timed-flood-${process.pid}` });
  // tcp_no_delay: rhea turns Nagle off only once a receiver is attached (bench/lib/publish-flood.ts)
  const conn = container.connect({ host: u.hostname, port: Number(u.port), username: 'guest', password: 'guest', reconnect: false, tcp_no_delay: true } as Parameters<typeof container.connect>[0]);
  conn.on('connection_error', (ctx) => {
    throw new Error(String(ctx.connection.error));
  });
  const sender: Sender = conn.open_sender({ target: { address: `/queues/${queue}` }, snd_settle_mode: 1 });
  const data = (rhea as unknown as { message: { data_section(b: Buffer): unknown } }).message.data_section(body);
  const socket = (conn as unknown as { socket: { writableNeedDrain: boolean; once(ev: 'drain', f: () => void): void } | undefined });
  await new Promise<void>((r) => sender.once('sendable', () => r()));
  for (;;) {
    if (sender.sendable()) {
      sender.send({ body: data, durable: persistent } as Parameters<Sender['send']>[0]);
      published++;
      if (socket.socket?.writableNeedDrain) {
        if (!(await stall(new Promise<void>((r) => socket.socket!.once('drain', r))))) break;
      } else if ((published & 255) === 0) {
        await turn();
        if (performance.now() >= until) break;
      }
    } else if (!(await stall(new Promise<void>((r) => sender.once('sendable', () => r()))))) break;
  }
  conn.close();
}

if (protocol === 'stomp') await stomp();
else if (protocol === 'mqtt4') await mqttFlood(4);
else if (protocol === 'mqtt5') await mqttFlood(5);
else if (protocol === 'amqp10') await amqp10();
else throw new Error(`--protocol stomp|mqtt4|mqtt5|amqp10, not ${protocol}`);
process.stdout.write(JSON.stringify({ protocol, published, longestStallMs: Math.round(longestStallMs), stallAtMs: Math.round(stallAtMs), stalls }) + '\n');
process.exit(0);
