import { BrokerError, REPLY_NAMES } from '../../core/errors.js';
import { StompCodecError, type StompCodecErrorCode } from './codec/index.js';

/**
 * What a refusal is, for a dialect that words or handles it otherwise than its RabbitMQ text (the
 * ActiveMQ dialect's texts and closes, the RabbitMQ dialect's session rules): read instead of
 * `message`, which is RabbitMQ's wording. A frame the codec could not read keeps the codec's code;
 * 'other': no dialect treats it apart.
 */
export type StompRefusal =
  /** a command no STOMP version has, or a second CONNECT / STOMP */
  | 'bad-command'
  /** a frame before CONNECT (RabbitMQ's `Illegal command`) */
  | 'not-connected'
  | 'missing-destination'
  | 'version-mismatch'
  /** a transaction not open on this connection (UnknownTransactionError) */
  | 'bad-transaction'
  /** BEGIN / COMMIT / ABORT without a transaction header */
  | 'missing-transaction'
  | 'duplicated-subscription'
  | StompCodecErrorCode
  | 'other';

/**
 * A refusal the session answers with an ERROR frame: `message` becomes the
 * frame's `message` header, `detail` its text body. The texts are RabbitMQ's
 * (rabbit_stomp_processor), so clients and logs read the same; dialects decide by `code`.
 */
export class StompError extends Error {
  override readonly name = 'StompError';

  constructor(
    message: string,
    readonly detail: string,
    /** extra headers for the ERROR frame (e.g. `subscription`) */
    readonly headers: [string, string][] = [],
    /** the refused frame's command, where a dialect words the refusal by it */
    readonly command?: string,
    readonly code: StompRefusal = 'other',
  ) {
    super(message);
  }
}

/** a frame names a transaction not open on this connection (RabbitMQ's `Bad transaction`; ActiveMQ words it by the id) */
export class UnknownTransactionError extends StompError {
  constructor(readonly transactionId: string) {
    super('Bad transaction', `Invalid transaction identifier: ${quoted(transactionId)}\n`, [], undefined, 'bad-transaction');
  }
}

/** a frame the codec could not read (fatal), with what the codec found (a refused content-length's value) */
export class UnreadableFrameError extends StompError {
  constructor(readonly codecError: StompCodecError) {
    super(codecError.message, codecError.explanation, [], undefined, codecError.code);
  }
}

/** a command no STOMP version has (its bytes printed as RabbitMQ prints them), or a second CONNECT / STOMP */
export const badCommand = (command: string): StompError =>
  new StompError('Bad command', `Could not interpret command ${quotedOrCodes(command)}\n`, [], command, 'bad-command');

/** a frame other than CONNECT before the session is connected */
export const notConnected = (command: string): StompError => new StompError('Illegal command', 'You must log in using CONNECT first', [], command, 'not-connected');

export const missingDestination = (command: string): StompError =>
  new StompError('Missing destination', `${quoted(command)} must include a 'destination' header\n`, [], command, 'missing-destination');

export const missingTransaction = (command: string): StompError =>
  new StompError('Missing transaction', `${quoted(command)} must include a 'transaction' header\n`, [], command, 'missing-transaction');

export const duplicatedSubscription = (tag: string): StompError =>
  new StompError('Duplicated subscription identifier', `A subscription identified by '${tag}' already exists.`, [], undefined, 'duplicated-subscription');

export const versionMismatch = (supported: string): StompError => new StompError('Version mismatch', `Supported versions are ${supported}\n`, [], undefined, 'version-mismatch');

/**
 * What rabbit_stomp_processor:process_request answers when handling a frame crashes (any exception
 * but a channel's or a protocol error): ERROR `Processing error` with that body, the session going
 * on and the frame getting no receipt (3.10.8 asked; the same catch clause in 3.13 and 4.x). The
 * plugin crashes on header values it cannot read: an unknown `ack` mode, an integer header that is
 * not one, a `durable` / `persistent` that is no boolean where a queue is declared, a SUBSCRIBE id
 * naming a temp queue (the `{ok, …} = consumer_tag(Frame)` match).
 */
export const processingError = (): StompError => new StompError('Processing error', 'Processing error');

/** RabbitMQ prints Erlang strings with ~p: double-quoted */
export const quoted = (s: string): string => JSON.stringify(s);

/**
 * ~p of a string holding a character io_lib does not count as printable (a NUL, say): the list of
 * its bytes (the parser keeps the command as bytes), as RabbitMQ 3.10.8 prints such a command (asked: `SE\0ND` ->
 * `[83,69,0,78,68]`, `SEND€` -> `[83,69,78,68,226,130,172]`, review-s18-2 F3)
 */
export const quotedOrCodes = (s: string): string => (printable(s) ? quoted(s) : `[${[...Buffer.from(s, 'utf8')].join(',')}]`);
/** whether ~p prints the string as a string (io_lib:printable_latin1_list) */
export const printable = (s: string): boolean => PRINTABLE.test(s);
/** io_lib:printable_latin1_list: space to tilde, U+00A0 to U+00FF, and \n \r \t \v \b \f \e */
const PRINTABLE = /^[\x20-\x7e\xa0-\xff\n\r\t\v\b\f\x1b]*$/;

/**
 * Any failure while handling a frame, as the ERROR frame RabbitMQ would send:
 * a core refusal becomes `message:not_found` (the AMQP error name, lower case)
 * with the AMQP reply text as body, as the plugin's channel death does.
 */
export function toStompError(err: unknown): StompError {
  if (err instanceof StompError) return err;
  if (err instanceof StompCodecError) return new UnreadableFrameError(err);
  if (err instanceof BrokerError) {
    const name = (REPLY_NAMES[err.code] ?? 'internal_error').toLowerCase();
    return new StompError(name, err.replyText);
  }
  return processingError();
}
