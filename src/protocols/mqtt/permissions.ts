import type { Access } from '../../core/access.js';
import { BrokerError } from '../../core/errors.js';
import type { VHost } from '../../core/vhost.js';
import { TOPIC_EXCHANGE } from './messages.js';
import { filterToBindingKey, topicToRoutingKey } from './topics.js';

const EXCHANGE = { kind: 'exchange' as const, name: TOPIC_EXCHANGE };

/** why the user may not publish to `topic` (write on amq.topic, and its topic permissions), or undefined */
export function publishRefusal(access: Access, vhost: VHost, topic: string): string | undefined {
  if (!access.allowed(vhost.name, EXCHANGE, 'write')) return `write access to exchange '${TOPIC_EXCHANGE}' in vhost '${vhost.name}' refused for user '${access.user}'`;
  return topicRefusal(access, vhost, topicToRoutingKey(topic), 'write');
}

/** why the user may not subscribe to `filter` (read on amq.topic, and its topic permissions), or undefined */
export function subscribeRefusal(access: Access, vhost: VHost, filter: string): string | undefined {
  if (!access.allowed(vhost.name, EXCHANGE, 'read')) return `read access to exchange '${TOPIC_EXCHANGE}' in vhost '${vhost.name}' refused for user '${access.user}'`;
  return topicRefusal(access, vhost, filterToBindingKey(filter), 'read');
}

function topicRefusal(access: Access, vhost: VHost, key: string, action: 'read' | 'write'): string | undefined {
  try {
    access.topic(vhost, TOPIC_EXCHANGE, key, action);
  } catch (err) {
    if (err instanceof BrokerError) return err.message;
    throw err;
  }
  return undefined;
}
