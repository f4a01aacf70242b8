import { queueKey, type RecoveredState } from '../store/store.js';
import type { Broker } from './broker.js';

/**
 * Rebuild the broker model from what the store recovered: vhosts, durable exchanges,
 * queues and bindings, then each durable queue's persistent messages in their order.
 * Users and permissions are the server's to restore.
 */
export function restoreBroker(broker: Broker, state: RecoveredState): void {
  for (const v of state.vhosts) broker.addVhost(v.name, false);
  const vhostOf = (name: string) => broker.vhost(name) ?? broker.addVhost(name, false);
  for (const e of state.exchanges) vhostOf(e.vhost).restoreExchange(e);
  for (const q of state.queues) vhostOf(q.vhost).restoreQueue(q);
  for (const b of state.bindings) vhostOf(b.vhost).restoreBinding(b);
  broker.seedMessageIds(state.maxMessageId);
  for (const q of state.queues) {
    const vhost = vhostOf(q.vhost);
    const queue = vhost.getQueue(q.name);
    const messages = state.messages.get(queueKey(q.vhost, q.name));
    if (!queue || !messages) continue;
    for (const m of messages) vhost.restoreMessage(queue, m.id, m.message, m.delivered);
  }
}
