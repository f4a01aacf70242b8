/**
 * A client of another protocol than AMQP 0-9-1 flooding the broker with publishes, in a
 * process of its own (as bench/lib/amqp-flood.ts for AMQP), so that a benchmark measuring the
 * broker's event loop (bench/big-queue-blocking.ts 'publish (<protocol> client)') does not
 * also measure the client:
 *   node --import tsx bench/lib/publish-flood.ts --protocol stomp|mqtt|amqp10 --url URL --queue Q --publish N
 * - stomp: SEND frames of one byte to /amq/queue/Q (bench/lib/stomp-session.ts, frames
 *   serialised once), waiting for 'drain' when the socket's buffer is full; then a SEND with a
 *   receipt;
 * - mqtt: mqtt.js, QoS 0 PUBLISHes of one byte to topic Q (bound to the queue by the bench),
 *   waiting for the stream's 'drain'; then one QoS 1 PUBLISH, whose PUBACK comes after them all;
 * - amqp10: rhea, pre-settled transfers of one byte to /queues/Q as fast as the link's credit
 *   allows; then one unsettled transfer, accepted after them all.
 * Each yields to the event loop every 1024 publishes (the kernel takes MBs before a socket
 * says it is full) and after each 'drain', so it keeps reading the broker. Prints
 * `done N in <ms> ms` (from the first publish to the broker's answer to the last) and exits.
 */
import mqtt from 'mqtt';
import rhea, { type Sender } from 'rhea';
import { StompBenchClient } from './stomp-session.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const protocol = arg('--protocol');
const url = arg('--url')!;
const queue = arg('--queue')!;
const n = Number(arg('--publish'));
const body = Buffer.from('m');
const turn = () => new Promise<void>((r) => setImmediate(r));

async function stomp(): Promise<void> {
  const client = await StompBenchClient.connect(url, 'flood stomp');
  const frame = client.frame('SEND', [['destination', `/amq/queue/${queue}`]], body);
  for (let k = 0; k < n; k++) {
    if (!client.write(frame)) {
      await client.drained();
      await turn();
    } else if ((k & 1023) === 1023) await turn();
  }
  await client.request('SEND', [['destination', '/queue/flood.stomp.last']]);
  await client.close();
}

async function mqttFlood(): Promise<void> {
  const client = await mqtt.connectAsync(url, { clientId: `flood-${process.pid}`, clean: true, username: 'guest', password: 'guest', reconnectPeriod: 0 });
  const stream = client.stream as unknown as { writableNeedDrain?: boolean; once(ev: 'drain', f: () => void): void };
  for (let k = 0; k < n; k++) {
    client.publish(queue, body, { qos: 0 });
    if (stream.writableNeedDrain) {
      await new Promise<void>((r) => stream.once('drain', r));
      await turn();
    } else if ((k & 1023) === 1023) await turn();
  }
  await client.publishAsync('flood/last', body, { qos: 1 });
  await client.endAsync();
}

async function amqp10(): Promise<void> {
  const u = new URL(url);
  const container = rhea.create_container({ id: `flood-${process.pid}` });
  // rhea turns Nagle off only once a receiver is attached: a sender alone would wait ~40 ms for
  // each delayed ACK (3,500 msg/s measured), not for the broker
  const conn = container.connect({ host: u.hostname, port: Number(u.port), username: 'guest', password: 'guest', reconnect: false, tcp_no_delay: true } as Parameters<typeof container.connect>[0]);
  const sender: Sender = conn.open_sender({ target: { address: `/queues/${queue}` }, snd_settle_mode: 1 });
  const data = (rhea as unknown as { message: { data_section(b: Buffer): unknown } }).message.data_section(body);
  await new Promise<void>((resolve, reject) => {
    let k = 0;
    conn.on('connection_error', (ctx) => reject(new Error(String(ctx.connection.error))));
    const pump = () => {
      let batch = 0;
      while (k < n && sender.sendable()) {
        sender.send({ body: data });
        k++;
        if (++batch === 1024) {
          setImmediate(pump);
          return;
        }
      }
      if (k === n) {
        sender.removeListener('sendable', pump);
        resolve();
      }
    };
    sender.on('sendable', pump);
  });
  // the last one unsettled: its outcome comes once the broker has read every transfer before it
  const last = conn.open_sender({ target: { address: `/queues/${queue}` } });
  await new Promise<void>((resolve, reject) => {
    last.once('sendable', () => last.send({ body: data }));
    last.once('accepted', () => resolve());
    last.once('rejected', () => reject(new Error('last transfer rejected')));
  });
  conn.close();
  await new Promise<void>((r) => conn.once('connection_close', () => r()));
}

const t0 = performance.now();
if (protocol === 'stomp') await stomp();
else if (protocol === 'mqtt') await mqttFlood();
else if (protocol === 'amqp10') await amqp10();
else throw new Error(`--protocol stomp|mqtt|amqp10, not ${protocol}`);
process.stdout.write(`done ${n} in ${(performance.now() - t0).toFixed(0)} ms\n`);
process.exit(0);
