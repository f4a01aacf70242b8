import type { LocalMQ } from '../../server/local-mq.js';
import { requestedVhost, vhostsInScope } from './scope.js';
import { queueJson } from './shapes.js';
import { sendError, sendJson, sendNoContent, sendNotFound, type RequestContext, type Route } from './http-util.js';

/** GET /api/queues[/{vhost}[/{name}]] and DELETE /api/queues/{vhost}/{name}/contents (purge) */
export function queueRoutes(broker: LocalMQ): Route[] {
  const list: Route['handle'] = (_req, res, _body, { principal, params }) => {
    const vhosts = vhostsInScope(broker, principal, params, res);
    if (vhosts) sendJson(res, 200, vhosts.flatMap((v) => [...v.queues.values()].map(queueJson)));
  };
  /** the queue the path names, or undefined after a 404 / 401 */
  const find = (ctx: RequestContext, res: Parameters<Route['handle']>[1]) => {
    const vhost = requestedVhost(broker, ctx.principal, ctx.params['vhost']!, res);
    if (!vhost) return undefined;
    const queue = vhost.getQueue(ctx.params['name']!);
    if (!queue) sendNotFound(res);
    return queue;
  };
  return [
    { method: 'GET', path: '/api/queues', tag: 'management', handle: list },
    { method: 'GET', path: '/api/queues/:vhost', tag: 'management', handle: list },
    {
      method: 'GET',
      path: '/api/queues/:vhost/:name',
      tag: 'management',
      handle: (_req, res, _body, ctx) => {
        const queue = find(ctx, res);
        if (queue) sendJson(res, 200, queueJson(queue));
      },
    },
    {
      method: 'DELETE',
      path: '/api/queues/:vhost/:name/contents',
      tag: 'management',
      handle: (_req, res, _body, ctx) => {
        const queue = find(ctx, res);
        if (!queue) return;
        // RabbitMQ purges over a channel opened as the user, so queue.purge's read permission applies
        const { principal } = ctx;
        if (!principal.control && !broker.users.check(principal.name, queue.vhost, 'read', queue.name)) {
          return sendError(res, 401, 'not_authorized', `access to queue '${queue.name}' in vhost '${queue.vhost}' refused for user '${principal.name}'`);
        }
        queue.purge();
        sendNoContent(res);
      },
    },
  ];
}
