import type http from 'node:http';
import { PolicyError } from '../../core/policies.js';
import { fieldTableFromJson, isPlainObject } from '../../server/definitions/json-values.js';
import type { PolicyDef } from '../../store/store.js';
import type { ManagementBackend } from '../backend.js';
import { sendList } from './list.js';
import { requestedVhost, visibleVhosts } from './scope.js';
import { policyJson } from './shapes.js';
import { sendBadRequest, sendCreated, sendError, sendJson, sendNoContent, sendNotFound, type Route } from './http-util.js';

const APPLY_TO = ['all', 'queues', 'exchanges', 'classic_queues', 'quorum_queues', 'streams'];

/**
 * /api/policies: RabbitMQ's policies, for policymakers and administrators. A policy PUT
 * here is applied at once to the matching queues of its vhost (the core's PolicyService).
 */
export function policyRoutes(b: ManagementBackend): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/policies',
      tag: 'management',
      handle: (_req, res, _body, { principal, query }) => {
        const vhosts = new Set(visibleVhosts(b, principal).map((v) => v.name));
        sendList(res, query, b.core.policies.list().filter((p) => vhosts.has(p.vhost)).map(policyJson), ['priority']);
      },
    },
    {
      method: 'GET',
      path: '/api/policies/:vhost',
      tag: 'management',
      handle: (_req, res, _body, { principal, params, query }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (v) sendList(res, query, b.core.policies.list(v.name).map(policyJson), ['priority']);
      },
    },
    {
      method: 'GET',
      path: '/api/policies/:vhost/:name',
      tag: 'policymaker',
      handle: (_req, res, _body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const p = b.core.policies.get(v.name, params['name']!);
        if (!p) return sendNotFound(res);
        sendJson(res, 200, policyJson(p));
      },
    },
    {
      method: 'PUT',
      path: '/api/policies/:vhost/:name',
      tag: 'policymaker',
      handle: (_req, res, body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const name = params['name']!;
        const def = policyFromBody(v.name, name, body, res);
        if (!def) return;
        const existed = b.core.policies.get(v.name, name) !== undefined;
        try {
          b.core.policies.put(def);
        } catch (err) {
          if (err instanceof PolicyError) return sendBadRequest(res, err.message);
          throw err;
        }
        sendCreated(res, !existed);
      },
    },
    ...operatorPolicyRoutes(b),
    {
      method: 'DELETE',
      path: '/api/policies/:vhost/:name',
      tag: 'policymaker',
      handle: (_req, res, _body, { principal, params }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        if (!b.core.policies.delete(v.name, params['name']!)) return sendNotFound(res);
        sendNoContent(res);
      },
    },
  ];
}

/** a policy PUT's body checked as rabbit_policy:set0 checks it, or undefined after a 400 */
function policyFromBody(vhost: string, name: string, body: Record<string, unknown>, res: http.ServerResponse): PolicyDef | undefined {
  if (typeof body['pattern'] !== 'string') return void sendBadRequest(res, 'Validation failed\n\nKey "pattern" not found in policy\n');
  if (!isPlainObject(body['definition'])) return void sendBadRequest(res, 'Validation failed\n\nKey "definition" not found in policy\n');
  const applyTo = body['apply-to'] ?? 'all';
  if (typeof applyTo !== 'string' || !APPLY_TO.includes(applyTo)) {
    return void sendBadRequest(res, `Validation failed\n\n'${String(applyTo)}' is not a valid "apply-to" value\n`);
  }
  const priority = body['priority'] === undefined || body['priority'] === null ? 0 : Number(body['priority']);
  if (!Number.isInteger(priority)) return void sendBadRequest(res, `Validation failed\n\n${JSON.stringify(body['priority'])} priority must be a number\n`);
  try {
    return { vhost, name, pattern: body['pattern'], applyTo: applyTo as PolicyDef['applyTo'], priority, definition: fieldTableFromJson(body['definition'], 'definition') };
  } catch (err) {
    return void sendBadRequest(res, (err as Error).message);
  }
}

/**
 * /api/operator-policies (rabbit_mgmt_wm_operator_policies, _operator_policy): listed to
 * anyone who sees the vhost, read and changed by administrators, refused with 405 when
 * the broker's configuration disables operator policy changes (Amazon MQ's
 * `management.restrictions.operator_policy_changes.disabled`). Applied with the user
 * policy: the lower of the two numeric limits wins (rabbit_policies:merge_policy_value).
 */
function operatorPolicyRoutes(b: ManagementBackend): Route[] {
  const disabled = (res: http.ServerResponse): boolean => {
    if (!b.operatorPolicyChangesDisabled) return false;
    sendError(res, 405, 'method_not_allowed', 'Broker settings disallow editing of operator policies.');
    return true;
  };
  return [
    {
      method: 'GET',
      path: '/api/operator-policies',
      tag: 'management',
      handle: (_req, res, _body, { principal, query }) => {
        const vhosts = new Set(visibleVhosts(b, principal).map((v) => v.name));
        sendList(res, query, b.core.policies.listOperator().filter((p) => vhosts.has(p.vhost)).map(policyJson), ['priority']);
      },
    },
    {
      method: 'GET',
      path: '/api/operator-policies/:vhost',
      tag: 'management',
      handle: (_req, res, _body, { principal, params, query }) => {
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (v) sendList(res, query, b.core.policies.listOperator(v.name).map(policyJson), ['priority']);
      },
    },
    {
      method: 'GET',
      path: '/api/operator-policies/:vhost/:name',
      tag: 'administrator',
      handle: (_req, res, _body, { principal, params }) => {
        if (disabled(res)) return;
        const v = requestedVhost(b, principal, params['vhost']!, res);
        if (!v) return;
        const p = b.core.policies.getOperator(v.name, params['name']!);
        if (!p) return sendNotFound(res);
        sendJson(res, 200, policyJson(p));
      },
    },
    {
      method: 'PUT',
      path: '/api/operator-policies/:vhost/:name',
      tag: 'administrator',
      handle: (_req, res, body, { params }) => {
        if (disabled(res)) return;
        const vhost = params['vhost']!;
        if (!b.core.vhost(vhost)) return sendError(res, 404, 'not_found', 'vhost_not_found');
        const def = policyFromBody(vhost, params['name']!, body, res);
        if (!def) return;
        const existed = b.core.policies.getOperator(vhost, def.name) !== undefined;
        try {
          b.core.policies.putOperator(def);
        } catch (err) {
          if (err instanceof PolicyError) return sendBadRequest(res, err.message);
          throw err;
        }
        sendCreated(res, !existed);
      },
    },
    {
      method: 'DELETE',
      path: '/api/operator-policies/:vhost/:name',
      tag: 'administrator',
      handle: (_req, res, _body, { params }) => {
        if (disabled(res)) return;
        const vhost = params['vhost']!;
        if (!b.core.vhost(vhost) || !b.core.policies.deleteOperator(vhost, params['name']!)) return sendNotFound(res);
        sendNoContent(res);
      },
    },
  ];
}
