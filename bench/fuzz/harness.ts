/**
 * Runs a decoder fuzz target: draws inputs (fuzzInputs over the target's corpus of valid
 * streams), feeds each through the decoder, and checks the three rules of issue 18:
 * - nothing thrown but the decoder's own error (what its connection answers with the
 *   protocol's error code);
 * - bounded time per input (a hang in the bench's watchdog, a slow input here);
 * - no allocation beyond the declared limits: while an input is decoded every Buffer
 *   allocation is watched, and one larger than both the configured limit and the input
 *   itself means a declared size was believed before it was checked.
 */
import fc from 'fast-check';
import { corpusOf, fuzzInputs, type FuzzInput } from './mutate.js';

export interface FuzzTarget {
  name: string;
  /** valid streams (one or more frames), structured and seeded */
  valid: fc.Arbitrary<Buffer>;
  /** how many variants run() knows (protocol versions, parser modes); FuzzInput.variant is below it */
  variants: number;
  /** the frame / body limit the decoder is configured with in run() */
  limit: number;
  /** feed one input through the decoder the way its connection does */
  run(input: FuzzInput): void;
  /** the decoder's declared errors: thrown, they are its error path, not a crash */
  expected(err: unknown): boolean;
}

export type FailureKind = 'throw' | 'allocation' | 'slow';

export interface Failure {
  target: string;
  kind: FailureKind;
  message: string;
  /** the first stack frame in our source: failures with the same one are one bug */
  where: string;
  input: FuzzInput;
}

export interface RunOptions {
  inputs: number;
  seed: number;
  /** valid streams drawn before fuzzing (default 2000) */
  corpusSize?: number;
  /** an input taking longer than this is a failure (default 1000 ms) */
  slowMs?: number;
  /** called after every 1000 inputs, and before each input when set (the watchdog's copy) */
  onProgress?: (done: number) => void;
  beforeInput?: (input: FuzzInput) => void;
  /** stop at the first failure and let fast-check shrink it (the test); default: collect all */
  shrink?: boolean;
}

export interface RunResult {
  target: string;
  inputs: number;
  ms: number;
  /** distinct failures, by kind and place */
  failures: Failure[];
  /** every failing input, not deduplicated */
  failingInputs: number;
  /** the largest single Buffer allocation seen while decoding, bytes */
  maxAllocation: number;
  slowestMs: number;
  /** inputs over slowMs once but not on replay (the machine, not the decoder) */
  stalls: number;
}

/** an allocation this much over max(limit, input length) is a failure: framing overhead and small bookkeeping fit under it */
const ALLOCATION_SLACK = 1024;

let watching = false;
let largest = 0;
/** a stack frame in the broker's source or the MQTT codec it uses */
const DECODER_FRAME = /\/src\/|node_modules\/(mqtt-packet|bl)\//;
/** allocations above this are failures: their stack is kept to say where they came from */
let threshold = Infinity;
let overStack = '';
type Alloc = (size: number, ...rest: never[]) => Buffer;
const original = { alloc: Buffer.alloc as Alloc, allocUnsafe: Buffer.allocUnsafe as Alloc, allocUnsafeSlow: Buffer.allocUnsafeSlow as Alloc };

function watchAllocations(): () => void {
  const wrap =
    (fn: Alloc): Alloc =>
    (size, ...rest) => {
      if (watching && size > largest) {
        if (size <= threshold) largest = size;
        else {
          // over the limit: ours only if the decoder asked for it (not, say, a test runner
          // loading a source map to print a stack trace)
          const stack = new Error('allocation').stack ?? '';
          if (DECODER_FRAME.test(stack)) {
            largest = size;
            overStack = stack;
          }
        }
      }
      return fn(size, ...rest);
    };
  Buffer.alloc = wrap(original.alloc) as typeof Buffer.alloc;
  Buffer.allocUnsafe = wrap(original.allocUnsafe) as typeof Buffer.allocUnsafe;
  Buffer.allocUnsafeSlow = wrap(original.allocUnsafeSlow) as typeof Buffer.allocUnsafeSlow;
  return () => {
    Buffer.alloc = original.alloc as typeof Buffer.alloc;
    Buffer.allocUnsafe = original.allocUnsafe as typeof Buffer.allocUnsafe;
    Buffer.allocUnsafeSlow = original.allocUnsafeSlow as typeof Buffer.allocUnsafeSlow;
  };
}

function whereOf(err: unknown): string {
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  const line = stack.split('\n').find((l) => /\/(src|node_modules)\//.test(l)) ?? stack.split('\n')[1] ?? '';
  return line.trim().replace(/^at /, '').replace(/\(.*\/(src|node_modules)\//, '($1/');
}

/** one input through the target; a Failure or undefined */
export function check(target: FuzzTarget, input: FuzzInput, slowMs: number): { failure?: Failure; ms: number; allocated: number } {
  largest = 0;
  threshold = Math.max(target.limit, input.bytes.length) + ALLOCATION_SLACK;
  overStack = '';
  watching = true;
  const started = performance.now();
  let failure: Failure | undefined;
  try {
    target.run(input);
  } catch (err) {
    if (!target.expected(err)) {
      const e = err as Error;
      failure = { target: target.name, kind: 'throw', message: `${e?.name ?? typeof err}: ${e?.message ?? String(err)}`, where: whereOf(err), input };
    }
  } finally {
    watching = false;
  }
  const ms = performance.now() - started;
  const allocated = largest;
  if (!failure && allocated > threshold) {
    const frames = overStack.split('\n').slice(2);
    const ours = frames.filter((l) => /\/src\//.test(l));
    const where = (ours.length ? ours : frames)
      .slice(0, 3)
      .map((l) => l.trim().replace(/^at /, '').replace(/\(.*\/src\//, '(src/'))
      .join(' < ');
    failure = { target: target.name, kind: 'allocation', message: `allocated ${allocated} bytes (limit ${target.limit}, input ${input.bytes.length})`, where, input };
  }
  if (!failure && ms > slowMs) {
    failure = { target: target.name, kind: 'slow', message: `took ${ms.toFixed(0)} ms (input ${input.bytes.length} bytes)`, where: '', input };
  }
  return { failure, ms, allocated };
}

export function runTarget(target: FuzzTarget, options: RunOptions): RunResult {
  const corpus = corpusOf(target.valid, options.corpusSize ?? 2000, options.seed);
  const slowMs = options.slowMs ?? 1000;
  const failures = new Map<string, Failure>();
  let failingInputs = 0;
  let done = 0;
  let maxAllocation = 0;
  let slowestMs = 0;
  let stalls = 0;
  const restore = watchAllocations();
  const started = performance.now();
  try {
    const property = fc.property(fuzzInputs(corpus, target.variants), (input) => {
      options.beforeInput?.(input);
      let r = check(target, input, slowMs);
      if (r.failure?.kind === 'slow') {
        // a GC pause or a busy machine also makes an input slow: slow again on replay, it is the input's
        const again = check(target, input, slowMs);
        if (!again.failure) {
          stalls++;
          r = again;
        }
      }
      done++;
      if (r.allocated > maxAllocation) maxAllocation = r.allocated;
      if (r.ms > slowestMs) slowestMs = r.ms;
      if (options.onProgress && done % 1000 === 0) options.onProgress(done);
      if (!r.failure) return true;
      if (options.shrink) throw new Error(`${r.failure.kind}: ${r.failure.message} at ${r.failure.where}`);
      failingInputs++;
      const key = `${r.failure.kind} ${r.failure.where || r.failure.message.replace(/\d+/g, 'N')}`;
      if (!failures.has(key)) failures.set(key, r.failure);
      return true;
    });
    if (options.shrink) fc.assert(property, { numRuns: options.inputs, seed: options.seed });
    else fc.check(property, { numRuns: options.inputs, seed: options.seed });
  } finally {
    restore();
  }
  return { target: target.name, inputs: done, ms: performance.now() - started, failures: [...failures.values()], failingInputs, maxAllocation, slowestMs, stalls };
}

/** a failing input as code for a regression test */
export function describeInput(input: FuzzInput): string {
  return `{ bytes: Buffer.from('${input.bytes.toString('hex')}', 'hex'), chunks: [${input.chunks.join(', ')}], variant: ${input.variant} }`;
}
