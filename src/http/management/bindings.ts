import type { LocalMQ } from '../../server/local-mq.js';
import { vhostsInScope } from './scope.js';
import { vhostBindingsJson } from './shapes.js';
import { sendJson, type Route } from './http-util.js';

/** GET /api/bindings[/{vhost}] */
export function bindingRoutes(broker: LocalMQ): Route[] {
  const list: Route['handle'] = (_req, res, _body, { principal, params }) => {
    const vhosts = vhostsInScope(broker, principal, params, res);
    if (vhosts) sendJson(res, 200, vhosts.flatMap(vhostBindingsJson));
  };
  return [
    { method: 'GET', path: '/api/bindings', tag: 'management', handle: list },
    { method: 'GET', path: '/api/bindings/:vhost', tag: 'management', handle: list },
  ];
}
