import { BrokerError } from '../../core/errors.js';
import type { OwThrowable } from './codec/marshal.js';

/** A refusal the client sees as a Java exception of this class (an ExceptionResponse). */
export class OwError extends Error {
  constructor(
    readonly javaClass: string,
    message: string,
    /** the connection ends once the client has the answer (a failed login) */
    readonly fatal = false,
  ) {
    super(message);
  }
}

export const securityError = (text: string) => new OwError('java.lang.SecurityException', text, true);
export const jmsError = (text: string) => new OwError('javax.jms.JMSException', text);
export const invalidDestination = (text: string) => new OwError('javax.jms.InvalidDestinationException', text);
export const invalidClientId = (text: string) => new OwError('javax.jms.InvalidClientIDException', text);
export const invalidSelector = (text: string) => new OwError('javax.jms.InvalidSelectorException', text);
export const unsupported = (text: string) => new OwError('java.lang.UnsupportedOperationException', text);

/** any error as the throwable an ExceptionResponse carries */
export function toThrowable(err: unknown): OwThrowable {
  if (err instanceof OwError) return { className: err.javaClass, message: err.message, stack: [], cause: null };
  if (err instanceof BrokerError) {
    // the core's access refusals are security exceptions in ActiveMQ's terms
    const cls = err.code === 403 ? 'java.lang.SecurityException' : 'javax.jms.JMSException';
    return { className: cls, message: err.text, stack: [], cause: null };
  }
  return { className: 'javax.jms.JMSException', message: err instanceof Error ? err.message : String(err), stack: [], cause: null };
}
