/**
 * A LocalMQ in a child process, so a test can kill it with SIGKILL and look at what its
 * data dir kept. Run as a script (`node --import tsx test/helpers/child-broker.ts <dir>`)
 * this file is the child: it starts a broker on the dir and prints `URL <amqp url>`.
 * Imported, it is the parent's handle on such a child.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, resolve } from 'node:path';

const HERE = fileURLToPath(import.meta.url);
const ROOT = resolve(dirname(HERE), '../..');

export interface ChildBroker {
  readonly pid: number;
  /** amqp://guest:guest@…/ ready for amqplib */
  readonly url: string;
  /** mqtt://…:port of its MQTT listener */
  readonly mqttUrl: string;
  /** tcp://127.0.0.1:port of its OpenWire listener (engine activemq only) */
  readonly openwireUrl: string;
  /** its STOMP port (engine activemq only) */
  readonly stompPort: number;
  /** its AMQP 1.0 port (engine activemq only) */
  readonly amqp10Port: number;
  /** what the child wrote to stderr so far (its log lines) */
  readonly stderr: string[];
  /** SIGKILL: no shutdown, no flush, no lock release; resolves once the process is gone */
  kill(): Promise<void>;
  /** SIGTERM: a clean stop; resolves with the exit code */
  stop(): Promise<number | null>;
}

export interface ChildBrokerOptions {
  /** journal segment size in bytes: small ones make the child roll and compact often */
  segmentSize?: number;
  timeoutMs?: number;
  /** the engine (default rabbitmq); activemq listens for OpenWire instead of AMQP 0-9-1 */
  engine?: 'rabbitmq' | 'activemq';
}

/** Start a broker in a child process on `dataDir`; resolves once it listens. */
export function spawnChildBroker(dataDir: string, opts: ChildBrokerOptions = {}): Promise<ChildBroker> {
  const timeoutMs = opts.timeoutMs ?? 60_000; // a guard: a busy 2-core machine can take long
  const args = ['--import', 'tsx', HERE, dataDir, opts.segmentSize ? String(opts.segmentSize) : '-', opts.engine ?? 'rabbitmq'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => stderr.push(l));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));

  return new Promise((resolveStart, rejectStart) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      rejectStart(new Error(`child broker did not start within ${timeoutMs} ms: ${stderr.join('\n')}`));
    }, timeoutMs);
    const failed = (code: number | null) => {
      clearTimeout(timer);
      rejectStart(new Error(`child broker exited with ${code} before listening: ${stderr.join('\n')}`));
    };
    child.once('exit', failed);
    let mqttUrl = '';
    let openwireUrl = '';
    let stompPort = 0;
    let amqp10Port = 0;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('MQTT ')) mqttUrl = line.slice(5);
      if (line.startsWith('OPENWIRE ')) openwireUrl = line.slice(9);
      if (line.startsWith('STOMP ')) stompPort = Number(new URL(line.slice(6)).port);
      if (line.startsWith('AMQP10 ')) amqp10Port = Number(line.slice(7));
      if (!line.startsWith('URL ')) return;
      clearTimeout(timer);
      child.off('exit', failed);
      const url = line.slice(4).replace('amqp://', 'amqp://guest:guest@');
      resolveStart(handle(child, url, mqttUrl, openwireUrl, stompPort, amqp10Port, stderr, exited));
    });
  });
}

function handle(child: ChildProcess, url: string, mqttUrl: string, openwireUrl: string, stompPort: number, amqp10Port: number, stderr: string[], exited: Promise<number | null>): ChildBroker {
  return {
    pid: child.pid!,
    url,
    mqttUrl,
    openwireUrl,
    stompPort,
    amqp10Port,
    stderr,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

async function runChild(dataDir: string, segmentSize: number | undefined, engine: 'rabbitmq' | 'activemq'): Promise<void> {
  const { startBroker } = await import('../../src/index.js');
  const broker = await startBroker({
    dataDir,
    engine,
    journal: { segmentSize },
    ports: engine === 'activemq' ? { openwire: 0, stomp: 0, mqtt: 0, amqp10: 0 } : { amqp: 0, mqtt: 0 },
    hosts: ['127.0.0.1'],
    hostname: '127.0.0.1',
  });
  process.stdout.write(`MQTT ${broker.urls.mqtt}\n`);
  if (engine === 'activemq') process.stdout.write(`OPENWIRE ${broker.urls.openwire!.replace('localhost', '127.0.0.1')}\nSTOMP ${broker.urls.stomp!}\nAMQP10 ${broker.ports['amqp10']}\n`);
  process.stdout.write(`URL ${broker.urls.amqp ?? ''}\n`);
  const stop = () => void broker.stop().then(() => process.exit(0), () => process.exit(1));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (process.argv[1] && pathToFileURL(resolve(process.argv[1])).href === import.meta.url) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node --import tsx test/helpers/child-broker.ts <data dir> [segment size|-] [rabbitmq|activemq]\n');
    process.exit(2);
  }
  const segment = process.argv[3] && process.argv[3] !== '-' ? Number(process.argv[3]) : undefined;
  runChild(dir, segment, process.argv[4] === 'activemq' ? 'activemq' : 'rabbitmq').catch((err: unknown) => {
    process.stderr.write(`child broker failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
