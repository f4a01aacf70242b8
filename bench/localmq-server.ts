/**
 * A LocalMQ for side-by-side runs:
 *   npx tsx bench/localmq-server.ts [--amqp-port N] [--stomp-port N] [--mqtt-port N] [--data-dir DIR] [--heartbeat S]
 * (--heartbeat: RabbitMQ's heartbeat in seconds, which sets the AMQP 1.0 idle-time-out announced too; 0 = none)
 * In memory unless --data-dir is given (then persistent messages are journalled and
 * fsynced there, as the CLI does). Listeners not given a port take free ones.
 * Prints its AMQP URL on the first line, then its STOMP and MQTT URLs; stops on SIGINT/SIGTERM.
 */
import { startBroker } from '../src/index.js';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

const ports = {
  amqp: Number(flag('--amqp-port') ?? 0),
  stomp: Number(flag('--stomp-port') ?? 0),
  mqtt: Number(flag('--mqtt-port') ?? 0),
};
const dataDir = flag('--data-dir');
const heartbeat = flag('--heartbeat');
const broker = await startBroker({ ports, ...(dataDir ? { dataDir } : {}), ...(heartbeat !== undefined ? { amqp: { heartbeat: Number(heartbeat) } } : {}) });
console.log(broker.urls.amqp);
console.log(broker.urls.stomp);
console.log(broker.urls.mqtt);
const stop = async () => {
  await broker.stop();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
