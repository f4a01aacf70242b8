import { hostname } from 'node:os';

/**
 * Identifiers in ActiveMQ's form: `ID:<host>-<port>-<start millis>-<n>:<counter>`.
 * ActiveMQ puts its listener port in the middle; LocalMQ has several listeners, so the
 * process id stands there. Connection ids (the CONNECTED `session`) and acknowledgement
 * ids (a 1.2 MESSAGE's `ack`) come from two generators, as on ActiveMQ (`…-3:` and `…-4:`).
 */
const base = `ID:${hostname()}-${process.pid}-${Date.now()}`;
const CONNECTION_PREFIX = `${base}-3:`;
const ACK_PREFIX = `${base}-4:`;

let connections = 0;
let acks = 0;

/** a STOMP connection's id, which is also the prefix of the ids of the messages it sends */
export function nextConnectionId(): string {
  return CONNECTION_PREFIX + ++connections;
}

export function nextAckId(): string {
  return ACK_PREFIX + ++acks;
}

/** the counter of an ack id nextAckId handed out (undefined for any other text) */
export function ackIdNumber(id: string): number | undefined {
  if (!id.startsWith(ACK_PREFIX) || id.length === ACK_PREFIX.length) return undefined;
  const n = Number(id.slice(ACK_PREFIX.length));
  return Number.isSafeInteger(n) && n > 0 && n <= acks ? n : undefined;
}

/** message ids of one connection's producer: `<connection id>:-1:1:<n>` as ActiveMQ's STOMP producer numbers them */
export class MessageIdSource {
  private seq = 0;
  private readonly prefix: string;

  constructor(connectionId: string) {
    this.prefix = `${connectionId}:-1:1:`;
  }

  next(): string {
    return this.prefix + ++this.seq;
  }
}
