import type { Message } from '../../core/message.js';
import { topicToRoutingKey } from './topics.js';

export const TOPIC_EXCHANGE = 'amq.topic';
/** RabbitMQ's header for the QoS an MQTT message was published with */
export const PUBLISH_QOS_HEADER = 'x-mqtt-publish-qos';
export const DUP_HEADER = 'x-mqtt-dup';

/**
 * An MQTT PUBLISH as a core message on amq.topic, as RabbitMQ's plugin makes it: payload
 * untouched, persistent when QoS > 0, the QoS and DUP flag in headers.
 */
export function publishToMessage(topic: string, payload: Buffer | string | undefined, qos: number, dup: boolean): Message {
  return {
    exchange: TOPIC_EXCHANGE,
    routingKey: topicToRoutingKey(topic),
    properties: { deliveryMode: qos > 0 ? 2 : 1, headers: { [PUBLISH_QOS_HEADER]: qos, [DUP_HEADER]: dup } },
    body: payload === undefined ? Buffer.alloc(0) : typeof payload === 'string' ? Buffer.from(payload) : payload,
    publishedAt: Date.now(),
  };
}

/**
 * The QoS a message was published with: MQTT's from its header; a message from AMQP or
 * STOMP has none and goes out at the subscription's QoS (as RabbitMQ's plugin does).
 */
export function publishedQos(m: Message): number {
  const q = m.properties.headers?.[PUBLISH_QOS_HEADER];
  return typeof q === 'number' && q >= 0 && q <= 2 ? q : 2;
}
