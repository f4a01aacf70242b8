import type { BrokerOptions } from '../server/options.js';
import { startBroker, type LocalMQ } from '../server/local-mq.js';
import { brokerEnv } from './env.js';

/**
 * For typed `inject('AMQP_URL')`, a test project adds:
 *   declare module 'vitest' { export interface ProvidedContext extends import('localmq/vitest').BrokerEnv {} }
 */
export type { BrokerEnv } from './env.js';

/**
 * A vitest globalSetup: one in-memory broker on free ports for the whole run, its URLs in
 * process.env (AMQP_URL, STOMP_URL, MQTT_URL, LOCALMQ_HTTP_URL; test workers start after
 * global setup and inherit them) and through `inject('AMQP_URL')`.
 *
 *   // vitest.config.ts
 *   export default defineConfig({ test: { globalSetup: ['localmq/vitest'] } })
 */

/** the part of vitest's TestProject this needs, so vitest is not a dependency */
interface ProvidingProject {
  provide(key: string, value: unknown): void;
}

let broker: LocalMQ | undefined;

export async function setup(project?: ProvidingProject, options: BrokerOptions = {}): Promise<() => Promise<void>> {
  broker = await startBroker(options);
  const env = brokerEnv(broker);
  for (const [key, value] of Object.entries(env)) {
    process.env[key] = value;
    project?.provide(key, value);
  }
  return teardown;
}

export async function teardown(): Promise<void> {
  const b = broker;
  broker = undefined;
  await b?.stop();
}

export default setup;
