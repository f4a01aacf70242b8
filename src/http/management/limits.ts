import { LimitValidationError } from '../../core/tenant-limits.js';
import type { ManagementBackend } from '../backend.js';
import { seesEverything } from './auth.js';
import { sendBadRequest, sendError, sendJson, sendNoContent, sendNotAuthorised, sendNotFound, missingKeys, type Route } from './http-util.js';
import { requestedVhost, visibleVhosts } from './scope.js';

/**
 * /api/vhost-limits and /api/user-limits (rabbit_mgmt_wm_limits, _limit, _user_limits,
 * _user_limit): `max-connections` and `max-queues` per vhost, `max-connections` and
 * `max-channels` per user, enforced by the core (queue declares) and the connection
 * registry and AMQP channels (connections, channels) with RabbitMQ's refusals.
 */
export function limitRoutes(b: ManagementBackend): Route[] {
  const limits = b.core.tenantLimits;
  return [
    {
      method: 'GET',
      path: '/api/vhost-limits',
      tag: 'management',
      handle: (_req, res, _body, { principal }) => {
        const visible = new Set(visibleVhosts(b, principal).map((v) => v.name));
        sendJson(res, 200, limits.allVhostLimits().filter((l) => visible.has(l.vhost)));
      },
    },
    {
      method: 'GET',
      path: '/api/vhost-limits/:vhost',
      tag: 'management',
      handle: (_req, res, _body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const value = limits.vhostLimits(v.name);
        sendJson(res, 200, value && Object.keys(value).length ? [{ vhost: v.name, value: { ...value } }] : []);
      },
    },
    {
      method: 'PUT',
      path: '/api/vhost-limits/:vhost/:name',
      tag: 'administrator',
      handle: (_req, res, body, { params }) => {
        const vhost = params['vhost']!;
        if (!b.core.vhost(vhost)) return sendError(res, 404, 'not_found', 'vhost_not_found');
        if (missingKeys(body, ['value'], res)) return;
        try {
          limits.setVhostLimit(vhost, params['name']!, body['value']);
        } catch (err) {
          if (err instanceof LimitValidationError) return sendBadRequest(res, err.message);
          throw err;
        }
        sendNoContent(res);
      },
    },
    {
      method: 'DELETE',
      path: '/api/vhost-limits/:vhost/:name',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const vhost = params['vhost']!;
        if (!b.core.vhost(vhost)) return sendError(res, 404, 'not_found', 'vhost_not_found');
        limits.clearVhostLimit(vhost, params['name']!);
        sendNoContent(res);
      },
    },
    {
      method: 'GET',
      path: '/api/user-limits',
      tag: 'administrator',
      handle: (_req, res) => sendJson(res, 200, limits.allUserLimits()),
    },
    {
      method: 'GET',
      path: '/api/user-limits/:user',
      tag: 'management',
      handle: (_req, res, _body, { principal, params }) => {
        const user = params['user']!;
        // an administrator or monitor, or the user itself (rabbit_mgmt_util:is_authorized_user)
        if (!principal.control && !seesEverything(principal) && principal.name !== user) return sendNotAuthorised(res, 'User not authorised to access object');
        if (!b.users.getUser(user)) return sendNotFound(res);
        const value = limits.userLimits(user);
        sendJson(res, 200, value && Object.keys(value).length ? [{ user, value: { ...value } }] : []);
      },
    },
    {
      method: 'PUT',
      path: '/api/user-limits/:user/:name',
      tag: 'administrator',
      handle: (_req, res, body, { params }) => {
        const user = params['user']!;
        if (missingKeys(body, ['value'], res)) return;
        // RabbitMQ 3.10, measured: 400 with the internal backend's error term
        if (!b.users.getUser(user)) return sendJson(res, 400, { error: 'bad_request', reason: ['no_such_user', user] });
        try {
          limits.setUserLimit(user, params['name']!, body['value']);
        } catch (err) {
          if (err instanceof LimitValidationError) return sendBadRequest(res, err.message);
          throw err;
        }
        sendNoContent(res);
      },
    },
    {
      method: 'DELETE',
      path: '/api/user-limits/:user/:name',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        const user = params['user']!;
        if (!b.users.getUser(user)) return sendError(res, 404, 'not_found', 'vhost_not_found');
        limits.clearUserLimit(user, params['name']!);
        sendNoContent(res);
      },
    },
  ];
}
