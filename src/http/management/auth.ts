import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { LocalMQ } from '../../server/local-mq.js';
import type { Route } from './http-util.js';

/** RabbitMQ's management tags, each granting what the ones before it do */
const LEVELS: Route['tag'][] = ['management', 'monitoring', 'administrator'];

/**
 * Basic auth with a user of the broker holding the route's tag (or a higher one), as
 * RabbitMQ's management API asks; or `Bearer <control token>`, the secret the CLI reads
 * from the run dir's state file, so `localmq definitions export` works whatever users exist.
 */
export function authorize(req: http.IncomingMessage, broker: LocalMQ, controlToken: string, needed: Route['tag']): boolean {
  const header = req.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if (scheme === 'bearer') return sameSecret(credentials, controlToken);
  if (scheme !== 'basic') return false;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const result = broker.users.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1), req.socket.remoteAddress);
  if (!result.ok) return false;
  const rank = LEVELS.indexOf(needed);
  return result.user.tags.some((t) => LEVELS.indexOf(t as Route['tag']) >= rank);
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
