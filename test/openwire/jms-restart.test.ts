import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { jmsUnavailable, runJms, type JmsRun } from '../helpers/jms.js';

/**
 * The JMS client across broker restarts on a data dir (durable subscriptions, the
 * failover: transport) and over TLS on the OpenWire SSL port trusting the local CA.
 */
const unavailable = jmsUnavailable();
const port = (url: string | undefined) => Number(new URL(url!).port);

describe.skipIf(unavailable !== undefined)(`ActiveMQ JMS client: restarts and TLS${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: LocalMQ;
  let run: JmsRun;
  const dir = mkdtempSync(join(tmpdir(), 'localmq-openwire-'));

  beforeAll(async () => {
    broker = await startBroker({ engine: 'activemq', dataDir: dir, ports: { openwire: 0, openwireSsl: 0 } });
    const ports = { openwire: port(broker.urls.openwire), openwireSsl: port(broker.urls.openwireSsl) };
    const caFile = join(dir, 'ca-for-java.pem');
    writeFileSync(caFile, (await broker.certificates()).ca);
    const restart = async () => {
      await broker.stop();
      broker = await startBroker({ engine: 'activemq', dataDir: dir, ports });
    };
    run = await runJms(`tcp://127.0.0.1:${ports.openwire}`, ['ssl', 'durableRestart', 'failover'], {
      props: { ca: caFile, sslUrl: `ssl://localhost:${ports.openwireSsl}` },
      onWait: restart,
    });
  }, 120_000);

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const outcome = (name: string) => {
    const r = run.results.get(name);
    if (r === undefined) throw new Error(`scenario ${name} did not run; JVM output:\n${run.output}`);
    return r;
  };

  it('ssl:// on the OpenWire TLS port, trusting the local CA', () => {
    expect(outcome('ssl')).toBe('OK');
  });
  it('a durable subscriber keeps a persistent message across a broker restart on a data dir', () => {
    expect(outcome('durableRestart')).toBe('OK');
  });
  it('the failover: transport reconnects after the broker restarts and the session carries on', () => {
    expect(outcome('failover')).toBe('OK');
  });
});
