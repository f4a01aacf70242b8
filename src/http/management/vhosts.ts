import type { ManagementBackend } from '../backend.js';
import { sendList } from './list.js';
import { requestedVhost, visibleConnections, visibleVhosts } from './scope.js';
import { channelsJson, connectionJson, permissionJson, vhostJson } from './shapes.js';
import { boolField, sendBadRequest, sendCreated, sendJson, sendNoContent, sendNotFound, type Route } from './http-util.js';

const QUEUE_TYPES = ['classic', 'quorum', 'stream'];

/** /api/vhosts: list, show, create or update (PUT), delete, and a vhost's permissions, connections and channels */
export function vhostRoutes(b: ManagementBackend): Route[] {
  const json = (name: string) => vhostJson(b, b.core.vhost(name)!, b.retained.vhostMeta.get(name));
  return [
    {
      method: 'GET',
      path: '/api/vhosts',
      tag: 'management',
      handle: (_req, res, _body, { principal, query }) => sendList(res, query, visibleVhosts(b, principal).map((v) => json(v.name)), ['name']),
    },
    {
      method: 'GET',
      path: '/api/vhosts/:vhost',
      tag: 'management',
      handle: (_req, res, _body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (v) sendJson(res, 200, json(v.name));
      },
    },
    {
      method: 'PUT',
      path: '/api/vhosts/:vhost',
      tag: 'administrator',
      handle: (_req, res, body, { params, principal }) => {
        const name = params['vhost']!;
        const existed = b.core.vhost(name) !== undefined;
        const meta = { ...(b.retained.vhostMeta.get(name) ?? { name }) };
        if (typeof body['description'] === 'string') meta.description = body['description'];
        if (body['tags'] !== undefined) {
          const tags = Array.isArray(body['tags']) ? body['tags'].map(String) : String(body['tags']).split(',');
          meta.tags = tags.map((t) => t.trim()).filter((t) => t !== '');
        }
        const dqt = body['default_queue_type'];
        if (dqt !== undefined) {
          if (typeof dqt !== 'string' || !QUEUE_TYPES.includes(dqt)) return sendBadRequest(res, `Unsupported queue type '${String(dqt)}'`);
          meta.defaultQueueType = dqt as never;
        }
        if (boolField(body, 'tracing', false)) return sendBadRequest(res, 'tracing is not supported by LocalMQ');
        b.core.addVhost(name);
        b.putVhostMeta(meta);
        b.core.store.putVhost(meta);
        // rabbit_vhost:put_vhost → maybe_grant_full_permissions: the user creating a vhost gets
        // configure/write/read ".*" there (RabbitMQ 3.10, measured: a later permissions PUT answers 204)
        if (!existed && !principal.control && b.users.getUser(principal.name)) {
          b.users.setPermission({ user: principal.name, vhost: name, configure: '.*', write: '.*', read: '.*' });
        }
        sendCreated(res, !existed);
      },
    },
    {
      method: 'DELETE',
      path: '/api/vhosts/:vhost',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const name = params['vhost']!;
        if (!b.core.vhost(name)) return sendNotFound(res);
        // RabbitMQ closes the vhost's connections when it goes
        for (const c of b.connections()) if (c.vhost === name) void c.shutdown(`vhost '${name}' is deleted`).catch(() => undefined);
        b.core.deleteVhost(name);
        b.users.forgetVhost(name);
        b.retained.vhostMeta.delete(name);
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/vhosts/:vhost/permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { params, query, principal }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (v) sendList(res, query, b.users.listPermissions({ vhost: v.name }).map(permissionJson), ['user']);
      },
    },
    {
      method: 'GET',
      path: '/api/vhosts/:vhost/topic-permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { params, query, principal }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (v) sendList(res, query, b.users.listTopicPermissions({ vhost: v.name }).map((t) => ({ ...t })), ['user']);
      },
    },
    {
      method: 'GET',
      path: '/api/vhosts/:vhost/connections',
      tag: 'management',
      handle: (_req, res, _body, { params, query, principal }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        sendList(res, query, visibleConnections(b, principal, v.name).map((c) => connectionJson(b, c)), ['name']);
      },
    },
    {
      method: 'GET',
      path: '/api/vhosts/:vhost/channels',
      tag: 'management',
      handle: (_req, res, _body, { params, query, principal }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        sendList(res, query, channelsJson(visibleConnections(b, principal, v.name)), ['name']);
      },
    },
    {
      method: 'POST',
      path: '/api/vhosts/:vhost/start/:node',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        if (!b.core.vhost(params['vhost']!)) return sendNotFound(res);
        sendNoContent(res);
      },
    },
  ];
}
