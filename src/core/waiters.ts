/**
 * Callers waiting for a moment (no bulk work left, the event loop asleep, the next sample):
 * all told at once when it comes, each once. One shape for every "resolves once …" helper.
 */
export class Waiters {
  private waiting: Array<() => void> = [];

  get length(): number {
    return this.waiting.length;
  }

  /** `cb` at the next release() */
  add(cb: () => void): void {
    this.waiting.push(cb);
  }

  /** resolves at the next release(), or at once when the moment is `now` */
  wait(now = false): Promise<void> {
    if (now) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** tell everyone waiting so far (one added meanwhile waits for the next release) */
  release(): void {
    if (this.waiting.length === 0) return;
    const waiting = this.waiting;
    this.waiting = [];
    for (const cb of waiting) cb();
  }
}
