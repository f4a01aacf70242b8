import { TOPIC_EXCHANGE, topicBindingKey } from './activemq-names.js';
import type { VHost } from './vhost.js';

/**
 * ActiveMQ's durable topic subscriptions, one per (client id, subscription name) whichever
 * protocol made or reads it: a JMS durable subscriber and a STOMP subscription with
 * `activemq.subscriptionName` on a connection with the same client id are the same
 * subscription on ActiveMQ 5.17 (measured: what one leaves, the other gets; either removes
 * it). Its messages wait in a durable queue bound to the topic(s) while nobody reads it.
 */

/** the queue a durable topic subscription keeps its messages in */
export function durableSubscriptionQueue(clientId: string, subscriptionName: string): string {
  return `activemq-subscription-durable:${clientId}:${subscriptionName}`;
}

export interface DurableSubscriptionSpec {
  clientId: string;
  name: string;
  /** the topics it reads (a composite destination names several; wildcards allowed) */
  topics: string[];
  /** the JMS selector's text ('' for none): the queue filters on entry */
  selector: string;
  /** the ActiveMQ queue arguments it is declared with */
  arguments: Record<string, boolean | number>;
}

/**
 * The queue of the subscription, made when missing; undefined while a consumer reads it
 * (one at a time: ActiveMQ 5.17 refuses a second JMS subscriber or STOMP subscription of it,
 * even on the same connection). ActiveMQ replaces a durable subscription re-made on other
 * topics or with another selector: what it held is gone.
 */
export function openDurableSubscription(vhost: VHost, spec: DurableSubscriptionSpec): string | undefined {
  const name = durableSubscriptionQueue(spec.clientId, spec.name);
  const topics = spec.topics.join(',');
  if (durableSubscriptionInUse(vhost, spec.clientId, spec.name)) return undefined;
  const existing = vhost.getQueue(name);
  if (existing && (existing.options.arguments['x-activemq-topic'] !== topics || (existing.selector?.text ?? '') !== spec.selector)) {
    vhost.deleteQueue(name, false, false, null);
  }
  if (!vhost.getQueue(name)) {
    const args = { ...spec.arguments, 'x-activemq-topic': topics, ...(spec.selector ? { 'x-selector': spec.selector } : {}) };
    vhost.declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: args }, null);
    for (const t of spec.topics) vhost.bindQueue(name, TOPIC_EXCHANGE, topicBindingKey(t), {}, null);
  }
  return name;
}

/** does a consumer read the subscription now? (ActiveMQ allows one at a time) */
export function durableSubscriptionInUse(vhost: VHost, clientId: string, subscriptionName: string): boolean {
  return (vhost.getQueue(durableSubscriptionQueue(clientId, subscriptionName))?.consumerCount ?? 0) > 0;
}

/** what removing a durable subscription came to (TopicRegion.removeSubscription's outcomes) */
export type DurableRemoval = 'removed' | 'missing' | 'in-use';

/** remove the subscription and what it holds, unless it is missing or a consumer reads it */
export function removeDurableSubscription(vhost: VHost, clientId: string, subscriptionName: string): DurableRemoval {
  const q = vhost.getQueue(durableSubscriptionQueue(clientId, subscriptionName));
  if (!q) return 'missing';
  if (q.consumerCount > 0) return 'in-use';
  vhost.deleteQueue(q.name, false, false, null);
  return 'removed';
}

/** ActiveMQ 5.17's texts (TopicRegion), as JMS and STOMP clients read them */
export const durableSubscriptionTexts = {
  /** RemoveSubscriptionInfo for a subscription that does not exist (javax.jms.InvalidDestinationException) */
  missing: (clientId: string, name: string) => `No durable subscription exists for clientID: ${clientId} and subscriptionName: ${name}`,
  /** RemoveSubscriptionInfo while a consumer reads it (javax.jms.JMSException) */
  removeInUse: 'Durable consumer is in use',
  /** a second consumer of the subscription (javax.jms.JMSException) */
  consumeInUse: (clientId: string, name: string) => `Durable consumer is in use for client: ${clientId} and subscriptionName: ${name}`,
};
