import type { StompHeader, StompSerializeOptions } from '../codec/index.js';
import { printable, StompError, UnknownTransactionError, UnreadableFrameError } from '../errors.js';

const KNOWN_COMMANDS = new Set(['SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT']);
/** frames only a server sends */
const RESPONSE_COMMANDS = new Set(['CONNECTED', 'MESSAGE', 'RECEIPT', 'ERROR']);

/** how ActiveMQ refuses one of the frames whose handling changed in 5.19.8 */
export interface AmqRefusal {
  text: string;
  closes: boolean;
  /** the ERROR carries the frame's receipt-id (5.19.8's wire-format refusals come before the headers are read: none) */
  receipt: boolean;
}

/**
 * Refusals that differ between ActiveMQ versions. Up to 5.19.7 (5.18.7 included) the
 * ProtocolConverter decides: a known frame before CONNECT gets "Not connected.", a second
 * CONNECT "Already connected." (both non-fatal: the connection stays), anything else is an
 * unknown action (fatal). From 5.19.8 the StompWireFormat in server mode refuses them first
 * (validateAction, AMQ #2064), fatally, with its own texts; it also refuses a negative
 * content-length. Measured on 5.17.2 (bench/activemq-observed.md), read in 5.19.10's source.
 */
export function amqVersionedRefusal(e: StompError, serverModeValidation: boolean): AmqRefusal | undefined {
  const command = e.command;
  const wire = (text: string): AmqRefusal => ({ text, closes: true, receipt: false });
  if (e.code === 'not-connected' && command !== undefined) {
    // a frame before CONNECT
    if (serverModeValidation) {
      if (RESPONSE_COMMANDS.has(command)) return wire(clientModeOnly(command));
      return wire(`StompWireFormat is configured for 'server' mode and received an unexpected frame before CONNECT or STOMP frame: ${command}`);
    }
    if (KNOWN_COMMANDS.has(command)) return { text: 'Not connected.', closes: false, receipt: true };
    return { text: `Unknown STOMP action: ${command}`, closes: true, receipt: true };
  }
  if (e.code === 'bad-command' && (command === 'CONNECT' || command === 'STOMP')) {
    if (serverModeValidation) return wire("StompWireFormat is configured for 'server' mode and received a duplicate CONNECT or STOMP frame");
    return { text: 'Already connected.', closes: false, receipt: true };
  }
  if (e.code === 'bad-command' && command !== undefined && RESPONSE_COMMANDS.has(command) && serverModeValidation) return wire(clientModeOnly(command));
  if (e.code === 'invalid-content-length') {
    const negative = e instanceof UnreadableFrameError && /^\s*-\d+\s*$/.test(e.codecError.value ?? '');
    if (negative && serverModeValidation) return wire('Specified content-length may not be negative');
    if (!negative) return wire('Specified content-length is not a valid integer');
  }
  return undefined;
}

function clientModeOnly(command: string): string {
  return `StompWireFormat is configured for 'server' mode and received a frame that is only expected when configured for 'client' mode: ${command}`;
}

/**
 * ActiveMQ's wording for the refusals the connection raises in RabbitMQ's words
 * (ActiveMQ 5.17 ProtocolConverter, measured); anything else keeps its own text.
 */
// ABORT says 'committing' too: ActiveMQ 5.17.2 asked (onStompAbort's text is onStompCommit's)
const TX_VERBS: Record<string, string> = { BEGIN: 'beginning', COMMIT: 'committing', ABORT: 'committing' };

export function amqErrorText(e: StompError): string {
  switch (e.code) {
    case 'bad-command':
      // a command with bytes RabbitMQ's text shows as codes (a NUL in it) is left out, as before (not asked of ActiveMQ)
      return `Unknown STOMP action: ${e.command !== undefined && printable(e.command) ? e.command : ''}`;
    case 'missing-destination':
      return `${e.command ?? 'SEND'} received without a Destination specified!`;
    case 'version-mismatch':
      return 'Invalid Protocol version, supported versions are: [1.2, 1.1, 1.0]';
    // ActiveMQ 5.17 asked (review-s18-2 P3, tx-texts.mjs): COMMIT / ABORT / SEND / ACK in transaction:none, and
    // BEGIN / COMMIT / ABORT without a transaction header
    case 'bad-transaction':
      return `Invalid transaction id: ${e instanceof UnknownTransactionError ? e.transactionId : ''}`;
    case 'missing-transaction':
      return `Must specify the transaction you are ${TX_VERBS[e.command ?? ''] ?? 'using'}`;
    default:
      return e.detail.trim() || e.message;
  }
}

/**
 * A refusal that comes from ActiveMQ's broker rather than its STOMP converter: the ERROR
 * body names the broker's JMS exception (javax.jms.InvalidClientIDException …), not
 * ProtocolException (ActiveMQ 5.17, measured).
 */
export class AmqBrokerError extends StompError {
  constructor(
    readonly exception: string,
    text: string,
  ) {
    super(text, text);
  }
}

const PROTOCOL_EXCEPTION = 'org.apache.activemq.transport.stomp.ProtocolException';

/**
 * An ERROR frame as ActiveMQ writes one: content-type, receipt-id, message, and the
 * exception as the body (ActiveMQ appends its Java stack trace; the first line is what
 * clients show): ProtocolException unless the broker refused (`exception`).
 */
export function amqErrorFrame(text: string, receipt: string | undefined, exception = PROTOCOL_EXCEPTION): { headers: StompHeader[]; body: Buffer; options: StompSerializeOptions } {
  const headers: StompHeader[] = [['content-type', 'text/plain']];
  if (receipt !== undefined) headers.push(['receipt-id', receipt]);
  headers.push(['message', text]);
  // without content-length, as ActiveMQ writes its ERROR frames
  return { headers, body: Buffer.from(`${exception}: ${text}\n`, 'utf8'), options: { omitContentLength: true } };
}

/**
 * ActiveMQ keeps a connection open after refusing a frame (a SEND without destination,
 * an unknown ACK); it closes it for an unknown command, a failed CONNECT and a frame it
 * cannot parse.
 */
export function closesConnection(err: unknown, command: string | undefined): boolean {
  if (command === undefined || !KNOWN_COMMANDS.has(command)) return true;
  return err instanceof StompError && (err.code === 'bad-command' || err.code === 'not-connected');
}
