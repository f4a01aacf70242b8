import { FRAME_ERROR, PROTOCOL_HEADER, replyCodeName } from './constants.js';

/**
 * A wire-level fault the peer caused. Carries the AMQP reply code (and, when the
 * fault is inside a method, its class and method ids) so the connection can send
 * connection.close with what RabbitMQ would send.
 */
export class AmqpCodecError extends Error {
  override readonly name = 'AmqpCodecError';
  constructor(
    readonly replyCode: number,
    readonly explanation: string,
    readonly classId = 0,
    readonly methodId = 0,
  ) {
    super(`${replyCodeName(replyCode)} - ${explanation}`);
  }

  /** RabbitMQ's reply-text form: "FRAME_ERROR - explanation". */
  get replyText(): string {
    return this.message;
  }
}

/**
 * The first 8 bytes were not `AMQP 0 0 9 1`. Not a protocol error with a reply
 * code: the server writes `reply` (its own protocol header) and closes the socket.
 */
export class AmqpProtocolHeaderError extends Error {
  override readonly name = 'AmqpProtocolHeaderError';
  readonly reply: Buffer = PROTOCOL_HEADER;
  constructor(readonly received: Buffer) {
    super(`bad AMQP protocol header ${received.toString('hex')}`);
  }
}

/** Undecodable method arguments or content header: RabbitMQ answers FRAME_ERROR "cannot decode". */
export function decodeError(what: string, classId = 0, methodId = 0): AmqpCodecError {
  return new AmqpCodecError(FRAME_ERROR, `cannot decode ${what}`, classId, methodId);
}
