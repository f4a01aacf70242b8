/**
 * Reads a client's input in slices of time: once one read has been processed for `sliceMs`,
 * the parser stops at the next frame boundary, the socket is paused and the rest waits for
 * the next turn of the event loop (setImmediate), after the other sockets, the timers and the
 * disk's completions have had theirs. Erlang's scheduler gives RabbitMQ the same by counting
 * reductions; Node runs a read's handler to its end, however long that is.
 *
 * Why: libuv hands over up to 64 KiB per read, and a socket with more waiting is read again
 * within the same turn. A read of thousands of small publishes is cheap once the code is
 * optimised (~5 µs each) but not in a process that has just started: measured on a fresh
 * broker (bench/lib/traced-broker.ts), one 31 KiB AMQP read took 73 ms and three reads in a
 * row held the loop 140 ms while the fsync that had long ended (and the confirms it
 * released) waited behind them: a publisher saw no confirm for 134 ms. Sliced, an ended sync
 * is handled within about one slice.
 *
 * Input that arrives while a read waits for its next slice (a transport that does not stop
 * at once) is queued behind it, in order. The adapter's own pause (the alarm, the durability
 * backlog: FlowControlled) goes through `pause`/`resume` here, so the socket is resumed only
 * when neither holds it. Input already read is processed whatever the flow says, as a read
 * was processed whole before (and as RabbitMQ handles what it has read before it blocks).
 */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Parses one chunk, stopping after a whole frame once `over()` says so (the parser asks after
 * each frame). Returns the bytes it did not parse, which begin at a frame boundary, or
 * undefined when it parsed them all (or the connection failed: `open` says which).
 */
export type SliceParser = (chunk: Buffer) => Buffer | undefined;

/** a power of two */
const CLOCK_EVERY = 8;

export class ReadSlices {
  /** when the slice in progress ends (performance.now()); Infinity between reads */
  private endsAt = Infinity;
  /** input read but not yet parsed, oldest first: the read stopped for a later slice */
  private queued: Buffer[] | undefined;
  /** the adapter's flow control holds the reading */
  private flowPaused = false;

  /**
   * `sliceMs`: how long one read may be processed before the rest waits for the next turn
   * (0: a read is processed whole). `open`: false once the connection is gone (queued input is dropped).
   */
  constructor(
    private readonly stream: Pausable,
    private readonly sliceMs: number,
    private readonly parse: SliceParser,
    private readonly open: () => boolean,
  ) {}

  /** frames asked about in this read: the clock is read every CLOCK_EVERY of them */
  private frames = 0;

  /**
   * The parser asks after each frame: stop here, the rest in a later turn. The clock is read
   * every CLOCK_EVERY frames (a reading costs ~40-80 ns, a small publish's whole handling a few
   * µs once warm), so a slice may run a few frames past its end.
   */
  readonly over = (): boolean => (++this.frames & (CLOCK_EVERY - 1)) === 0 && this.endsAt !== Infinity && performance.now() >= this.endsAt;

  /** the socket's 'data' */
  data(chunk: Buffer): void {
    if (this.queued !== undefined) this.queued.push(chunk);
    else this.run([chunk]);
  }

  /** FlowControlled: stop reading the socket (what was read already is still processed) */
  pause(): void {
    this.flowPaused = true;
    this.stream.pause();
  }

  resume(): void {
    this.flowPaused = false;
    // a read waiting for its next slice resumes the socket once it is done
    if (this.queued === undefined && this.open()) this.stream.resume();
  }

  private run(input: Buffer[]): void {
    this.endsAt = this.sliceMs > 0 ? performance.now() + this.sliceMs : Infinity;
    for (let i = 0; i < input.length; i++) {
      const rest = this.parse(input[i]!);
      if (!this.open()) break;
      if (rest !== undefined && rest.length > 0) {
        const left = [rest];
        for (let j = i + 1; j < input.length; j++) left.push(input[j]!);
        this.endsAt = Infinity;
        if (this.queued === undefined) this.stream.pause();
        this.queued = left;
        setImmediate(this.next);
        return;
      }
    }
    this.endsAt = Infinity;
    if (this.queued !== undefined) {
      this.queued = undefined;
      if (!this.flowPaused && this.open()) this.stream.resume();
    }
  }

  /** the next slice: the rest of the stopped read, then what came after it */
  private readonly next = (): void => {
    const input = this.queued!;
    // (input arriving meanwhile was appended to it)
    if (!this.open()) {
      this.queued = undefined;
      return;
    }
    this.run(input);
  };
}
