import { Waiters } from '../../core/waiters.js';

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
 *
 * One per broker (the server owns it and stops it with the broker): two brokers in one
 * process (tests start several) each have their own window and their own polling loop.
 */
export class BusyPoll {
  /** the input-free time after which the loop sleeps again, in ms; 0: never poll busily */
  private windowMs = 0;
  private lastInputAt = 0;
  private input = false;
  private polling = false;
  private stopped = false;
  /** resolvers of idle(): called when the loop next goes back to sleeping */
  private readonly idleWaiters = new Waiters();

  /** set the busy-polling window (microseconds; 0 turns it off) */
  setWindow(micros: number): void {
    this.windowMs = micros > 0 ? micros / 1000 : 0;
  }

  /** network input arrived: keep the loop polling for a window after the last of it */
  inputArrived(): void {
    if (this.polling) {
      this.input = true;
      return;
    }
    if (this.windowMs === 0 || this.stopped) return;
    this.polling = true;
    this.input = false;
    this.lastInputAt = performance.now();
    setImmediate(this.poll);
  }

  private readonly poll = (): void => {
    const now = performance.now();
    if (this.stopped) return;
    if (this.input) {
      this.input = false;
      this.lastInputAt = now;
    } else if (now - this.lastInputAt >= this.windowMs) {
      this.polling = false;
      this.idleWaiters.release();
      return;
    }
    // referenced on purpose: an unreferenced immediate does not stop libuv from sleeping
    setImmediate(this.poll);
  };

  /** whether the loop is polling busily now for this broker (for tests and diagnostics) */
  get active(): boolean {
    return this.polling;
  }

  /** resolves once the loop is sleeping (at once when it is not polling now): for tests and diagnostics */
  idle(): Promise<void> {
    return this.idleWaiters.wait(!this.polling);
  }

  /** the broker stops: its loop ends (the pending turn returns at once) and input no longer starts one */
  stop(): void {
    this.stopped = true;
    this.polling = false;
    this.idleWaiters.release();
  }
}
