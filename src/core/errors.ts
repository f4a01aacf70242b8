/**
 * A refusal from the core, carrying RabbitMQ's reply code and text. Each protocol adapter
 * turns it into its own error: an AMQP channel or connection close with this code, a STOMP
 * ERROR frame, an MQTT refusal.
 */
export class BrokerError extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
    /** AMQP closes the connection rather than the channel for these */
    readonly scope: 'channel' | 'connection' = 'channel',
  ) {
    super(`${REPLY_NAMES[code] ?? 'ERROR'} - ${text}`);
  }

  /** RabbitMQ's reply text: `NOT_FOUND - no queue 'x' in vhost '/'` */
  get replyText(): string {
    return this.message;
  }
}

export const REPLY_NAMES: Record<number, string> = {
  200: 'OK',
  311: 'CONTENT_TOO_LARGE',
  312: 'NO_ROUTE',
  313: 'NO_CONSUMERS',
  320: 'CONNECTION_FORCED',
  402: 'INVALID_PATH',
  403: 'ACCESS_REFUSED',
  404: 'NOT_FOUND',
  405: 'RESOURCE_LOCKED',
  406: 'PRECONDITION_FAILED',
  501: 'FRAME_ERROR',
  502: 'SYNTAX_ERROR',
  503: 'COMMAND_INVALID',
  504: 'CHANNEL_ERROR',
  505: 'UNEXPECTED_FRAME',
  506: 'RESOURCE_ERROR',
  530: 'NOT_ALLOWED',
  540: 'NOT_IMPLEMENTED',
  541: 'INTERNAL_ERROR',
};

/**
 * A vhost's `max-queues` limit refused a new queue (rabbit_queue_type's queue_limit_exceeded):
 * 406 on an AMQP channel; MQTT 5 answers the SUBSCRIBE that needed the queue with 0x97.
 */
export class QueueLimitExceeded extends BrokerError {
  constructor(text: string) {
    super(406, text);
  }
}

export const notFound = (text: string) => new BrokerError(404, text);
export const accessRefused = (text: string) => new BrokerError(403, text);
export const resourceLocked = (text: string) => new BrokerError(405, text);
export const preconditionFailed = (text: string) => new BrokerError(406, text);

/**
 * The consumer timeout as rabbit_channel:handle_consumer_timed_out has it (3.13 to 4.2; 4.3's
 * fallback for a client that cannot take basic.cancel says -1 ms): the channel closes with 406.
 * STOMP runs on a channel in RabbitMQ, so its ERROR frame carries the same text.
 */
export const consumerTimedOut = (channel: number, timeoutMs: number) =>
  preconditionFailed(
    `delivery acknowledgement on channel ${channel} timed out. Timeout value used: ${timeoutMs} ms. This timeout value can be configured, see consumers doc guide to learn more`,
  );

/** RabbitMQ names resources as `queue 'q' in vhost '/'` in its error texts */
export const describeQueue = (vhost: string, name: string) => `queue '${name}' in vhost '${vhost}'`;
export const describeExchange = (vhost: string, name: string) => `exchange '${name}' in vhost '${vhost}'`;
