import type http from 'node:http';
import type { Exchange } from '../../core/exchanges/exchange.js';
import type { Destination } from '../../core/exchanges/router.js';
import type { FieldTable } from '../../core/fields.js';
import type { VHost } from '../../core/vhost.js';
import type { ManagementBackend } from '../backend.js';
import { sendList } from './list.js';
import { permitted, requestedVhost, vhostsInScope } from './scope.js';
import { bindingJson, propertiesKey, vhostBindingsJson } from './shapes.js';
import { argumentsField, sendBrokerError, sendJson, sendNoContent, sendNotAuthorised, sendNotFound, type RequestContext, type Route } from './http-util.js';

interface Ends {
  vhost: VHost;
  source: Exchange;
  destination: Destination;
  kind: 'q' | 'e';
}

/**
 * /api/bindings: every binding, a vhost's, the bindings between one exchange and one
 * queue or exchange (GET; POST adds one and answers 201 with its `Location`), and one
 * binding by its properties key (GET, DELETE).
 */
export function bindingRoutes(b: ManagementBackend): Route[] {
  const list: Route['handle'] = (_req, res, _body, { principal, params, query }) => {
    const vhosts = vhostsInScope(b, principal, params, res);
    if (vhosts) sendList(res, query, vhosts.flatMap(vhostBindingsJson), []);
  };
  const ends = (ctx: RequestContext, res: http.ServerResponse, kind: 'q' | 'e'): Ends | undefined => {
    const vhost = requestedVhost(b, ctx.principal, ctx.params['vhost']!, res);
    if (!vhost) return undefined;
    const source = vhost.getExchange(ctx.params['source'] === 'amq.default' ? '' : ctx.params['source']!);
    const destination = kind === 'q' ? vhost.getQueue(ctx.params['destination']!) : vhost.getExchange(ctx.params['destination']!);
    if (!source || !destination) {
      sendNotFound(res);
      return undefined;
    }
    return { vhost, source, destination, kind };
  };
  const between = (e: Ends) => {
    const out: { routingKey: string; arguments: FieldTable; json: Record<string, unknown> }[] = [];
    for (const bd of e.source.bindings.values()) {
      if (bd.destination !== e.destination) continue;
      out.push({ routingKey: bd.routingKey, arguments: bd.arguments, json: bindingJson(e.vhost.name, e.source.name, e.destination, bd.routingKey, bd.arguments) });
    }
    return out;
  };
  /** the binding a path's properties key names, or undefined after a 404 */
  const one = (ctx: RequestContext, res: http.ServerResponse, kind: 'q' | 'e') => {
    const e = ends(ctx, res, kind);
    if (!e) return undefined;
    const binding = between(e).find((x) => matchesProps(x.routingKey, x.json, ctx.params['props']!));
    if (!binding) {
      sendNotFound(res);
      return undefined;
    }
    return { e, binding };
  };
  /** queue.bind needs write on the destination and read on the source, as in AMQP */
  const mayBind = (ctx: RequestContext, e: Ends) =>
    permitted(b, ctx.principal, e.vhost.name, 'write', e.destination.name) && permitted(b, ctx.principal, e.vhost.name, 'read', e.source.name);
  const routes: Route[] = [
    { method: 'GET', path: '/api/bindings', tag: 'management', handle: list },
    { method: 'GET', path: '/api/bindings/:vhost', tag: 'management', handle: list },
  ];
  for (const kind of ['q', 'e'] as const) {
    const base = `/api/bindings/:vhost/e/:source/${kind}/:destination`;
    routes.push(
      {
        method: 'GET',
        path: base,
        tag: 'management',
        handle: (_req, res, _body, ctx) => {
          const e = ends(ctx, res, kind);
          if (e) sendList(res, ctx.query, between(e).map((x) => x.json), []);
        },
      },
      {
        method: 'POST',
        path: base,
        tag: 'management',
        handle: (_req, res, body, ctx) => {
          const e = ends(ctx, res, kind);
          if (!e) return;
          if (!mayBind(ctx, e)) return sendNotAuthorised(res, 'Access refused.');
          const routingKey = body['routing_key'] === undefined || body['routing_key'] === null ? '' : String(body['routing_key']);
          const args = argumentsField(body, res);
          if (!args) return;
          try {
            if (kind === 'q') e.vhost.bindQueue(e.destination.name, e.source.name, routingKey, args, null);
            else e.vhost.bindExchange(e.destination.name, e.source.name, routingKey, args);
          } catch (err) {
            return sendBrokerError(res, err);
          }
          const json = bindingJson(e.vhost.name, e.source.name, e.destination, routingKey, args);
          const location = ['api', 'bindings', e.vhost.name, 'e', e.source.name, kind, e.destination.name, String(json['properties_key'])].map(encodeURIComponent).join('/');
          res.writeHead(201, { location: `/${location}` });
          res.end();
        },
      },
      {
        method: 'GET',
        path: `${base}/:props`,
        tag: 'management',
        handle: (_req, res, _body, ctx) => {
          const found = one(ctx, res, kind);
          if (found) sendJson(res, 200, found.binding.json);
        },
      },
      {
        method: 'DELETE',
        path: `${base}/:props`,
        tag: 'management',
        handle: (_req, res, _body, ctx) => {
          const found = one(ctx, res, kind);
          if (!found) return;
          const { e, binding } = found;
          if (!mayBind(ctx, e)) return sendNotAuthorised(res, 'Access refused.');
          try {
            if (kind === 'q') e.vhost.unbindQueue(e.destination.name, e.source.name, binding.routingKey, binding.arguments, null);
            else e.vhost.unbindExchange(e.destination.name, e.source.name, binding.routingKey, binding.arguments);
          } catch (err) {
            return sendBrokerError(res, err);
          }
          sendNoContent(res);
        },
      },
    );
  }
  return routes;
}

/** the properties key from a listing, or (no arguments) the bare routing key */
function matchesProps(routingKey: string, json: Record<string, unknown>, props: string): boolean {
  if (json['properties_key'] === props) return true;
  const args = json['arguments'] as Record<string, unknown>;
  return Object.keys(args).length === 0 && (props === routingKey || props === propertiesKey(routingKey, {}));
}
