/**
 * Every AMQP 0-9-1 method RabbitMQ speaks, as data: class and method ids and the
 * argument list in wire order. Field lists follow rabbitmq-codegen's
 * amqp-rabbitmq-0.9.1.json (with RabbitMQ's extensions: connection.blocked /
 * unblocked / update-secret, exchange.bind / unbind, basic.nack, confirm); argument
 * names are the 0-9-1 spec's, camelCased: `reserved1` where RabbitMQ's JSON says
 * `ticket` (and the other deprecated slots), `noWait` for `nowait`.
 *
 * The `as const` literal is also the source of the argument types (see methods.ts).
 */

export type FieldType = 'octet' | 'short' | 'long' | 'longlong' | 'shortstr' | 'longstr' | 'bit' | 'table';

/** [name, type] or [name, type, default used when encoding without a value] */
export type FieldSpec = readonly [string, FieldType] | readonly [string, FieldType, boolean | number | string];

export interface MethodSpec {
  readonly classId: number;
  readonly methodId: number;
  readonly fields: readonly FieldSpec[];
  /** followed by a content header and body frames */
  readonly content?: boolean;
}

const closeFields = [
  ['replyCode', 'short'],
  ['replyText', 'shortstr'],
  ['classId', 'short'],
  ['methodId', 'short'],
] as const;

const tuneFields = [
  ['channelMax', 'short'],
  ['frameMax', 'long'],
  ['heartbeat', 'short'],
] as const;

const exchangeBindFields = [
  ['reserved1', 'short'],
  ['destination', 'shortstr'],
  ['source', 'shortstr'],
  ['routingKey', 'shortstr'],
  ['noWait', 'bit'],
  ['arguments', 'table'],
] as const;

export const METHOD_SPECS = {
  'connection.start': {
    classId: 10,
    methodId: 10,
    fields: [
      ['versionMajor', 'octet', 0],
      ['versionMinor', 'octet', 9],
      ['serverProperties', 'table'],
      ['mechanisms', 'longstr', 'PLAIN'],
      ['locales', 'longstr', 'en_US'],
    ],
  },
  'connection.start-ok': {
    classId: 10,
    methodId: 11,
    fields: [
      ['clientProperties', 'table'],
      ['mechanism', 'shortstr', 'PLAIN'],
      ['response', 'longstr'],
      ['locale', 'shortstr', 'en_US'],
    ],
  },
  'connection.secure': { classId: 10, methodId: 20, fields: [['challenge', 'longstr']] },
  'connection.secure-ok': { classId: 10, methodId: 21, fields: [['response', 'longstr']] },
  'connection.tune': { classId: 10, methodId: 30, fields: tuneFields },
  'connection.tune-ok': { classId: 10, methodId: 31, fields: tuneFields },
  'connection.open': {
    classId: 10,
    methodId: 40,
    fields: [
      ['virtualHost', 'shortstr', '/'],
      ['reserved1', 'shortstr'], // capabilities
      ['reserved2', 'bit'], // insist
    ],
  },
  'connection.open-ok': { classId: 10, methodId: 41, fields: [['reserved1', 'shortstr']] }, // known-hosts
  'connection.close': { classId: 10, methodId: 50, fields: closeFields },
  'connection.close-ok': { classId: 10, methodId: 51, fields: [] },
  'connection.blocked': { classId: 10, methodId: 60, fields: [['reason', 'shortstr']] },
  'connection.unblocked': { classId: 10, methodId: 61, fields: [] },
  'connection.update-secret': {
    classId: 10,
    methodId: 70,
    fields: [
      ['newSecret', 'longstr'],
      ['reason', 'shortstr'],
    ],
  },
  'connection.update-secret-ok': { classId: 10, methodId: 71, fields: [] },

  'channel.open': { classId: 20, methodId: 10, fields: [['reserved1', 'shortstr']] }, // out-of-band
  'channel.open-ok': { classId: 20, methodId: 11, fields: [['reserved1', 'longstr']] }, // channel-id
  'channel.flow': { classId: 20, methodId: 20, fields: [['active', 'bit']] },
  'channel.flow-ok': { classId: 20, methodId: 21, fields: [['active', 'bit']] },
  'channel.close': { classId: 20, methodId: 40, fields: closeFields },
  'channel.close-ok': { classId: 20, methodId: 41, fields: [] },

  // Gone from 0-9-1 but still in RabbitMQ's framing; old clients send access.request.
  'access.request': {
    classId: 30,
    methodId: 10,
    fields: [
      ['realm', 'shortstr', '/data'],
      ['exclusive', 'bit'],
      ['passive', 'bit', true],
      ['active', 'bit', true],
      ['write', 'bit', true],
      ['read', 'bit', true],
    ],
  },
  'access.request-ok': { classId: 30, methodId: 11, fields: [['reserved1', 'short', 1]] }, // ticket

  'exchange.declare': {
    classId: 40,
    methodId: 10,
    fields: [
      ['reserved1', 'short'],
      ['exchange', 'shortstr'],
      ['type', 'shortstr', 'direct'],
      ['passive', 'bit'],
      ['durable', 'bit'],
      ['autoDelete', 'bit'],
      ['internal', 'bit'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  'exchange.declare-ok': { classId: 40, methodId: 11, fields: [] },
  'exchange.delete': {
    classId: 40,
    methodId: 20,
    fields: [
      ['reserved1', 'short'],
      ['exchange', 'shortstr'],
      ['ifUnused', 'bit'],
      ['noWait', 'bit'],
    ],
  },
  'exchange.delete-ok': { classId: 40, methodId: 21, fields: [] },
  'exchange.bind': { classId: 40, methodId: 30, fields: exchangeBindFields },
  'exchange.bind-ok': { classId: 40, methodId: 31, fields: [] },
  'exchange.unbind': { classId: 40, methodId: 40, fields: exchangeBindFields },
  'exchange.unbind-ok': { classId: 40, methodId: 51, fields: [] },

  'queue.declare': {
    classId: 50,
    methodId: 10,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['passive', 'bit'],
      ['durable', 'bit'],
      ['exclusive', 'bit'],
      ['autoDelete', 'bit'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  'queue.declare-ok': {
    classId: 50,
    methodId: 11,
    fields: [
      ['queue', 'shortstr'],
      ['messageCount', 'long'],
      ['consumerCount', 'long'],
    ],
  },
  'queue.bind': {
    classId: 50,
    methodId: 20,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['exchange', 'shortstr'],
      ['routingKey', 'shortstr'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  'queue.bind-ok': { classId: 50, methodId: 21, fields: [] },
  'queue.purge': {
    classId: 50,
    methodId: 30,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['noWait', 'bit'],
    ],
  },
  'queue.purge-ok': { classId: 50, methodId: 31, fields: [['messageCount', 'long']] },
  'queue.delete': {
    classId: 50,
    methodId: 40,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['ifUnused', 'bit'],
      ['ifEmpty', 'bit'],
      ['noWait', 'bit'],
    ],
  },
  'queue.delete-ok': { classId: 50, methodId: 41, fields: [['messageCount', 'long']] },
  'queue.unbind': {
    classId: 50,
    methodId: 50,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['exchange', 'shortstr'],
      ['routingKey', 'shortstr'],
      ['arguments', 'table'],
    ],
  },
  'queue.unbind-ok': { classId: 50, methodId: 51, fields: [] },

  'basic.qos': {
    classId: 60,
    methodId: 10,
    fields: [
      ['prefetchSize', 'long'],
      ['prefetchCount', 'short'],
      ['global', 'bit'],
    ],
  },
  'basic.qos-ok': { classId: 60, methodId: 11, fields: [] },
  'basic.consume': {
    classId: 60,
    methodId: 20,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['consumerTag', 'shortstr'],
      ['noLocal', 'bit'],
      ['noAck', 'bit'],
      ['exclusive', 'bit'],
      ['noWait', 'bit'],
      ['arguments', 'table'],
    ],
  },
  'basic.consume-ok': { classId: 60, methodId: 21, fields: [['consumerTag', 'shortstr']] },
  'basic.cancel': {
    classId: 60,
    methodId: 30,
    fields: [
      ['consumerTag', 'shortstr'],
      ['noWait', 'bit'],
    ],
  },
  'basic.cancel-ok': { classId: 60, methodId: 31, fields: [['consumerTag', 'shortstr']] },
  'basic.publish': {
    classId: 60,
    methodId: 40,
    content: true,
    fields: [
      ['reserved1', 'short'],
      ['exchange', 'shortstr'],
      ['routingKey', 'shortstr'],
      ['mandatory', 'bit'],
      ['immediate', 'bit'],
    ],
  },
  'basic.return': {
    classId: 60,
    methodId: 50,
    content: true,
    fields: [
      ['replyCode', 'short'],
      ['replyText', 'shortstr'],
      ['exchange', 'shortstr'],
      ['routingKey', 'shortstr'],
    ],
  },
  'basic.deliver': {
    classId: 60,
    methodId: 60,
    content: true,
    fields: [
      ['consumerTag', 'shortstr'],
      ['deliveryTag', 'longlong'],
      ['redelivered', 'bit'],
      ['exchange', 'shortstr'],
      ['routingKey', 'shortstr'],
    ],
  },
  'basic.get': {
    classId: 60,
    methodId: 70,
    fields: [
      ['reserved1', 'short'],
      ['queue', 'shortstr'],
      ['noAck', 'bit'],
    ],
  },
  'basic.get-ok': {
    classId: 60,
    methodId: 71,
    content: true,
    fields: [
      ['deliveryTag', 'longlong'],
      ['redelivered', 'bit'],
      ['exchange', 'shortstr'],
      ['routingKey', 'shortstr'],
      ['messageCount', 'long'],
    ],
  },
  'basic.get-empty': { classId: 60, methodId: 72, fields: [['reserved1', 'shortstr']] }, // cluster-id
  'basic.ack': {
    classId: 60,
    methodId: 80,
    fields: [
      ['deliveryTag', 'longlong'],
      ['multiple', 'bit'],
    ],
  },
  'basic.reject': {
    classId: 60,
    methodId: 90,
    fields: [
      ['deliveryTag', 'longlong'],
      ['requeue', 'bit', true],
    ],
  },
  'basic.recover-async': { classId: 60, methodId: 100, fields: [['requeue', 'bit']] },
  'basic.recover': { classId: 60, methodId: 110, fields: [['requeue', 'bit']] },
  'basic.recover-ok': { classId: 60, methodId: 111, fields: [] },
  'basic.nack': {
    classId: 60,
    methodId: 120,
    fields: [
      ['deliveryTag', 'longlong'],
      ['multiple', 'bit'],
      ['requeue', 'bit', true],
    ],
  },

  'confirm.select': { classId: 85, methodId: 10, fields: [['noWait', 'bit']] },
  'confirm.select-ok': { classId: 85, methodId: 11, fields: [] },

  'tx.select': { classId: 90, methodId: 10, fields: [] },
  'tx.select-ok': { classId: 90, methodId: 11, fields: [] },
  'tx.commit': { classId: 90, methodId: 20, fields: [] },
  'tx.commit-ok': { classId: 90, methodId: 21, fields: [] },
  'tx.rollback': { classId: 90, methodId: 30, fields: [] },
  'tx.rollback-ok': { classId: 90, methodId: 31, fields: [] },
} as const satisfies Record<string, MethodSpec>;

/** Class id -> class name, for the classes above. */
export const CLASS_NAMES: Readonly<Record<number, string>> = {
  10: 'connection',
  20: 'channel',
  30: 'access',
  40: 'exchange',
  50: 'queue',
  60: 'basic',
  85: 'confirm',
  90: 'tx',
};
