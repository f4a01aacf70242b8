/**
 * The broker under soak, in a process of its own (so its RSS and open file descriptors can
 * be read from /proc, and it can be stopped and started again on the same data dir):
 *   npx tsx bench/lib/soak-broker.ts --data-dir DIR --port BASE [--dist DIR]
 * AMQP (and AMQP 1.0) on BASE, STOMP on BASE+1, MQTT on BASE+2, OpenWire on BASE+3, every other
 * listener off. Prints "ready" once listening; SIGTERM stops it cleanly.
 */
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

// --dist DIR: the built broker (DIR/index.js, `npm run build`) instead of the sources
const distAt = process.argv.indexOf('--dist');
const { startBroker } = (await import(distAt > 0 ? pathToFileURL(join(resolve(process.argv[distAt + 1]!), 'index.js')).href : '../../src/index.js')) as typeof import('../../src/index.js');

function flag(name: string): string {
  const i = process.argv.indexOf(name);
  const v = i > 0 ? process.argv[i + 1] : undefined;
  if (v === undefined) throw new Error(`${name} is required`);
  return v;
}

const base = Number(flag('--port'));
const broker = await startBroker({
  dataDir: flag('--data-dir'),
  freePorts: false,
  logLevel: 'warn',
  ports: {
    amqp: base,
    stomp: base + 1,
    mqtt: base + 2,
    openwire: base + 3,
    amqps: false,
    amqp10: false,
    amqp10s: false,
    stomps: false,
    stompWs: false,
    mqtts: false,
    mqttWs: false,
    wss: false,
    http: false,
    https: false,
    console: false,
    api: false,
    openwireSsl: false,
  },
});
process.stdout.write('ready\n');
let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  await broker.stop();
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
