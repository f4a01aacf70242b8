import type { Engine } from '../../server/options.js';
import type { ManagementBackend } from '../backend.js';
import { sendBadRequest, sendJson, type Route } from '../management/http-util.js';
import { cloudWatchView } from './cloudwatch.js';
import { prometheusText } from './prometheus.js';

const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * `/metrics` and `/metrics/per-object`: Prometheus text, unauthenticated as
 * rabbitmq_prometheus serves it. `/api/cloudwatch[?engine=rabbitmq|activemq]`: Amazon MQ's
 * CloudWatch metrics as JSON, for management users (the engine defaults to the broker's
 * profile; `all` shows RabbitMQ's).
 */
export function metricsRoutes(b: ManagementBackend): Route[] {
  const prometheus = (perObject: boolean): Route['handle'] => (_req, res) => {
    const text = prometheusText(b, perObject);
    res.writeHead(200, { 'content-type': PROMETHEUS_CONTENT_TYPE, 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  return [
    { method: 'GET', path: '/metrics', tag: 'none', handle: prometheus(false) },
    { method: 'GET', path: '/metrics/per-object', tag: 'none', handle: prometheus(true) },
    {
      method: 'GET',
      path: '/api/cloudwatch',
      tag: 'monitoring',
      handle: (_req, res, _body, { query }) => {
        const asked = query.get('engine');
        if (asked !== null && asked !== 'rabbitmq' && asked !== 'activemq') return sendBadRequest(res, `unknown engine '${asked}': use rabbitmq or activemq`);
        const engine: Engine = (asked as Engine | null) ?? b.engine;
        sendJson(res, 200, cloudWatchView(b, engine, b.brokerName));
      },
    },
  ];
}
