import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBrokerCommand, type DescribeBrokerResponse } from '@aws-sdk/client-mq';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROFILE_LISTENERS } from '../../src/server/profiles.js';
import { PASSWORD, endpoint, stompitConnect, useControlPlane, waitForState } from '../helpers/mq-api.js';

/**
 * The ActiveMQ JMS client (Debian's libactivemq-java) against an ACTIVE_STANDBY_MULTI_AZ
 * broker created through the API, with the URL an app uses on Amazon MQ:
 * failover:(ssl://…-1…:61617,ssl://…-2…:61617). The failover strikes while it sends.
 */
const JAVA_DIR = '/usr/share/java';
const JARS = ['activemq-client.jar', 'geronimo-jms_1.1_spec.jar', 'geronimo-j2ee-management-1.1-spec.jar', 'hawtbuf.jar', 'slf4j-api.jar', 'slf4j-nop.jar'];
const SOURCE = join(dirname(fileURLToPath(import.meta.url)), '..', 'java', 'JmsFailoverProducer.java');

/** why this test cannot run here, or undefined */
function unavailableReason(): string | undefined {
  if (!(PROFILE_LISTENERS.activemq as string[]).includes('openwireSsl')) return 'this build has no OpenWire listener';
  for (const tool of ['java', 'javac', 'keytool']) {
    const r = spawnSync(tool, tool === 'keytool' ? ['-help'] : ['-version'], { stdio: 'ignore' });
    if (r.error) return `${tool} not found (apt-get install default-jdk-headless)`;
  }
  for (const jar of JARS) if (!existsSync(join(JAVA_DIR, jar))) return `${JAVA_DIR}/${jar} missing (apt-get install libactivemq-java)`;
  return undefined;
}
const unavailable = unavailableReason();

function producerClasspath(): string {
  const base = JARS.map((j) => join(JAVA_DIR, j)).join(':');
  const source = readFileSync(SOURCE);
  const dir = join(tmpdir(), `localmq-jms-failover-${createHash('sha1').update(source).digest('hex').slice(0, 12)}`);
  if (!existsSync(join(dir, 'JmsFailoverProducer.class'))) {
    mkdirSync(dir, { recursive: true });
    const r = spawnSync('javac', ['-nowarn', '-d', dir, '-cp', base, SOURCE], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`javac failed: ${r.stderr}`);
  }
  return `${dir}:${base}`;
}

/** a PKCS#12 trust store holding the local CA, for the JVM's default SSL context */
function trustStore(caPem: string): string {
  const dir = join(tmpdir(), `localmq-jms-trust-${createHash('sha1').update(caPem).digest('hex').slice(0, 12)}`);
  const store = join(dir, 'trust.p12');
  if (!existsSync(store)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'ca.pem'), caPem);
    const r = spawnSync('keytool', ['-importcert', '-noprompt', '-alias', 'localmq', '-file', join(dir, 'ca.pem'), '-keystore', store, '-storetype', 'PKCS12', '-storepass', 'changeit'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`keytool failed: ${r.stderr}`);
  }
  return store;
}

describe.skipIf(unavailable !== undefined)(`JMS failover:(ssl://-1,ssl://-2) across an active/standby failover${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  const cp = useControlPlane();
  let brokerId: string;
  let d: DescribeBrokerResponse;

  beforeAll(async () => {
    brokerId = (await cp.client.send(
      new CreateBrokerCommand({ BrokerName: 'jms-pair', EngineType: 'ACTIVEMQ', HostInstanceType: 'mq.m5.large', DeploymentMode: 'ACTIVE_STANDBY_MULTI_AZ', PubliclyAccessible: false, Users: [{ Username: 'app', Password: PASSWORD }] }),
    )).BrokerId!;
    d = await waitForState(cp.client, brokerId, 'RUNNING');
  });

  it('every message whose send returned is on the standby; the JMS client carried on by itself', async () => {
    const ssl = [0, 1].map((i) => d.BrokerInstances![i]!.Endpoints!.find((e) => e.startsWith('ssl://'))!);
    expect(ssl.every((u) => /^ssl:\/\/localhost:\d+$/.test(u))).toBe(true);
    const url = `failover:(${ssl.join(',')})?randomize=false&initialReconnectDelay=50&maxReconnectDelay=250&jms.userName=app&jms.password=${PASSWORD}`;
    const total = 120;
    const failAt = 40;
    const sent: number[] = [];
    let failover: Promise<{ millis: number }> | undefined;
    const child = spawn('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', `-Djavax.net.ssl.trustStore=${trustStore(cp.ca)}`, '-Djavax.net.ssl.trustStorePassword=changeit', '-Djavax.net.ssl.trustStoreType=PKCS12', '-cp', producerClasspath(), 'JmsFailoverProducer', url, 'jms.orders', String(total)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let pending = '';
    const done = new Promise<boolean>((resolve) => {
      child.stderr.on('data', (b: Buffer) => (output += b.toString()));
      child.stdout.on('data', (b: Buffer) => {
        output += b.toString();
        pending += b.toString();
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          const m = /^SENT (\d+)$/.exec(line);
          if (m) {
            sent.push(Number(m[1]));
            if (sent.length === failAt) failover = cp.host.controlPlane.failover(brokerId);
          }
          if (line === 'DONE') resolve(true);
        }
      });
      child.on('close', () => resolve(false));
    });
    const finished = await Promise.race([done, new Promise<boolean>((r) => setTimeout(() => r(false), 90_000))]);
    if (!finished) child.kill('SIGKILL');
    expect(finished, output).toBe(true);
    const { millis } = await failover!;
    expect(sent).toHaveLength(total);

    const stomp = await stompitConnect(endpoint(d, 'stomp+ssl', 1), cp.ca, 'app', PASSWORD);
    stomp.on('error', () => undefined);
    const got = new Set<string>();
    await new Promise<void>((resolve) => {
      stomp.subscribe({ destination: '/queue/jms.orders', ack: 'auto' }, (err, msg) => {
        if (err) return;
        msg.readString('utf-8', (_e, body) => {
          got.add(body ?? '');
          if (got.size === total) resolve();
        });
      });
    });
    await new Promise<void>((resolve) => stomp.disconnect(() => resolve()));
    for (const i of sent) expect(got.has(`jms-${i}`)).toBe(true);
    console.log(`JMS failover: standby serving ${millis.toFixed(1)} ms after the trigger; ${total} sends returned, all ${got.size} on the standby`);
  }, 120_000);
});
