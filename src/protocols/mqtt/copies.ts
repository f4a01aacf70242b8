import { filterMatches } from './topics.js';

/**
 * How many copies of a message on `topic` a client gets, and at which granted QoS each:
 * the broker's answer to overlapping subscriptions. Empty when no filter matches (a `$`
 * topic reached through a wildcard binding).
 */
export type CopyPlan = (filters: ReadonlyMap<string, number>, topic: string) => readonly number[];

const NONE: readonly number[] = [];
const SINGLE: readonly (readonly number[])[] = [[0], [1], [2]];

/**
 * RabbitMQ: one copy (one queue, bound once per filter), at the highest QoS a matching
 * filter grants (MQTT 3.1.1 §3.3.5 allows either; MQTT 5 [MQTT-3.3.4-2] asks for this).
 */
export const rabbitCopies: CopyPlan = (filters, topic) => {
  const exact = filters.get(topic);
  // the usual case: one subscription, the topic itself
  if (exact === 2 || (exact !== undefined && filters.size === 1)) return SINGLE[exact]!;
  let best = exact ?? -1;
  for (const [filter, qos] of filters) if (qos > best && filterMatches(filter, topic)) best = qos;
  return best < 0 ? NONE : (SINGLE[best] ?? [best]);
};
