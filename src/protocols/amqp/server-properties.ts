import { hostname } from 'node:os';
import type { FieldTable } from '../../core/fields.js';

/** this broker as a RabbitMQ node: `cluster_name`, and the node named in node-wide limit errors */
export const NODE_NAME = `localmq@${hostname()}`;

/**
 * connection.start's server-properties, shaped like RabbitMQ's (fixtures/rabbitmq-3.10-
 * connection-start.bin): clients switch features on these capabilities.
 */
export function serverProperties(product: { name: string; version: string; platform: string }, engineVersion: string): FieldTable {
  return {
    capabilities: {
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      consumer_priorities: true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    },
    cluster_name: NODE_NAME,
    copyright: 'LocalMQ, MIT licensed. AMQP 0-9-1 compatible with RabbitMQ.',
    information: `${product.name} ${product.version}: a local broker for development, tests and CI`,
    platform: product.platform,
    // Clients and tools gate features on RabbitMQ's product and version: report the
    // RabbitMQ release of the engine version in force, whose behaviour LocalMQ follows.
    product: 'RabbitMQ',
    version: engineVersion,
    localmq_version: product.version,
  };
}

export const SERVER_MECHANISMS = 'PLAIN AMQPLAIN';
