import type { Writable } from 'node:stream';

/**
 * Writes made within one turn of the event loop leave together, in one syscall: the first
 * write of a turn corks the stream, the next tick uncorks it. One instance per connection;
 * the uncork callback is made once, not per turn.
 */
export class TickCork {
  private corked = false;

  constructor(private readonly stream: Writable) {}

  cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.stream.cork();
    process.nextTick(this.uncork);
  }

  private readonly uncork = (): void => {
    this.corked = false;
    this.stream.uncork();
  };
}
