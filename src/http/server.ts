import http from 'node:http';
import type { LocalMQ } from '../server/local-mq.js';
import { authenticateRequest, holdsTag } from './management/auth.js';
import { bindingRoutes } from './management/bindings.js';
import { connectionRoutes } from './management/connections.js';
import { definitionsRoutes } from './management/definitions.js';
import { exchangeRoutes } from './management/exchanges.js';
import { overviewRoutes } from './management/overview.js';
import { queueRoutes } from './management/queues.js';
import { userRoutes } from './management/users.js';
import { vhostRoutes } from './management/vhosts.js';
import { consoleRoutes } from './console/page.js';
import { readJsonBody, sendError, sendNotFound, type Route } from './management/http-util.js';
import { compileRoutes, matchSegments, pathSegments } from './management/router.js';

/**
 * The request handler of the management endpoint, for a plain (15672) or TLS (15671, and
 * ActiveMQ's console port 8162) listener alike: RabbitMQ's management API on the same
 * paths (`/api/...`, vhosts URL-encoded as `%2F`) and a small console page at `/`, so the
 * CLI's control commands, tools written against RabbitMQ's API and a browser all use it.
 */
export function managementHandler(broker: LocalMQ, controlToken: string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const routes = compileRoutes([
    ...consoleRoutes(broker),
    ...overviewRoutes(broker),
    ...definitionsRoutes(broker),
    ...userRoutes(broker),
    ...vhostRoutes(broker),
    ...queueRoutes(broker),
    ...exchangeRoutes(broker),
    ...bindingRoutes(broker),
    ...connectionRoutes(broker),
  ]);
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const segments = pathSegments(path);
    if (!segments) return sendError(res, 400, 'bad_request', `malformed URL encoding in ${path}`);
    const matching: { route: Route; params: Record<string, string> }[] = [];
    for (const c of routes) {
      const params = matchSegments(c.segments, segments);
      if (params) matching.push({ route: c.route, params });
    }
    if (matching.length === 0) return sendNotFound(res);
    const found = matching.find((m) => m.route.method === req.method);
    if (!found) {
      res.setHeader('Allow', matching.map((m) => m.route.method).join(', '));
      return sendError(res, 405, 'method_not_allowed', `${req.method} is not allowed on ${path}`);
    }
    const principal = authenticateRequest(req, broker, controlToken);
    if (!principal || !holdsTag(principal, found.route.tag)) {
      res.setHeader('WWW-Authenticate', 'Basic realm="RabbitMQ Management"');
      return sendError(res, 401, 'not_authorized', 'Login failed');
    }
    const body = req.method === 'POST' || req.method === 'PUT' ? await readJsonBody(req) : undefined;
    if (body !== undefined && !body.ok) return sendError(res, 400, 'bad_request', body.reason);
    await found.route.handle(req, res, body?.value, { principal, params: found.params });
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
