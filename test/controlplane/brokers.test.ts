import amqplib from 'amqplib';
import mqtt from 'mqtt';
import {
  BadRequestException,
  ConflictException,
  CreateBrokerCommand,
  DeleteBrokerCommand,
  DescribeBrokerCommand,
  ListBrokersCommand,
  NotFoundException,
  RebootBrokerCommand,
} from '@aws-sdk/client-mq';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { PASSWORD, endpoint, mqClient, refused, stompitConnect, useControlPlane, waitForState } from '../helpers/mq-api.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';


describe('Amazon MQ API: brokers that really run (@aws-sdk/client-mq)', () => {
  const cp = useControlPlane();

  it('creates a RabbitMQ broker: RUNNING, described amqps endpoint, amqplib sends and receives as the created user', async () => {
    const created = await cp.client.send(
      new CreateBrokerCommand({
        BrokerName: 'orders-rabbit',
        EngineType: 'RABBITMQ',
        EngineVersion: '3.13',
        HostInstanceType: 'mq.m5.large',
        DeploymentMode: 'SINGLE_INSTANCE',
        PubliclyAccessible: false,
        AutoMinorVersionUpgrade: true,
        Users: [{ Username: 'app', Password: PASSWORD }],
        Tags: { env: 'test' },
      }),
    );
    expect(created.BrokerId).toMatch(/^b-[0-9a-f-]{36}$/);
    expect(created.BrokerArn).toBe(`arn:aws:mq:us-east-1:000000000000:broker:orders-rabbit:${created.BrokerId}`);
    const d = await waitForState(cp.client, created.BrokerId!, 'RUNNING');
    expect(d).toMatchObject({ BrokerName: 'orders-rabbit', EngineType: 'RABBITMQ', EngineVersion: '3.13', DeploymentMode: 'SINGLE_INSTANCE', HostInstanceType: 'mq.m5.large', Tags: { env: 'test' } });
    expect(d.BrokerInstances).toHaveLength(1);
    expect(d.BrokerInstances![0]!.Endpoints).toEqual([expect.stringMatching(/^amqps:\/\/localhost:\d+$/)]);
    expect(d.BrokerInstances![0]!.ConsoleURL).toMatch(/^https:\/\/localhost:\d+$/);
    expect(d.Created).toBeInstanceOf(Date);

    const url = endpoint(d, 'amqps');
    const conn = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [cp.ca] });
    const ch = await conn.createChannel();
    await ch.assertQueue('orders', { durable: true });
    ch.sendToQueue('orders', Buffer.from('order 1'), { persistent: true });
    const got = await new Promise<string>((resolve) => ch.consume('orders', (m) => m && resolve(m.content.toString()), { noAck: true }));
    expect(got).toBe('order 1');
    // guest does not exist on a created broker
    await expect(amqplib.connect(`amqps://guest:guest@${url.hostname}:${url.port}`, { ca: [cp.ca] })).rejects.toThrow(/ACCESS_REFUSED|403/);
    await conn.close();

    const list = await cp.client.send(new ListBrokersCommand({}));
    expect(list.BrokerSummaries).toContainEqual(expect.objectContaining({ BrokerId: created.BrokerId, BrokerName: 'orders-rabbit', BrokerState: 'RUNNING', EngineType: 'RABBITMQ' }));
  });

  it('creates an ActiveMQ broker: stompit over stomp+ssl, mqtt.js over mqtt+ssl, rhea over amqp+ssl as the created user', async () => {
    const created = await cp.client.send(
      new CreateBrokerCommand({
        BrokerName: 'orders-activemq',
        EngineType: 'ACTIVEMQ',
        EngineVersion: '5.18',
        HostInstanceType: 'mq.t3.micro',
        DeploymentMode: 'SINGLE_INSTANCE',
        PubliclyAccessible: false,
        Users: [{ Username: 'jms', Password: PASSWORD, ConsoleAccess: true, Groups: ['apps'] }],
      }),
    );
    const d = await waitForState(cp.client, created.BrokerId!, 'RUNNING');
    const endpoints = d.BrokerInstances![0]!.Endpoints!;
    expect(endpoints).toEqual(expect.arrayContaining([expect.stringMatching(/^stomp\+ssl:\/\/localhost:\d+$/), expect.stringMatching(/^mqtt\+ssl:\/\/localhost:\d+$/), expect.stringMatching(/^wss:\/\/localhost:\d+$/)]));
    // Amazon MQ's order: (ssl,) amqp+ssl, stomp+ssl, mqtt+ssl, wss
    expect(endpoints.map((e) => e.split('://')[0]).filter((s) => ['amqp+ssl', 'stomp+ssl', 'mqtt+ssl', 'wss'].includes(s))).toEqual(['amqp+ssl', 'stomp+ssl', 'mqtt+ssl', 'wss']);
    expect(d.BrokerInstances![0]!.IpAddress).toBe('127.0.0.1');
    expect(d.Users).toEqual([{ Username: 'jms' }]);

    const stomp = await stompitConnect(endpoint(d, 'stomp+ssl'), cp.ca, 'jms', PASSWORD);
    const got = new Promise<string>((resolve) =>
      stomp.subscribe({ destination: '/queue/orders.in', ack: 'auto' }, (err, msg) => {
        if (!err) msg.readString('utf-8', (_e, body) => resolve(body ?? ''));
      }),
    );
    stomp.send({ destination: '/queue/orders.in', persistent: 'true' }).end('over stomp+ssl');
    expect(await got).toBe('over stomp+ssl');
    stomp.disconnect();

    // mqtt.js spells Amazon MQ's mqtt+ssl:// scheme mqtts://
    const m = endpoint(d, 'mqtt+ssl');
    const client2 = mqtt.connect(`mqtts://${m.hostname}:${m.port}`, { username: 'jms', password: PASSWORD, ca: [cp.ca], reconnectPeriod: 0 });
    await new Promise<void>((resolve, reject) => {
      client2.once('connect', () => resolve());
      client2.once('error', reject);
    });
    const received = new Promise<string>((resolve) => client2.on('message', (_t, payload) => resolve(payload.toString())));
    await client2.subscribeAsync('sensors/t1', { qos: 1 });
    await client2.publishAsync('sensors/t1', 'over mqtt+ssl', { qos: 1 });
    expect(await received).toBe('over mqtt+ssl');
    await client2.endAsync();

    // AMQP 1.0 (rhea) over Amazon MQ's amqp+ssl:// endpoint
    const a = endpoint(d, 'amqp+ssl');
    const conn = await rheaConnect(Number(a.port), { transport: 'tls', host: a.hostname, servername: a.hostname, ca: [cp.ca], username: 'jms', password: PASSWORD } as never);
    const sender = await openSender(conn, 'queue://orders.amqp');
    expect((await sendAwait(sender, { body: 'over amqp+ssl', durable: true })).outcome).toBe('accepted');
    const rx = await openReceiver(conn, 'queue://orders.amqp');
    expect((await receiveN(rx, 1))[0]!.message.body).toBe('over amqp+ssl');
    await rheaClose(conn);
  });

  it('a reboot closes clients with 320 and keeps a durable queue\'s persistent messages', async () => {
    const { BrokerId } = await cp.client.send(
      new CreateBrokerCommand({
        BrokerName: 'reboot-me',
        EngineType: 'RABBITMQ',
        HostInstanceType: 'mq.m5.large',
        DeploymentMode: 'CLUSTER_MULTI_AZ',
        PubliclyAccessible: false,
        Users: [{ Username: 'app', Password: PASSWORD }],
      }),
    );
    const d = await waitForState(cp.client, BrokerId!, 'RUNNING');
    expect(d.BrokerInstances).toHaveLength(1);
    const url = endpoint(d, 'amqps');
    const conn = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [cp.ca] });
    const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('keep', { durable: true });
    for (let i = 0; i < 5; i++) ch.sendToQueue('keep', Buffer.from(`m${i}`), { persistent: true });
    await ch.waitForConfirms();
    await cp.client.send(new RebootBrokerCommand({ BrokerId }));
    expect(String(await closed)).toMatch(/320|CONNECTION_FORCED/);
    const after = await waitForState(cp.client, BrokerId!, 'RUNNING');
    expect(after.BrokerInstances![0]!.Endpoints).toEqual(d.BrokerInstances![0]!.Endpoints);
    const conn2 = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [cp.ca] });
    const ch2 = await conn2.createChannel();
    const q = await ch2.checkQueue('keep');
    expect(q.messageCount).toBe(5);
    await conn2.close();
  });

  it('delete: DELETION_IN_PROGRESS, then NotFoundException, and the listeners are closed', async () => {
    const { BrokerId } = await cp.client.send(
      new CreateBrokerCommand({ BrokerName: 'short-lived', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: true, Users: [{ Username: 'u1', Password: PASSWORD }] }),
    );
    const d = await waitForState(cp.client, BrokerId!, 'RUNNING');
    const port = Number(endpoint(d, 'stomp+ssl').port);
    expect(await refused(port)).toBe(false);
    const del = await cp.client.send(new DeleteBrokerCommand({ BrokerId }));
    expect(del.BrokerId).toBe(BrokerId);
    await cp.host.controlPlane.settled(BrokerId!);
    const err = await cp.client.send(new DescribeBrokerCommand({ BrokerId })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotFoundException);
    expect((err as NotFoundException).ErrorAttribute).toBe('broker-id');
    expect((err as NotFoundException).message).toBe(`Can't find requested broker [${BrokerId}]. Make sure your broker exists.`);
    expect((err as NotFoundException).$metadata.httpStatusCode).toBe(404);
    expect(await refused(port)).toBe(true);
  });

  it('errors as the SDK parses them: validation, conflicts, unknown ids', async () => {
    const base = { EngineType: 'RABBITMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] } as const;
    const fail = (input: Record<string, unknown>) => cp.client.send(new CreateBrokerCommand(input as never)).then(() => undefined, (e: unknown) => e as BadRequestException);

    let e = await fail({ ...base, BrokerName: 'has space' });
    expect(e).toBeInstanceOf(BadRequestException);
    expect(e!.ErrorAttribute).toBe('brokerName');
    e = await fail({ ...base, BrokerName: 'short-pw', Users: [{ Username: 'app', Password: 'short' }] });
    expect(e).toBeInstanceOf(BadRequestException);
    expect(e).toMatchObject({ ErrorAttribute: 'password', message: 'Password is invalid. Enter a password 12 to 250 characters long.' });
    e = await fail({ ...base, BrokerName: 'guest-user', Users: [{ Username: 'guest', Password: PASSWORD }] });
    expect(e).toMatchObject({ ErrorAttribute: 'username' });
    e = await fail({ ...base, BrokerName: 'bad-type', HostInstanceType: 'mq.m9.huge' });
    expect(e).toMatchObject({ ErrorAttribute: 'hostInstanceType' });
    e = await fail({ ...base, BrokerName: 'bad-version', EngineVersion: '4.2' });
    expect(e).toMatchObject({ ErrorAttribute: 'engineVersion' });
    e = await fail({ ...base, BrokerName: 'bad-mode', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ' });
    expect(e).toMatchObject({ ErrorAttribute: 'deploymentMode' });
    e = await fail({ ...base, BrokerName: 'micro-cluster', HostInstanceType: 'mq.t3.micro', DeploymentMode: 'CLUSTER_MULTI_AZ' });
    expect(e).toMatchObject({ ErrorAttribute: 'deploymentMode' });
    e = await fail({ ...base, BrokerName: 'two-users', Users: [{ Username: 'a1', Password: PASSWORD }, { Username: 'a2', Password: PASSWORD }] });
    expect(e).toMatchObject({ ErrorAttribute: 'users' });
    e = await fail({ ...base, BrokerName: 'bad-engine', EngineType: 'KAFKA' });
    expect(e).toMatchObject({ ErrorAttribute: 'engineType' });

    const dup = await fail({ ...base, BrokerName: 'orders-rabbit' });
    expect(dup).toBeInstanceOf(ConflictException);
    expect(dup!.$metadata.httpStatusCode).toBe(409);

    const reboot = await cp.client.send(new RebootBrokerCommand({ BrokerId: 'b-00000000-0000-0000-0000-000000000000' })).catch((x: unknown) => x);
    expect(reboot).toBeInstanceOf(NotFoundException);
  });

  it('ListBrokers pages with MaxResults and NextToken', async () => {
    const first = await cp.client.send(new ListBrokersCommand({ MaxResults: 1 }));
    expect(first.BrokerSummaries).toHaveLength(1);
    expect(first.NextToken).toBeTruthy();
    const second = await cp.client.send(new ListBrokersCommand({ MaxResults: 1, NextToken: first.NextToken }));
    expect(second.BrokerSummaries![0]!.BrokerId).not.toBe(first.BrokerSummaries![0]!.BrokerId);
  });
});

describe('Amazon MQ API with amazonHostnames: endpoints at the Amazon-style names, covered by the certificate', () => {
  it('lists b-<id>-1 / b-<id>-2 host names and the certificate holds for them', async () => {
    const host = await startBroker({ amazonHostnames: true });
    const client = mqClient(host, 'eu-central-1');
    try {
      const { BrokerId } = await client.send(
        new CreateBrokerCommand({ BrokerName: 'amazon-names', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] }),
      );
      const d = await waitForState(client, BrokerId!, 'RUNNING');
      const first = endpoint(d, 'stomp+ssl', 0);
      expect(first.hostname).toBe(`${BrokerId}-1.mq.eu-central-1.amazonaws.com`);
      expect(endpoint(d, 'stomp+ssl', 1).hostname).toBe(`${BrokerId}-2.mq.eu-central-1.amazonaws.com`);
      const { ca } = await host.controlPlane.certificateAuthority();
      const tls = await import('node:tls');
      const verified = await new Promise<boolean>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: Number(first.port), servername: first.hostname, ca: [ca] }, () => {
          resolve(s.authorized);
          s.destroy();
        });
        s.once('error', reject);
      });
      expect(verified).toBe(true);
    } finally {
      client.destroy();
      await host.stop();
    }
  });
});
