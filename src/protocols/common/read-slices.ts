/**
 * Bounds the work one client's input gets in each turn of the event loop: once this
 * connection has been processed for `sliceMs` in a turn, the parser stops at the next frame
 * boundary, the socket is paused and the rest waits for the next turn (setImmediate), after
 * the other sockets, the timers and the disk's completions have had theirs. Erlang's
 * scheduler gives RabbitMQ the same by counting reductions; Node runs a read's handler to its
 * end, however long that is. This is the one per-connection bound of every protocol (AMQP
 * 0-9-1, STOMP, MQTT, OpenWire, AMQP 1.0): the core counts no publishes.
 *
 * Why per turn, not per read: libuv hands over up to 64 KiB per read and reads a socket with
 * more waiting up to 32 times in the same turn. Timed per read, a publisher at full speed got
 * a fresh slice for each (up to 32 × 5 ms); timed per turn, the slice starts at the turn's
 * first read and a later read in the same turn once it is spent waits whole for the next
 * turn. A turn ends at this connection's next check phase (one setImmediate per turn it
 * read in), where what waits is processed in a fresh slice.
 *
 * Why at all: a read of thousands of small publishes is cheap once the code is optimised
 * (~5 µs each) but not in a process that has just started: measured on a fresh broker
 * (bench/lib/traced-broker.ts), one 31 KiB AMQP read took 73 ms and three reads in a row held
 * the loop 140 ms while the fsync that had long ended (and the confirms it released) waited
 * behind them; and a warm publisher flooding 1M held the loop 285–458 ms
 * (bench/big-queue-blocking.ts 'publish').
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

/** the clock is read once every this many frames (a power of two); exported for the tests' bounds */
export const CLOCK_EVERY = 8;

export class ReadSlices {
  /** when this turn's slice ends (performance.now()); Infinity while none runs */
  private endsAt = Infinity;
  /** turnEnds is scheduled (setImmediate) */
  private turnScheduled = false;
  /** input read but not yet parsed, oldest first: it waits for the next turn */
  private queued: Buffer[] | undefined;
  /** the adapter's flow control holds the reading */
  private flowPaused = false;
  /** frames asked about: the clock is read every CLOCK_EVERY of them */
  private frames = 0;

  /**
   * `sliceMs`: how long this connection's input may be processed in one turn of the event loop
   * (0: no bound, a read is processed whole). `open`: false once the connection is gone (queued input is dropped).
   */
  constructor(
    private readonly stream: Pausable,
    private readonly sliceMs: number,
    private readonly parse: SliceParser,
    private readonly open: () => boolean,
  ) {}

  /**
   * The parser asks after each frame: stop here, the rest in a later turn. The clock is read
   * every CLOCK_EVERY frames (a reading costs ~40-80 ns, a small publish's whole handling a few
   * µs once warm), so a slice may run a few frames past its end.
   */
  readonly over = (): boolean => (++this.frames & (CLOCK_EVERY - 1)) === 0 && this.spent();

  /** the socket's 'data' */
  data(chunk: Buffer): void {
    if (this.queued !== undefined) {
      this.queued.push(chunk);
      return;
    }
    if (this.endsAt === Infinity) this.startSlice();
    else if (this.spent()) {
      // a later read of the same turn, the slice spent: all of it waits for the next turn
      this.wait([chunk]);
      return;
    }
    this.run([chunk]);
  }

  /** FlowControlled: stop reading the socket (what was read already is still processed) */
  pause(): void {
    this.flowPaused = true;
    this.stream.pause();
  }

  resume(): void {
    this.flowPaused = false;
    // input waiting for its turn resumes the socket once it is processed
    if (this.queued === undefined && this.open()) this.stream.resume();
  }

  /** a slice runs and its time is up (reads the clock) */
  private spent(): boolean {
    return this.endsAt !== Infinity && performance.now() >= this.endsAt;
  }

  /** this turn's slice starts; it ends at this connection's next check phase */
  private startSlice(): void {
    if (this.sliceMs <= 0) return;
    this.endsAt = performance.now() + this.sliceMs;
    this.scheduleTurnEnd();
  }

  private scheduleTurnEnd(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    setImmediate(this.turnEnds);
  }

  private run(input: Buffer[]): void {
    for (let i = 0; i < input.length; i++) {
      if (i > 0 && this.spent()) {
        // the slice is spent between two reads: the later ones wait whole
        this.wait(input.slice(i));
        return;
      }
      const rest = this.parse(input[i]!);
      if (!this.open()) break;
      if (rest !== undefined && rest.length > 0) {
        const left = [rest];
        for (let j = i + 1; j < input.length; j++) left.push(input[j]!);
        this.wait(left);
        return;
      }
    }
    if (this.queued !== undefined) {
      this.queued = undefined;
      if (!this.flowPaused && this.open()) this.stream.resume();
    }
  }

  /** `input` waits for the next turn */
  private wait(input: Buffer[]): void {
    if (this.queued === undefined) this.stream.pause();
    this.queued = input;
    this.scheduleTurnEnd();
  }

  /** the turn is over: what waits is processed in the next turn's slice */
  private readonly turnEnds = (): void => {
    this.turnScheduled = false;
    this.endsAt = Infinity;
    const input = this.queued;
    if (input === undefined) return;
    // (input arriving meanwhile was appended to it)
    if (!this.open()) {
      this.queued = undefined;
      return;
    }
    this.startSlice();
    this.run(input);
  };
}
