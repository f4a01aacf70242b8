import http from 'node:http';
import type { LocalMQ } from '../server/local-mq.js';
import { authorize } from './management/auth.js';
import { definitionsRoutes } from './management/definitions.js';
import { overviewRoutes } from './management/overview.js';
import { readJsonBody, sendError, type Route } from './management/http-util.js';

/**
 * The management HTTP endpoint: the beginnings of RabbitMQ's management API on the same
 * paths (`/api/overview`, `/api/definitions`), so the CLI's control commands and any
 * tool written against RabbitMQ's API talk to it alike.
 */
/**
 * The request handler of the management endpoint, for a plain (15672) or TLS (15671, and
 * ActiveMQ's console port 8162) listener alike.
 */
export function managementHandler(broker: LocalMQ, controlToken: string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const routes: Route[] = [...overviewRoutes(broker), ...definitionsRoutes(broker)];
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const matching = routes.filter((r) => r.path === path);
    if (matching.length === 0) return sendError(res, 404, 'Object Not Found', 'Not Found');
    const route = matching.find((r) => r.method === req.method);
    if (!route) {
      res.setHeader('Allow', matching.map((r) => r.method).join(', '));
      return sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
    }
    if (!authorize(req, broker, controlToken, route.tag)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="RabbitMQ Management"');
      return sendError(res, 401, 'not_authorized', 'Login failed');
    }
    const body = req.method === 'POST' || req.method === 'PUT' ? await readJsonBody(req) : undefined;
    if (body !== undefined && !body.ok) return sendError(res, 400, 'bad_request', body.reason);
    await route.handle(req, res, body?.value);
  };
  return (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      broker.logger.warn('management request failed', { path: req.url, error: err });
      if (!res.headersSent) sendError(res, 500, 'internal_server_error', (err as Error).message);
      else res.destroy();
    });
  };
}

/** an HTTP server for the handler; listeners (plain or TLS) feed it connections */
export function managementServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): http.Server {
  const server = http.createServer(handler);
  server.keepAliveTimeout = 5_000;
  return server;
}
