/**
 * bench/mqtt-e2e.ts --split: the publisher and the subscriber(s) each in a process of their
 * own (bench/lib/mqtt-split-worker.ts, each with its own mqtt.js client), so that no single
 * client process is the bottleneck that a single-process bench is (one mqtt.js process at
 * 89-103% of a core against either broker, issue 16 session 9). This process only
 * coordinates: it starts the workers once (so their JIT warms up over the rounds, as the
 * single process's does), and per run tells the subscribers to connect and subscribe, the
 * publisher to connect and then to publish; the rate is what the subscriber side received,
 * from the publisher's start to the last message received (one monotonic clock for all
 * processes on Linux). Each worker's CPU over the run is reported with the rate, to show
 * whether a client process saturated.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { rate } from './e2e-results.js';
import type { RateResult } from './e2e-results.js';
import { deadline } from './e2e-runner.js';
import { scenarioShape } from './mqtt-scenarios.js';
import type { MqttScenarioName, MqttScenarioOptions } from './mqtt-scenarios.js';

/** bench -> worker */
export type SplitCommand =
  | { op: 'subscribe'; url: string; label: string; topic: string; qos: 0 | 1; version: 4 | 5; clients: number; count: number; timeoutMs: number }
  | { op: 'connect'; url: string; label: string; version: 4 | 5 }
  | { op: 'publish'; topic: string; qos: 0 | 1; count: number; window: number; size: number; timeoutMs: number }
  | { op: 'close' };

/** worker -> bench; times are process.hrtime.bigint() as decimal strings */
export type SplitReply =
  | { op: 'ready' }
  | { op: 'received'; end: string; cpuMicros: number }
  | { op: 'published'; start: string; publishedAt: string }
  | { op: 'closed'; cpuMicros?: number }
  | { op: 'error'; message: string };

export interface SplitOptions {
  /** processes the subscribers are spread over (fanout; qos0/qos1 have one subscriber) */
  subscriberProcesses: number;
  /** `taskset -c` CPU lists for the publisher's and the subscribers' processes; undefined: not pinned */
  publisherCpus?: string;
  subscriberCpus?: string;
}

/** One worker process and its replies, read in order. */
class Worker {
  private readonly child: ChildProcess;
  private readonly queue: SplitReply[] = [];
  private waiter: ((r: SplitReply) => void) | null = null;
  readonly gone: Promise<never>;

  constructor(
    readonly name: string,
    cpus: string | undefined,
  ) {
    const script = fileURLToPath(new URL('./mqtt-split-worker.ts', import.meta.url));
    // the bench's own node flags (tsx's loader, --expose-gc) for the worker too
    const node = [process.execPath, ...process.execArgv, script];
    this.child = cpus === undefined ? spawn(node[0]!, node.slice(1), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }) : spawn('taskset', ['-c', cpus, ...node], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.gone = new Promise<never>((_, reject) => {
      this.child.on('exit', (code, signal) => reject(new Error(`${name} process exited (${signal ?? code})`)));
      this.child.on('error', (err) => reject(new Error(`${name} process: ${err.message}`)));
    });
    this.gone.catch(() => undefined);
    this.child.on('message', (r: SplitReply) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = null;
        w(r);
      } else this.queue.push(r);
    });
  }

  send(cmd: SplitCommand): void {
    this.child.send(cmd);
  }

  /** the next reply; an `error` reply or the process's end rejects */
  async next<O extends SplitReply['op']>(op: O, limit: Promise<never>): Promise<Extract<SplitReply, { op: O }>> {
    const queued = this.queue.shift();
    const r = queued ?? (await Promise.race([new Promise<SplitReply>((resolve) => (this.waiter = resolve)), this.gone, limit]));
    if (r.op === 'error') throw new Error(`${this.name}: ${r.message}`);
    if (r.op !== op) throw new Error(`${this.name}: expected '${op}', got '${r.op}'`);
    return r as Extract<SplitReply, { op: O }>;
  }

  /** ends the run in the worker, whatever state it is in */
  async close(limit: Promise<never>): Promise<number | undefined> {
    this.waiter = null;
    this.queue.length = 0;
    this.send({ op: 'close' });
    // an error the run was still to report may come first
    for (;;) {
      const r = await Promise.race([new Promise<SplitReply>((resolve) => (this.waiter = resolve)), this.gone, limit]);
      if (r.op === 'closed') return r.cpuMicros;
    }
  }

  kill(): void {
    this.child.kill();
  }
}

export class SplitClients {
  private publisher?: Worker;
  private subscribers: Worker[] = [];

  constructor(private readonly options: SplitOptions) {}

  private start(): void {
    if (this.publisher) return;
    this.publisher = new Worker('publisher', this.options.publisherCpus);
    for (let i = 0; i < this.options.subscriberProcesses; i++) this.subscribers.push(new Worker(`subscriber ${i + 1}`, this.options.subscriberCpus));
  }

  /** one run of `scenario`, as runMqttThroughput / runMqttFanout run it in one process */
  async run(opts: MqttScenarioOptions, scenario: MqttScenarioName): Promise<RateResult & { publisherCpu: number; subscriberCpu: number }> {
    this.start();
    const pub = this.publisher!;
    const { qos, version, topic, count, subscribers } = scenarioShape(opts, scenario);
    // subscribers spread over the subscriber processes as evenly as they go
    const used: { worker: Worker; clients: number }[] = [];
    for (const [i, worker] of this.subscribers.entries()) {
      const clients = Math.floor(subscribers / this.subscribers.length) + (i < subscribers % this.subscribers.length ? 1 : 0);
      if (clients > 0) used.push({ worker, clients });
    }
    const limit = deadline(opts.timeoutMs, `mqtt ${scenario} scenario (split)`);
    let ok = false;
    try {
      for (const { worker, clients } of used) {
        worker.send({ op: 'subscribe', url: opts.url, label: `${scenario}-sub`, topic, qos, version, clients, count, timeoutMs: opts.timeoutMs });
      }
      for (const { worker } of used) await worker.next('ready', limit.promise);
      pub.send({ op: 'connect', url: opts.url, label: `${scenario}-pub`, version });
      await pub.next('ready', limit.promise);
      pub.send({ op: 'publish', topic, qos, count, window: opts.window, size: opts.size, timeoutMs: opts.timeoutMs });
      const published = await pub.next('published', limit.promise);
      const received = await Promise.all(used.map(({ worker }) => worker.next('received', limit.promise)));
      const start = BigInt(published.start);
      let end = 0n;
      for (const r of received) if (BigInt(r.end) > end) end = BigInt(r.end);
      const wallMicros = Number(end - start) / 1000;
      const pubCpu = await pub.close(limit.promise);
      for (const { worker } of used) await worker.close(limit.promise);
      ok = true;
      return {
        ...rate(count * subscribers, start, end, BigInt(published.publishedAt)),
        // % of one core over the run, the busiest subscriber process for the subscriber side
        publisherCpu: Math.round(((pubCpu ?? 0) / wallMicros) * 100),
        subscriberCpu: Math.round((Math.max(...received.map((r) => r.cpuMicros)) / wallMicros) * 100),
      };
    } finally {
      limit.cancel();
      // a failed run: the workers may be anywhere in it; new ones for the next run
      if (!ok) this.stop();
    }
  }

  stop(): void {
    this.publisher?.kill();
    for (const s of this.subscribers) s.kill();
    this.publisher = undefined;
    this.subscribers = [];
  }
}
