import type { LocalMQ } from '../../server/local-mq.js';
import { visibleVhosts } from './scope.js';
import { vhostJson } from './shapes.js';
import { sendJson, type Route } from './http-util.js';

/** GET /api/vhosts: the vhosts the user may see, with their message counts */
export function vhostRoutes(broker: LocalMQ): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/vhosts',
      tag: 'management',
      handle: (_req, res, _body, { principal }) => {
        sendJson(res, 200, visibleVhosts(broker, principal).map((v) => vhostJson(v, broker.retained.vhostMeta.get(v.name))));
      },
    },
  ];
}
