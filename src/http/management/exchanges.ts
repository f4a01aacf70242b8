import type http from 'node:http';
import type { Exchange } from '../../core/exchanges/exchange.js';
import type { MessageProperties } from '../../core/message.js';
import { expirationRefusal } from '../../core/expiration-header.js';
import { Rejected, Routed } from '../../core/exchanges/routing.js';
import type { VHost } from '../../core/vhost.js';
import { fieldTableFromJson, isPlainObject } from '../../server/definitions/json-values.js';
import type { ManagementBackend } from '../backend.js';
import { pickColumns, sendList } from './list.js';
import { permitted, requestedVhost, vhostsInScope } from './scope.js';
import { bindingJson, exchangeJson } from './shapes.js';
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

/** the default exchange is `amq.default` in URLs and in permission checks */
const exchangeName = (segment: string) => (segment === 'amq.default' ? '' : segment);

/**
 * /api/exchanges: list, show, declare (PUT), delete (`if-unused`), bindings by source or
 * destination, and publish (POST …/publish answers `{"routed": bool}`).
 */
export function exchangeRoutes(b: ManagementBackend): Route[] {
  const list: Route['handle'] = (_req, res, _body, { principal, params, query }) => {
    const vhosts = vhostsInScope(b, principal, params, res);
    if (vhosts) sendList(res, query, vhosts.flatMap((v) => [...v.exchanges.values()].map((x) => exchangeJson(b, x))));
  };
  const find = (ctx: RequestContext, res: http.ServerResponse, notFoundReason?: string): { vhost: VHost; exchange: Exchange } | undefined => {
    const vhost = requestedVhost(b, ctx.principal, ctx.params['vhost']!, res);
    if (!vhost) return undefined;
    const exchange = vhost.getExchange(exchangeName(ctx.params['name']!));
    if (!exchange) {
      if (notFoundReason) sendError(res, 404, 'not_found', notFoundReason);
      else sendNotFound(res);
      return undefined;
    }
    return { vhost, exchange };
  };
  const permissionName = (name: string) => (name === '' ? 'amq.default' : name);
  const bindingsOf = (which: 'source' | 'destination'): Route['handle'] => (_req, res, _body, ctx) => {
    const found = find(ctx, res);
    if (!found) return;
    const { vhost, exchange } = found;
    const out: Record<string, unknown>[] = [];
    if (which === 'source') {
      for (const bd of exchange.bindings.values()) out.push(bindingJson(vhost.name, exchange.name, bd.destination, bd.routingKey, bd.arguments));
    } else {
      for (const x of vhost.exchanges.values()) {
        for (const bd of x.bindings.values()) if (bd.destination === exchange) out.push(bindingJson(vhost.name, x.name, exchange, bd.routingKey, bd.arguments));
      }
    }
    sendList(res, ctx.query, out, []);
  };

  return [
    { method: 'GET', path: '/api/exchanges', tag: 'management', handle: list },
    { method: 'GET', path: '/api/exchanges/:vhost', tag: 'management', handle: list },
    {
      method: 'GET',
      path: '/api/exchanges/:vhost/:name',
      tag: 'management',
      handle: (_req, res, _body, ctx) => {
        const found = find(ctx, res);
        if (!found) return;
        // the single exchange adds its per-channel/queue breakdowns, which RabbitMQ fills only in
        // the `detailed` rates mode: LocalMQ runs `basic`, where they are empty
        const json = { ...exchangeJson(b, found.exchange), incoming: [], outgoing: [] };
        const columns = ctx.query.get('columns');
        sendJson(res, 200, columns ? pickColumns(json, columns.split(',')) : json);
      },
    },
    {
      method: 'PUT',
      path: '/api/exchanges/:vhost/:name',
      tag: 'management',
      handle: (_req, res, body, ctx) => {
        const vhost = requestedVhost(b, ctx.principal, ctx.params['vhost']!, res);
        if (!vhost) return;
        const name = exchangeName(ctx.params['name']!);
        if (!permitted(b, ctx.principal, vhost.name, 'configure', permissionName(name))) return sendNotAuthorised(res, 'Access refused.');
        const args = argumentsField(body, res);
        if (!args) return;
        const existed = vhost.getExchange(name) !== undefined;
        try {
          vhost.declareExchange(name, typeof body['type'] === 'string' ? body['type'] : 'direct', {
            passive: false,
            durable: boolField(body, 'durable', true),
            autoDelete: boolField(body, 'auto_delete', false),
            internal: boolField(body, 'internal', false),
            arguments: args,
          });
        } catch (err) {
          return sendBrokerError(res, err);
        }
        sendCreated(res, !existed);
      },
    },
    {
      method: 'DELETE',
      path: '/api/exchanges/:vhost/:name',
      tag: 'management',
      handle: (_req, res, _body, ctx) => {
        const found = find(ctx, res);
        if (!found) return;
        const { vhost, exchange } = found;
        if (!permitted(b, ctx.principal, vhost.name, 'configure', permissionName(exchange.name))) return sendNotAuthorised(res, 'Access refused.');
        try {
          vhost.deleteExchange(exchange.name, ctx.query.get('if-unused') === 'true');
        } catch (err) {
          return sendBrokerError(res, err);
        }
        sendNoContent(res);
      },
    },
    { method: 'GET', path: '/api/exchanges/:vhost/:name/bindings/source', tag: 'management', handle: bindingsOf('source') },
    { method: 'GET', path: '/api/exchanges/:vhost/:name/bindings/destination', tag: 'management', handle: bindingsOf('destination') },
    {
      method: 'POST',
      path: '/api/exchanges/:vhost/:name/publish',
      tag: 'management',
      handle: (_req, res, body, ctx) => {
        const found = find(ctx, res, 'exchange_not_found');
        if (!found) return;
        const { vhost, exchange } = found;
        if (missingKeys(body, ['routing_key', 'properties', 'payload', 'payload_encoding'], res)) return;
        if (typeof body['payload'] !== 'string') return sendBadRequest(res, 'payload_not_string');
        const enc = body['payload_encoding'];
        if (enc !== 'string' && enc !== 'base64') return sendBadRequest(res, `{unsupported_encoding,${JSON.stringify(enc)}}`);
        let properties: MessageProperties;
        try {
          properties = propertiesFromJson(body['properties']);
        } catch (err) {
          return sendBadRequest(res, (err as Error).message);
        }
        if (!permitted(b, ctx.principal, vhost.name, 'write', permissionName(exchange.name))) {
          return sendNotAuthorised(res, `access to exchange '${permissionName(exchange.name)}' in vhost '${vhost.name}' refused for user '${ctx.principal.name}'`);
        }
        // RabbitMQ's user_id check: the message may only claim the publishing user
        if (properties.userId !== undefined && !ctx.principal.control && properties.userId !== ctx.principal.name) {
          return sendBadRequest(res, `406 PRECONDITION_FAILED - user_id property set to '${properties.userId}' but authenticated user was '${ctx.principal.name}'`);
        }
        // the channel's expiration check (RabbitMQ 3.10.8, review-s16-2 E4: 400 bad_request "406 PRECONDITION_FAILED - invalid expiration …")
        const refusal = properties.expiration !== undefined ? expirationRefusal(properties.expiration) : undefined;
        if (refusal !== undefined) return sendBadRequest(res, `${refusal.code} ${refusal.replyText}`);
        const payload = enc === 'base64' ? Buffer.from(body['payload'], 'base64') : Buffer.from(body['payload'], 'utf8');
        let flags: number;
        try {
          flags = vhost.publish(exchange.name, String(body['routing_key']), { exchange: exchange.name, routingKey: String(body['routing_key']), properties, body: payload, publishedAt: Date.now() });
        } catch (err) {
          return sendBrokerError(res, err);
        }
        if (flags & Rejected) return sendBadRequest(res, 'rejected Unable to publish message. Check queue limits.');
        sendJson(res, 200, { routed: (flags & Routed) !== 0 });
      },
    },
  ];
}

/** rabbit_mgmt_format:to_basic_properties: the publish form's `properties` object */
function propertiesFromJson(json: unknown): MessageProperties {
  if (!isPlainObject(json)) throw new Error('properties must be an object');
  const p: MessageProperties = {};
  const str = (k: string): string | undefined => {
    const v = json[k];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`${k} must be a string`);
    return String(v);
  };
  const int = (k: string): number | undefined => {
    const v = json[k];
    if (v === undefined || v === null || v === '') return undefined;
    const n = Number(v);
    if (!Number.isInteger(n)) throw new Error(`${k} must be an integer`);
    return n;
  };
  const set = <K extends keyof MessageProperties>(key: K, value: MessageProperties[K] | undefined) => {
    if (value !== undefined) p[key] = value;
  };
  set('contentType', str('content_type'));
  set('contentEncoding', str('content_encoding'));
  set('deliveryMode', int('delivery_mode'));
  set('priority', int('priority'));
  set('correlationId', str('correlation_id'));
  set('replyTo', str('reply_to'));
  // '' is an expiration the channel refuses (RabbitMQ 3.10.8: 400 "406 PRECONDITION_FAILED - invalid expiration '': no_integer")
  set('expiration', json['expiration'] === '' ? '' : str('expiration'));
  set('messageId', str('message_id'));
  set('timestamp', int('timestamp'));
  set('type', str('type'));
  set('userId', str('user_id'));
  set('appId', str('app_id'));
  set('clusterId', str('cluster_id'));
  if (json['headers'] !== undefined && json['headers'] !== null) p.headers = fieldTableFromJson(json['headers'], 'properties.headers');
  return p;
}
