/** AMQP 0-9-1 wire constants (values from the spec; names as RabbitMQ prints them). */

export const FRAME_METHOD = 1;
export const FRAME_HEADER = 2;
export const FRAME_BODY = 3;
export const FRAME_HEARTBEAT = 8;

export const FRAME_END = 0xce;
/** type(1) + channel(2) + size(4) + frame-end(1) */
export const FRAME_OVERHEAD = 8;
/** The smallest frame_max a peer may negotiate; also the limit before tuning. */
export const FRAME_MIN_SIZE = 4096;

/** What a 0-9-1 client sends first, and what the server answers to a header it cannot speak. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

export const CLASS_CONNECTION = 10;
export const CLASS_CHANNEL = 20;
export const CLASS_ACCESS = 30;
export const CLASS_EXCHANGE = 40;
export const CLASS_QUEUE = 50;
export const CLASS_BASIC = 60;
export const CLASS_CONFIRM = 85;
export const CLASS_TX = 90;

export const REPLY_SUCCESS = 200;
export const CONTENT_TOO_LARGE = 311;
export const NO_ROUTE = 312;
export const NO_CONSUMERS = 313;
export const CONNECTION_FORCED = 320;
export const INVALID_PATH = 402;
export const ACCESS_REFUSED = 403;
export const NOT_FOUND = 404;
export const RESOURCE_LOCKED = 405;
export const PRECONDITION_FAILED = 406;
export const FRAME_ERROR = 501;
export const SYNTAX_ERROR = 502;
export const COMMAND_INVALID = 503;
export const CHANNEL_ERROR = 504;
export const UNEXPECTED_FRAME = 505;
export const RESOURCE_ERROR = 506;
export const NOT_ALLOWED = 530;
export const NOT_IMPLEMENTED = 540;
export const INTERNAL_ERROR = 541;

/** Reply code -> the name RabbitMQ puts at the start of a close reply-text ("NOT_FOUND - no queue 'q'"). */
export const REPLY_CODE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  [REPLY_SUCCESS]: 'REPLY_SUCCESS',
  [CONTENT_TOO_LARGE]: 'CONTENT_TOO_LARGE',
  [NO_ROUTE]: 'NO_ROUTE',
  [NO_CONSUMERS]: 'NO_CONSUMERS',
  [CONNECTION_FORCED]: 'CONNECTION_FORCED',
  [INVALID_PATH]: 'INVALID_PATH',
  [ACCESS_REFUSED]: 'ACCESS_REFUSED',
  [NOT_FOUND]: 'NOT_FOUND',
  [RESOURCE_LOCKED]: 'RESOURCE_LOCKED',
  [PRECONDITION_FAILED]: 'PRECONDITION_FAILED',
  [FRAME_ERROR]: 'FRAME_ERROR',
  [SYNTAX_ERROR]: 'SYNTAX_ERROR',
  [COMMAND_INVALID]: 'COMMAND_INVALID',
  [CHANNEL_ERROR]: 'CHANNEL_ERROR',
  [UNEXPECTED_FRAME]: 'UNEXPECTED_FRAME',
  [RESOURCE_ERROR]: 'RESOURCE_ERROR',
  [NOT_ALLOWED]: 'NOT_ALLOWED',
  [NOT_IMPLEMENTED]: 'NOT_IMPLEMENTED',
  [INTERNAL_ERROR]: 'INTERNAL_ERROR',
});

/** Soft errors close the channel; every other error code closes the connection. */
export function isSoftError(replyCode: number): boolean {
  return (
    replyCode === CONTENT_TOO_LARGE ||
    replyCode === NO_ROUTE ||
    replyCode === NO_CONSUMERS ||
    replyCode === ACCESS_REFUSED ||
    replyCode === NOT_FOUND ||
    replyCode === RESOURCE_LOCKED ||
    replyCode === PRECONDITION_FAILED
  );
}

export function replyCodeName(replyCode: number): string {
  return REPLY_CODE_NAMES[replyCode] ?? `UNKNOWN_${replyCode}`;
}
