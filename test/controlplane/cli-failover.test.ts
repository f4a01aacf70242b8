import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBrokerCommand, MqClient } from '@aws-sdk/client-mq';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli, startForeground, type Foreground } from '../helpers/cli.js';
import { waitForState } from '../helpers/mq-api.js';

describe('`localmq` and the Amazon MQ API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-cp-cli-'));
  let fg: Foreground | undefined;
  afterAll(async () => {
    fg?.child.kill('SIGTERM');
    await fg?.exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the API endpoint; `localmq failover <id>` fails an active/standby broker over', async () => {
    fg = await startForeground(['--in-memory', '--free-ports', '--run-dir', dir], { cwd: dir });
    const api = fg.endpoints.get('Amazon MQ API (aws mq --endpoint-url)');
    expect(api).toMatch(/^http:\/\/localhost:\d+$/);
    const client = new MqClient({ endpoint: api!, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
    const { BrokerId } = await client.send(
      new CreateBrokerCommand({ BrokerName: 'cli-pair', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ', PubliclyAccessible: false, Users: [{ Username: 'app', Password: 'correct-horse-battery' }] }),
    );
    await waitForState(client, BrokerId!, 'RUNNING');
    const r = await runCli(['failover', BrokerId!, '--run-dir', dir], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(new RegExp(`^${BrokerId}: instance -2 is active, serving [\\d.]+ ms after the trigger`));
    expect(r.status).toBe(0);
    const bad = await runCli(['failover', 'b-nope', '--run-dir', dir], { cwd: dir });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/Can't find requested broker \[b-nope\]/);
    client.destroy();
  });
});
