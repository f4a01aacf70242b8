import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CreateBrokerCommand } from '@aws-sdk/client-mq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { mqClient, waitForState } from '../helpers/mq-api.js';

const run = promisify(execFile);

/** the AWS CLI (Debian's `awscli`, or any `aws` on PATH); .ci/run installs it */
async function awsCli(): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run('aws', ['--version'], { timeout: 30_000 });
    return (stdout || stderr).trim();
  } catch {
    return undefined;
  }
}

const version = await awsCli();

describe.skipIf(!version)(`the AWS CLI against the Amazon MQ API${version ? ` (${version})` : ' (skipped: no `aws` on PATH; apt-get install awscli)'}`, () => {
  let host: LocalMQ;
  let brokerId: string;
  const env = { ...process.env, AWS_ACCESS_KEY_ID: 'AKIDLOCALMQ', AWS_SECRET_ACCESS_KEY: 'local-secret', AWS_DEFAULT_REGION: 'eu-west-1', AWS_PAGER: '', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null' };
  const aws = async (...args: string[]) => JSON.parse((await run('aws', ['mq', ...args, '--endpoint-url', host.urls.api!, '--output', 'json'], { env, timeout: 60_000 })).stdout) as Record<string, unknown>;

  beforeAll(async () => {
    host = await startBroker();
    const client = mqClient(host, 'eu-west-1');
    brokerId = (await client.send(new CreateBrokerCommand({ BrokerName: 'from-sdk', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: false, Users: [{ Username: 'app', Password: 'correct-horse-battery' }] }))).BrokerId!;
    await waitForState(client, brokerId, 'RUNNING');
    client.destroy();
  });
  afterAll(() => host?.stop());

  it('aws mq list-brokers and describe-broker', async () => {
    const list = await aws('list-brokers');
    expect(list['BrokerSummaries']).toEqual([expect.objectContaining({ BrokerId: brokerId, BrokerName: 'from-sdk', BrokerState: 'RUNNING', EngineType: 'ACTIVEMQ' })]);
    const d = await aws('describe-broker', '--broker-id', brokerId);
    expect(d['BrokerArn']).toBe(`arn:aws:mq:eu-west-1:000000000000:broker:from-sdk:${brokerId}`);
    expect((d['BrokerInstances'] as { Endpoints: string[] }[])[0]!.Endpoints).toContainEqual(expect.stringMatching(/^stomp\+ssl:\/\/localhost:\d+$/));
  });

  it('aws mq create-broker fails with the service error', async () => {
    const err = await aws('create-broker', '--broker-name', 'bad name', '--engine-type', 'RABBITMQ', '--host-instance-type', 'mq.m5.large', '--deployment-mode', 'SINGLE_INSTANCE', '--no-publicly-accessible', '--users', 'Username=app,Password=correct-horse-battery').catch((e: { stderr: string }) => e.stderr);
    expect(err).toMatch(/BadRequestException/);
    expect(err).toMatch(/Broker name is invalid/);
  });
});
