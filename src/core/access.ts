import { accessRefused, preconditionFailed } from './errors.js';
import { routingKeys } from './exchanges/routing.js';
import type { Message } from './message.js';

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
   * RabbitMQ's topic permissions: may `user` publish (write) or bind (read) with
   * `routingKey` on the topic exchange `exchange`? No topic permission set for the exchange:
   * allowed, as in RabbitMQ. `variables` are the protocol's own pattern variables (MQTT's
   * `client_id`), beside `username` and `vhost`.
   */
  checkTopic?(user: string, vhost: string, permission: 'write' | 'read', exchange: string, routingKey: string, variables: Readonly<Record<string, string>>): boolean;
}

/** what a topic check needs of a vhost: its name, and the type of an exchange */
export interface TopicScope {
  readonly name: string;
  getExchange(name: string): { readonly type: string } | undefined;
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
    /** the protocol's topic-permission variables (MQTT: `client_id`) */
    private readonly variables: Readonly<Record<string, string>> = {},
  ) {}

  /** may the user do `action` on `resource` in `vhost`? (the default exchange is `amq.default`) */
  allowed(vhost: string, resource: Resource, action: Permission): boolean {
    return this.control.check(this.user, vhost, action, permissionName(resource));
  }

  /** as allowed(), refusing with ACCESS_REFUSED (RabbitMQ 3.13+'s text names the permission) */
  permission(vhost: string, resource: Resource, action: Permission): void {
    if (!this.allowed(vhost, resource, action)) {
      throw accessRefused(`${action} access to ${resource.kind} '${permissionName(resource)}' in vhost '${vhost}' refused for user '${this.user}'`);
    }
  }

  /**
   * RabbitMQ's topic permissions (rabbit_channel check_topic_authorisation): a routing key
   * on a topic exchange against the user's `write` (publish) or `read` (queue.bind and
   * unbind, a subscription's binding) pattern. Other exchange types, and a missing exchange,
   * are not checked. Refuses with ACCESS_REFUSED and rabbit_access_control's text.
   */
  topic(vhost: TopicScope, exchange: string, routingKey: string, action: 'write' | 'read'): void {
    const check = this.control.checkTopic;
    if (!check || vhost.getExchange(exchange)?.type !== 'topic') return;
    if (!check.call(this.control, this.user, vhost.name, action, exchange, routingKey, this.variables)) {
      throw accessRefused(`${action} access to topic '${routingKey}' in exchange '${exchange}' in vhost '${vhost.name}' refused for user '${this.user}'`);
    }
  }

  /** a publish to a topic exchange: each of its routing keys (the key, CC and BCC) needs `write` */
  publishTopics(vhost: TopicScope, exchange: string, message: Message): void {
    if (!this.control.checkTopic || vhost.getExchange(exchange)?.type !== 'topic') return;
    for (const key of routingKeys(message)) this.topic(vhost, exchange, key, 'write');
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
