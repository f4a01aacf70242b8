import amqplib from 'amqplib';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBrokerCommand, CreateConfigurationCommand, ListBrokersCommand, ListConfigurationRevisionsCommand, UpdateConfigurationCommand } from '@aws-sdk/client-mq';
import { afterAll, describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { endpoint, mqClient, waitForState } from '../helpers/mq-api.js';

const PASSWORD = 'correct-horse-battery';

describe('Amazon MQ API state survives a LocalMQ restart with a data dir', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-cp-restart-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('brokers come back RUNNING on the same endpoints with their users, queues and persistent messages; configurations keep their revisions', async () => {
    let host = await startBroker({ dataDir: dir });
    let client = mqClient(host);
    const { BrokerId } = await client.send(
      new CreateBrokerCommand({ BrokerName: 'durable', EngineType: 'RABBITMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] }),
    );
    const conf = await client.send(new CreateConfigurationCommand({ Name: 'kept', EngineType: 'RABBITMQ', EngineVersion: '3.13' }));
    await client.send(new UpdateConfigurationCommand({ ConfigurationId: conf.Id, Data: Buffer.from('consumer_timeout = 60000\n').toString('base64') }));
    const before = await waitForState(client, BrokerId!, 'RUNNING');
    expect(existsSync(join(dir, 'brokers', BrokerId!))).toBe(true);
    const { ca } = await host.controlPlane.certificateAuthority();
    const url = endpoint(before, 'amqps');
    const conn = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [ca] });
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('kept', { durable: true });
    ch.sendToQueue('kept', Buffer.from('still here'), { persistent: true });
    await ch.waitForConfirms();
    await conn.close();
    client.destroy();
    await host.stop();

    host = await startBroker({ dataDir: dir });
    client = mqClient(host);
    try {
      const list = await client.send(new ListBrokersCommand({}));
      expect(list.BrokerSummaries).toEqual([expect.objectContaining({ BrokerId, BrokerName: 'durable', BrokerState: 'RUNNING' })]);
      const after = await waitForState(client, BrokerId!, 'RUNNING');
      expect(after.BrokerInstances).toEqual(before.BrokerInstances);
      const conn2 = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [(await host.controlPlane.certificateAuthority()).ca] });
      const ch2 = await conn2.createChannel();
      const m = await ch2.get('kept', { noAck: true });
      expect(m && m.content.toString()).toBe('still here');
      await conn2.close();
      const revs = await client.send(new ListConfigurationRevisionsCommand({ ConfigurationId: conf.Id }));
      expect(revs.Revisions!.map((r) => r.Revision)).toEqual([1, 2]);
    } finally {
      client.destroy();
      await host.stop();
    }
  });
});

describe('lazyControlPlane (the CLI): the control plane loads on first use (issue 18: idle RSS)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-cp-lazy-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('an API request loads it; a restart on a data dir that holds brokers brings them back', async () => {
    let host = await startBroker({ dataDir: dir, lazyControlPlane: true });
    let client = mqClient(host);
    try {
      // nothing loaded it yet: the sync getter says what to use instead
      expect(() => host.controlPlane).toThrow(/await broker\.getControlPlane\(\)/);
      const { BrokerId } = await client.send(
        new CreateBrokerCommand({ BrokerName: 'lazy', EngineType: 'RABBITMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] }),
      );
      await waitForState(client, BrokerId!, 'RUNNING');
      expect(host.controlPlane).toBe(await host.getControlPlane());
      client.destroy();
      await host.stop();

      host = await startBroker({ dataDir: dir, lazyControlPlane: true });
      client = mqClient(host);
      // loaded at start to bring the created broker back
      expect(host.controlPlane.records.has(BrokerId!)).toBe(true);
      await host.controlPlane.settled(BrokerId!);
      expect(host.controlPlane.state(BrokerId!)).toBe('RUNNING');
      const list = await client.send(new ListBrokersCommand({}));
      expect(list.BrokerSummaries).toEqual([expect.objectContaining({ BrokerId, BrokerName: 'lazy', BrokerState: 'RUNNING' })]);
    } finally {
      client.destroy();
      await host.stop();
    }
  });

  it('a data dir without brokers starts without it; getControlPlane() loads it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'localmq-cp-lazy-empty-'));
    const host = await startBroker({ dataDir: empty, lazyControlPlane: true });
    try {
      expect(() => host.controlPlane).toThrow(/has not loaded yet/);
      const cp = await host.getControlPlane();
      expect(cp.listBrokers()).toEqual([]);
      expect(host.controlPlane).toBe(cp);
    } finally {
      await host.stop();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
