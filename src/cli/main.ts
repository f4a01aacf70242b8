#!/usr/bin/env node
import { Command } from 'commander';
import { startBroker } from '../server/local-mq.js';
import { PRODUCT } from '../server/product.js';
import type { LogLevel } from '../server/logger.js';

const program = new Command();
program
  .name('localmq')
  .description('Amazon MQ on a laptop: an AMQP 0-9-1 broker (RabbitMQ-compatible) for development, tests and CI')
  .version(PRODUCT.version);

program
  .command('start', { isDefault: true })
  .description('start the broker in the foreground and print its endpoints')
  .option('--host <addresses...>', 'addresses to listen on', ['127.0.0.1', '::1'])
  .option('--amqp-port <port>', 'AMQP 0-9-1 port (0 picks a free one)', '5672')
  .option('--log-level <level>', 'silent, error, warn, info, debug or trace', 'info')
  .option('--verbose', 'log every frame (same as --log-level trace)')
  .action(async (opts: { host: string[]; amqpPort: string; logLevel: LogLevel; verbose?: boolean }) => {
    const port = Number(opts.amqpPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`--amqp-port must be a port number (0-65535), got '${opts.amqpPort}'`);
    let broker;
    try {
      broker = await startBroker({
        hosts: opts.host,
        freePorts: false,
        ports: { amqp: port },
        logLevel: opts.verbose ? 'trace' : opts.logLevel,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EADDRINUSE') fail(`port ${port} is already in use: stop whatever holds it or pass --amqp-port 0 for a free port`);
      fail(e.message);
    }
    process.stdout.write(`${PRODUCT.name} ${PRODUCT.version} is running\n\n`);
    process.stdout.write(`  AMQP 0-9-1   ${broker.urls.amqp}\n`);
    process.stdout.write(`  user         guest / guest (loopback only)\n\n`);
    const stop = async () => {
      await broker.stop();
      process.exit(0);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });

function fail(message: string): never {
  process.stderr.write(`localmq: ${message}\n`);
  process.exit(1);
}

await program.parseAsync(process.argv);
