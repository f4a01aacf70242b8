import { hashPassword, isHashingAlgorithm, DEFAULT_HASHING_ALGORITHM } from '../../server/auth/password.js';
import type { TopicPermissionDef } from '../../server/definitions/format.js';
import type { UserDef } from '../../store/store.js';
import type { ManagementBackend } from '../backend.js';
import { sendList } from './list.js';
import { permissionJson, userJson } from './shapes.js';
import { sendBadRequest, sendCreated, sendJson, sendNoContent, sendNotFound, type Route } from './http-util.js';

/** /api/whoami, /api/users…, /api/permissions… and /api/topic-permissions… (administrators, but whoami) */
export function userRoutes(b: ManagementBackend): Route[] {
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
      handle: (_req, res, _body, { query }) => sendList(res, query, b.users.listUsers().map(userJson), ['name']),
    },
    {
      method: 'GET',
      path: '/api/users/without-permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { query }) => {
        const withSome = new Set(b.users.listPermissions().map((p) => p.user));
        sendList(res, query, b.users.listUsers().filter((u) => !withSome.has(u.name)).map(userJson), ['name']);
      },
    },
    {
      method: 'POST',
      path: '/api/users/bulk-delete',
      tag: 'administrator',
      handle: (_req, res, body) => {
        const names = body['users'];
        if (!Array.isArray(names)) return sendBadRequest(res, '[users] missing from request body');
        for (const n of names) if (b.users.deleteUser(String(n))) b.core.tenantLimits.forgetUser(String(n));
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/users/:user',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const u = b.users.getUser(params['user']!);
        if (!u) return sendNotFound(res);
        sendJson(res, 200, userJson(u));
      },
    },
    {
      method: 'PUT',
      path: '/api/users/:user',
      tag: 'administrator',
      handle: (_req, res, body, { params }) => {
        const name = params['user']!;
        const existing = b.users.getUser(name);
        let tags: string[];
        if (body['tags'] !== undefined) {
          const raw = Array.isArray(body['tags']) ? body['tags'].map(String) : String(body['tags']).split(',');
          tags = raw.map((t) => t.trim()).filter((t) => t !== '');
        } else if (body['administrator'] !== undefined) {
          tags = body['administrator'] === true || body['administrator'] === 'true' ? ['administrator'] : [];
        } else {
          return sendBadRequest(res, 'tags_not_present');
        }
        const hasPassword = body['password'] !== undefined;
        const hasHash = body['password_hash'] !== undefined;
        if (hasPassword && hasHash) return sendBadRequest(res, 'both_password_and_password_hash_are_provided');
        const algorithm = body['hashing_algorithm'] ?? existing?.hashingAlgorithm ?? DEFAULT_HASHING_ALGORITHM;
        if (!isHashingAlgorithm(algorithm)) return sendBadRequest(res, `Unknown hashing algorithm: ${String(algorithm)}`);
        let passwordHash: string;
        if (hasPassword) {
          if (typeof body['password'] !== 'string') return sendBadRequest(res, 'password must be a string');
          passwordHash = hashPassword(body['password'], algorithm);
        } else if (hasHash) {
          if (typeof body['password_hash'] !== 'string') return sendBadRequest(res, 'password_hash must be a string');
          passwordHash = body['password_hash'];
        } else {
          // RabbitMQ: no password given clears it (the user can no longer log in with one)
          passwordHash = '';
        }
        const def: UserDef = { ...(existing ?? {}), name, passwordHash, hashingAlgorithm: algorithm, tags };
        b.users.putUser(def);
        sendCreated(res, !existing);
      },
    },
    {
      method: 'DELETE',
      path: '/api/users/:user',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const name = params['user']!;
        if (!b.users.deleteUser(name)) return sendNotFound(res);
        b.core.tenantLimits.forgetUser(name);
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/users/:user/permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { params, query }) => {
        if (!b.users.getUser(params['user']!)) return sendNotFound(res);
        sendList(res, query, b.users.listPermissions({ user: params['user']! }).map(permissionJson), ['vhost']);
      },
    },
    {
      method: 'GET',
      path: '/api/users/:user/topic-permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { params, query }) => {
        if (!b.users.getUser(params['user']!)) return sendNotFound(res);
        sendList(res, query, b.users.listTopicPermissions({ user: params['user']! }).map((t) => ({ ...t })), ['vhost']);
      },
    },
    {
      method: 'GET',
      path: '/api/permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { query }) => sendList(res, query, b.users.listPermissions().map(permissionJson), ['vhost', 'user']),
    },
    {
      method: 'GET',
      path: '/api/permissions/:vhost/:user',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const p = b.users.getPermission(params['user']!, params['vhost']!);
        if (!p) return sendNotFound(res);
        sendJson(res, 200, permissionJson(p));
      },
    },
    {
      method: 'PUT',
      path: '/api/permissions/:vhost/:user',
      tag: 'administrator',
      handle: (_req, res, body, { params }) => {
        const vhost = params['vhost']!;
        const user = params['user']!;
        if (!b.core.vhost(vhost) || !b.users.getUser(user)) return sendBadRequest(res, 'vhost_or_user_not_found');
        for (const k of ['configure', 'write', 'read']) {
          if (typeof body[k] !== 'string') return sendBadRequest(res, `[${k}] missing from request body`);
        }
        const existed = b.users.getPermission(user, vhost) !== undefined;
        try {
          b.users.setPermission({ user, vhost, configure: body['configure'] as string, write: body['write'] as string, read: body['read'] as string });
        } catch (err) {
          return sendBadRequest(res, (err as Error).message);
        }
        sendCreated(res, !existed);
      },
    },
    {
      method: 'DELETE',
      path: '/api/permissions/:vhost/:user',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        if (!b.users.clearPermission(params['user']!, params['vhost']!)) return sendNotFound(res);
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/topic-permissions',
      tag: 'administrator',
      handle: (_req, res, _body, { query }) => sendList(res, query, b.users.listTopicPermissions().map((t) => ({ ...t })), ['vhost', 'user']),
    },
    {
      method: 'GET',
      path: '/api/topic-permissions/:vhost/:user',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const found = b.users.listTopicPermissions({ vhost: params['vhost']!, user: params['user']! });
        if (found.length === 0) return sendNotFound(res);
        sendJson(res, 200, found);
      },
    },
    {
      method: 'PUT',
      path: '/api/topic-permissions/:vhost/:user',
      tag: 'administrator',
      handle: (_req, res, body, { params }) => {
        const vhost = params['vhost']!;
        const user = params['user']!;
        if (!b.core.vhost(vhost) || !b.users.getUser(user)) return sendBadRequest(res, 'vhost_or_user_not_found');
        for (const k of ['exchange', 'write', 'read']) {
          if (typeof body[k] !== 'string') return sendBadRequest(res, `[${k}] missing from request body`);
        }
        for (const k of ['write', 'read']) {
          try {
            new RegExp(body[k] as string);
          } catch {
            return sendBadRequest(res, `regular expression '${String(body[k])}' is invalid`);
          }
        }
        const def: TopicPermissionDef = { user, vhost, exchange: body['exchange'] as string, write: body['write'] as string, read: body['read'] as string };
        const existed = b.users.listTopicPermissions({ vhost, user }).some((t) => t.exchange === def.exchange);
        b.users.setTopicPermission(def);
        sendCreated(res, !existed);
      },
    },
    {
      method: 'DELETE',
      path: '/api/topic-permissions/:vhost/:user',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        if (!b.users.clearTopicPermissions(params['user']!, params['vhost']!)) return sendNotFound(res);
        sendNoContent(res);
      },
    },
  ];
}
