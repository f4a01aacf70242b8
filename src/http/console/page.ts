import { readFileSync } from 'node:fs';
import type http from 'node:http';
import { PRODUCT } from '../../server/product.js';
import type { ManagementBackend } from '../backend.js';
import { sendJson, type Route } from '../management/http-util.js';

/**
 * The web console: plain HTML, CSS and JavaScript from the package's `console/` folder (no
 * CDN, no build step), served without credentials like RabbitMQ's own page; the page signs
 * in with a broker user and calls the management API with Basic auth. On the ActiveMQ
 * profile (console port 8162) it speaks ActiveMQ's vocabulary.
 */
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};

/** `console/` at the package root: three levels up from src/http/console and from dist/http/console alike */
const ASSET_DIR = new URL('../../../console/', import.meta.url);

const cache = new Map<string, Buffer>();

function asset(name: string): Buffer {
  let body = cache.get(name);
  if (!body) {
    body = readFileSync(new URL(name, ASSET_DIR));
    cache.set(name, body);
  }
  return body;
}

function sendAsset(res: http.ServerResponse, name: string): void {
  const body = asset(name);
  res.writeHead(200, {
    'content-type': ASSETS[name]!,
    'content-length': body.length,
    'cache-control': 'no-cache',
    'x-content-type-options': 'nosniff',
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
  });
  res.end(body);
}

export function consoleRoutes(b: ManagementBackend): Route[] {
  return [
    { method: 'GET', path: '/', tag: 'none', handle: (_req, res) => sendAsset(res, 'index.html') },
    ...Object.keys(ASSETS).map((name): Route => ({ method: 'GET', path: `/console/${name}`, tag: 'none', handle: (_req, res) => sendAsset(res, name) })),
    {
      // LocalMQ's own addition: the endpoint table (as the Amazon MQ console shows it) and the CA file
      method: 'GET',
      path: '/api/localmq/endpoints',
      tag: 'management',
      handle: (_req, res) =>
        sendJson(res, 200, {
          product_name: PRODUCT.name,
          product_version: PRODUCT.version,
          engine: b.engine,
          // the engine versions this broker answers as (the ActiveMQ console shows its own: index.jsp's Broker table)
          engine_versions: {
            ...(b.engine !== 'activemq' ? { rabbitmq: b.core.engineRules.fullVersion } : {}),
            ...(b.engine !== 'rabbitmq' ? { activemq: b.core.activemqRules.fullVersion } : {}),
          },
          ca_file: b.caFile ?? null,
          endpoints: b.endpoints.map((e) => ({ name: e.name, url: e.url, port: e.port, tls: e.tls, amazon_url: e.amazonUrl ?? null })),
        }),
    },
  ];
}
