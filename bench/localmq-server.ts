/**
 * A LocalMQ for side-by-side runs: `npx tsx bench/localmq-server.ts [--amqp-port N]`.
 * Prints its AMQP URL; stops on SIGINT/SIGTERM.
 */
import { startBroker } from '../src/index.js';

const i = process.argv.indexOf('--amqp-port');
const port = i > 0 ? Number(process.argv[i + 1]) : 0;
const broker = await startBroker({ ports: { amqp: port } });
console.log(broker.urls.amqp);
const stop = async () => {
  await broker.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
