/**
 * The soak's books: for one lane (a protocol's publisher and consumers), every message it
 * published, which the broker confirmed, which were in flight when a connection dropped
 * (in doubt: the broker may or may not have them), and where each ended: consumed (acked)
 * or dead-lettered. Bodies are `lane:seq`, so any consumer, in any protocol, can book them.
 */
export class Ledger {
  /** sent, not yet confirmed */
  private readonly pending = new Set<number>();
  readonly confirmed = new Set<number>();
  /** sent, then the connection dropped before the confirm: either outcome is correct */
  readonly inDoubt = new Set<number>();
  /** consumed and acked: how many times */
  readonly consumed = new Map<number, number>();
  readonly deadLettered = new Set<number>();
  published = 0;
  /** deliveries of a message already consumed, with the protocol's redelivery mark / without */
  duplicatesFlagged = 0;
  duplicatesUnflagged = 0;
  /** the broker refused a publish (a nack, an error outcome) */
  refused = 0;
  private seq = 0;

  constructor(
    readonly lane: string,
    /** at-least-once without a redelivery mark on the copy (MQTT QoS 1: a PUBLISH resent after a reconnect is a new message to the broker) */
    readonly duplicatesAllowedUnflagged = false,
  ) {}

  next(): { seq: number; body: Buffer } {
    const seq = ++this.seq;
    this.pending.add(seq);
    this.published++;
    return { seq, body: Buffer.from(`${this.lane}:${seq}`) };
  }

  confirm(seq: number): void {
    if (this.pending.delete(seq) || this.inDoubt.delete(seq)) this.confirmed.add(seq);
  }

  refuse(seq: number): void {
    if (this.pending.delete(seq) || this.inDoubt.delete(seq)) this.refused++;
  }

  /** the connection dropped: what it had not confirmed may or may not have reached the broker */
  dropped(): void {
    for (const s of this.pending) this.inDoubt.add(s);
    this.pending.clear();
  }

  /** a consumer acked it; `redelivered`: the protocol marked it as delivered before */
  consume(seq: number, redelivered: boolean): void {
    const n = this.consumed.get(seq) ?? 0;
    if (n > 0 || this.deadLettered.has(seq)) {
      if (redelivered) this.duplicatesFlagged++;
      else this.duplicatesUnflagged++;
    }
    this.consumed.set(seq, n + 1);
  }

  deadLetter(seq: number): void {
    if (this.deadLettered.has(seq) || this.consumed.has(seq)) this.duplicatesFlagged++;
    this.deadLettered.add(seq);
  }

  /** confirmed messages neither consumed nor dead-lettered (yet) */
  missing(): number[] {
    const out: number[] = [];
    for (const s of this.confirmed) if (!this.consumed.has(s) && !this.deadLettered.has(s)) out.push(s);
    return out;
  }

  /** in-doubt messages that did turn up */
  inDoubtDelivered(): number {
    let n = 0;
    for (const s of this.inDoubt) if (this.consumed.has(s) || this.deadLettered.has(s)) n++;
    return n;
  }

  get unconfirmed(): number {
    return this.pending.size;
  }
}

export class Books {
  readonly ledgers = new Map<string, Ledger>();

  lane(name: string, duplicatesAllowedUnflagged = false): Ledger {
    const l = new Ledger(name, duplicatesAllowedUnflagged);
    this.ledgers.set(name, l);
    return l;
  }

  /** book a body `lane:seq` seen by a consumer */
  consumed(body: Buffer | string, redelivered: boolean): void {
    const [lane, seq] = parse(body);
    this.ledgers.get(lane)?.consume(seq, redelivered);
  }

  deadLettered(body: Buffer | string): void {
    const [lane, seq] = parse(body);
    this.ledgers.get(lane)?.deadLetter(seq);
  }

  /** what a consumer should do with a message, the same for every delivery of it: mostly ack */
  static verdict(body: Buffer | string): 'ack' | 'requeue' | 'reject' {
    const [, seq] = parse(body);
    if (seq % 41 === 0) return 'reject';
    if (seq % 37 === 0) return 'requeue';
    return 'ack';
  }
}

function parse(body: Buffer | string): [string, number] {
  const s = typeof body === 'string' ? body : body.toString('latin1');
  const i = s.lastIndexOf(':');
  return [s.slice(0, i), Number(s.slice(i + 1))];
}
