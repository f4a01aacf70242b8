import { accessRefused, preconditionFailed } from './errors.js';

export type Permission = 'configure' | 'write' | 'read';

export interface AuthenticatedUser {
  name: string;
  tags: string[];
}

export type AuthOutcome = { ok: true; user: AuthenticatedUser } | { ok: false; reason: string };

/** Who may connect and what they may touch: the broker's users and per-vhost permissions. */
export interface AccessControl {
  authenticate(username: string, password: string, remoteAddress: string | undefined): AuthOutcome;
  /**
   * A login without credentials acting as `username` (MQTT's anonymous clients act as
   * guest, as in RabbitMQ): the user must exist, and a loopback-only one be on loopback.
   */
  authenticateAnonymous(username: string, remoteAddress: string | undefined): AuthOutcome;
  canAccessVhost(user: string, vhost: string): boolean;
  check(user: string, vhost: string, permission: Permission, resource: string): boolean;
  /**
   * RabbitMQ's topic permissions: may `user` publish (write) or bind/consume (read) with
   * `routingKey` on the topic exchange `exchange`? Absent, or no topic permission set for
   * the exchange: allowed, as in RabbitMQ.
   */
  checkTopic?(user: string, vhost: string, permission: 'write' | 'read', exchange: string, routingKey: string): boolean;
}

/** the name RabbitMQ gives the default exchange "" in permission checks and their errors */
export const DEFAULT_EXCHANGE_NAME = 'amq.default';

/** a queue or exchange, as permissions name it */
export interface Resource {
  kind: 'queue' | 'exchange';
  name: string;
}

/**
 * The access service: one client's user asking the broker's access control, with RabbitMQ's
 * texts (rabbit_access_control). Every adapter checks through this, never the raw patterns.
 */
export class Access {
  constructor(
    private readonly control: AccessControl,
    readonly user: string,
  ) {}

  /** may the user do `action` on `resource` in `vhost`? (the default exchange is `amq.default`) */
  allowed(vhost: string, resource: Resource, action: Permission): boolean {
    return this.control.check(this.user, vhost, action, permissionName(resource));
  }

  /** as allowed(), refusing with ACCESS_REFUSED */
  permission(vhost: string, resource: Resource, action: Permission): void {
    if (!this.allowed(vhost, resource, action)) {
      throw accessRefused(`access to ${resource.kind} '${permissionName(resource)}' in vhost '${vhost}' refused for user '${this.user}'`);
    }
  }

  /** a topic exchange's routing key against the user's topic permissions (RabbitMQ 3.7+) */
  topic(vhost: string, exchange: string, routingKey: string, action: 'write' | 'read'): void {
    const check = this.control.checkTopic;
    if (check && !check.call(this.control, this.user, vhost, action, exchange, routingKey)) {
      throw accessRefused(`access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost}' refused for user '${this.user}'`);
    }
  }

  /** a message's user_id must be the user who published it (RabbitMQ's validated user-id) */
  userId(claimed: string | undefined): void {
    if (claimed !== undefined && claimed !== this.user) {
      throw preconditionFailed(`user_id property set to '${claimed}' but authenticated user was '${this.user}'`);
    }
  }
}

/** a resource as permissions and their refusals name it: the default exchange is `amq.default` */
export function permissionName(r: Resource): string {
  return r.kind === 'exchange' && r.name === '' ? DEFAULT_EXCHANGE_NAME : r.name;
}
