import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { DEFAULT_LIMITS } from '../../src/core/limits.js';
import { instanceTypeLimits, resolveLimits } from '../../src/server/instance-types.js';
import { amqpPort, channelClosed, connect, RawAmqp } from '../helpers/amqp.js';
import { RawStomp, getHeader, wireFrame } from '../helpers/stomp.js';
import { closed, connackRefusal, inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';

type CloseArgs = { replyCode: number; replyText: string; classId: number; methodId: number };

let broker: LocalMQ | undefined;
afterEach(async () => {
  await broker?.stop();
  broker = undefined;
});

describe('instance types (Amazon MQ sizing)', () => {
  it('sets connections, channels, queues and consumers per channel; explicit limits win', () => {
    expect(resolveLimits('rabbitmq', 'mq.t3.micro')).toMatchObject({ maxConnections: 500, maxChannels: 1500, maxQueues: 2500, maxConsumersPerChannel: 1000 });
    expect(resolveLimits('rabbitmq', 'mq.m5.large')).toMatchObject({ maxConnections: 5000, maxChannels: 15000, maxQueues: 30000, maxConsumersPerChannel: 1000 });
    expect(resolveLimits('rabbitmq', 'mq.m5.4xlarge')).toMatchObject({ maxConnections: 40000, maxChannels: 120000, maxQueues: 240000 });
    expect(resolveLimits('rabbitmq', 'mq.t3.micro', { maxQueues: 7 })).toMatchObject({ maxConnections: 500, maxQueues: 7 });
    // no instance type: LocalMQ's defaults, which are mq.m5.large's
    expect(resolveLimits('all', undefined)).toEqual(DEFAULT_LIMITS);
  });

  it("ActiveMQ's per-protocol connection limit applies in the activemq profile only", () => {
    expect(resolveLimits('activemq', 'mq.t3.micro').maxConnectionsPerProtocol).toBe(300);
    expect(resolveLimits('activemq', undefined).maxConnectionsPerProtocol).toBe(instanceTypeLimits('mq.m5.large').maxConnectionsPerProtocol);
    expect(resolveLimits('rabbitmq', 'mq.t3.micro').maxConnectionsPerProtocol).toBe(Number.POSITIVE_INFINITY);
    expect(resolveLimits('all', undefined, { maxConnectionsPerProtocol: 3 }).maxConnectionsPerProtocol).toBe(3);
  });

  it('startBroker applies them and refuses an unknown instance type', async () => {
    broker = await startBroker({ instanceType: 'mq.t3.micro', limits: { maxMessageSize: 1000 } });
    expect(broker.core.limits.settings).toMatchObject({ maxConnections: 500, maxChannels: 1500, maxQueues: 2500, maxMessageSize: 1000 });
    await expect(startBroker({ instanceType: 'mq.x9.huge' as never })).rejects.toThrow(/unknown instanceType 'mq.x9.huge'/);
  });
});

describe('AMQP limits, with the texts RabbitMQ sends', () => {
  it('connections: 530 connection refused: node connection limit, the others carry on', async () => {
    broker = await startBroker({ limits: { maxConnections: 2 } });
    const a = await connect(broker);
    const b = await connect(broker);
    const c = await RawAmqp.open(amqpPort(broker));
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.method('connection.start');
    c.send(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from('\0guest\0guest'), locale: 'en_US' });
    await c.method('connection.tune');
    c.send(0, 'connection.tune-ok', { channelMax: 0, frameMax: 131072, heartbeat: 0 });
    c.send(0, 'connection.open', { virtualHost: '/' });
    const close = (await c.method('connection.close')).args as CloseArgs;
    expect(close).toMatchObject({ replyCode: 530, replyText: 'NOT_ALLOWED - connection refused: node connection limit (2) is reached', classId: 10, methodId: 40 });
    c.close();
    const ch = await a.createChannel();
    await ch.assertQueue('still-served');
    await a.close();
    // a slot freed is a slot taken
    const d = await connect(broker);
    await d.close();
    await b.close();
  });

  it('channels across connections (channel_max_per_node): 530 closes the connection that asked', async () => {
    broker = await startBroker({ limits: { maxChannels: 3 } });
    const a = await connect(broker);
    await a.createChannel();
    await a.createChannel();
    const b = await RawAmqp.handshake(amqpPort(broker));
    b.send(1, 'channel.open');
    await b.method('channel.open-ok');
    b.send(2, 'channel.open');
    const close = (await b.method('connection.close')).args as CloseArgs;
    expect(close.replyCode).toBe(530);
    expect(close.replyText).toBe(`NOT_ALLOWED - number of channels opened on node 'localmq@${hostname()}' has reached the maximum allowed limit of (3)`);
    b.close();
    await b.whenClosed();
    // b's channel is released: a may open one more, and only one
    const third = await a.createChannel();
    await third.assertQueue('after-limit');
    await a.close();
    expect(broker.core.limits.openChannels).toBe(0);
  });

  it('channels per connection: the negotiated channel_max text', async () => {
    broker = await startBroker({ limits: { maxChannelsPerConnection: 1 } });
    const c = await RawAmqp.handshake(amqpPort(broker));
    c.send(1, 'channel.open');
    await c.method('channel.open-ok');
    c.send(2, 'channel.open');
    const close = (await c.method('connection.close')).args as CloseArgs;
    expect(close).toMatchObject({ replyCode: 530, replyText: 'NOT_ALLOWED - number of channels opened (1) has reached the negotiated channel_max (1)' });
    c.close();
  });

  it('queues (cluster_queue_limit): 406 on the channel naming the queue', async () => {
    broker = await startBroker({ limits: { maxQueues: 2 } });
    const c = await connect(broker);
    const ch = await c.createChannel();
    await ch.assertQueue('q1');
    await ch.assertQueue('q2');
    const gone = channelClosed(ch);
    await expect(ch.assertQueue('q3')).rejects.toThrow();
    const err = await gone;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - cannot declare queue 'q3': queue limit in cluster (2) is reached");
    // re-declaring an existing queue is no new queue; deleting one frees a slot
    const ch2 = await c.createChannel();
    await ch2.assertQueue('q1');
    await ch2.deleteQueue('q2');
    await ch2.assertQueue('q3');
    await c.close();
  });

  it('consumers per channel: 530 NOT_ALLOWED closes the connection', async () => {
    broker = await startBroker({ limits: { maxConsumersPerChannel: 2 } });
    const other = await connect(broker);
    const c = await connect(broker);
    const connErr = new Promise<Error>((resolve) => c.once('error', resolve));
    const ch = await c.createChannel();
    ch.on('error', () => undefined);
    await ch.assertQueue('cq');
    await ch.consume('cq', () => undefined);
    await ch.consume('cq', () => undefined);
    await expect(ch.consume('cq', () => undefined)).rejects.toThrow();
    const err = await connErr;
    expect(err.message).toContain('NOT_ALLOWED - reached maximum (2) of consumers per channel');
    // another connection is untouched
    const och = await other.createChannel();
    await och.checkQueue('cq');
    await other.close();
  });

  it('message size: 406 PRECONDITION_FAILED on the channel, the connection lives on', async () => {
    broker = await startBroker({ limits: { maxMessageSize: 1024 } });
    const c = await connect(broker);
    const ch = await c.createChannel();
    await ch.assertQueue('big');
    const gone = channelClosed(ch);
    ch.sendToQueue('big', Buffer.alloc(1025));
    const err = await gone;
    expect(err.code).toBe(406);
    expect(err.message).toContain('PRECONDITION_FAILED - message size 1025 is larger than configured max size 1024');
    const ch2 = await c.createConfirmChannel();
    ch2.sendToQueue('big', Buffer.alloc(1024));
    await ch2.waitForConfirms();
    expect(broker.queue('big').messageCount()).toBe(1);
    await c.close();
  });
});

describe('STOMP limits', () => {
  it("per protocol (activemq profile): ERROR with ActiveMQ's maximumConnections text, then close; MQTT and other STOMP clients unaffected", async () => {
    broker = await startBroker({ engine: 'activemq', limits: { maxConnectionsPerProtocol: 1 } });
    const { client: first } = await RawStomp.connected(broker);
    const second = await RawStomp.open(broker);
    second.write(wireFrame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest' }));
    const f = await second.frame('ERROR');
    // ActiveMQ's ERROR carries the exception text in its message header
    expect(getHeader(f, 'message')).toContain('Exceeded the maximum number of allowed client connections (1)');
    expect(getHeader(f, 'message')).toContain("'maximumConnections'");
    await second.whenClosed();
    // the other protocol has its own count
    const m = await mqttConnect(broker, { clientId: 'beside-stomp' });
    await m.endAsync();
    // the first client is still served
    first.send('SEND', { destination: '/queue/after', receipt: 'r1' }, 'x');
    await first.receipt('r1');
    first.close();
    await first.whenClosed();
    const { client: third } = await RawStomp.connected(broker);
    third.close();
  });

  it('node-wide (connection_max): ERROR naming the node connection limit', async () => {
    broker = await startBroker({ limits: { maxConnections: 1 } });
    const amqp = await connect(broker);
    const s = await RawStomp.open(broker);
    s.write(wireFrame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest' }));
    const f = await s.frame('ERROR');
    expect(f.body.toString()).toContain('connection refused: node connection limit (1) is reached');
    await s.whenClosed();
    await amqp.close();
  });

  // a STOMP body over maxMessageSize is covered in stomp-raw.test.ts (ERROR, then close)

  it('subscriptions count as consumers of the connection (consumer_max_per_channel)', async () => {
    broker = await startBroker({ limits: { maxConsumersPerChannel: 1 } });
    const { client } = await RawStomp.connected(broker);
    client.send('SUBSCRIBE', { destination: '/queue/s1', id: 'a', receipt: 'ra' });
    await client.receipt('ra');
    client.send('SUBSCRIBE', { destination: '/queue/s2', id: 'b' });
    const f = await client.frame('ERROR');
    expect(f.body.toString()).toContain('reached maximum (1) of consumers per channel');
    await client.whenClosed();
  });
});

describe('MQTT limits', () => {
  it('per protocol (activemq profile): CONNACK 3 server unavailable; STOMP unaffected', async () => {
    broker = await startBroker({ engine: 'activemq', limits: { maxConnectionsPerProtocol: 1 } });
    const first = await mqttConnect(broker, { clientId: 'first' });
    expect(await connackRefusal(broker, { clientId: 'second', username: 'guest', password: 'guest' })).toBe(3);
    const { client } = await RawStomp.connected(broker);
    client.close();
    await first.endAsync();
    // the slot is free again
    const again = await mqttConnect(broker, { clientId: 'again' });
    await again.endAsync();
  });

  it('node-wide: CONNACK 3 as well', async () => {
    broker = await startBroker({ limits: { maxConnections: 1 } });
    const amqp = await connect(broker);
    expect(await connackRefusal(broker, { clientId: 'over', username: 'guest', password: 'guest' })).toBe(3);
    await amqp.close();
  });

  it('a PUBLISH over maxMessageSize closes that connection (MQTT 3.1.1 cannot refuse one); others carry on', async () => {
    broker = await startBroker({ limits: { maxMessageSize: 1024 } });
    const sub = await mqttConnect(broker, { clientId: 'size-sub' });
    const box = inbox(sub);
    await subscribe(sub, 'size/#', 1);
    const big = await mqttConnect(broker, { clientId: 'size-big' });
    const gone = closed(big);
    big.publish('size/x', Buffer.alloc(1025), { qos: 1 });
    await gone;
    const ok = await mqttConnect(broker, { clientId: 'size-ok' });
    await ok.publishAsync('size/y', Buffer.alloc(1024), { qos: 1 });
    const m = await box.next();
    expect(m.topic).toBe('size/y');
    expect(m.payload.length).toBe(1024);
    await ok.endAsync();
    await sub.endAsync();
  });
});
