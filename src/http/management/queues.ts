import type http from 'node:http';
import type { Queue } from '../../core/queues/queue.js';
import type { VHost } from '../../core/vhost.js';
import { fieldTableFromJson } from '../../server/definitions/json-values.js';
import type { ManagementBackend } from '../backend.js';
import { sendList, pickColumns } from './list.js';
import { ACK_MODES, getMessages, type AckMode } from './queue-get.js';
import { permitted, requestedVhost, vhostsInScope } from './scope.js';
import { bindingJson, propertiesJson, queueDetailJson, queueJson } from './shapes.js';
import {
  argumentsField,
  boolField,
  missingKeys,
  sendBadRequest,
  sendBrokerError,
  sendCreated,
  sendError,
  sendJson,
  sendNoContent,
  sendNotAuthorised,
  sendNotFound,
  type RequestContext,
  type Route,
} from './http-util.js';


/**
 * /api/queues: list, show, declare (PUT), delete (`if-empty`, `if-unused`), bindings,
 * purge (DELETE …/contents), get (POST …/get) and actions, as rabbit_mgmt_wm_queue* do.
 */
export function queueRoutes(b: ManagementBackend): Route[] {
  const list: Route['handle'] = (_req, res, _body, { principal, params, query }) => {
    const vhosts = vhostsInScope(b, principal, params, res);
    if (vhosts) sendList(res, query, vhosts.flatMap((v) => [...v.queues.values()].map((q) => queueJson(b, q))));
  };
  /** the queue the path names, or undefined after a 404 / 401 */
  const find = (ctx: RequestContext, res: http.ServerResponse, notFoundReason?: string): { vhost: VHost; queue: Queue } | undefined => {
    const vhost = requestedVhost(b, ctx.principal, ctx.params['vhost']!, res);
    if (!vhost) return undefined;
    const queue = vhost.getQueue(ctx.params['name']!);
    if (!queue) {
      if (notFoundReason) sendError(res, 404, 'not_found', notFoundReason);
      else sendNotFound(res);
      return undefined;
    }
    return { vhost, queue };
  };
  const refuse = (res: http.ServerResponse) => sendNotAuthorised(res, 'Access refused.');

  return [
    { method: 'GET', path: '/api/queues', tag: 'management', handle: list },
    { method: 'GET', path: '/api/queues/:vhost', tag: 'management', handle: list },
    {
      method: 'GET',
      path: '/api/queues/:vhost/:name',
      tag: 'management',
      handle: (_req, res, _body, ctx) => {
        const found = find(ctx, res);
        if (!found) return;
        const json = queueDetailJson(b, found.queue);
        const columns = ctx.query.get('columns');
        sendJson(res, 200, columns ? pickColumns(json, columns.split(',')) : json);
      },
    },
    {
      method: 'PUT',
      path: '/api/queues/:vhost/:name',
      tag: 'management',
      handle: (_req, res, body, ctx) => {
        const vhost = requestedVhost(b, ctx.principal, ctx.params['vhost']!, res);
        if (!vhost) return;
        const name = ctx.params['name']!;
        if (!permitted(b, ctx.principal, vhost.name, 'configure', name)) return refuse(res);
        const args = argumentsField(body, res);
        if (!args) return;
        // RabbitMQ 3.13+: a `type` field, or the vhost's default queue type, sets x-queue-type
        const type = typeof body['type'] === 'string' ? body['type'] : b.retained.vhostMeta.get(vhost.name)?.defaultQueueType;
        if (type && type !== 'classic' && args['x-queue-type'] === undefined) args['x-queue-type'] = type;
        const existed = vhost.getQueue(name) !== undefined;
        try {
          vhost.declareQueue(
            name,
            { passive: false, durable: boolField(body, 'durable', true), autoDelete: boolField(body, 'auto_delete', false), exclusive: false, arguments: args, defaultType: true },
            null,
          );
        } catch (err) {
          return sendBrokerError(res, err);
        }
        sendCreated(res, !existed);
      },
    },
    {
      method: 'DELETE',
      path: '/api/queues/:vhost/:name',
      tag: 'management',
      handle: async (_req, res, _body, ctx) => {
        const found = find(ctx, res);
        if (!found) return;
        const { vhost, queue } = found;
        if (!permitted(b, ctx.principal, vhost.name, 'configure', queue.name)) return refuse(res);
        const ifEmpty = ctx.query.get('if-empty') === 'true';
        const ifUnused = ctx.query.get('if-unused') === 'true';
        // in its turn: after the answers that wait for messages on their way back to it (a purge,
        // a get asked before it), as RabbitMQ's queue process serves its mailbox in order, and
        // after those messages (if-empty sees them)
        await new Promise<void>((resolve) => queue.whenReturned(resolve));
        try {
          // an exclusive queue belongs to its connection, but the API may delete it (RabbitMQ does);
          // deleted meanwhile: gone already, 204 as for a delete that found it
          vhost.deleteQueueOf(queue, ifUnused, ifEmpty, queue.options.owner);
        } catch (err) {
          return sendBrokerError(res, err);
        }
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/queues/:vhost/:name/bindings',
      tag: 'management',
      handle: (_req, res, _body, ctx) => {
        const found = find(ctx, res);
        if (!found) return;
        const { vhost, queue } = found;
        const out = [bindingJson(vhost.name, '', queue, queue.name, {})];
        for (const x of vhost.exchanges.values()) {
          for (const bd of x.bindings.values()) if (bd.destination === queue) out.push(bindingJson(vhost.name, x.name, queue, bd.routingKey, bd.arguments));
        }
        sendList(res, ctx.query, out, []);
      },
    },
    {
      method: 'DELETE',
      path: '/api/queues/:vhost/:name/contents',
      tag: 'management',
      handle: async (_req, res, _body, ctx) => {
        const found = find(ctx, res);
        if (!found) return;
        const { queue } = found;
        // RabbitMQ purges over a channel opened as the user, so queue.purge's read permission applies
        if (!permitted(b, ctx.principal, queue.vhost, 'read', queue.name)) {
          return sendNotAuthorised(res, `access to queue '${queue.name}' in vhost '${queue.vhost}' refused for user '${ctx.principal.name}'`);
        }
        // after the messages on their way back to it (a closed channel's): they are purged too, as in RabbitMQ
        await new Promise<void>((resolve) => queue.whenReturned(resolve));
        // deleted while it waited: RabbitMQ's purge of a queue gone is 404 Object Not Found
        if (queue.deleted) return sendNotFound(res);
        queue.purge();
        sendNoContent(res);
      },
    },
    {
      method: 'POST',
      path: '/api/queues/:vhost/:name/get',
      tag: 'management',
      handle: async (_req, res, body, ctx) => {
        const found = find(ctx, res, 'queue_not_found');
        if (!found) return;
        const { vhost, queue } = found;
        if (missingKeys(body, ['ackmode', 'count', 'encoding'], res)) return;
        const ackmode = String(body['ackmode']);
        if (!(ACK_MODES as readonly string[]).includes(ackmode)) {
          return sendBadRequest(res, `Invalid ackmode value: ${ackmode}. Valid values are: ${ACK_MODES.join(', ')}`);
        }
        const count = Number(body['count']);
        if (!Number.isInteger(count) || count < 0) return sendBadRequest(res, `${String(body['count'])} is not an integer`);
        const encoding = body['encoding'];
        if (encoding !== 'auto' && encoding !== 'base64') return sendBadRequest(res, 'Unsupported encoding. Please use auto or base64.');
        const truncate = body['truncate'] === undefined || body['truncate'] === null || body['truncate'] === '' ? undefined : Number(body['truncate']);
        if (truncate !== undefined && (!Number.isInteger(truncate) || truncate < 0)) return sendBadRequest(res, `${String(body['truncate'])} is not an integer`);
        if (!permitted(b, ctx.principal, vhost.name, 'read', queue.name)) {
          return sendNotAuthorised(res, `access to queue '${queue.name}' in vhost '${vhost.name}' refused for user '${ctx.principal.name}'`);
        }
        await getMessages(b, vhost, queue, { ackmode: ackmode as AckMode, count, encoding, truncate }, res);
      },
    },
    {
      method: 'POST',
      path: '/api/queues/:vhost/:name/actions',
      tag: 'management',
      handle: (_req, res, body, ctx) => {
        const found = find(ctx, res, 'queue_not_found');
        if (!found) return;
        const action = body['action'];
        // classic mirroring is gone in 4.x; a single node has nothing to synchronise
        if (action !== 'sync' && action !== 'cancel_sync') return sendBadRequest(res, `Unknown action: ${String(action)}`);
        sendNoContent(res);
      },
    },
  ];
}
