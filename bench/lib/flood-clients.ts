/**
 * The publish floods of bench/big-queue-blocking.ts and bench/queued-message-heap.ts: one client
 * per protocol, each in a process of its own (so the broker's process measures only the broker),
 * publishing n one-byte messages to a queue as fast as its socket takes them.
 */
import { spawn } from 'node:child_process';
import type { BrokerUrls } from '../../src/index.js';
import { compileJmsBench } from './jms-bench.js';

/**
 * When the last flood client was spawned (performance.now() before and after): spawn() blocks the
 * event loop until the child has exec'd, tens of ms on a loaded machine, a stall of the bench's
 * own making that big-queue-blocking.ts tells apart from the broker's.
 */
export const lastSpawn = { from: 0, to: 0 };

/** a flood client in a child process: resolves with what it printed (`done N in <ms> ms`) */
export const floodChild = (command: string, args: string[]) =>
  new Promise<string>((resolve, reject) => {
    lastSpawn.from = performance.now();
    const c = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    lastSpawn.to = performance.now();
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`${args.join(' ')} exited with ${code}`))));
  });

/** a script of bench/lib run by tsx in a child process */
export const floodScript = (script: string, args: string[]) =>
  floodChild(process.execPath, ['--import', 'tsx', new URL(script, import.meta.url).pathname, ...args]);

/** bench/lib/amqp-flood.ts: `publish` or `consume` n messages of `queue` */
export const amqpFlood = (url: string, mode: 'publish' | 'consume', queue: string, n: number, more: string[] = []) =>
  floodScript('./amqp-flood.ts', ['--url', url, '--queue', queue, `--${mode}`, String(n), ...more]);

/** bench/openwire/JmsFlood.java compiled against Debian's ActiveMQ client: its classpath, or undefined without java */
export function jmsFloodClasspath(): string | undefined {
  const jms = compileJmsBench('JmsFlood');
  if ('classpath' in jms) return jms.classpath;
  console.log(`(publish (OpenWire client) skipped: ${jms.skipped})`);
  return undefined;
}

export interface PublishFlood {
  /** the bench row's label */
  label: string;
  /** the queue the messages end in (the MQTT flood's topic pub/mqtt reaches pub.mqtt through a binding of amq.topic, key pub.mqtt) */
  queue: string;
  /** starts the client: resolves with its `done N in <ms> ms`; undefined when it cannot run here (no javac) */
  run: (n: number) => Promise<string> | undefined;
}

/** one publish flood per protocol against a broker listening on `urls`/`ports` (every listener, AMQP 1.0 on the AMQP port) */
export function publishFloods(urls: BrokerUrls, ports: Record<string, number>, jmsCp: string | undefined): PublishFlood[] {
  const amqpUrl = urls.amqp!.replace('amqp://', 'amqp://guest:guest@');
  const other = (protocol: string, url: string, target: string) => (n: number) =>
    floodScript('./publish-flood.ts', ['--protocol', protocol, '--url', url, '--queue', target, '--publish', String(n)]);
  return [
    { label: 'publish (AMQP client)', queue: 'pub', run: (n) => amqpFlood(amqpUrl, 'publish', 'pub', n) },
    { label: 'publish (STOMP client)', queue: 'pub.stomp', run: other('stomp', urls.stomp!.replace('stomp://', 'stomp://guest:guest@'), 'pub.stomp') },
    { label: 'publish (MQTT client)', queue: 'pub.mqtt', run: other('mqtt', urls.mqtt!, 'pub/mqtt') },
    {
      label: 'publish (OpenWire client)',
      queue: 'pub.openwire',
      run: (n) => (jmsCp === undefined ? undefined : floodChild('java', ['-cp', jmsCp, 'JmsFlood', `tcp://127.0.0.1:${ports['openwire']}`, 'pub.openwire', String(n)])),
    },
    { label: 'publish (AMQP 1.0 client)', queue: 'pub.amqp10', run: other('amqp10', urls.amqp!, 'pub.amqp10') },
  ];
}
