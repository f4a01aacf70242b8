import { Fifo } from './fifo.js';
import { Waiters } from './waiters.js';

/**
 * Something big done a slice at a time: `step` works until `deadline` (a performance.now()
 * reading) at most and returns true once it has nothing left.
 */
export interface SlicedTask {
  step(deadline: number): boolean;
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
 */
export class SlicedWork {
  private readonly tasks = new Fifo<SlicedTask>();
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
    return this.tasks.length;
  }

  /** resolves once no task is left (at once when none is): under steady bulk work it waits for a quiet moment */
  idle(): Promise<void> {
    return this.idleWaiters.wait(this.tasks.length === 0);
  }

  add(task: SlicedTask): void {
    this.tasks.push(task);
    this.schedule();
  }

  /** run every task to its end now */
  finish(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    while (this.tasks.length) if (this.run(this.tasks.peek()!, Infinity)) this.tasks.shift();
    this.releaseIdle();
  }

  private releaseIdle(): void {
    if (this.tasks.length === 0) this.idleWaiters.release();
  }

  private run(task: SlicedTask, deadline: number): boolean {
    try {
      return task.step(deadline);
    } catch (err) {
      this.onError(err);
      return true;
    }
  }

  private schedule(): void {
    if (!this.scheduled && this.tasks.length) this.scheduled = setImmediate(this.slice);
  }

  private readonly slice = (): void => {
    this.scheduled = undefined;
    const start = performance.now();
    const deadline = start + this.sliceMs;
    try {
      while (this.tasks.length) {
        // a task that stops short of its end has used its slice
        if (!this.run(this.tasks.peek()!, deadline)) break;
        this.tasks.shift();
        if (performance.now() >= deadline) break;
      }
    } finally {
      this.longestSliceMs = Math.max(this.longestSliceMs, performance.now() - start);
      this.releaseIdle();
      this.schedule();
    }
  };
}
