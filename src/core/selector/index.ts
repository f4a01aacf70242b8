import type { Message } from '../message.js';
import { evaluate, type Lookup } from './evaluate.js';
import { InvalidSelectorError, parseSelector, type Expr } from './parse.js';

export { InvalidSelectorError };

/**
 * A compiled JMS selector over the core's view of a message: the JMS headers by their
 * names (JMSDeliveryMode, JMSPriority, JMSMessageID, JMSTimestamp, JMSCorrelationID,
 * JMSType, JMSExpiration, JMSRedelivered, JMSXDeliveryCount, JMSXGroupID) and the
 * message's properties (its headers table). Shared by OpenWire consumers and the STOMP
 * `selector` header of the ActiveMQ dialect.
 */
export class Selector {
  private readonly expr: Expr;

  /** throws InvalidSelectorError */
  constructor(readonly text: string) {
    this.expr = parseSelector(text);
  }

  /** `deliveryCount`: times the message was delivered before (JMSRedelivered, JMSXDeliveryCount) */
  matches(m: Message, deliveryCount = 0): boolean {
    return evaluate(this.expr, (name) => jmsValue(m, name, deliveryCount)) === true;
  }

  /** with a caller's own lookup (an adapter holding typed properties) */
  matchesWith(get: Lookup): boolean {
    return evaluate(this.expr, get) === true;
  }
}

export function jmsValue(m: Message, name: string, deliveryCount: number): unknown {
  const p = m.properties;
  if (name.startsWith('JMS')) {
    switch (name) {
      case 'JMSDeliveryMode':
        return p.deliveryMode === 2 ? 'PERSISTENT' : 'NON_PERSISTENT';
      case 'JMSPriority':
        return p.priority ?? 4;
      case 'JMSMessageID':
        return p.messageId;
      case 'JMSTimestamp':
        return p.timestamp !== undefined ? p.timestamp * 1000 : m.publishedAt;
      case 'JMSCorrelationID':
        return p.correlationId;
      case 'JMSType':
        return p.type;
      case 'JMSExpiration':
        return p.expiration !== undefined ? m.publishedAt + Number(p.expiration) : 0;
      case 'JMSRedelivered':
        return deliveryCount > 0;
      case 'JMSXDeliveryCount':
        return deliveryCount + 1;
    }
  }
  return p.headers?.[name];
}
