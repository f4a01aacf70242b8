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
 * whether a client process saturated. With several publisher processes the run's messages are
 * shared among them on the one topic (connected first, then all told to go); with `raw` every
 * client is a bare one (bench/lib/mqtt-raw-client.ts), so that the broker sets the rate.
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
  | { op: 'subscribe'; url: string; label: string; topic: string; qos: 0 | 1; version: 4 | 5; clients: number; count: number; timeoutMs: number; raw: boolean }
  | { op: 'connect'; url: string; label: string; version: 4 | 5; raw: boolean }
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
  /** publishing processes, one client each, sharing the run's messages on the one topic */
  publisherProcesses: number;
  /** bare clients (bench/lib/mqtt-raw-client.ts) instead of mqtt.js: the broker sets the rate */
  raw: boolean;
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

/** `total` spread over `parts` as evenly as it goes */
function share(total: number, parts: number, i: number): number {
  return Math.floor(total / parts) + (i < total % parts ? 1 : 0);
}

export class SplitClients {
  private publishers: Worker[] = [];
  private subscribers: Worker[] = [];

  constructor(private readonly options: SplitOptions) {}

  get raw(): boolean {
    return this.options.raw;
  }

  /** the client layout, for the report's settings line */
  describe(): string {
    const { publisherProcesses: p, subscriberProcesses: s, raw } = this.options;
    return `${p === 1 ? 'the publisher' : `${p} publisher processes`} and ${s === 1 ? 'the subscribers' : `the subscribers over ${s} processes`} each in a process of their own, ${raw ? 'bare clients' : 'mqtt.js clients'}`;
  }

  private start(): void {
    if (this.publishers.length) return;
    const n = this.options.publisherProcesses;
    for (let i = 0; i < n; i++) this.publishers.push(new Worker(n === 1 ? 'publisher' : `publisher ${i + 1}`, this.options.publisherCpus));
    for (let i = 0; i < this.options.subscriberProcesses; i++) this.subscribers.push(new Worker(`subscriber ${i + 1}`, this.options.subscriberCpus));
  }

  /** one run of `scenario`, as runMqttThroughput / runMqttFanout run it in one process */
  async run(opts: MqttScenarioOptions, scenario: MqttScenarioName): Promise<RateResult & { publisherCpu: number; subscriberCpu: number }> {
    this.start();
    const { raw } = this.options;
    const { qos, version, topic, count, subscribers } = scenarioShape(opts, scenario);
    const used: { worker: Worker; clients: number }[] = [];
    for (const [i, worker] of this.subscribers.entries()) {
      const clients = share(subscribers, this.subscribers.length, i);
      if (clients > 0) used.push({ worker, clients });
    }
    const pubs: { worker: Worker; count: number }[] = [];
    for (const [i, worker] of this.publishers.entries()) {
      const n = share(count, this.publishers.length, i);
      if (n > 0) pubs.push({ worker, count: n });
    }
    const limit = deadline(opts.timeoutMs, `mqtt ${scenario} scenario (split)`);
    let ok = false;
    try {
      for (const { worker, clients } of used) {
        worker.send({ op: 'subscribe', url: opts.url, label: `${scenario}-sub`, topic, qos, version, clients, count, timeoutMs: opts.timeoutMs, raw });
      }
      for (const { worker } of used) await worker.next('ready', limit.promise);
      for (const [i, { worker }] of pubs.entries()) worker.send({ op: 'connect', url: opts.url, label: `${scenario}-pub-${i}`, version, raw });
      for (const { worker } of pubs) await worker.next('ready', limit.promise);
      // every publisher connected first, then all told to go at once
      for (const { worker, count: n } of pubs) worker.send({ op: 'publish', topic, qos, count: n, window: opts.window, size: opts.size, timeoutMs: opts.timeoutMs });
      const published = await Promise.all(pubs.map(({ worker }) => worker.next('published', limit.promise)));
      const received = await Promise.all(used.map(({ worker }) => worker.next('received', limit.promise)));
      const start = published.map((p) => BigInt(p.start)).reduce((a, b) => (b < a ? b : a));
      const publishedAt = published.map((p) => BigInt(p.publishedAt)).reduce((a, b) => (b > a ? b : a));
      let end = 0n;
      for (const r of received) if (BigInt(r.end) > end) end = BigInt(r.end);
      const wallMicros = Number(end - start) / 1000;
      const pubCpu: number[] = [];
      for (const { worker } of pubs) pubCpu.push((await worker.close(limit.promise)) ?? 0);
      for (const { worker } of used) await worker.close(limit.promise);
      ok = true;
      return {
        ...rate(count * subscribers, start, end, publishedAt),
        // % of one core over the run, the busiest process of each side
        publisherCpu: Math.round((Math.max(...pubCpu) / wallMicros) * 100),
        subscriberCpu: Math.round((Math.max(...received.map((r) => r.cpuMicros)) / wallMicros) * 100),
      };
    } finally {
      limit.cancel();
      // a failed run: the workers may be anywhere in it; new ones for the next run
      if (!ok) this.stop();
    }
  }

  stop(): void {
    for (const p of this.publishers) p.kill();
    for (const s of this.subscribers) s.kill();
    this.publishers = [];
    this.subscribers = [];
  }
}
