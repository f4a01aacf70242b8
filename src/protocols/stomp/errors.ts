import { BrokerError, REPLY_NAMES } from '../../core/errors.js';
import { StompCodecError } from './codec/index.js';

/**
 * A refusal the session answers with an ERROR frame: `message` becomes the
 * frame's `message` header, `detail` its text body. The texts are RabbitMQ's
 * (rabbit_stomp_processor), so clients and logs read the same.
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
  ) {
    super(message);
  }
}

/** a frame names a transaction not open on this connection (RabbitMQ's `Bad transaction`; ActiveMQ words it by the id) */
export class UnknownTransactionError extends StompError {
  constructor(readonly transactionId: string) {
    super('Bad transaction', `Invalid transaction identifier: ${quoted(transactionId)}\n`);
  }
}

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
export const quotedOrCodes = (s: string): string => (PRINTABLE.test(s) ? quoted(s) : `[${[...Buffer.from(s, 'utf8')].join(',')}]`);
/** io_lib:printable_latin1_list: space to tilde, U+00A0 to U+00FF, and \n \r \t \v \b \f \e */
const PRINTABLE = /^[\x20-\x7e\xa0-\xff\n\r\t\v\b\f\x1b]*$/;

/**
 * Any failure while handling a frame, as the ERROR frame RabbitMQ would send:
 * a core refusal becomes `message:not_found` (the AMQP error name, lower case)
 * with the AMQP reply text as body, as the plugin's channel death does.
 */
export function toStompError(err: unknown): StompError {
  if (err instanceof StompError) return err;
  if (err instanceof StompCodecError) return new StompError(err.message, err.explanation);
  if (err instanceof BrokerError) {
    const name = (REPLY_NAMES[err.code] ?? 'internal_error').toLowerCase();
    return new StompError(name, err.replyText);
  }
  return processingError();
}
