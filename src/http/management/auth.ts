import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { LocalMQ } from '../../server/local-mq.js';
import type { ManagementTag, Principal } from './http-util.js';

/** RabbitMQ's management tags, each granting what the ones before it do */
const LEVELS: ManagementTag[] = ['management', 'monitoring', 'administrator'];

/** the control token acts with every right, under a name no broker user can take (usernames have no spaces) */
const CONTROL_PRINCIPAL: Principal = { name: 'localmq control', tags: ['administrator'], control: true };

/**
 * Basic auth with a user of the broker, as RabbitMQ's management API asks; or
 * `Bearer <control token>`, the secret the CLI reads from the run dir's state file, so
 * `localmq definitions export` works whatever users exist. Null when neither checks out.
 */
export function authenticateRequest(req: http.IncomingMessage, broker: LocalMQ, controlToken: string): Principal | null {
  const header = req.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if (scheme === 'bearer') return sameSecret(credentials, controlToken) ? CONTROL_PRINCIPAL : null;
  if (scheme !== 'basic') return null;
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const result = broker.users.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1), req.socket.remoteAddress);
  if (!result.ok) return null;
  return { name: result.user.name, tags: [...result.user.tags], control: false };
}

/** does the principal hold `needed` or a higher management tag? */
export function holdsTag(principal: Principal, needed: ManagementTag): boolean {
  const rank = LEVELS.indexOf(needed);
  return principal.tags.some((t) => LEVELS.indexOf(t as ManagementTag) >= rank);
}

/** the route's tag check as one call: authenticated and tagged enough */
export function authorize(req: http.IncomingMessage, broker: LocalMQ, controlToken: string, needed: ManagementTag): boolean {
  const principal = authenticateRequest(req, broker, controlToken);
  return principal !== null && holdsTag(principal, needed);
}

/**
 * RabbitMQ shows monitoring and administrator users every vhost and connection; a plain
 * management user sees only the vhosts it has permissions in, and its own connections.
 */
export function seesEverything(principal: Principal): boolean {
  return holdsTag(principal, 'monitoring');
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
