import type { LocalMQ } from '../../server/local-mq.js';
import { seesEverything } from './auth.js';
import { connectionJson } from './shapes.js';
import { sendJson, type Route } from './http-util.js';

/** GET /api/connections: every protocol's clients; a plain management user sees only its own, as in RabbitMQ */
export function connectionRoutes(broker: LocalMQ): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/connections',
      tag: 'management',
      handle: (_req, res, _body, { principal }) => {
        const all = seesEverything(principal);
        const visible = broker.connections().filter((c) => all || c.user === principal.name);
        sendJson(res, 200, visible.map(connectionJson));
      },
    },
  ];
}
