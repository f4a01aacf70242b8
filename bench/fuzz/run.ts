/**
 * Fuzzes every decoder the broker exposes (issue 18): AMQP 0-9-1, STOMP, MQTT, OpenWire and
 * AMQP 1.0, each in a worker thread watched for hangs, then prints a table: inputs, time,
 * failures (a throw outside the decoder's error path, an allocation past the declared limit,
 * a slow input, a hang). Exit code 1 when anything failed.
 *
 *   npx tsx bench/fuzz/run.ts [--inputs 1000000] [--seed 1] [--targets amqp-0-9-1,stomp,...]
 *                             [--slow-ms 1000] [--hang-ms 30000] [--json]
 *
 * Also `--socket N`: N mutated inputs per protocol through a real broker's sockets (see socket.ts).
 */
import { Worker } from 'node:worker_threads';
import { TARGETS } from './targets/index.js';
import { fuzzSockets } from './socket.js';

interface Args {
  inputs: number;
  seed: number;
  targets: string[];
  slowMs: number;
  hangMs: number;
  socket: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { inputs: 1_000_000, seed: 1, targets: Object.keys(TARGETS), slowMs: 1000, hangMs: 30_000, socket: 2000, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = () => argv[++i] ?? '';
    if (a === '--inputs') args.inputs = Number(next());
    else if (a === '--seed') args.seed = Number(next());
    else if (a === '--targets') args.targets = next().split(',');
    else if (a === '--slow-ms') args.slowMs = Number(next());
    else if (a === '--hang-ms') args.hangMs = Number(next());
    else if (a === '--socket') args.socket = Number(next());
    else if (a === '--json') args.json = true;
    else throw new Error(`unknown argument ${a}`);
  }
  for (const t of args.targets) if (!TARGETS[t]) throw new Error(`unknown target ${t} (known: ${Object.keys(TARGETS).join(', ')})`);
  return args;
}

interface Row {
  target: string;
  inputs: number;
  seconds: number;
  perSecond: number;
  failingInputs: number;
  failures: { kind: string; message: string; where: string; input: string }[];
  maxAllocation: number;
  slowestMs: number;
  stalls: number;
}

/** CPU time of this process, every thread: the worker's time, as the main thread idles */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function runInWorker(target: string, args: Args): Promise<Row> {
  const shared = new SharedArrayBuffer(8 + 1024 * 1024);
  const counters = new Int32Array(shared, 0, 2);
  const started = Date.now();
  // a worker does not inherit tsx's loader: register it, then load the TypeScript worker
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./worker.ts', import.meta.url).href)}); });`;
  const worker = new Worker(boot, { eval: true, workerData: { target, inputs: args.inputs, seed: args.seed, slowMs: args.slowMs, shared } });
  return new Promise((resolve, reject) => {
    let lastDone = -1;
    let cpuAtMove = cpuMs();
    const watchdog = setInterval(() => {
      const done = Atomics.load(counters, 0);
      if (done !== lastDone) {
        lastDone = done;
        cpuAtMove = cpuMs();
        if (!args.json) process.stderr.write(`\r${target}: ${done} inputs`);
        return;
      }
      // a hang is hangMs of CPU spent without finishing an input: on a machine busy with
      // higher-priority work the worker may get no CPU at all for longer than that
      if (cpuMs() - cpuAtMove < args.hangMs) return;
      // no progress for hangMs: the current input hangs the decoder
      clearInterval(watchdog);
      const n = Atomics.load(counters, 1);
      const input = Buffer.from(new Uint8Array(shared, 8, n)).toString('hex');
      void worker.terminate();
      resolve({ target, inputs: done, seconds: (Date.now() - started) / 1000, perSecond: 0, failingInputs: 1, failures: [{ kind: 'hang', message: `${args.hangMs} ms of CPU without finishing an input`, where: '', input: `Buffer.from('${input}', 'hex')` }], maxAllocation: 0, slowestMs: Infinity, stalls: 0 });
    }, 1000);
    worker.once('message', (r: { inputs: number; ms: number; failures: Row['failures']; failingInputs: number; maxAllocation: number; slowestMs: number; stalls: number }) => {
      clearInterval(watchdog);
      if (!args.json) process.stderr.write('\r');
      resolve({ target, inputs: r.inputs, seconds: r.ms / 1000, perSecond: Math.round(r.inputs / (r.ms / 1000)), failingInputs: r.failingInputs, failures: r.failures, maxAllocation: r.maxAllocation, slowestMs: r.slowestMs, stalls: r.stalls });
    });
    worker.once('error', (err) => {
      clearInterval(watchdog);
      reject(err);
    });
  });
}

const args = parseArgs(process.argv.slice(2));
const rows: Row[] = [];
for (const target of args.targets) rows.push(await runInWorker(target, args));
const socket = args.socket > 0 ? await fuzzSockets({ inputsPerProtocol: args.socket, seed: args.seed }) : undefined;

if (args.json) {
  console.log(JSON.stringify({ seed: args.seed, rows, socket }, null, 2));
} else {
  console.log(`decoder fuzzing: seed ${args.seed}, ${args.inputs} inputs per decoder, node ${process.version}`);
  console.log('| decoder | inputs | time (s) | inputs/s | failing inputs | distinct failures | largest allocation (B) | slowest input (ms) | slow once, fast on replay |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.target} | ${r.inputs} | ${r.seconds.toFixed(1)} | ${r.perSecond} | ${r.failingInputs} | ${r.failures.length} | ${r.maxAllocation} | ${r.slowestMs.toFixed(1)} | ${r.stalls} |`);
  for (const r of rows) for (const f of r.failures) console.log(`\n${r.target} ${f.kind}: ${f.message}${f.where ? ` at ${f.where}` : ''}\n  input: ${f.input.slice(0, 2000)}`);
  if (socket) {
    console.log(`\nthrough the broker's sockets: ${args.socket} inputs per protocol`);
    console.log('| protocol | inputs | connections closed by the broker | internal errors logged | broker still serving | another client meanwhile: confirmed / lost / duplicates / dropped |');
    console.log('|---|---:|---:|---:|---|---|');
    for (const s of socket.rows) {
      const b = s.bystander;
      console.log(`| ${s.protocol} | ${s.inputs} | ${s.closedByBroker} | ${s.internalErrors} | ${s.serving ? 'yes' : 'NO'} | ${b.via}: ${b.confirmed} / ${b.lost} / ${b.duplicates} / ${b.errors.length} |`);
    }
    for (const e of socket.errors.slice(0, 20)) console.log(`  internal error: ${e}`);
    for (const s of socket.rows) for (const e of s.bystander.errors) console.log(`  bystander beside ${s.protocol}: ${e}`);
  }
}
const failed =
  rows.some((r) => r.failingInputs > 0) ||
  (socket !== undefined && (socket.errors.length > 0 || socket.rows.some((s) => !s.serving || s.bystander.lost > 0 || s.bystander.errors.length > 0)));
process.exitCode = failed ? 1 : 0;
