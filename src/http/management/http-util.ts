import type http from 'node:http';

export type ManagementTag = 'management' | 'monitoring' | 'administrator';

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
}

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** exact segments, or `:name` for a parameter, e.g. `/api/queues/:vhost/:name` */
  path: string;
  /** the user tag the route needs (RabbitMQ's management permission levels) */
  tag: ManagementTag;
  handle(req: http.IncomingMessage, res: http.ServerResponse, body: unknown, ctx: RequestContext): void | Promise<void>;
}

/** definitions files of big brokers run to megabytes; this is well past any of them */
const MAX_BODY = 64 * 1024 * 1024;

export function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-cache' });
  res.end(body);
}

/** RabbitMQ's error body: {"error": ..., "reason": ...} */
export function sendError(res: http.ServerResponse, status: number, error: string, reason: string): void {
  sendJson(res, status, { error, reason });
}

/** RabbitMQ's answer for a missing vhost, queue or exchange */
export function sendNotFound(res: http.ServerResponse): void {
  sendError(res, 404, 'Object Not Found', 'Not Found');
}

export function sendHtml(res: http.ServerResponse, html: string): void {
  res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(html), 'cache-control': 'no-cache' });
  res.end(html);
}

export function sendNoContent(res: http.ServerResponse): void {
  res.writeHead(204);
  res.end();
}

export async function readJsonBody(req: http.IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; reason: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) return { ok: false, reason: `request body over ${MAX_BODY} bytes` };
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return { ok: false, reason: 'empty request body: send a JSON document' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    return { ok: false, reason: `body is not valid JSON: ${(err as Error).message}` };
  }
}
