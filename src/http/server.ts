import http from 'node:http';
import type { ManagementBackend } from './backend.js';
import { authenticateRequest, tagRefusal } from './management/auth.js';
import { bindingRoutes } from './management/bindings.js';
import { connectionRoutes } from './management/connections.js';
import { definitionsRoutes } from './management/definitions.js';
import { exchangeRoutes } from './management/exchanges.js';
import { overviewRoutes } from './management/overview.js';
import { parameterRoutes } from './management/parameters.js';
import { limitRoutes } from './management/limits.js';
import { policyRoutes } from './management/policies.js';
import { queueRoutes } from './management/queues.js';
import { userRoutes } from './management/users.js';
import { vhostRoutes } from './management/vhosts.js';
import { consoleRoutes } from './console/page.js';
import { metricsRoutes } from './metrics/routes.js';
import { readJsonBody, sendError, sendNotAuthorised, sendNotFound, type Principal, type Route } from './management/http-util.js';
import { compileRoutes, matchSegments, pathSegments } from './management/router.js';

/** nobody is asked for credentials on these (`none` routes) */
const ANONYMOUS: Principal = { name: '', tags: [], control: false };

/**
 * The request handler of the management endpoint, for a plain (15672) or TLS (15671, and
 * ActiveMQ's console port 8162) listener alike: RabbitMQ's management API on the same
 * paths (`/api/...`, vhosts URL-encoded as `%2F`), the web console at `/`, and metrics
 * (`/metrics` in Prometheus text, `/api/cloudwatch` in Amazon MQ's CloudWatch names).
 */
export function managementHandler(b: ManagementBackend): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  const routes = compileRoutes([
    ...consoleRoutes(b),
    ...overviewRoutes(b),
    ...definitionsRoutes(b),
    ...userRoutes(b),
    ...vhostRoutes(b),
    ...queueRoutes(b),
    ...exchangeRoutes(b),
    ...bindingRoutes(b),
    ...connectionRoutes(b),
    ...policyRoutes(b),
    ...limitRoutes(b),
    ...parameterRoutes(b),
    ...metricsRoutes(b),
  ]);
  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const segments = pathSegments(path);
    if (!segments) return sendError(res, 400, 'bad_request', `malformed URL encoding in ${path}`);
    const matching: { route: Route; params: Record<string, string> }[] = [];
    for (const c of routes) {
      const params = matchSegments(c.segments, segments);
      if (params) matching.push({ route: c.route, params });
    }
    if (matching.length === 0) return sendNotFound(res);
    const method = req.method === 'HEAD' ? 'GET' : req.method;
    const found = matching.find((m) => m.route.method === method);
    if (!found) {
      res.setHeader('Allow', [...new Set(matching.map((m) => m.route.method))].join(', '));
      // cowboy answers 405 with no body
      res.writeHead(405, { 'content-length': 0 });
      return res.end();
    }
    let principal = ANONYMOUS;
    if (found.route.tag !== 'none') {
      const auth = authenticateRequest(req, b.users, b.controlToken);
      if (!auth.ok) {
        b.logger.info('HTTP access denied', { path, reason: auth.reason, remote: req.socket.remoteAddress });
        // the console's own calls say X-Requested-With, so the browser shows its sign-in form, not a password dialog
        if (req.headers['x-requested-with'] !== 'XMLHttpRequest') res.setHeader('WWW-Authenticate', 'Basic realm="RabbitMQ Management"');
        return sendError(res, 401, 'not_authorized', auth.reason);
      }
      principal = auth.principal;
      const refusal = tagRefusal(principal, found.route.tag);
      if (refusal) {
        b.logger.info('HTTP access denied', { path, user: principal.name, reason: refusal });
        return sendNotAuthorised(res, refusal);
      }
    }
    let body: Record<string, unknown> = {};
    if (req.method === 'POST' || req.method === 'PUT') {
      const parsed = await readJsonBody(req);
      if (!parsed.ok) return sendError(res, 400, 'bad_request', parsed.reason);
      body = parsed.value;
    }
    await found.route.handle(req, res, body, { principal, params: found.params, query: url.searchParams });
  };
  return (req, res) => {
    void handle(req, res).catch((err: unknown) => {
      b.logger.warn('management request failed', { path: req.url, error: err });
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
