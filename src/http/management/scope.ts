import type http from 'node:http';
import type { VHost } from '../../core/vhost.js';
import type { ClientConnection } from '../../protocols/context.js';
import type { ManagementBackend } from '../backend.js';
import { seesEverything } from './auth.js';
import { sendNotAuthorised, sendNotFound, type Principal } from './http-util.js';

/** may the principal look into this vhost? (RabbitMQ: any permission there, or monitoring/administrator) */
export function canSeeVhost(b: ManagementBackend, principal: Principal, vhost: string): boolean {
  return principal.control || seesEverything(principal) || b.users.canAccessVhost(principal.name, vhost);
}

/** the vhosts whose objects a listing shows the principal */
export function visibleVhosts(b: ManagementBackend, principal: Principal): VHost[] {
  return [...b.core.vhosts.values()].filter((v) => canSeeVhost(b, principal, v.name));
}

/**
 * The vhost a path names, or undefined after answering as RabbitMQ does: 404 when there
 * is no such vhost, 401 when the user has no permissions in it.
 */
export function requestedVhost(b: ManagementBackend, principal: Principal, name: string, res: http.ServerResponse): VHost | undefined {
  const vhost = b.core.vhost(name);
  if (!vhost) {
    sendNotFound(res);
    return undefined;
  }
  if (!canSeeVhost(b, principal, name)) {
    sendNotAuthorised(res, 'User not authorised to access virtual host');
    return undefined;
  }
  return vhost;
}

/** the vhosts a listing route covers: the one in the path (`:vhost`), else every visible one */
export function vhostsInScope(b: ManagementBackend, principal: Principal, params: Record<string, string>, res: http.ServerResponse): VHost[] | undefined {
  if (params['vhost'] === undefined) return visibleVhosts(b, principal);
  const one = requestedVhost(b, principal, params['vhost'], res);
  return one ? [one] : undefined;
}

/**
 * RabbitMQ's management API acts on queues and exchanges over a channel opened as the
 * requesting user, so the user's configure/write/read permissions apply, administrators
 * included. The control token is not a broker user and passes.
 */
export function permitted(b: ManagementBackend, principal: Principal, vhost: string, kind: 'configure' | 'write' | 'read', resource: string): boolean {
  return principal.control || b.users.check(principal.name, vhost, kind, resource);
}

/** the connections a principal may see (a plain management user: its own), optionally of one vhost */
export function visibleConnections(b: ManagementBackend, principal: Principal, vhost?: string): ClientConnection[] {
  const all = principal.control || seesEverything(principal);
  return b.connections().filter((c) => (vhost === undefined || c.vhost === vhost) && (all || c.user === principal.name));
}
