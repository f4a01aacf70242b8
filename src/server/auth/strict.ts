import type { Engine as Profile } from '../options.js';
import { validateGroups, validatePassword, validateUsername, type Engine, type UserRuleViolation } from './amazon-rules.js';

/**
 * Strict mode: Amazon MQ's user rules (amazon-rules.ts) applied wherever LocalMQ creates a
 * user, so a set-up that works locally is one Amazon MQ accepts.
 */

/** A user refused in strict mode; `rule` names the Amazon MQ rule it breaks. */
export class StrictModeError extends Error {
  override readonly name = 'StrictModeError';

  constructor(
    readonly violation: UserRuleViolation,
    readonly user: string,
    readonly engine: Engine,
  ) {
    super(`strict mode (${engineTitle(engine)}): user '${user}' breaks rule ${violation.rule}: ${violation.message}`);
  }

  get rule(): UserRuleViolation['rule'] {
    return this.violation.rule;
  }
}

function engineTitle(engine: Engine): string {
  return engine === 'activemq' ? 'Amazon MQ for ActiveMQ' : 'Amazon MQ for RabbitMQ';
}

/**
 * Whose rules a profile follows. `all` serves both engines' clients, so it takes the
 * RabbitMQ rules, the narrower set (no `~`, no `guest`): users that pass them pass both.
 */
export function strictRulesFor(profile: Profile): Engine {
  return profile === 'activemq' ? 'activemq' : 'rabbitmq';
}

export interface StrictUser {
  name: string;
  /** undefined when only a hash is known (definitions import): the password rules cannot be checked */
  password?: string;
  groups?: readonly string[];
}

/**
 * Throw StrictModeError for the first rule the user breaks: the username, then the
 * password (when known in clear), then the groups. Groups are an ActiveMQ notion; the
 * `all` profile checks them too, since such a user may be meant for an ActiveMQ broker.
 */
export function assertStrictUser(profile: Profile, user: StrictUser): void {
  const engine = strictRulesFor(profile);
  const violation =
    validateUsername(engine, user.name) ??
    (user.password === undefined ? null : validatePassword(user.password)) ??
    (user.groups !== undefined && profile !== 'rabbitmq' ? validateGroups(user.groups) : null);
  if (violation) throw new StrictModeError(violation, user.name, engine);
}

/** startBroker in strict mode with no users and nothing recovered: say what to do */
export class StrictNoUsersError extends Error {
  override readonly name = 'StrictNoUsersError';

  constructor(profile: Profile) {
    const engine = strictRulesFor(profile);
    super(
      engine === 'rabbitmq'
        ? `strict mode (${engineTitle(engine)}): there is no default user, since Amazon MQ prohibits 'guest' and its password breaks the password rules; ` +
            `give one with users: [{ name, password }] (CLI: --user name:password), e.g. a name of letters, digits and - . _ and a password of 12+ characters`
        : `strict mode (${engineTitle(engine)}): there is no default user, since guest/guest breaks the password rules; ` +
            `give one with users: [{ name, password }] (CLI: --user name:password), with a password of 12+ characters`,
    );
  }
}
