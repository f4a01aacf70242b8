import mqtt from 'mqtt';
import { CreateBrokerCommand, RebootBrokerCommand, type DescribeBrokerResponse } from '@aws-sdk/client-mq';
import { beforeAll, describe, expect, it } from 'vitest';
import { PASSWORD, endpoint, refused, stompitConnect, useControlPlane, waitForState } from '../helpers/mq-api.js';
import type * as stompit from 'stompit';


function drainQueue(client: stompit.Client, destination: string, expected: number): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve) => {
    client.subscribe({ destination, ack: 'client-individual' }, (err, msg) => {
      if (err) return;
      msg.readString('utf-8', (_e, body) => {
        got.push(body ?? '');
        client.ack(msg);
        if (new Set(got).size >= expected) resolve(got);
      });
    });
  });
}

describe('ACTIVE_STANDBY_MULTI_AZ: failover you can trigger', () => {
  const cp = useControlPlane();
  let d: DescribeBrokerResponse;
  let brokerId: string;

  beforeAll(async () => {
    const created = await cp.client.send(
      new CreateBrokerCommand({ BrokerName: 'pair', EngineType: 'ACTIVEMQ', EngineVersion: '5.19', HostInstanceType: 'mq.m5.large', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] }),
    );
    brokerId = created.BrokerId!;
    d = await waitForState(cp.client, brokerId, 'RUNNING');
  });

  it('has two instances; the standby refuses connections while the active holds the lock', async () => {
    expect(d.BrokerInstances).toHaveLength(2);
    const p1 = Number(endpoint(d, 'stomp+ssl', 0).port);
    const p2 = Number(endpoint(d, 'stomp+ssl', 1).port);
    expect(p1).not.toBe(p2);
    expect(await refused(p1)).toBe(false);
    expect(await refused(p2)).toBe(true);
  });

  it('STOMP: persistent messages with receipts to -1, failover mid-stream, reconnect to -2: none receipted is lost', async () => {
    const total = 300;
    const failAt = 100;
    const receipted = new Set<string>();
    let trigger: Promise<{ millis: number; activeInstance: number }> | undefined;
    let started = 0;
    let struck!: () => void;
    const failoverStarted = new Promise<void>((resolve) => (struck = resolve));
    const send = (client: stompit.Client, body: string) => {
      const frame = client.send({ destination: '/queue/orders', persistent: 'true', 'content-type': 'text/plain' }, {
        onReceipt: () => {
          receipted.add(body);
          // the failover strikes from inside the stream: receipts for later messages are still due
          if (receipted.size === failAt && !trigger) {
            started = performance.now();
            trigger = cp.host.controlPlane.failover(brokerId);
            struck();
          }
        },
      } as never);
      frame.end(body);
    };
    const first = await stompitConnect(endpoint(d, 'stomp+ssl', 0), cp.ca, 'app', PASSWORD);
    first.on('error', () => undefined);
    // the whole stream goes out at once
    for (let i = 0; i < total; i++) send(first, `order-${i}`);
    await failoverStarted;
    // the client's own failover: retry the second endpoint until the standby serves
    let second: stompit.Client | undefined;
    while (!second) {
      second = await stompitConnect(endpoint(d, 'stomp+ssl', 1), cp.ca, 'app', PASSWORD).catch(() => undefined);
      if (!second) await new Promise((r) => setTimeout(r, 5));
    }
    const reconnectMs = performance.now() - started;
    const { millis, activeInstance } = await trigger!;
    expect(activeInstance).toBe(2);
    second.on('error', () => undefined);
    const lostReceipts = Array.from({ length: total }, (_, i) => `order-${i}`).filter((b) => !receipted.has(b));
    const receiptedBeforeFailover = receipted.size;
    // at-least-once: whatever had no receipt is sent again to the standby
    for (const body of lostReceipts) send(second, body);
    const got = await drainQueue(second, '/queue/orders', total);
    console.log(
      `failover: standby serving ${millis.toFixed(1)} ms after the trigger, client reconnected after ${reconnectMs.toFixed(1)} ms; ` +
        `${receiptedBeforeFailover}/${total} receipted by -1, ${lostReceipts.length} resent, ${got.length - new Set(got).size} duplicates`,
    );
    // every message is there; a duplicate can only be one that was resent for want of a receipt
    expect(new Set(got).size).toBe(total);
    const dupes = got.filter((b, i) => got.indexOf(b) !== i);
    for (const b of dupes) expect(lostReceipts).toContain(b);
    second.disconnect();
    const after = await waitForState(cp.client, brokerId, 'RUNNING');
    expect(await refused(Number(endpoint(after, 'stomp+ssl', 0).port))).toBe(true);
  });

  it('MQTT QoS 1 with a persistent session: PUBACKed messages survive a RebootBroker failover back to -1', async () => {
    const now = await waitForState(cp.client, brokerId, 'RUNNING');
    const mq = (i: number) => {
      const u = endpoint(now, 'mqtt+ssl', i);
      return `mqtts://${u.hostname}:${u.port}`;
    };
    // the instance serving now is -2 (after the previous test); the reboot fails over to -1
    const sub = await mqtt.connectAsync(mq(1), { clientId: 'sub-1', clean: false, username: 'app', password: PASSWORD, ca: [cp.ca], reconnectPeriod: 0 });
    await sub.subscribeAsync('sensors/+', { qos: 1 });
    await sub.endAsync();
    const pub = await mqtt.connectAsync(mq(1), { clientId: 'pub-1', username: 'app', password: PASSWORD, ca: [cp.ca], reconnectPeriod: 0 });
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      await pub.publishAsync('sensors/t', `reading-${i}`, { qos: 1 });
      acked.push(`reading-${i}`);
    }
    pub.on('error', () => undefined);
    await cp.client.send(new RebootBrokerCommand({ BrokerId: brokerId }));
    const after = await waitForState(cp.client, brokerId, 'RUNNING');
    await pub.endAsync(true);
    const u = endpoint(after, 'mqtt+ssl', 0);
    const got: string[] = [];
    const sub2 = mqtt.connect(`mqtts://${u.hostname}:${u.port}`, { clientId: 'sub-1', clean: false, username: 'app', password: PASSWORD, ca: [cp.ca], reconnectPeriod: 0 });
    await new Promise<void>((resolve) => sub2.on('message', (_t, p) => {
      got.push(p.toString());
      if (new Set(got).size === acked.length) resolve();
    }));
    expect(new Set(got)).toEqual(new Set(acked));
    await sub2.endAsync();
  });
});
