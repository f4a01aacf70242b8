import { DefinitionsError } from '../../server/definitions/format.js';
import { DefinitionsImportError } from '../../server/definitions/apply.js';
import type { ManagementBackend } from '../backend.js';
import { requestedVhost } from './scope.js';
import { sendBadRequest, sendJson, sendNoContent, type Route } from './http-util.js';

/** what a single vhost's export holds (RabbitMQ's /api/definitions/{vhost}): no users, vhosts or permissions */
const VHOST_SCOPED = ['parameters', 'policies', 'queues', 'exchanges', 'bindings'];
const BROKER_SCOPED = ['users', 'vhosts', 'permissions', 'topic_permissions', 'global_parameters'];

/** GET and POST /api/definitions[/{vhost}]: RabbitMQ's export and import, whole-broker or one vhost */
export function definitionsRoutes(b: ManagementBackend): Route[] {
  const importing = (res: Parameters<Route['handle']>[1], json: unknown) => {
    try {
      b.importDefinitions(json);
    } catch (err) {
      if (err instanceof DefinitionsError || err instanceof DefinitionsImportError) return sendBadRequest(res, err.message);
      throw err;
    }
    sendNoContent(res);
  };
  return [
    {
      method: 'GET',
      path: '/api/definitions',
      tag: 'administrator',
      handle: (_req, res) => sendJson(res, 200, b.exportDefinitions()),
    },
    {
      method: 'POST',
      path: '/api/definitions',
      tag: 'administrator',
      handle: (_req, res, body) => importing(res, body),
    },
    {
      method: 'GET',
      path: '/api/definitions/:vhost',
      tag: 'administrator',
      handle: (_req, res, _body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const all = b.exportDefinitions();
        for (const key of BROKER_SCOPED) delete all[key];
        for (const key of VHOST_SCOPED) {
          const items = Array.isArray(all[key]) ? (all[key] as Record<string, unknown>[]) : [];
          all[key] = items.filter((i) => i['vhost'] === v.name).map(({ vhost: _vhost, ...rest }) => rest);
        }
        sendJson(res, 200, all);
      },
    },
    {
      method: 'POST',
      path: '/api/definitions/:vhost',
      tag: 'administrator',
      handle: (_req, res, body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const doc: Record<string, unknown> = {};
        for (const key of VHOST_SCOPED) {
          const items = body[key];
          if (Array.isArray(items)) doc[key] = items.map((i) => ({ ...(i as object), vhost: v.name }));
        }
        importing(res, doc);
      },
    },
  ];
}
