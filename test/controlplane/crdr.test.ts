import {
  BadRequestException,
  CreateBrokerCommand,
  DeleteBrokerCommand,
  DescribeBrokerCommand,
  ForbiddenException,
  PromoteCommand,
  RebootBrokerCommand,
  UpdateBrokerCommand,
  type DescribeBrokerResponse,
} from '@aws-sdk/client-mq';
import { beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, endpoint, refused, stompitConnect, useControlPlane, waitForState } from '../helpers/mq-api.js';
import { stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

/*
 * Cross-region data replication (CRDR) as Amazon MQ runs it for ActiveMQ: a replica broker
 * created in another region with DataReplicationMode CRDR and the primary's ARN; the
 * primary joins at its next reboot (Pending… until then); the replica refuses clients
 * (state REPLICA) until Promote (SWITCHOVER or FAILOVER) swaps the roles. LocalMQ copies
 * the primary's durable state at the promotion: persistent messages of durable queues
 * arrive on the new primary; each broker keeps its own users.
 */


const pair = (role: string, brokerId: string, region: string) => ({ DataReplicationCounterpart: { BrokerId: brokerId, Region: region }, DataReplicationRole: role });

describe('Amazon MQ API: cross-region data replication (CRDR) and Promote', () => {
  const cp = useControlPlane();
  let primaryId: string;
  let primaryArn: string;
  let replicaId: string;

  beforeAll(async () => {
    const p = await cp.client.send(
      new CreateBrokerCommand({ BrokerName: 'orders-east', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ', PubliclyAccessible: false, Users: [{ Username: 'east-admin', Password: PASSWORD }] }),
    );
    primaryId = p.BrokerId!;
    primaryArn = p.BrokerArn!;
    await waitForState(cp.client, primaryId, 'RUNNING');
  });
  /** the instance of a pair serving now (-1 or -2: a reboot fails a pair over) */
  const active = (id: string) => cp.host.controlPlane.records.get(id)!.active;

  it('refuses pairs Amazon MQ refuses', async () => {
    const base = { EngineType: 'ACTIVEMQ' as const, HostInstanceType: 'mq.m5.large', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ' as const, PubliclyAccessible: false, Users: [{ Username: 'west-admin', Password: PASSWORD }], DataReplicationMode: 'CRDR' as const };
    const sameRegion = await cp.client.send(new CreateBrokerCommand({ ...base, BrokerName: 'same-region', DataReplicationPrimaryBrokerArn: primaryArn })).catch((e: unknown) => e);
    expect(sameRegion).toBeInstanceOf(BadRequestException);
    expect((sameRegion as BadRequestException).ErrorAttribute).toBe('dataReplicationPrimaryBrokerArn');
    const single = await cp.clientIn('us-west-2').send(new CreateBrokerCommand({ ...base, BrokerName: 'single', DeploymentMode: 'SINGLE_INSTANCE', DataReplicationPrimaryBrokerArn: primaryArn })).catch((e: unknown) => e);
    expect(single).toBeInstanceOf(BadRequestException);
    const noArn = await cp.clientIn('us-west-2').send(new CreateBrokerCommand({ ...base, BrokerName: 'no-arn' })).catch((e: unknown) => e);
    expect((noArn as BadRequestException).ErrorAttribute).toBe('dataReplicationPrimaryBrokerArn');
    const foreign = await cp.clientIn('us-west-2').send(new CreateBrokerCommand({ ...base, BrokerName: 'foreign', DataReplicationPrimaryBrokerArn: primaryArn.replace(':000000000000:', ':123456789012:') })).catch((e: unknown) => e);
    expect(foreign).toBeInstanceOf(ForbiddenException);
    const notReplica = await cp.client.send(new PromoteCommand({ BrokerId: primaryId, Mode: 'SWITCHOVER' })).catch((e: unknown) => e);
    expect(notReplica).toBeInstanceOf(BadRequestException);
    expect((notReplica as BadRequestException).message).toMatch(/not a replica/);
  });

  it('creates a replica in another region; the primary joins at its reboot; the replica refuses clients', async () => {
    const r = await cp.clientIn('us-west-2').send(
      new CreateBrokerCommand({
        BrokerName: 'orders-west',
        EngineType: 'ACTIVEMQ',
        HostInstanceType: 'mq.m5.large',
        DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ',
        PubliclyAccessible: false,
        Users: [{ Username: 'west-admin', Password: PASSWORD }],
        DataReplicationMode: 'CRDR',
        DataReplicationPrimaryBrokerArn: primaryArn,
      }),
    );
    replicaId = r.BrokerId!;
    expect(r.BrokerArn).toContain(':us-west-2:');
    const replica = await waitForState(cp.clientIn('us-west-2'), replicaId, 'REPLICA');
    expect(replica.DataReplicationMode).toBe('CRDR');
    expect(replica.DataReplicationMetadata).toEqual(pair('REPLICA', primaryId, 'us-east-1'));
    for (const i of [0, 1]) expect(await refused(Number(endpoint(replica, 'stomp+ssl', i).port))).toBe(true);
    let primary: DescribeBrokerResponse = await cp.client.send(new DescribeBrokerCommand({ BrokerId: primaryId }));
    expect(primary.DataReplicationMode).toBe('NONE');
    expect(primary.PendingDataReplicationMode).toBe('CRDR');
    expect(primary.PendingDataReplicationMetadata).toEqual(pair('PRIMARY', replicaId, 'us-west-2'));
    // a switchover needs replication in force
    const early = await cp.clientIn('us-west-2').send(new PromoteCommand({ BrokerId: replicaId, Mode: 'SWITCHOVER' })).catch((e: unknown) => e);
    expect(early).toBeInstanceOf(BadRequestException);
    await cp.client.send(new RebootBrokerCommand({ BrokerId: primaryId }));
    await cp.host.controlPlane.settled(primaryId);
    primary = await waitForState(cp.client, primaryId, 'RUNNING');
    expect(primary.DataReplicationMode).toBe('CRDR');
    expect(primary.DataReplicationMetadata).toEqual(pair('PRIMARY', replicaId, 'us-west-2'));
    expect(primary.PendingDataReplicationMode).toBeUndefined();
    // UpdateBroker cannot end or invent a pair
    const unpair = await cp.client.send(new UpdateBrokerCommand({ BrokerId: primaryId, DataReplicationMode: 'NONE' })).catch((e: unknown) => e);
    expect((unpair as BadRequestException).ErrorAttribute).toBe('dataReplicationMode');
    // the primary of a pair cannot be deleted before its replica
    expect(await cp.client.send(new DeleteBrokerCommand({ BrokerId: primaryId })).catch((e: unknown) => e)).toBeInstanceOf(BadRequestException);
  });

  it('SWITCHOVER: the replica serves with the primary\'s persistent messages and its own users; the primary becomes the replica', async () => {
    let primary: DescribeBrokerResponse = await cp.client.send(new DescribeBrokerCommand({ BrokerId: primaryId }));
    const onPrimary = await stompitConnect(endpoint(primary, 'stomp+ssl', active(primaryId)), cp.ca, 'east-admin', PASSWORD);
    for (let i = 0; i < 5; i++) await stompitSend(onPrimary, { destination: '/queue/orders', persistent: 'true', receipt: `r${i}` }, `order-${i}`);
    // a non-persistent message is not replicated (it would not survive a broker restart either)
    await stompitSend(onPrimary, { destination: '/queue/orders', persistent: 'false', receipt: 'np' }, 'transient');
    const dropped = new Promise<void>((resolve) => onPrimary.once('error', () => resolve()));
    const started = Date.now();
    await cp.clientIn('us-west-2').send(new PromoteCommand({ BrokerId: replicaId, Mode: 'SWITCHOVER' }));
    await cp.host.controlPlane.settled(replicaId);
    const promoted = await waitForState(cp.clientIn('us-west-2'), replicaId, 'RUNNING');
    console.log(`SWITCHOVER: replica serving ${Date.now() - started} ms after Promote`);
    await dropped;
    expect(promoted.DataReplicationMetadata).toEqual(pair('PRIMARY', primaryId, 'us-east-1'));
    primary = await waitForState(cp.client, primaryId, 'REPLICA');
    expect(primary.DataReplicationMetadata).toEqual(pair('REPLICA', replicaId, 'us-west-2'));
    for (const i of [0, 1]) expect(await refused(Number(endpoint(primary, 'stomp+ssl', i).port))).toBe(true);
    // the primary's user does not exist on the replica; the replica's own does
    await expect(stompitConnect(endpoint(promoted, 'stomp+ssl', active(replicaId)), cp.ca, 'east-admin', PASSWORD)).rejects.toThrow();
    const onReplica = await stompitConnect(endpoint(promoted, 'stomp+ssl', active(replicaId)), cp.ca, 'west-admin', PASSWORD);
    const sub = stompitSubscribe(onReplica, { destination: '/queue/orders', ack: 'client-individual' });
    const bodies: string[] = [];
    for (let i = 0; i < 5; i++) {
      const m = await sub.next();
      bodies.push(m.body);
      onReplica.ack(m.raw);
    }
    expect(bodies).toEqual(['order-0', 'order-1', 'order-2', 'order-3', 'order-4']);
    sub.subscription.unsubscribe();
    // two more, then FAILOVER back to the first broker: it serves them
    await stompitSend(onReplica, { destination: '/queue/orders', persistent: 'true', receipt: 'a' }, 'after-a');
    await stompitSend(onReplica, { destination: '/queue/orders', persistent: 'true', receipt: 'b' }, 'after-b');
    await stompitDisconnect(onReplica).catch(() => undefined);
    await cp.client.send(new PromoteCommand({ BrokerId: primaryId, Mode: 'FAILOVER' }));
    await cp.host.controlPlane.settled(primaryId);
    const back = await waitForState(cp.client, primaryId, 'RUNNING');
    expect(back.DataReplicationMetadata).toEqual(pair('PRIMARY', replicaId, 'us-west-2'));
    expect((await cp.clientIn('us-west-2').send(new DescribeBrokerCommand({ BrokerId: replicaId }))).BrokerState).toBe('REPLICA');
    const again = await stompitConnect(endpoint(back, 'stomp+ssl', active(primaryId)), cp.ca, 'east-admin', PASSWORD);
    const sub2 = stompitSubscribe(again, { destination: '/queue/orders', ack: 'auto' });
    expect([(await sub2.next()).body, (await sub2.next()).body]).toEqual(['after-a', 'after-b']);
    await stompitDisconnect(again).catch(() => undefined);
  });
});

