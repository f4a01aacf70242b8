import type { ManagementBackend } from '../backend.js';
import { sendList } from './list.js';
import { canSeeVhost } from './scope.js';
import { sendBadRequest, sendCreated, sendJson, sendNoContent, sendNotFound, type Route } from './http-util.js';

/**
 * /api/parameters and /api/global-parameters. Vhost-scoped runtime parameters belong to
 * plugins (federation, shovel…) that LocalMQ does not run: the ones a definitions import
 * brought are listed, and a PUT is refused as RabbitMQ refuses a component with no plugin
 * behind it. Global parameters (cluster_name and the like) are kept and served.
 */
export function parameterRoutes(b: ManagementBackend): Route[] {
  const params = b.retained.parameters;
  const globals = b.retained.globalParameters;
  const listParams: Route['handle'] = (_req, res, _body, { principal, params: p, query }) => {
    const items = params.filter(
      (x) => canSeeVhost(b, principal, x.vhost) && (p['component'] === undefined || x.component === p['component']) && (p['vhost'] === undefined || x.vhost === p['vhost']),
    );
    sendList(res, query, items.map((x) => ({ ...x })), ['vhost', 'name']);
  };
  return [
    { method: 'GET', path: '/api/parameters', tag: 'policymaker', handle: listParams },
    { method: 'GET', path: '/api/parameters/:component', tag: 'policymaker', handle: listParams },
    { method: 'GET', path: '/api/parameters/:component/:vhost', tag: 'policymaker', handle: listParams },
    {
      method: 'GET',
      path: '/api/parameters/:component/:vhost/:name',
      tag: 'policymaker',
      handle: (_req, res, _body, { principal, params: p }) => {
        const found = params.find((x) => x.component === p['component'] && x.vhost === p['vhost'] && x.name === p['name']);
        if (!found || !canSeeVhost(b, principal, found.vhost)) return sendNotFound(res);
        sendJson(res, 200, { ...found });
      },
    },
    {
      method: 'PUT',
      path: '/api/parameters/:component/:vhost/:name',
      tag: 'policymaker',
      handle: (_req, res, _body, { params: p }) => sendBadRequest(res, `Validation failed\n\ncomponent ${p['component']} not found\n`),
    },
    {
      method: 'DELETE',
      path: '/api/parameters/:component/:vhost/:name',
      tag: 'policymaker',
      handle: (_req, res, _body, { params: p }) => {
        const i = params.findIndex((x) => x.component === p['component'] && x.vhost === p['vhost'] && x.name === p['name']);
        if (i < 0) return sendNotFound(res);
        params.splice(i, 1);
        sendNoContent(res);
      },
    },
    { method: 'GET', path: '/api/global-parameters', tag: 'administrator', handle: (_req, res, _body, { query }) => sendList(res, query, globals.map((g) => ({ ...g })), ['name']) },
    {
      method: 'GET',
      path: '/api/global-parameters/:name',
      tag: 'administrator',
      handle: (_req, res, _body, { params: p }) => {
        const g = globals.find((x) => x.name === p['name']);
        if (!g) return sendNotFound(res);
        sendJson(res, 200, { ...g });
      },
    },
    {
      method: 'PUT',
      path: '/api/global-parameters/:name',
      tag: 'administrator',
      handle: (_req, res, body, { params: p }) => {
        if (body['value'] === undefined) return sendBadRequest(res, '[{key_missing,value}]');
        const i = globals.findIndex((x) => x.name === p['name']);
        const def = { name: p['name']!, value: body['value'] };
        if (i >= 0) globals[i] = def;
        else globals.push(def);
        sendCreated(res, i < 0);
      },
    },
    {
      method: 'DELETE',
      path: '/api/global-parameters/:name',
      tag: 'administrator',
      handle: (_req, res, _body, { params: p }) => {
        const i = globals.findIndex((x) => x.name === p['name']);
        if (i < 0) return sendNotFound(res);
        globals.splice(i, 1);
        sendNoContent(res);
      },
    },
  ];
}
