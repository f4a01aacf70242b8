import type { LocalMQ } from '../../server/local-mq.js';
import { PRODUCT } from '../../server/product.js';
import { sendJson, type Route } from './http-util.js';
import { NODE_NAME } from './shapes.js';

/** GET /api/overview: the counts `localmq status` shows, in RabbitMQ's field names. */
export function overviewRoutes(broker: LocalMQ): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/overview',
      tag: 'management',
      handle: (_req, res) => {
        let exchanges = 0;
        let consumers = 0;
        let ready = 0;
        let unacked = 0;
        for (const v of broker.core.vhosts.values()) {
          exchanges += v.exchanges.size;
          for (const q of v.queues.values()) {
            consumers += q.consumerCount;
            ready += q.messageCount;
            unacked += q.unackedCount;
          }
        }
        sendJson(res, 200, {
          management_version: PRODUCT.version,
          product_name: PRODUCT.name,
          product_version: PRODUCT.version,
          node: NODE_NAME,
          object_totals: {
            connections: broker.connections().length,
            exchanges,
            queues: broker.core.queueCount(),
            consumers,
          },
          queue_totals: { messages: ready + unacked, messages_ready: ready, messages_unacknowledged: unacked },
          listeners: Object.entries(broker.ports).map(([protocol, port]) => ({ protocol, port })),
        });
      },
    },
  ];
}
