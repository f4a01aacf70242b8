/**
 * Amazon MQ's rules for broker users (CreateUser / UpdateUser / CreateBroker `users`),
 * so an app that works against LocalMQ in strict mode does not fail on the real service.
 * The password-length message is the one Amazon MQ's API returns; the others follow its
 * wording in the API reference.
 */

export type Engine = 'activemq' | 'rabbitmq';

export type UserRule =
  | 'username-length'
  | 'username-characters'
  | 'username-guest'
  | 'password-length'
  | 'password-unique-characters'
  | 'password-characters'
  | 'groups-count'
  | 'group-length'
  | 'group-characters';

export interface UserRuleViolation {
  rule: UserRule;
  /** which request member is wrong, as Amazon MQ's `ErrorAttribute` names it */
  attribute: 'username' | 'password' | 'groups';
  message: string;
}

export const MAX_GROUPS = 20;

const ACTIVEMQ_NAME = /^[A-Za-z0-9\-._~]+$/;
const RABBITMQ_NAME = /^[A-Za-z0-9\-._]+$/;
const PASSWORD_FORBIDDEN = /[,:=]/;

function lengthOf(value: string): number {
  // Amazon counts characters, not UTF-16 code units
  let n = 0;
  for (const _ of value) n++;
  return n;
}

function violation(rule: UserRule, attribute: UserRuleViolation['attribute'], message: string): UserRuleViolation {
  return { rule, attribute, message };
}

export function validateUsername(engine: Engine, name: string): UserRuleViolation | null {
  const length = lengthOf(name);
  if (length < 2 || length > 100) {
    return violation('username-length', 'username', 'Username is invalid. Enter a username 2 to 100 characters long.');
  }
  if (engine === 'activemq' ? !ACTIVEMQ_NAME.test(name) : !RABBITMQ_NAME.test(name)) {
    return violation(
      'username-characters',
      'username',
      engine === 'activemq'
        ? 'Username is invalid. It can contain only alphanumeric characters, dashes, periods, underscores, and tildes (- . _ ~).'
        : 'Username is invalid. It can contain only alphanumeric characters, dashes, periods, and underscores (- . _).',
    );
  }
  if (engine === 'rabbitmq' && name === 'guest') {
    return violation('username-guest', 'username', 'Username is invalid. Amazon MQ prohibits using guest as a username.');
  }
  return null;
}

export function validatePassword(password: string): UserRuleViolation | null {
  const length = lengthOf(password);
  if (length < 12 || length > 250) {
    return violation('password-length', 'password', 'Password is invalid. Enter a password 12 to 250 characters long.');
  }
  if (new Set(password).size < 4) {
    return violation(
      'password-unique-characters',
      'password',
      'Password is invalid. Enter a password that contains at least 4 unique characters.',
    );
  }
  if (PASSWORD_FORBIDDEN.test(password)) {
    return violation(
      'password-characters',
      'password',
      'Password is invalid. Make sure your password does not contain commas, colons, or equal signs (,:=).',
    );
  }
  return null;
}

/** ActiveMQ only: RabbitMQ brokers have no groups (Amazon ignores them there) */
export function validateGroups(groups: readonly string[]): UserRuleViolation | null {
  if (groups.length > MAX_GROUPS) {
    return violation('groups-count', 'groups', `Groups are invalid. A user can belong to at most ${MAX_GROUPS} groups.`);
  }
  for (const group of groups) {
    const length = lengthOf(group);
    if (length < 2 || length > 100) {
      return violation('group-length', 'groups', `Group '${group}' is invalid. Enter a group name 2 to 100 characters long.`);
    }
    if (!ACTIVEMQ_NAME.test(group)) {
      return violation(
        'group-characters',
        'groups',
        `Group '${group}' is invalid. It can contain only alphanumeric characters, dashes, periods, underscores, and tildes (- . _ ~).`,
      );
    }
  }
  return null;
}

/** The first rule the user breaks, checking the username, then the password, then the groups; null when it passes. */
export function validateUser(
  engine: Engine,
  name: string,
  password: string,
  groups?: readonly string[],
): UserRuleViolation | null {
  return (
    validateUsername(engine, name) ??
    validatePassword(password) ??
    (engine === 'activemq' && groups ? validateGroups(groups) : null)
  );
}
