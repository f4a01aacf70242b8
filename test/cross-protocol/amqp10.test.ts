import mqtt from 'mqtt';
import rhea from 'rhea';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { protonMissing, runPythonScript } from '../helpers/python.js';
import { stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

// AMQP 1.0 ⇄ MQTT and STOMP through the core (RabbitMQ's mapping), and a second AMQP 1.0
// client, python-qpid-proton.
const broker = useBroker();
const port = () => broker().ports['amqp']!;
const data = (s: string) => (rhea as unknown as { message: { data_section(b: Buffer): unknown } }).message.data_section(Buffer.from(s));

function mqttConnect(): Promise<mqtt.MqttClient> {
  const c = mqtt.connect(broker().urls.mqtt!, { username: 'guest', password: 'guest', reconnectPeriod: 0, protocolVersion: 4 });
  return new Promise((resolve, reject) => {
    c.once('connect', () => resolve(c));
    c.once('error', reject);
  });
}

describe('AMQP 1.0 ⇄ MQTT and STOMP', () => {
  it('an MQTT publish to a10/sensor reaches a rhea receiver on /topic/a10.sensor as a data section', async () => {
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, '/topic/a10.sensor');
    const m = await mqttConnect();
    await m.publishAsync('a10/sensor', '21.5', { qos: 1 });
    const [{ message }] = await receiveN(rx, 1);
    expect(Buffer.from(message.body.content).toString()).toBe('21.5');
    expect(message.message_annotations).toMatchObject({ 'x-exchange': 'amq.topic', 'x-routing-key': 'a10.sensor' });
    await m.endAsync();
    await rheaClose(conn);
  });

  it('a rhea data-section message to /topic/a10.cmd reaches an MQTT subscriber of a10/cmd byte for byte', async () => {
    const m = await mqttConnect();
    await m.subscribeAsync('a10/cmd', { qos: 1 });
    const got = new Promise<Buffer>((resolve) => m.once('message', (_t, payload) => resolve(payload)));
    const conn = await rheaConnect(port());
    const s = await openSender(conn, '/topic/a10.cmd');
    await sendAwait(s, { body: data('open-valve') });
    expect((await got).toString()).toBe('open-valve');
    await m.endAsync();
    await rheaClose(conn);
  });

  it('rhea to a STOMP subscriber: body and application properties as headers', async () => {
    const stomp = await stompitConnect(broker());
    const sub = stompitSubscribe(stomp, { destination: '/queue/a10-stomp', ack: 'auto' });
    const conn = await rheaConnect(port());
    // a durable terminus declares the queue durable, as STOMP's /queue/ does (RabbitMQ 4's queue_is_durable)
    const s = await openSender(conn, { target: { address: '/queue/a10-stomp', durable: 2 } });
    await sendAwait(s, { body: data('to stomp'), content_type: 'text/plain', application_properties: { region: 'eu' } });
    const got = await sub.next();
    expect(got.body).toBe('to stomp');
    expect(got.headers).toMatchObject({ 'content-type': 'text/plain', region: 'eu' });
    await stompitDisconnect(stomp);
    await rheaClose(conn);
  });

  it('a STOMP SEND to /queue/x reaches rhea on /queues/x with headers as application properties', async () => {
    const stomp = await stompitConnect(broker());
    await stompitSend(stomp, { destination: '/queue/a10-from-stomp', 'x-trace': 't1', color: 'red' }, 'from stomp');
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, '/queues/a10-from-stomp');
    const [{ message }] = await receiveN(rx, 1);
    expect(Buffer.from(message.body.content).toString()).toBe('from stomp');
    expect(message.application_properties).toMatchObject({ color: 'red' });
    expect(message.message_annotations).toMatchObject({ 'x-trace': 't1' });
    await stompitDisconnect(stomp);
    await rheaClose(conn);
  });
});

describe('a second AMQP 1.0 client: python-qpid-proton', () => {
  const run = async (url: string, address: string, n: number) =>
    JSON.parse(await runPythonScript('amqp10-proton.py', [url, address, String(n)])) as { received: { body: string; subject: string; durable: boolean; properties: Record<string, unknown> }[] };

  if (protonMissing) {
    it.skip(`proton sends and receives (skipped: ${protonMissing})`, () => undefined);
    return;
  }
  it('proton sends to /queue/a10-proton and receives its messages back, properties intact', async () => {
    const r = await run(`amqp://guest:guest@127.0.0.1:${port()}`, '/queue/a10-proton', 3);
    expect(r.received.map((m) => m.body)).toEqual(['proton-0', 'proton-1', 'proton-2']);
    expect(r.received[1]).toMatchObject({ subject: 's1', durable: true, properties: { i: 1, lang: 'python' } });
  });
});
