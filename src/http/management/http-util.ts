import type http from 'node:http';
import { BrokerError } from '../../core/errors.js';
import type { FieldTable } from '../../core/fields.js';
import { fieldTableFromJson } from '../../server/definitions/json-values.js';

/** RabbitMQ's user tags that grant management access; `none` for endpoints anyone may call */
export type ManagementTag = 'none' | 'management' | 'policymaker' | 'monitoring' | 'administrator';

/** who a request authenticated as */
export interface Principal {
  name: string;
  tags: string[];
  /** the CLI's control token rather than a broker user */
  control: boolean;
}

/** what the router found out about a request before its route runs */
export interface RequestContext {
  principal: Principal;
  /** the path's `:name` segments, URL-decoded (`%2F` is the vhost `/`) */
  params: Record<string, string>;
  /** the query string */
  query: URLSearchParams;
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** exact segments, or `:name` for a parameter, e.g. `/api/queues/:vhost/:name` */
  path: string;
  /** the user tag the route needs (RabbitMQ's management permission levels) */
  tag: ManagementTag;
  handle(req: http.IncomingMessage, res: http.ServerResponse, body: Record<string, unknown>, ctx: RequestContext): void | Promise<void>;
}

/** definitions files of big brokers run to megabytes; this is well past any of them */
const MAX_BODY = 64 * 1024 * 1024;

/** the headers of every JSON answer (RabbitMQ's management API sends these) */
export const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-cache', vary: 'accept, accept-encoding, origin' };

export function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...JSON_HEADERS, 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

/** RabbitMQ's error body: {"error": ..., "reason": ...} */
export function sendError(res: http.ServerResponse, status: number, error: string, reason: string): void {
  sendJson(res, status, { error, reason });
}

/** RabbitMQ's answer for a missing vhost, queue or exchange (cowboy's 404 through rabbit_web_dispatch) */
export function sendNotFound(res: http.ServerResponse): void {
  sendError(res, 404, 'Object Not Found', 'Not Found');
}

export function sendBadRequest(res: http.ServerResponse, reason: string): void {
  sendError(res, 400, 'bad_request', reason);
}

/** a user lacking a tag or a permission: 401 `not_authorised` (the British spelling, as RabbitMQ writes it) */
export function sendNotAuthorised(res: http.ServerResponse, reason: string): void {
  sendError(res, 401, 'not_authorised', reason);
}

/**
 * A refusal from the core, answered as RabbitMQ's management API answers the AMQP error
 * its internal channel got: not_found → 404, access_refused → 401, anything else → 400
 * with the explanation.
 */
export function sendBrokerError(res: http.ServerResponse, err: unknown): void {
  if (!(err instanceof BrokerError)) throw err;
  if (err.code === 404) return sendError(res, 404, 'not_found', err.text);
  if (err.code === 403) return sendNotAuthorised(res, 'Access refused.');
  sendBadRequest(res, err.text);
}

export function sendHtml(res: http.ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-cache' });
  res.end(html);
}

export function sendNoContent(res: http.ServerResponse, headers: Record<string, string> = {}): void {
  res.writeHead(204, headers);
  res.end();
}

/** RabbitMQ answers a PUT that made something with 201, one that changed something with 204 */
export function sendCreated(res: http.ServerResponse, created: boolean): void {
  res.writeHead(created ? 201 : 204);
  res.end();
}

/**
 * The request body as a JSON object. An empty body is an empty object, as RabbitMQ's
 * decoder takes it; anything but an object is refused with its text.
 */
export async function readJsonBody(req: http.IncomingMessage): Promise<{ ok: true; value: Record<string, unknown> } | { ok: false; reason: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return { ok: false, reason: 'Exceeded HTTP request body size limit' };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: true, value: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    void err;
    return { ok: false, reason: 'not_json' };
  }
  // rabbit_mgmt_util:decode/1 takes only a JSON object
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'not_json' };
  return { ok: true, value: value as Record<string, unknown> };
}

/** RabbitMQ's boolean fields arrive as JSON booleans or as "true"/"false" strings */
export function boolField(body: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v === 'boolean') return v;
  if (v === 'true') return true;
  if (v === 'false') return false;
  return fallback;
}

/** the body's `arguments` object as an AMQP table (absent: empty), or undefined after a 400 */
export function argumentsField(body: Record<string, unknown>, res: http.ServerResponse): FieldTable | undefined {
  const v = body['arguments'];
  if (v === undefined || v === null) return {};
  try {
    return fieldTableFromJson(v, 'arguments');
  } catch (err) {
    sendBadRequest(res, (err as Error).message);
    return undefined;
  }
}

/** rabbit_mgmt_util:with_decode's refusal when required keys are absent: `[{key_missing,count}]` */
export function missingKeys(body: Record<string, unknown>, keys: string[], res: http.ServerResponse): boolean {
  const missing = keys.filter((k) => body[k] === undefined);
  if (missing.length === 0) return false;
  sendBadRequest(res, `[${missing.map((k) => `{key_missing,${k}}`).join(',')}]`);
  return true;
}
