import { Fifo } from './fifo.js';
import { Waiters } from './waiters.js';

/**
 * Something big done a slice at a time: `step` works until `deadline` (a performance.now()
 * reading) at most and returns true once it has nothing left.
 */
export interface SlicedTask {
  step(deadline: number): boolean;
  /**
   * true while all the task does is put messages back in their places (a closed channel's
   * unacked): such tasks queued one after another take turns a slice each instead of running one
   * to its end before the next starts (SlicedWork's round). The order they finish in changes
   * nothing a client sees (each message goes back to its own place), while a consumer of their
   * queue gets nothing past the lowest message of any of them still coming: behind a first
   * channel's 500k a second one's lowest waited ~100 ms (closing-s17 item 4).
   */
  sharesSlices?(): boolean;
}

/** how long one slice may hold the event loop: other clients are served between slices */
export const SLICE_MS = 8;

/** a task's bug, shown as a process warning (the broker goes on) */
export function reportTaskError(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : String(err));
}

/**
 * The broker's bulk work (settling a purge of millions of messages, dead-lettering a
 * million expired ones) done in slices of at most SLICE_MS with setImmediate between them,
 * so sockets, timers and other clients run in between. Tasks run in the order they came.
 * `finish` does what is left at once (the broker stopping: the store must see it all).
 *
 * Tasks that only put messages back (sharesSlices) next to each other in that order take turns
 * instead, a slice each (the round); every other task still runs after all tasks queued before
 * it and before all queued after it.
 *
 * Turns (addTurn) are short tasks that must not wait for the bulk tasks ahead to end (a
 * queue's selective dispatch going on: DispatchSlices): each slice first runs one of them,
 * in the order they came, then the bulk tasks for a time of their own. Behind an ack multiple
 * of 99,999 a selector consumer got nothing until it had ended (review-s13-2 F4).
 */
export class SlicedWork {
  private readonly tasks = new Fifo<SlicedTask>();
  /** short tasks run one at the start of each slice (addTurn) */
  private readonly turns = new Fifo<SlicedTask>();
  /**
   * tasks set aside (park) until something else has happened first: they do not hold the tasks
   * behind them, still count as pending, and finish() runs them with holds lifted
   */
  private readonly parked = new Set<SlicedTask>();
  /**
   * parked tasks that may go on (unpark), run before `tasks`: each was at the head when it parked,
   * so everything queued since is behind it (review-s13-2 F3: at the tail, a closed channel's
   * requeue to other queues waited for every bulk task added while one queue held it)
   */
  private readonly resumed = new Fifo<SlicedTask>();
  /**
   * tasks taking turns a slice each (sharesSlices), drawn from the head of `tasks`: all were
   * queued ahead of what is left there, so they run before it (after `resumed`)
   */
  private readonly round = new Fifo<SlicedTask>();
  /** > 0 while what is left must be done at once (finish(), liftingHolds): a task must not park then */
  private lifting = 0;
  private scheduled: NodeJS.Immediate | undefined;
  /** the longest slice so far, ms (benchmarks read and reset it) */
  longestSliceMs = 0;
  /** idle()'s callers, released once no task is left */
  private readonly idleWaiters = new Waiters();

  constructor(
    private readonly sliceMs = SLICE_MS,
    /** a task threw: it is dropped and the error shown (a bug; the broker goes on) */
    private readonly onError: (err: unknown) => void = reportTaskError,
  ) {}

  get pending(): number {
    return this.tasks.length + this.resumed.length + this.round.length + this.parked.size + this.turns.length;
  }

  /** resolves once no task is left (at once when none is): under steady bulk work it waits for a quiet moment */
  idle(): Promise<void> {
    return this.idleWaiters.wait(this.pending === 0);
  }

  /** everything must be done now (finish(), liftingHolds): a task may not wait for anything (park) */
  get holdsLifted(): boolean {
    return this.lifting > 0;
  }

  /** `run` with holds lifted: what it steps to its end synchronously does not park (Queue.settleReturns) */
  liftingHolds(run: () => void): void {
    this.lifting++;
    try {
      run();
    } finally {
      this.lifting--;
    }
  }

  /**
   * `task`, whose step has just returned true without being done, waits for something else (a
   * requeue held until answers asked before it have run: BulkSettle): it is set aside until
   * unpark(), the tasks behind it — one of which may be what it waits for — going on meanwhile
   */
  park(task: SlicedTask): void {
    this.parked.add(task);
  }

  /**
   * parked `task` may go on: `entry` (what steps it; none when it has nothing left) runs ahead of
   * the tasks queued while it was parked, after those resumed before it; false (nothing queued)
   * if it was not parked: finish() ran it
   */
  unpark(task: SlicedTask, entry: SlicedTask | undefined): boolean {
    if (!this.parked.delete(task)) return false;
    if (entry !== undefined) {
      this.resumed.push(entry);
      this.schedule();
    } else this.releaseIdle();
    return true;
  }

  add(task: SlicedTask): void {
    this.tasks.push(task);
    this.schedule();
  }

  /** a short task run at the start of a slice, ahead of the bulk tasks (one a slice, in turn) */
  addTurn(task: SlicedTask): void {
    this.turns.push(task);
    this.schedule();
  }

  /** run every task to its end now */
  finish(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    this.liftingHolds(() => {
      for (const t of this.parked) this.resumed.push(t);
      this.parked.clear();
      // turns first each time: a bulk task's step may queue one (a dispatch it wakes stops at its own deadline)
      for (;;) {
        const q = this.turns.length ? this.turns : this.next();
        if (q === undefined) break;
        if (this.run(q.peek()!, Infinity)) q.shift();
      }
    });
    this.releaseIdle();
  }

  private releaseIdle(): void {
    if (this.pending === 0) this.idleWaiters.release();
  }

  private run(task: SlicedTask, deadline: number): boolean {
    try {
      return task.step(deadline);
    } catch (err) {
      this.onError(err);
      return true;
    }
  }

  /** where the next task to run is: the resumed ones first, then the round */
  private next(): Fifo<SlicedTask> | undefined {
    if (this.resumed.length) return this.resumed;
    if (this.round.length) return this.round;
    return this.tasks.length ? this.tasks : undefined;
  }

  /**
   * `task`, at the head of `from`, used its slice without finishing: if it shares slices it goes
   * to the round's tail, behind the sharing tasks queued right after it (drawn into the round
   * first), so they take their turns before its next one. Not a resumed task (it runs ahead of
   * the tasks queued while it was parked) nor one that no longer shares (its other work keeps its
   * place in the order).
   */
  private rotate(from: Fifo<SlicedTask>, task: SlicedTask): void {
    if (from === this.resumed || task.sharesSlices?.() !== true) return;
    from.shift();
    for (let t = this.tasks.peek(); t !== undefined && t.sharesSlices?.() === true; t = this.tasks.peek()) this.round.push(this.tasks.shift()!);
    this.round.push(task);
  }

  private schedule(): void {
    if (!this.scheduled && (this.tasks.length || this.resumed.length || this.round.length || this.turns.length)) this.scheduled = setImmediate(this.slice);
  }

  private readonly slice = (): void => {
    this.scheduled = undefined;
    const start = performance.now();
    let deadline = start + this.sliceMs;
    try {
      if (this.turns.length) {
        // taken off first: one that queues itself again goes behind the others
        const turn = this.turns.shift()!;
        if (!this.run(turn, deadline)) this.turns.push(turn);
        // the bulk tasks' time of their own
        deadline = performance.now() + this.sliceMs;
      }
      for (let q = this.next(); q !== undefined; q = this.next()) {
        const task = q.peek()!;
        // a task that stops short of its end has used its slice
        if (!this.run(task, deadline)) {
          this.rotate(q, task);
          break;
        }
        q.shift();
        if (performance.now() >= deadline) break;
      }
    } finally {
      this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - start);
      this.releaseIdle();
      this.schedule();
    }
  };
}
