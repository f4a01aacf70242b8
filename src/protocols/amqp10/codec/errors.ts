/**
 * AMQP 1.0 error conditions (part 2.8.15–2.8.18 and part 5 of the spec). An adapter error
 * carries its condition and a description; where it is raised says whether it ends the
 * link (detach), the session (end) or the connection (close).
 */
export const Condition = {
  internalError: 'amqp:internal-error',
  notFound: 'amqp:not-found',
  unauthorizedAccess: 'amqp:unauthorized-access',
  decodeError: 'amqp:decode-error',
  resourceLimitExceeded: 'amqp:resource-limit-exceeded',
  notAllowed: 'amqp:not-allowed',
  invalidField: 'amqp:invalid-field',
  notImplemented: 'amqp:not-implemented',
  resourceLocked: 'amqp:resource-locked',
  preconditionFailed: 'amqp:precondition-failed',
  resourceDeleted: 'amqp:resource-deleted',
  illegalState: 'amqp:illegal-state',
  frameSizeTooSmall: 'amqp:frame-size-too-small',
  connectionForced: 'amqp:connection:forced',
  framingError: 'amqp:connection:framing-error',
  redirect: 'amqp:connection:redirect',
  windowViolation: 'amqp:session:window-violation',
  errantLink: 'amqp:session:errant-link',
  handleInUse: 'amqp:session:handle-in-use',
  unattachedHandle: 'amqp:session:unattached-handle',
  detachForced: 'amqp:link:detach-forced',
  transferLimitExceeded: 'amqp:link:transfer-limit-exceeded',
  messageSizeExceeded: 'amqp:link:message-size-exceeded',
  linkRedirect: 'amqp:link:redirect',
  stolen: 'amqp:link:stolen',
  transactionUnknownId: 'amqp:transaction:unknown-id',
  transactionRollback: 'amqp:transaction:rollback',
  transactionTimeout: 'amqp:transaction:timeout',
} as const;

export type ConditionName = (typeof Condition)[keyof typeof Condition] | (string & {});

/** which endpoint an error ends */
export type ErrorScope = 'connection' | 'session' | 'link';

export class Amqp10Error extends Error {
  override readonly name = 'Amqp10Error';
  constructor(
    readonly condition: ConditionName,
    readonly description: string,
    readonly scope: ErrorScope = 'connection',
  ) {
    super(`${condition}: ${description}`);
  }
}

/** bytes that are not valid AMQP 1.0 encoding: the connection closes with amqp:decode-error */
export class Amqp10DecodeError extends Amqp10Error {
  constructor(description: string) {
    super(Condition.decodeError, description, 'connection');
  }
}
