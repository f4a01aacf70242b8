import type { StompHeader, StompSerializeOptions } from '../codec/index.js';
import { StompError } from '../errors.js';

const KNOWN_COMMANDS = new Set(['SEND', 'SUBSCRIBE', 'UNSUBSCRIBE', 'ACK', 'NACK', 'BEGIN', 'COMMIT', 'ABORT', 'DISCONNECT']);

/**
 * ActiveMQ's wording for the refusals the connection raises in RabbitMQ's words
 * (ActiveMQ 5.17 ProtocolConverter, measured); anything else keeps its own text.
 */
export function amqErrorText(e: StompError): string {
  switch (e.message) {
    case 'Bad command': {
      const m = /command "(.*)"/.exec(e.detail);
      return `Unknown STOMP action: ${m ? JSON.parse(`"${m[1]}"`) : ''}`;
    }
    case 'Missing destination': {
      const m = /^"([A-Z]+)"/.exec(e.detail);
      return `${m ? m[1] : 'SEND'} received without a Destination specified!`;
    }
    case 'Version mismatch':
      return 'Invalid Protocol version, supported versions are: [1.2, 1.1, 1.0]';
    default:
      return e.detail.trim() || e.message;
  }
}

/**
 * An ERROR frame as ActiveMQ writes one: content-type, receipt-id, message, and the
 * ProtocolException as the body (ActiveMQ appends its Java stack trace; the first line
 * is what clients show).
 */
export function amqErrorFrame(text: string, receipt: string | undefined): { headers: StompHeader[]; body: Buffer; options: StompSerializeOptions } {
  const headers: StompHeader[] = [['content-type', 'text/plain']];
  if (receipt !== undefined) headers.push(['receipt-id', receipt]);
  headers.push(['message', text]);
  // without content-length, as ActiveMQ writes its ERROR frames
  return { headers, body: Buffer.from(`org.apache.activemq.transport.stomp.ProtocolException: ${text}\n`, 'utf8'), options: { omitContentLength: true } };
}

/**
 * ActiveMQ keeps a connection open after refusing a frame (a SEND without destination,
 * an unknown ACK); it closes it for an unknown command, a failed CONNECT and a frame it
 * cannot parse.
 */
export function closesConnection(err: unknown, command: string | undefined): boolean {
  if (command === undefined || !KNOWN_COMMANDS.has(command)) return true;
  return err instanceof StompError && (err.message === 'Bad command' || err.message === 'Illegal command');
}
