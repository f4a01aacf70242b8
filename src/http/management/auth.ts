import { timingSafeEqual } from 'node:crypto';
import type http from 'node:http';
import type { UserRegistry } from '../../server/auth/users.js';
import type { ManagementTag, Principal } from './http-util.js';

/** the control token acts with every right, under a name no broker user can take (usernames have no spaces) */
const CONTROL_PRINCIPAL: Principal = { name: 'localmq control', tags: ['administrator'], control: true };

/** the tags that let a user into the management API at all (rabbit_mgmt_util:is_mgmt_user) */
const MANAGEMENT_TAGS = new Set(['management', 'policymaker', 'monitoring', 'administrator']);

export type AuthOutcome = { ok: true; principal: Principal } | { ok: false; reason: string };

/**
 * Basic auth with a user of the broker, as RabbitMQ's management API asks; or
 * `Bearer <control token>`, the secret the CLI reads from the run dir's state file, so
 * `localmq definitions export` works whatever users exist.
 */
export function authenticateRequest(req: http.IncomingMessage, users: UserRegistry, controlToken: string): AuthOutcome {
  const header = req.headers.authorization ?? '';
  const space = header.indexOf(' ');
  const scheme = header.slice(0, space).toLowerCase();
  const credentials = header.slice(space + 1).trim();
  if (scheme === 'bearer') return sameSecret(credentials, controlToken) ? { ok: true, principal: CONTROL_PRINCIPAL } : { ok: false, reason: 'Login failed' };
  if (scheme !== 'basic') return { ok: false, reason: 'Login failed' };
  const decoded = Buffer.from(credentials, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { ok: false, reason: 'Login failed' };
  const result = users.authenticate(decoded.slice(0, colon), decoded.slice(colon + 1), req.socket.remoteAddress);
  if (!result.ok) return { ok: false, reason: result.reason === 'loopback-only' ? 'User can only log in via localhost' : 'Login failed' };
  return { ok: true, principal: { name: result.user.name, tags: [...result.user.tags], control: false } };
}

/**
 * Does the principal hold what the route needs? RabbitMQ's levels: any management tag
 * opens the API; `policymaker` and `monitoring` each add their own rights (neither
 * includes the other); `administrator` holds them all. Returns RabbitMQ's refusal text.
 */
export function tagRefusal(principal: Principal, needed: ManagementTag): string | null {
  if (needed === 'none') return null;
  const tags = principal.tags;
  if (!tags.some((t) => MANAGEMENT_TAGS.has(t))) return 'Not management user';
  const admin = tags.includes('administrator');
  if (needed === 'administrator' && !admin) return 'Not administrator user';
  if (needed === 'monitoring' && !admin && !tags.includes('monitoring')) return 'Not monitor user';
  if (needed === 'policymaker' && !admin && !tags.includes('policymaker')) return 'User not authorised to access object';
  return null;
}

export function isAdministrator(principal: Principal): boolean {
  return principal.tags.includes('administrator');
}

/**
 * RabbitMQ shows monitoring and administrator users every vhost and connection; a plain
 * management user sees only the vhosts it has permissions in, and its own connections.
 */
export function seesEverything(principal: Principal): boolean {
  return principal.tags.includes('administrator') || principal.tags.includes('monitoring');
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
