import type { BrokerOptions } from '../server/options.js';
import { startBroker, type LocalMQ } from '../server/local-mq.js';
import { brokerEnv } from './env.js';

/**
 * A jest globalSetup: one in-memory broker on free ports for the run, its URLs in
 * process.env (AMQP_URL, STOMP_URL, MQTT_URL, LOCALMQ_HTTP_URL), which jest's workers
 * inherit. Pair it with `localmq/jest/teardown`:
 *
 *   // jest.config.js
 *   module.exports = { globalSetup: 'localmq/jest', globalTeardown: 'localmq/jest/teardown' }
 */

/** globalSetup and globalTeardown run in the same process; the broker waits here between them */
const KEY = Symbol.for('localmq.jest.broker');
type Holder = { [KEY]?: LocalMQ };

export async function globalSetup(_globalConfig?: unknown, _projectConfig?: unknown, options: BrokerOptions = {}): Promise<void> {
  const broker = await startBroker(options);
  (globalThis as Holder)[KEY] = broker;
  Object.assign(process.env, brokerEnv(broker));
}

export async function globalTeardown(): Promise<void> {
  const holder = globalThis as Holder;
  const broker = holder[KEY];
  delete holder[KEY];
  await broker?.stop();
}

export default globalSetup;
