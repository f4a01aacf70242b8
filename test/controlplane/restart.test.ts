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
