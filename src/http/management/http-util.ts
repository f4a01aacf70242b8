import type http from 'node:http';

export interface Route {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** the user tag the route needs (RabbitMQ's management permission levels) */
  tag: 'management' | 'monitoring' | 'administrator';
  handle(req: http.IncomingMessage, res: http.ServerResponse, body: unknown): void | Promise<void>;
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
