import { connect as netConnect } from 'node:net';
import amqplib from 'amqplib';
import mqtt from 'mqtt';
import * as stompit from 'stompit';
import { Client as StompClient } from '@stomp/stompjs';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';

const port = (url: string | undefined) => Number(new URL(url!).port);

describe('TLS endpoints with the generated local CA (engine all)', () => {
  let broker: LocalMQ;
  let ca: string;
  beforeAll(async () => {
    broker = await startBroker();
    ca = (await broker.certificates()).ca;
  });
  afterAll(() => broker.stop());

  it('amqplib over amqps:// trusting the generated CA', async () => {
    const conn = await amqplib.connect(`amqps://guest:guest@localhost:${port(broker.urls.amqps)}`, { ca: [ca] });
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    ch.sendToQueue(q.queue, Buffer.from('over tls'));
    const m = await new Promise<string>((resolve) => void ch.consume(q.queue, (msg) => msg && resolve(msg.content.toString()), { noAck: true }));
    expect(m).toBe('over tls');
    await conn.close();
  });

  it('stompit over stomp+ssl trusting the generated CA', async () => {
    const client = await new Promise<stompit.Client>((resolve, reject) =>
      stompit.connect(
        { host: 'localhost', port: port(broker.urls.stomps), ssl: true, ca: [ca], connectHeaders: { host: '/', login: 'guest', passcode: 'guest', 'heart-beat': '0,0' } } as never,
        (err, c) => (err ? reject(err) : resolve(c)),
      ),
    );
    const got = new Promise<string>((resolve) =>
      client.subscribe({ destination: '/queue/tls-stomp', ack: 'auto' }, (err, msg) => {
        if (!err) msg.readString('utf-8', (_e, body) => resolve(body ?? ''));
      }),
    );
    const frame = client.send({ destination: '/queue/tls-stomp' });
    frame.end('stomp over tls');
    expect(await got).toBe('stomp over tls');
    client.disconnect();
  });

  it('mqtt.js over mqtts:// trusting the generated CA', async () => {
    const client = mqtt.connect(broker.urls.mqtts!, { username: 'guest', password: 'guest', ca: [ca], reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
    });
    await client.subscribeAsync('tls/topic', { qos: 1 });
    const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
    await client.publishAsync('tls/topic', 'mqtt over tls', { qos: 1 });
    expect(await got).toBe('mqtt over tls');
    await client.endAsync();
  });

  it('a plaintext client on a TLS port fails its handshake and the listener keeps serving', async () => {
    const closed = await new Promise<string>((resolve) => {
      const s = netConnect(port(broker.urls.amqps), '127.0.0.1', () => s.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
      let got = '';
      s.on('data', (d) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => undefined);
    });
    // whatever came back is a TLS alert, never an AMQP connection.start
    expect(closed.includes('RabbitMQ')).toBe(false);
    const conn = await amqplib.connect(`amqps://guest:guest@localhost:${port(broker.urls.amqps)}`, { ca: [ca] });
    await conn.close();
  });

  it('refuses TLS 1.1', async () => {
    const tls = await import('node:tls');
    const err = await new Promise<Error>((resolve) => {
      const s = tls.connect({ port: port(broker.urls.amqps), host: '127.0.0.1', servername: 'localhost', ca: [ca], minVersion: 'TLSv1.1', maxVersion: 'TLSv1.1' });
      s.once('error', resolve);
      s.once('secureConnect', () => resolve(new Error('handshake succeeded')));
    });
    expect(err.message).not.toBe('handshake succeeded');
  });

  it('lists every endpoint of the profile in Amazon MQ URL forms, locally and at the Amazon-style host', () => {
    const keys = broker.endpoints.map((e) => e.key);
    expect(keys).toEqual(['openwire', 'openwireSsl', 'amqp', 'amqps', 'stomp', 'stomps', 'stompWs', 'mqtt', 'mqtts', 'mqttWs', 'wss', 'http', 'https', 'console', 'api']);
    const byKey = Object.fromEntries(broker.endpoints.map((e) => [e.key, e]));
    expect(byKey['amqps']!.url).toMatch(/^amqps:\/\/localhost:\d+$/);
    expect(byKey['stomps']!.url).toMatch(/^stomp\+ssl:\/\/localhost:\d+$/);
    expect(byKey['mqtts']!.url).toMatch(/^mqtt\+ssl:\/\/localhost:\d+$/);
    expect(byKey['wss']!.url).toMatch(/^wss:\/\/localhost:\d+$/);
    expect(byKey['openwire']!.url).toMatch(/^tcp:\/\/localhost:\d+$/);
    expect(byKey['openwireSsl']!.url).toMatch(/^ssl:\/\/localhost:\d+$/);
    expect(byKey['openwireSsl']!.amazonUrl).toMatch(/^ssl:\/\/b-[0-9a-f-]{36}-1\.mq\.us-east-1\.amazonaws\.com:\d+$/);
    expect(byKey['amqps']!.amazonUrl).toMatch(/^amqps:\/\/b-[0-9a-f-]{36}\.mq\.us-east-1\.amazonaws\.com:\d+$/);
    expect(byKey['stomps']!.amazonUrl).toMatch(/^stomp\+ssl:\/\/b-[0-9a-f-]{36}-1\.mq\.us-east-1\.amazonaws\.com:\d+$/);
  });
});

describe('engine profiles', () => {
  it('rabbitmq: AMQP (plain and TLS) and the management API, no STOMP or MQTT', async () => {
    const broker = await startBroker({ engine: 'rabbitmq' });
    try {
      expect(broker.endpoints.map((e) => e.key)).toEqual(['amqp', 'amqps', 'http', 'https', 'api']);
      expect(broker.urls.stomp).toBeUndefined();
      expect(broker.urls.mqtt).toBeUndefined();
    } finally {
      await broker.stop();
    }
  });

  describe('activemq: STOMP and MQTT over WSS on one port, chosen by subprotocol', () => {
    let broker: LocalMQ;
    let ca: string;
    beforeAll(async () => {
      broker = await startBroker({ engine: 'activemq' });
      ca = (await broker.certificates()).ca;
    });
    afterAll(() => broker.stop());

    it('lists the ActiveMQ endpoints with the instance suffix in the Amazon-style host', () => {
      expect(broker.endpoints.map((e) => e.key)).toEqual(['openwire', 'openwireSsl', 'amqp10', 'amqp10s', 'stomp', 'stomps', 'mqtt', 'mqtts', 'wss', 'console', 'api']);
      for (const e of broker.endpoints) expect(e.amazonUrl).toMatch(/^[a-z+]+:\/\/b-[0-9a-f-]{36}-1\.mq\.us-east-1\.amazonaws\.com:\d+/);
    });

    it('@stomp/stompjs over wss', async () => {
      const url = broker.urls.wss!;
      const client = new StompClient({
        webSocketFactory: () => new WebSocket(url, ['v12.stomp'], { ca }),
        connectHeaders: { login: 'guest', passcode: 'guest' },
        reconnectDelay: 0,
        heartbeatIncoming: 0,
        heartbeatOutgoing: 0,
      });
      const connected = new Promise<void>((resolve) => (client.onConnect = () => resolve()));
      client.activate();
      await connected;
      const got = new Promise<string>((resolve) => client.subscribe('/queue/wss.stomp', (m) => resolve(m.body)));
      client.publish({ destination: '/queue/wss.stomp', body: 'stomp over wss' });
      expect(await got).toBe('stomp over wss');
      await client.deactivate();
    });

    it('mqtt.js over wss', async () => {
      const client = mqtt.connect(broker.urls.wss!, { username: 'guest', password: 'guest', ca: [ca], reconnectPeriod: 0, protocolVersion: 4 });
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
      });
      await client.subscribeAsync('wss/topic', { qos: 1 });
      const got = new Promise<string>((resolve) => client.once('message', (_t, p) => resolve(p.toString())));
      await client.publishAsync('wss/topic', 'mqtt over wss', { qos: 1 });
      expect(await got).toBe('mqtt over wss');
      await client.endAsync();
    });
  });
});
