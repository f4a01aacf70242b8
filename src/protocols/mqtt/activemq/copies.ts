import type { CopyPlan } from '../copies.js';
import { filterMatches } from '../topics.js';

/**
 * ActiveMQ 5.17: every subscription is its own consumer, so a client whose filters
 * overlap gets one copy per matching filter, each at that filter's QoS (measured:
 * `t/#` QoS 1, `t/b` QoS 0 and `t/+` QoS 1 receive three copies of a QoS 1 PUBLISH to
 * `t/b`, at QoS 1, 0 and 1).
 */
export const activeMqCopies: CopyPlan = (filters, topic) => {
  const out: number[] = [];
  for (const [filter, qos] of filters) if (filterMatches(filter, topic)) out.push(qos);
  return out;
};
