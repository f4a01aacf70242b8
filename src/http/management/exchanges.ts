import type { LocalMQ } from '../../server/local-mq.js';
import { vhostsInScope } from './scope.js';
import { exchangeJson } from './shapes.js';
import { sendJson, type Route } from './http-util.js';

/** GET /api/exchanges[/{vhost}]: predeclared `amq.*` and the default exchange (`""`) included, as RabbitMQ lists them */
export function exchangeRoutes(broker: LocalMQ): Route[] {
  const list: Route['handle'] = (_req, res, _body, { principal, params }) => {
    const vhosts = vhostsInScope(broker, principal, params, res);
    if (vhosts) sendJson(res, 200, vhosts.flatMap((v) => [...v.exchanges.values()].map(exchangeJson)));
  };
  return [
    { method: 'GET', path: '/api/exchanges', tag: 'management', handle: list },
    { method: 'GET', path: '/api/exchanges/:vhost', tag: 'management', handle: list },
  ];
}
