/**
 * One fuzz target in a worker thread, so the bench's main thread can notice a hang (an input
 * the decoder never returns from) and report it: before each input its bytes are copied into
 * shared memory, and the input counter there moves on after it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { describeInput, runTarget } from './harness.js';
import { TARGETS } from './targets/index.js';

export interface WorkerJob {
  target: string;
  inputs: number;
  seed: number;
  slowMs: number;
  /** [0] inputs done, [1] current input length, then the bytes */
  shared: SharedArrayBuffer;
}

const job = workerData as WorkerJob;
const counters = new Int32Array(job.shared, 0, 2);
const bytes = new Uint8Array(job.shared, 8);
const result = runTarget(TARGETS[job.target]!, {
  inputs: job.inputs,
  seed: job.seed,
  slowMs: job.slowMs,
  beforeInput: (input) => {
    const n = Math.min(input.bytes.length, bytes.length);
    bytes.set(input.bytes.subarray(0, n));
    Atomics.store(counters, 1, n);
    // the previous input is done
    Atomics.add(counters, 0, 1);
  },
});
parentPort!.postMessage({ ...result, failures: result.failures.map((f) => ({ kind: f.kind, message: f.message, where: f.where, input: describeInput(f.input) })) });
