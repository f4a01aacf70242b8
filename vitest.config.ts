import { defineConfig } from 'vitest/config';

/**
 * The core behaviour suites, run once more under each other RabbitMQ version Amazon MQ runs
 * (the whole suite runs under the default, RabbitMQ 4.2). startBroker() takes its version from
 * LOCALMQ_ENGINE_VERSION when a test names none, so these are the same tests, not copies; a
 * test that pins a version keeps it.
 */
const PER_VERSION = [
  'test/amqp/queues-consume.test.ts',
  'test/amqp/queue-arguments.test.ts',
  'test/amqp/confirms-transactions.test.ts',
  'test/amqp/errors.test.ts',
  'test/amqp/exchanges.test.ts',
  'test/amqp/cloudamqp-client.test.ts',
  'test/stomp/frames.test.ts',
  'test/stomp/rabbitmq-parity.test.ts',
  'test/mqtt/basics.test.ts',
  'test/cross-protocol/stomp-amqp.test.ts',
];
const OTHER_VERSIONS = ['3.13', '4.3'];

/**
 * A journal's head made at open is zero-filled over a whole segment by default (16 MiB written and
 * synced: FileStoreOptions.headZeroFill); the suite opens hundreds of stores, brokers on data dirs and
 * CLIs, so it zero-fills 256 KiB (the tests of the default set it themselves).
 */
const env = { LOCALMQ_JOURNAL_HEAD_ZERO_FILL: String(256 * 1024) };

const shared = {
  // guards against a hang, not timing assertions: on the shared 2-core machine under load a
  // test that spawns the CLI took over 60 s (train of 19:54, suite 1086 s)
  testTimeout: 120_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
  env,
};

export default defineConfig({
  test: {
    ...shared,
    projects: [
      { test: { ...shared, name: 'default', include: ['test/**/*.test.ts'] } },
      ...OTHER_VERSIONS.map((version) => ({
        test: { ...shared, name: `rabbitmq-${version}`, include: PER_VERSION, env: { ...env, LOCALMQ_ENGINE_VERSION: version } },
      })),
    ],
  },
});
