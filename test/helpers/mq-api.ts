import { connect as netConnect } from 'node:net';
import { DescribeBrokerCommand, MqClient, type DescribeBrokerResponse } from '@aws-sdk/client-mq';
import * as stompit from 'stompit';
import { afterAll, beforeAll } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { afterStart } from './broker.js';

/** the password the control-plane tests give the users of the brokers they create (Amazon MQ wants 12 or more characters) */
export const PASSWORD = 'correct-horse-battery';

/** @aws-sdk/client-mq pointed at a LocalMQ's Amazon MQ API, with made-up credentials */
export function mqClient(broker: LocalMQ, region = 'us-east-1'): MqClient {
  return new MqClient({
    endpoint: broker.urls.api!,
    region,
    credentials: { accessKeyId: 'AKIDLOCALMQ', secretAccessKey: 'local-secret' },
    maxAttempts: 1,
  });
}

/** poll DescribeBroker until the state is reached, as infrastructure code does */
export async function waitForState(client: MqClient, brokerId: string, state: string, timeoutMs = 15_000): Promise<DescribeBrokerResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await client.send(new DescribeBrokerCommand({ BrokerId: brokerId }));
    if (d.BrokerState === state) return d;
    if (Date.now() > deadline) throw new Error(`broker ${brokerId} stayed ${d.BrokerState}, never ${state}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export function endpoint(d: DescribeBrokerResponse, scheme: string, instance = 0): URL {
  const url = d.BrokerInstances?.[instance]?.Endpoints?.find((e) => e.startsWith(`${scheme}://`));
  if (!url) throw new Error(`no ${scheme} endpoint in ${JSON.stringify(d.BrokerInstances)}`);
  return new URL(url.replace(/^[a-z+]+:/, 'http:'));
}

export function stompitConnect(url: URL, ca: string, login: string, passcode: string): Promise<stompit.Client> {
  return new Promise((resolve, reject) =>
    stompit.connect(
      { host: url.hostname, port: Number(url.port), ssl: true, ca: [ca], connectHeaders: { host: '/', login, passcode, 'heart-beat': '0,0' } } as never,
      (err, c) => {
        if (err) return reject(err);
        c.on('error', () => undefined); // see test/helpers/stomp.ts: a stopping broker's ERROR must not go unheard
        resolve(c);
      },
    ),
  );
}

/** true when nothing accepts a connection on the port (a standby instance, a stopped broker) */
export function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = netConnect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

export interface ControlPlane {
  /** the LocalMQ whose Amazon MQ API creates the brokers */
  readonly host: LocalMQ;
  /** @aws-sdk/client-mq in us-east-1 */
  readonly client: MqClient;
  /** the local certificate authority (PEM) that signs every created broker's endpoints */
  readonly ca: string;
  /** @aws-sdk/client-mq in another region (made once per region) */
  clientIn(region: string): MqClient;
}

/**
 * One LocalMQ with the Amazon MQ API for a whole test file, an SDK client and the local CA:
 * started before its first test, clients destroyed and the host stopped after its last. The
 * fields are there once the file's beforeAll hooks run (the file's own beforeAll, registered
 * after this call, already sees them).
 */
export function useControlPlane(): ControlPlane {
  let host: LocalMQ | undefined;
  let ca: string | undefined;
  const clients = new Map<string, MqClient>();
  beforeAll(async () => {
    host = await startBroker();
    ca = (await host.controlPlane.certificateAuthority()).ca;
  });
  afterAll(async () => {
    for (const c of clients.values()) c.destroy();
    await host?.stop();
  });
  const started = afterStart('control-plane host', () => host);
  const clientIn = (region: string): MqClient => {
    let c = clients.get(region);
    if (!c) clients.set(region, (c = mqClient(started(), region)));
    return c;
  };
  return {
    get host() {
      return started();
    },
    get client() {
      return clientIn('us-east-1');
    },
    get ca() {
      return afterStart('control-plane CA', () => ca)();
    },
    clientIn,
  };
}
