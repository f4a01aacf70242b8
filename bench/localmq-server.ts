/**
 * A LocalMQ for side-by-side runs: `npx tsx bench/localmq-server.ts [--amqp-port N] [--data-dir DIR]`.
 * In memory unless --data-dir is given (then persistent messages are journalled and
 * fsynced there, as the CLI does). Prints its AMQP URL; stops on SIGINT/SIGTERM.
 */
import { startBroker } from '../src/index.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const port = Number(flag('--amqp-port') ?? 0);
const dataDir = flag('--data-dir');
const broker = await startBroker({ ports: { amqp: port }, ...(dataDir ? { dataDir } : {}) });
console.log(broker.urls.amqp);
const stop = async () => {
  await broker.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
