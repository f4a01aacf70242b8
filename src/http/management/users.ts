import type { LocalMQ } from '../../server/local-mq.js';
import { permissionJson, userJson } from './shapes.js';
import { sendJson, type Route } from './http-util.js';

/** GET /api/whoami, and the administrator's /api/users and /api/permissions */
export function userRoutes(broker: LocalMQ): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/whoami',
      tag: 'management',
      handle: (_req, res, _body, { principal }) => sendJson(res, 200, { name: principal.name, tags: principal.tags }),
    },
    {
      method: 'GET',
      path: '/api/users',
      tag: 'administrator',
      handle: (_req, res) => sendJson(res, 200, broker.users.listUsers().map(userJson)),
    },
    {
      method: 'GET',
      path: '/api/permissions',
      tag: 'administrator',
      handle: (_req, res) => sendJson(res, 200, broker.users.listPermissions().map(permissionJson)),
    },
  ];
}
