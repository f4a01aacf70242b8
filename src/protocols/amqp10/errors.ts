import type { BrokerError } from '../../core/errors.js';
import { Condition } from './codec/errors.js';

/** the amqp: condition for a core refusal (RabbitMQ 4 maps its AMQP 0-9-1 codes the same way) */
export function brokerErrorCondition(err: BrokerError): string {
  switch (err.code) {
    case 403:
      return Condition.unauthorizedAccess;
    case 404:
      return Condition.notFound;
    case 405:
      return Condition.resourceLocked;
    case 406:
      return Condition.preconditionFailed;
    case 506:
      return Condition.resourceLimitExceeded;
    case 530:
      return Condition.notAllowed;
    case 540:
      return Condition.notImplemented;
    default:
      return Condition.internalError;
  }
}
