import { DescribeBrokerCommand, MqClient, type DescribeBrokerResponse } from '@aws-sdk/client-mq';
import * as stompit from 'stompit';
import type { LocalMQ } from '../../src/index.js';

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
