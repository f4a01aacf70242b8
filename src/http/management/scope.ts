import type http from 'node:http';
import type { VHost } from '../../core/vhost.js';
import type { LocalMQ } from '../../server/local-mq.js';
import { seesEverything } from './auth.js';
import { sendError, sendNotFound, type Principal } from './http-util.js';

/** may the principal look into this vhost? (RabbitMQ: any permission there, or monitoring) */
export function canSeeVhost(broker: LocalMQ, principal: Principal, vhost: string): boolean {
  return seesEverything(principal) || broker.users.canAccessVhost(principal.name, vhost);
}

/** the vhosts whose objects a listing shows the principal */
export function visibleVhosts(broker: LocalMQ, principal: Principal): VHost[] {
  return [...broker.core.vhosts.values()].filter((v) => canSeeVhost(broker, principal, v.name));
}

/**
 * The vhost a path names, or undefined after answering as RabbitMQ does: 404 when there
 * is no such vhost, 401 when the user has no permissions in it.
 */
export function requestedVhost(broker: LocalMQ, principal: Principal, name: string, res: http.ServerResponse): VHost | undefined {
  const vhost = broker.core.vhost(name);
  if (!vhost) {
    sendNotFound(res);
    return undefined;
  }
  if (!canSeeVhost(broker, principal, name)) {
    sendError(res, 401, 'not_authorized', 'Not_Authorized');
    return undefined;
  }
  return vhost;
}

/** the vhosts a listing route covers: the one in the path (`:vhost`), else every visible one */
export function vhostsInScope(broker: LocalMQ, principal: Principal, params: Record<string, string>, res: http.ServerResponse): VHost[] | undefined {
  if (params['vhost'] === undefined) return visibleVhosts(broker, principal);
  const one = requestedVhost(broker, principal, params['vhost'], res);
  return one ? [one] : undefined;
}
