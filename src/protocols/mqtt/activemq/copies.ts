import type { CopyPlan } from '../copies.js';
import { filterMatches } from '../topics.js';

/**
 * ActiveMQ 5.17: every subscription is its own consumer, so a client whose filters
 * overlap gets one copy per matching filter, each at that filter's QoS (measured:
 * `t/#` QoS 1, `t/b` QoS 0 and `t/+` QoS 1 receive three copies of a QoS 1 PUBLISH to
 * `t/b`, at QoS 1, 0 and 1).
 * aedes caps every QoS write at the QoS of an exact-topic subscription of the client, so
 * with one present every copy goes at most at that QoS (ActiveMQ would send the others
 * at their own); capping here keeps the PUBACK accounting true to what goes out.
 */
export const activeMqCopies: CopyPlan = (filters, topic) => {
  const exact = filters.get(topic);
  const out: number[] = [];
  for (const [filter, qos] of filters) {
    if (filterMatches(filter, topic)) out.push(exact !== undefined && exact < qos ? exact : qos);
  }
  return out;
};
