import type { ManagementBackend } from '../backend.js';
import { sendList } from './list.js';
import { visibleConnections, vhostsInScope } from './scope.js';
import { channelsJson, connectionJson, connectionName, consumerJson } from './shapes.js';
import { sendJson, sendNoContent, sendNotFound, type Principal, type Route } from './http-util.js';

/** RabbitMQ's default X-Reason when the API closes a connection */
const DEFAULT_CLOSE_REASON = 'Closed via management plugin';

/**
 * /api/connections, /api/channels and /api/consumers: every protocol's clients. A plain
 * management user sees only its own connections and channels, as in RabbitMQ.
 */
export function connectionRoutes(b: ManagementBackend): Route[] {
  const visible = (principal: Principal) => visibleConnections(b, principal);
  const byName = (principal: Principal, name: string) => visible(principal).find((c) => connectionName(c) === name);
  const channels = channelsJson;
  const consumers: Route['handle'] = (_req, res, _body, { principal, params, query }) => {
    const vhosts = vhostsInScope(b, principal, params, res);
    if (vhosts) sendList(res, query, vhosts.flatMap((v) => [...v.queues.values()].flatMap((q) => q.consumers.map((c) => consumerJson(b, c)))), []);
  };
  return [
    {
      method: 'GET',
      path: '/api/connections',
      tag: 'management',
      handle: (_req, res, _body, { principal, query }) => sendList(res, query, visible(principal).map((c) => connectionJson(b, c)), ['name']),
    },
    {
      method: 'GET',
      path: '/api/connections/:name',
      tag: 'management',
      handle: (_req, res, _body, { principal, params }) => {
        const c = byName(principal, params['name']!);
        if (!c) return sendNotFound(res);
        sendJson(res, 200, connectionJson(b, c));
      },
    },
    {
      method: 'DELETE',
      path: '/api/connections/:name',
      tag: 'management',
      handle: (req, res, _body, { principal, params }) => {
        const c = byName(principal, params['name']!);
        if (!c) return sendNotFound(res);
        const header = req.headers['x-reason'];
        const reason = (Array.isArray(header) ? header[0] : header) || DEFAULT_CLOSE_REASON;
        b.logger.info('closing connection via the management API', { connection: connectionName(c), user: principal.name, reason });
        // the client gets CONNECTION_FORCED (320) with the reason; the API does not wait for its close-ok
        void c.shutdown(reason).catch(() => undefined);
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/connections/:name/channels',
      tag: 'management',
      handle: (_req, res, _body, { principal, params, query }) => {
        const c = byName(principal, params['name']!);
        if (!c) return sendNotFound(res);
        sendList(res, query, channels([c]), ['name']);
      },
    },
    {
      method: 'GET',
      path: '/api/channels',
      tag: 'management',
      handle: (_req, res, _body, { principal, query }) => sendList(res, query, channels(visible(principal)), ['name']),
    },
    {
      method: 'GET',
      path: '/api/channels/:name',
      tag: 'management',
      handle: (_req, res, _body, { principal, params }) => {
        const ch = channels(visible(principal)).find((x) => x['name'] === params['name']);
        if (!ch) return sendNotFound(res);
        sendJson(res, 200, ch);
      },
    },
    { method: 'GET', path: '/api/consumers', tag: 'management', handle: consumers },
    { method: 'GET', path: '/api/consumers/:vhost', tag: 'management', handle: consumers },
  ];
}

