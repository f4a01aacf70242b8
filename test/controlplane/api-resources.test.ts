import https from 'node:https';
import amqplib from 'amqplib';
import {
  BadRequestException,
  CreateBrokerCommand,
  CreateConfigurationCommand,
  CreateTagsCommand,
  CreateUserCommand,
  DeleteTagsCommand,
  DeleteUserCommand,
  DescribeBrokerEngineTypesCommand,
  DescribeBrokerInstanceOptionsCommand,
  DescribeConfigurationCommand,
  DescribeConfigurationRevisionCommand,
  DescribeUserCommand,
  ListConfigurationRevisionsCommand,
  ListConfigurationsCommand,
  ListTagsCommand,
  ListUsersCommand,
  NotFoundException,
  RebootBrokerCommand,
  UpdateBrokerCommand,
  UpdateConfigurationCommand,
  UpdateUserCommand,
  DescribeBrokerCommand,
  ForbiddenException,
  ListBrokersCommand,
  UnauthorizedException,
} from '@aws-sdk/client-mq';
import { beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, endpoint, mqClient, stompitConnect, useControlPlane, waitForState } from '../helpers/mq-api.js';
import { stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';


/** a JSON request to a created broker's HTTPS management API, trusting the local CA */
function httpsJson(port: number, method: string, path: string, credentials: string, body: unknown, ca?: string): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      { host: '127.0.0.1', servername: 'localhost', port, method, path, ca: ca ?? caPem, headers: { authorization: `Basic ${Buffer.from(credentials).toString('base64')}`, 'content-type': 'application/json' } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : undefined }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
let caPem = '';

describe('Amazon MQ API: users, configurations, updates, tags, catalog', () => {
  const cp = useControlPlane();
  let activeId: string;
  let rabbitId: string;
  let rabbitArn: string;

  beforeAll(async () => {
    caPem = cp.ca;
    const a = await cp.client.send(
      new CreateBrokerCommand({ BrokerName: 'users-amq', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: false, Users: [{ Username: 'admin', Password: PASSWORD, ConsoleAccess: true }] }),
    );
    const r = await cp.client.send(
      new CreateBrokerCommand({ BrokerName: 'cfg-rabbit', EngineType: 'RABBITMQ', HostInstanceType: 'mq.m7g.large', EngineVersion: '4.2', DeploymentMode: 'SINGLE_INSTANCE', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] }),
    );
    activeId = a.BrokerId!;
    rabbitId = r.BrokerId!;
    rabbitArn = r.BrokerArn!;
    await waitForState(cp.client, activeId, 'RUNNING');
    await waitForState(cp.client, rabbitId, 'RUNNING');
  });

  it('ActiveMQ users: create, describe with Pending, list, update, delete; applied to the live broker', async () => {
    await cp.client.send(new CreateUserCommand({ BrokerId: activeId, Username: 'worker', Password: PASSWORD, Groups: ['workers'], ConsoleAccess: false }));
    const d = await cp.client.send(new DescribeUserCommand({ BrokerId: activeId, Username: 'worker' }));
    expect(d).toMatchObject({ BrokerId: activeId, Username: 'worker', Groups: ['workers'], ConsoleAccess: false, Pending: { PendingChange: 'CREATE', Groups: ['workers'] } });
    const list = await cp.client.send(new ListUsersCommand({ BrokerId: activeId }));
    expect(list.Users).toEqual([{ Username: 'admin' }, { Username: 'worker', PendingChange: 'CREATE' }]);

    const b = await waitForState(cp.client, activeId, 'RUNNING');
    const stomp = await stompitConnect(endpoint(b, 'stomp+ssl'), cp.ca, 'worker', PASSWORD);
    stomp.disconnect();

    await cp.client.send(new UpdateUserCommand({ BrokerId: activeId, Username: 'admin', Groups: ['admins'] }));
    expect((await cp.client.send(new DescribeUserCommand({ BrokerId: activeId, Username: 'admin' }))).Pending).toEqual({ PendingChange: 'UPDATE', ConsoleAccess: true, Groups: ['admins'] });

    await cp.client.send(new DeleteUserCommand({ BrokerId: activeId, Username: 'worker' }));
    // a deleted user can no longer connect
    await expect(stompitConnect(endpoint(b, 'stomp+ssl'), cp.ca, 'worker', PASSWORD)).rejects.toThrow();

    const missing = await cp.client.send(new DescribeUserCommand({ BrokerId: activeId, Username: 'nobody' })).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundException);
    expect((missing as NotFoundException).ErrorAttribute).toBe('username');

    const weak = await cp.client.send(new CreateUserCommand({ BrokerId: activeId, Username: 'weak', Password: 'aaaaaaaaaaaaaa' })).catch((e: unknown) => e);
    expect(weak).toBeInstanceOf(BadRequestException);
    expect((weak as BadRequestException).ErrorAttribute).toBe('password');

    // a reboot applies the pending changes
    await cp.client.send(new RebootBrokerCommand({ BrokerId: activeId }));
    await cp.host.controlPlane.settled(activeId);
    expect((await cp.client.send(new ListUsersCommand({ BrokerId: activeId }))).Users).toEqual([{ Username: 'admin' }]);
    expect(await cp.client.send(new DescribeUserCommand({ BrokerId: activeId, Username: 'admin' }))).toMatchObject({ Groups: ['admins'], ConsoleAccess: true });
    expect((await cp.client.send(new DescribeUserCommand({ BrokerId: activeId, Username: 'admin' }))).Pending).toBeUndefined();
  });

  it('user calls on a RabbitMQ broker fail with BadRequestException', async () => {
    const e = await cp.client.send(new CreateUserCommand({ BrokerId: rabbitId, Username: 'other', Password: PASSWORD })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BadRequestException);
    const l = await cp.client.send(new ListUsersCommand({ BrokerId: rabbitId })).catch((x: unknown) => x);
    expect(l).toBeInstanceOf(BadRequestException);
  });

  it('configurations: revisions, ActiveMQ XML checked and sanitized with warnings, RabbitMQ keys checked', async () => {
    const c = await cp.client.send(new CreateConfigurationCommand({ Name: 'amq-conf', EngineType: 'ACTIVEMQ', EngineVersion: '5.18' }));
    expect(c.Id).toMatch(/^c-[0-9a-f-]{36}$/);
    expect(c.LatestRevision).toMatchObject({ Revision: 1 });
    const xml = '<?xml version="1.0"?><broker xmlns="http://activemq.apache.org/schema/core"><destinationPolicy><policyMap><policyEntries><policyEntry queue="&gt;" prioritizedMessages="true"/></policyEntries></policyMap></destinationPolicy><transportConnectors><transportConnector name="x"/></transportConnectors></broker>';
    const u = await cp.client.send(new UpdateConfigurationCommand({ ConfigurationId: c.Id, Data: Buffer.from(xml).toString('base64'), Description: 'priorities' }));
    expect(u.LatestRevision).toMatchObject({ Revision: 2, Description: 'priorities' });
    expect(u.Warnings).toEqual([{ Reason: 'DISALLOWED_ELEMENT_REMOVED', ElementName: 'transportConnectors' }]);
    const rev = await cp.client.send(new DescribeConfigurationRevisionCommand({ ConfigurationId: c.Id, ConfigurationRevision: '2' }));
    const stored = Buffer.from(rev.Data!, 'base64').toString();
    expect(stored).toContain('prioritizedMessages="true"');
    expect(stored).not.toContain('transportConnectors');
    const revs = await cp.client.send(new ListConfigurationRevisionsCommand({ ConfigurationId: c.Id }));
    expect(revs.Revisions!.map((r) => r.Revision)).toEqual([1, 2]);
    expect((await cp.client.send(new DescribeConfigurationCommand({ ConfigurationId: c.Id }))).LatestRevision!.Revision).toBe(2);
    expect((await cp.client.send(new ListConfigurationsCommand({}))).Configurations!.map((x) => x.Id)).toContain(c.Id);

    const bad = await cp.client.send(new UpdateConfigurationCommand({ ConfigurationId: c.Id, Data: Buffer.from('<broker><oops></broker>').toString('base64') })).catch((x: unknown) => x);
    expect(bad).toBeInstanceOf(BadRequestException);
    expect((bad as BadRequestException).ErrorAttribute).toBe('data');

    const rc = await cp.client.send(new CreateConfigurationCommand({ Name: 'rabbit-conf', EngineType: 'RABBITMQ', EngineVersion: '3.13' }));
    const ok = await cp.client.send(new UpdateConfigurationCommand({ ConfigurationId: rc.Id, Data: Buffer.from('consumer_timeout = 60000\ndefault_queue_type = quorum\n').toString('base64') }));
    expect(ok.LatestRevision!.Revision).toBe(2);
    const refused = await cp.client.send(new UpdateConfigurationCommand({ ConfigurationId: rc.Id, Data: Buffer.from('listeners.tcp.default = 5672\n').toString('base64') })).catch((x: unknown) => x);
    expect(refused).toBeInstanceOf(BadRequestException);

    const none = await cp.client.send(new DescribeConfigurationCommand({ ConfigurationId: 'c-00000000-0000-0000-0000-000000000000' })).catch((x: unknown) => x);
    expect(none).toBeInstanceOf(NotFoundException);
  });

  it('UpdateBroker: engine version and configuration pending until the reboot', async () => {
    const rc = await cp.client.send(new CreateConfigurationCommand({ Name: 'for-update', EngineType: 'RABBITMQ', EngineVersion: '4.2' }));
    await cp.client.send(new UpdateConfigurationCommand({ ConfigurationId: rc.Id, Data: Buffer.from('channel_max = 16\nconsumer_timeout = 60000\ndefault_queue_type = classic\nmanagement.restrictions.operator_policy_changes.disabled = true\n').toString('base64') }));
    const u = await cp.client.send(new UpdateBrokerCommand({ BrokerId: rabbitId, EngineVersion: '4.3', Configuration: { Id: rc.Id, Revision: 2 } }));
    expect(u).toMatchObject({ BrokerId: rabbitId, EngineVersion: '4.3', Configuration: { Id: rc.Id, Revision: 2 } });
    let d = await cp.client.send(new DescribeBrokerCommand({ BrokerId: rabbitId }));
    expect(d).toMatchObject({ EngineVersion: '4.2', PendingEngineVersion: '4.3', Configurations: { Pending: { Id: rc.Id, Revision: 2 } } });
    const url = endpoint(d, 'amqps');
    const before = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [cp.ca] });
    expect((before as unknown as { connection: { channelMax: number } }).connection.channelMax).toBe(2047);
    before.on('error', () => undefined);
    const down = await cp.client.send(new UpdateBrokerCommand({ BrokerId: rabbitId, EngineVersion: '3.13' })).catch((x: unknown) => x);
    expect(down).toBeInstanceOf(BadRequestException);
    await cp.client.send(new RebootBrokerCommand({ BrokerId: rabbitId }));
    await cp.host.controlPlane.settled(rabbitId);
    d = await cp.client.send(new DescribeBrokerCommand({ BrokerId: rabbitId }));
    expect(d.EngineVersion).toBe('4.3');
    expect(d.PendingEngineVersion).toBeUndefined();
    expect(d.Configurations).toMatchObject({ Current: { Id: rc.Id, Revision: 2 }, History: [{ Id: rc.Id, Revision: 2 }] });
    // the revision's channel_max applies from the reboot on
    const after = await amqplib.connect(`amqps://app:${PASSWORD}@${url.hostname}:${url.port}`, { ca: [cp.ca] });
    expect((after as unknown as { connection: { channelMax: number } }).connection.channelMax).toBe(16);
    // the instance runs the new engine version's rules (4.3: quorum by default) ...
    const live = cp.host.controlPlane.activeInstance(rabbitId)!;
    expect(live.core.engineRules.version).toBe('4.3');
    // ... with the revision's default_queue_type = classic: a durable queue declared without x-queue-type is classic
    const ch = await after.createChannel();
    await ch.assertQueue('typed-by-config', { durable: true });
    expect(live.core.vhost('/')!.getQueue('typed-by-config')!.config.queueType).toBe('classic');
    // consumer_timeout = 60000 reaches the core's consumer timeout (30 min by default)
    expect(live.core.consumerTimeoutMs).toBe(60000);
    // management.restrictions.operator_policy_changes.disabled: the broker's management API refuses operator policies
    const refused = await httpsJson(Number(live.ports['https']), 'PUT', '/api/operator-policies/%2F/cap', `app:${PASSWORD}`, { pattern: '.*', definition: { 'max-length': 1 } });
    expect(refused).toEqual({ status: 405, body: { error: 'method_not_allowed', reason: 'Broker settings disallow editing of operator policies.' } });
    await after.close();
  });

  it('ActiveMQ destination policies applied at the reboot: individual and shared dead-letter strategies, prioritizedMessages', async () => {
    const c = await cp.client.send(new CreateConfigurationCommand({ Name: 'dlq-policies', EngineType: 'ACTIVEMQ', EngineVersion: '5.19' }));
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<broker xmlns="http://activemq.apache.org/schema/core">
  <destinationPolicy>
    <policyMap>
      <policyEntries>
        <policyEntry queue="&gt;">
          <deadLetterStrategy><individualDeadLetterStrategy queuePrefix="DLQ." useQueueForQueueMessages="true"/></deadLetterStrategy>
        </policyEntry>
        <policyEntry queue="prio.&gt;" prioritizedMessages="true"/>
        <policyEntry queue="noexp.&gt;">
          <deadLetterStrategy><individualDeadLetterStrategy queuePrefix="DLQ." processExpired="false"/></deadLetterStrategy>
        </policyEntry>
        <policyEntry queue="audit.&gt;">
          <deadLetterStrategy>
            <sharedDeadLetterStrategy processNonPersistent="true"><deadLetterQueue><queue physicalName="AUDIT.DLQ"/></deadLetterQueue></sharedDeadLetterStrategy>
          </deadLetterStrategy>
        </policyEntry>
      </policyEntries>
    </policyMap>
  </destinationPolicy>
</broker>`;
    const u = await cp.client.send(new UpdateConfigurationCommand({ ConfigurationId: c.Id, Data: Buffer.from(xml).toString('base64') }));
    expect(u.Warnings ?? []).toEqual([]);
    await cp.client.send(new UpdateBrokerCommand({ BrokerId: activeId, Configuration: { Id: c.Id, Revision: 2 } }));
    await cp.client.send(new RebootBrokerCommand({ BrokerId: activeId }));
    await cp.host.controlPlane.settled(activeId);
    const d = await waitForState(cp.client, activeId, 'RUNNING');
    const stomp = await stompitConnect(endpoint(d, 'stomp+ssl'), cp.ca, 'admin', PASSWORD);
    const nackOne = async (destination: string, persistent: boolean) => {
      await stompitSend(stomp, { destination, persistent: String(persistent), receipt: `s-${destination}` }, `to ${destination}`);
      const sub = stompitSubscribe(stomp, { destination, ack: 'client-individual' });
      const m = await sub.next();
      stomp.nack(m.raw);
      sub.subscription.unsubscribe();
    };
    const receive = async (destination: string) => {
      const sub = stompitSubscribe(stomp, { destination, ack: 'auto' });
      const m = await sub.next();
      sub.subscription.unsubscribe();
      return m;
    };
    // queue=">": a DLQ per queue, named DLQ.<queue>
    await nackOne('/queue/orders.eu', true);
    const dead = await receive('/queue/DLQ.orders.eu');
    expect(dead.body).toBe('to /queue/orders.eu');
    expect(dead.headers['original-destination']).toBe('/queue/orders.eu');
    // the more specific audit.> entry: the shared AUDIT.DLQ, non-persistent messages too
    await nackOne('/queue/audit.login', false);
    expect((await receive('/queue/AUDIT.DLQ')).body).toBe('to /queue/audit.login');
    // a non-persistent message under the individual strategy (processNonPersistent false) is dropped, as ActiveMQ does
    await nackOne('/queue/orders.us', false);
    const live = cp.host.controlPlane.activeInstance(activeId)!;
    expect(live.core.vhost('/')!.getQueue('DLQ.orders.us')).toBeUndefined();
    expect(live.core.vhost('/')!.getQueue('ActiveMQ.DLQ')).toBeUndefined();
    // prio.>: delivered by JMSPriority (9 first); other queues in send order, as ActiveMQ's default
    const sendThree = async (destination: string) => {
      for (const p of [1, 9, 4]) await stompitSend(stomp, { destination, priority: String(p), receipt: `p-${destination}-${p}` }, `p${p}`);
    };
    const takeThree = async (destination: string) => {
      const sub = stompitSubscribe(stomp, { destination, ack: 'auto' });
      const bodies = [(await sub.next()).body, (await sub.next()).body, (await sub.next()).body];
      sub.subscription.unsubscribe();
      return bodies;
    };
    // processExpired="false": an expired persistent message is dropped, not dead-lettered; under ">" it goes to DLQ.<queue>
    const dropped: string[] = [];
    const bothExpired = new Promise<void>((resolve) => {
      const onSettled = (q: { name: string }, _e: unknown, how: string) => {
        if (how === 'dropped' && (q.name === 'noexp.a' || q.name === 'exp.a')) dropped.push(q.name);
        if (dropped.length === 2) {
          live.core.off('settled', onSettled as never);
          resolve();
        }
      };
      live.core.on('settled', onSettled as never);
    });
    const soon = String(Date.now() + 1000);
    await stompitSend(stomp, { destination: '/queue/noexp.a', persistent: 'true', expires: soon, receipt: 'e-1' }, 'gone');
    await stompitSend(stomp, { destination: '/queue/exp.a', persistent: 'true', expires: soon, receipt: 'e-2' }, 'to the DLQ');
    await bothExpired;
    expect(live.core.vhost('/')!.getQueue('DLQ.noexp.a')).toBeUndefined();
    expect((await receive('/queue/DLQ.exp.a')).body).toBe('to the DLQ');
    await sendThree('/queue/prio.jobs');
    expect(await takeThree('/queue/prio.jobs')).toEqual(['p9', 'p4', 'p1']);
    await sendThree('/queue/plain.jobs');
    expect(await takeThree('/queue/plain.jobs')).toEqual(['p1', 'p9', 'p4']);
    await stompitDisconnect(stomp).catch(() => undefined);
  });

  it('tags on brokers and configurations', async () => {
    await cp.client.send(new CreateTagsCommand({ ResourceArn: rabbitArn, Tags: { team: 'payments', env: 'dev' } }));
    expect((await cp.client.send(new ListTagsCommand({ ResourceArn: rabbitArn }))).Tags).toEqual({ team: 'payments', env: 'dev' });
    await cp.client.send(new DeleteTagsCommand({ ResourceArn: rabbitArn, TagKeys: ['env'] }));
    expect((await cp.client.send(new ListTagsCommand({ ResourceArn: rabbitArn }))).Tags).toEqual({ team: 'payments' });
    const e = await cp.client.send(new ListTagsCommand({ ResourceArn: 'arn:aws:mq:us-east-1:000000000000:broker:x:b-none' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(NotFoundException);
  });

  it('ForbiddenException for another account\'s ARN, UnauthorizedException for a request without credentials', async () => {
    const foreign = 'arn:aws:mq:us-east-1:123456789012:broker:theirs:b-11111111-1111-1111-1111-111111111111';
    const f = (await cp.client.send(new ListTagsCommand({ ResourceArn: foreign })).catch((x: unknown) => x)) as ForbiddenException;
    expect(f).toBeInstanceOf(ForbiddenException);
    expect(f.$metadata.httpStatusCode).toBe(403);
    expect(f.ErrorAttribute).toBe('resource-arn');
    expect(f.message).toContain('123456789012');
    // the SDK with its signature taken off after signing (what an unsigned curl sends)
    const unsigned = mqClient(cp.host);
    unsigned.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        delete request.headers['authorization'];
        return next(args);
      },
      { step: 'deserialize', name: 'dropSignature' },
    );
    const u = (await unsigned.send(new ListBrokersCommand({})).catch((x: unknown) => x)) as UnauthorizedException;
    unsigned.destroy();
    expect(u).toBeInstanceOf(UnauthorizedException);
    expect(u.$metadata.httpStatusCode).toBe(401);
    expect(u.message).toMatch(/not signed/);
    // any credentials at all pass
    const other = mqClient(cp.host, 'eu-west-1');
    expect((await other.send(new ListBrokersCommand({}))).BrokerSummaries?.length).toBeGreaterThan(0);
    other.destroy();
  });

  it('DescribeBrokerEngineTypes and DescribeBrokerInstanceOptions', async () => {
    const t = await cp.client.send(new DescribeBrokerEngineTypesCommand({}));
    expect(t.BrokerEngineTypes).toEqual([
      { EngineType: 'ACTIVEMQ', EngineVersions: [{ Name: '5.19' }, { Name: '5.18' }] },
      { EngineType: 'RABBITMQ', EngineVersions: [{ Name: '4.3' }, { Name: '4.2' }, { Name: '3.13' }] },
    ]);
    const o = await cp.client.send(new DescribeBrokerInstanceOptionsCommand({ EngineType: 'RABBITMQ', HostInstanceType: 'mq.m7g.large' }));
    expect(o.BrokerInstanceOptions).toEqual([
      expect.objectContaining({ EngineType: 'RABBITMQ', HostInstanceType: 'mq.m7g.large', StorageType: 'EBS', SupportedDeploymentModes: ['SINGLE_INSTANCE', 'CLUSTER_MULTI_AZ'], SupportedEngineVersions: ['4.3', '4.2', '3.13'] }),
    ]);
    const micro = await cp.client.send(new DescribeBrokerInstanceOptionsCommand({ EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.t3.micro' }));
    expect(micro.BrokerInstanceOptions![0]!.SupportedDeploymentModes).toEqual(['SINGLE_INSTANCE']);
    const e = await cp.client.send(new DescribeBrokerEngineTypesCommand({ EngineType: 'KAFKA' })).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(BadRequestException);
  });
});
