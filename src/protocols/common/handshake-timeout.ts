import type { Logger } from '../../server/logger.js';

/** What a protocol tells the handshake deadline about its connection. */
export interface HandshakeWatch {
  /** the log line's subject: "AMQP", "STOMP", "OpenWire" … */
  readonly protocol: string;
  readonly timeoutMs: number;
  /** undefined once the handshake is over (or the connection is gone); else what is still missing, for the log */
  missing(): string | undefined;
  /** drops the connection the protocol's way (destroy the socket, or its own close path) */
  close(): void;
  readonly log: Pick<Logger, 'info'>;
  /** the fields the protocol's connection lines carry (peer, remote …) */
  readonly fields: Record<string, unknown>;
}

/**
 * The deadline every protocol keeps for its handshake — RabbitMQ's handshake_timeout (10 s by default),
 * ActiveMQ's negotiation timeout for OpenWire: a client that has not finished logging in by then (silence,
 * a protocol header and nothing more, half a CONNECT) is dropped, so a slow or silent client cannot hold a
 * socket. The timer is unref'd and returned so that the connection clears it when it closes.
 */
export function startHandshakeTimeout(watch: HandshakeWatch): NodeJS.Timeout {
  const timer = setTimeout(() => {
    const missing = watch.missing();
    if (missing === undefined) return;
    watch.log.info(`${watch.protocol} connection closed: ${missing} in time`, { ...watch.fields, timeoutMs: watch.timeoutMs });
    watch.close();
  }, watch.timeoutMs);
  timer.unref();
  return timer;
}
