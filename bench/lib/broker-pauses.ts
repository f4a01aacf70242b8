/**
 * Preloaded into a LocalMQ CLI broker by `TRACE=1` or `PAUSES=1 bench/confirm-latency.sh` (compiled to JavaScript
 * first: with `--import tsx` every module the broker loads later would go through tsx's loader thread):
 * the broker's own GC pauses and event-loop stalls over 10 ms (bench/lib/loop-trace.ts), written as JSON lines
 * `[epoch ms, what, ms, detail]` to $BROKER_PAUSES_OUT when the process exits. bench/confirm-gap-trace.ts then shows
 * those that overlapped a gap between confirms: a main thread that made no call for tens of ms (no sleep in the
 * kernel either) was running JavaScript, collecting garbage, or waiting for a CPU.
 */
import { writeFileSync } from 'node:fs';
import { traceLoop, type TraceEvent } from './loop-trace.js';

// Node's source-map support (tsx turns it on when this runs through tsx) reads every later module's .js.map
// synchronously on the main thread: traced with tsx, 130 such reads while a fresh broker loaded its protocol modules
// at its first connections. The broker runs without it, as it does untraced.
process.setSourceMapsEnabled(false);

const out = process.env.BROKER_PAUSES_OUT;
if (out) {
  const events: TraceEvent[] = [];
  traceLoop(events);
  process.on('exit', () => writeFileSync(out, events.map((e) => JSON.stringify(e)).join('\n') + '\n'));
}
