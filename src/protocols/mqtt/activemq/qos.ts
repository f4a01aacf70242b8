import { isPersistent, type Message } from '../../../core/message.js';
import { PUBLISH_QOS_HEADER } from '../messages.js';

/**
 * The QoS ActiveMQ 5.17 gives a message on its way to an MQTT subscriber (before the subscription's QoS caps
 * it): an MQTT publisher's own, else one from its persistence, inverted as MQTTProtocolConverter has it: a
 * persistent message at QoS 0, a non-persistent one at QoS 1. ActiveMQ 5.17.2 asked (/tmp/s18-fidelity/
 * mqtt-qos.mjs): STOMP persistent:true -> QoS 0 at a QoS 1 and a QoS 2 subscription, no persistent header
 * -> QoS 1 at both; MQTT QoS 0/1/2 -> 0/1/1 at QoS 1, 0/1/2 at QoS 2.
 */
export function activeMqPublishedQos(m: Message): number {
  const q = m.properties.headers?.[PUBLISH_QOS_HEADER];
  if (typeof q === 'number' && q >= 0 && q <= 2) return q;
  return isPersistent(m) ? 0 : 1;
}
