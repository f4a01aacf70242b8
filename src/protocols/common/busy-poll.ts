/**
 * Busy polling: for a short while after network input, the event loop polls its sockets
 * without sleeping (a pending setImmediate makes libuv poll with a zero timeout), then
 * sleeps again once the input has stopped for that long. Erlang's schedulers do the same
 * before they sleep (`+sbwt`, under RabbitMQ too).
 *
 * Why: a broker that sleeps between the packets of a busy client is woken by every write
 * that client makes, and the kernel tends to run the woken broker on the writer's CPU
 * (a synchronous wake-up), preempting the client — measured with mqtt.js on two cores:
 * the client preempted 10-37 k times in a 200-subscriber fanout (Mosquitto, which rarely
 * sleeps under load: ~1 k) and on the CPU only 65-85 % of the time. A broker that keeps
 * polling while traffic flows is not woken, so it stays on its own CPU.
 *
 * It costs CPU only while input keeps arriving within the window: an idle broker sleeps,
 * and a lone packet costs at most one window of polling.
 */

/** the input-free time after which the loop sleeps again, in ms; 0: never poll busily */
let windowMs = 0;
let lastInputAt = 0;
let input = false;
let polling = false;

/** set the busy-polling window (microseconds; 0 turns it off) */
export function setBusyPollWindow(micros: number): void {
  windowMs = micros > 0 ? micros / 1000 : 0;
}

/** network input arrived: keep the loop polling for a window after the last of it */
export function inputArrived(): void {
  if (polling) {
    input = true;
    return;
  }
  if (windowMs === 0) return;
  polling = true;
  input = false;
  lastInputAt = performance.now();
  setImmediate(poll);
}

function poll(): void {
  const now = performance.now();
  if (input) {
    input = false;
    lastInputAt = now;
  } else if (now - lastInputAt >= windowMs) {
    polling = false;
    return;
  }
  // referenced on purpose: an unreferenced immediate does not stop libuv from sleeping
  setImmediate(poll);
}

/** whether the loop is polling busily now (for tests and diagnostics) */
export function busyPolling(): boolean {
  return polling;
}
