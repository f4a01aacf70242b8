import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateGroups, validatePassword, validateUser, validateUsername } from '../../src/server/auth/amazon-rules.js';
import { isLoopbackAddress } from '../../src/server/auth/loopback.js';
import { hashPassword, verifyPassword } from '../../src/server/auth/password.js';
import { accessRefusedMessage, UserRegistry, vhostRefusedMessage, withDefaultUser } from '../../src/server/auth/users.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import type { PermissionDef, Store, UserDef } from '../../src/store/store.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/rabbitmq/rabbitmq-3.10-definitions.json', import.meta.url), 'utf8'),
) as { users: { name: string; password_hash: string; hashing_algorithm: UserDef['hashingAlgorithm'] }[] };

describe('password hashing', () => {
  it('verifies the hashes RabbitMQ 3.10 exported', () => {
    const passwords: Record<string, string> = { guest: 'guest', app: 'app-secret-pass-1' };
    for (const user of fixture.users) {
      expect(verifyPassword(passwords[user.name]!, user.password_hash, user.hashing_algorithm)).toBe(true);
      expect(verifyPassword('wrong', user.password_hash, user.hashing_algorithm)).toBe(false);
    }
  });

  it('hashes as base64(salt ++ H(salt ++ utf8 password)) for each algorithm', () => {
    const salt = Buffer.from([0xde, 0xad, 0xbe, 0xef]);
    const cases = [
      ['rabbit_password_hashing_sha256', 'sha256', 36],
      ['rabbit_password_hashing_sha512', 'sha512', 68],
      ['rabbit_password_hashing_md5', 'md5', 20],
    ] as const;
    for (const [algorithm, digest, bytes] of cases) {
      const hash = hashPassword('pässwörd', algorithm, salt);
      const raw = Buffer.from(hash, 'base64');
      expect(raw.length).toBe(bytes);
      expect(raw.subarray(0, 4)).toEqual(salt);
      const expected = createHash(digest).update(Buffer.concat([salt, Buffer.from('pässwörd', 'utf8')])).digest();
      expect(raw.subarray(4)).toEqual(expected);
      expect(verifyPassword('pässwörd', hash, algorithm)).toBe(true);
      expect(verifyPassword(Buffer.from('pässwörd'), hash, algorithm)).toBe(true);
      expect(verifyPassword('passwörd', hash, algorithm)).toBe(false);
    }
  });

  it('salts every hash differently and never matches an empty hash', () => {
    expect(hashPassword('same')).not.toBe(hashPassword('same'));
    expect(verifyPassword('', '')).toBe(false);
    expect(verifyPassword('x', 'AAAA')).toBe(false);
  });
});

describe('loopback addresses', () => {
  it('accepts what RabbitMQ treats as loopback and nothing else', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(a)).toBe(true);
    for (const a of ['10.0.0.1', '::ffff:10.0.0.1', '::2', '128.0.0.1', 'localhost', '', undefined]) {
      expect(isLoopbackAddress(a)).toBe(false);
    }
  });
});

/** a store that notes the user and permission writes it receives */
function recordingStore(): Store & { log: string[] } {
  const log: string[] = [];
  return Object.assign(new MemoryStore(), {
    log,
    putUser(def: UserDef): void {
      log.push(`putUser ${def.name}`);
    },
    deleteUser(name: string): void {
      log.push(`deleteUser ${name}`);
    },
    putPermission(def: PermissionDef): void {
      log.push(`putPermission ${def.user} ${def.vhost}`);
    },
    deletePermission(user: string, vhost: string): void {
      log.push(`deletePermission ${user} ${vhost}`);
    },
  });
}

describe('UserRegistry', () => {
  it('starts empty; withDefaultUser adds guest/guest as administrator with full permissions', () => {
    const registry = new UserRegistry();
    expect(registry.listUsers()).toEqual([]);
    withDefaultUser(registry, '/');
    expect(registry.getUser('guest')).toMatchObject({ tags: ['administrator'], hashingAlgorithm: 'rabbit_password_hashing_sha256' });
    expect(registry.getPermission('guest', '/')).toEqual({ user: 'guest', vhost: '/', configure: '.*', write: '.*', read: '.*' });
    expect(registry.authenticate('guest', 'guest', '127.0.0.1')).toMatchObject({ ok: true, user: { name: 'guest' } });
  });

  it('refuses wrong passwords, unknown users and blank passwords alike', () => {
    const registry = new UserRegistry();
    registry.addUser('app', 'secret');
    expect(registry.authenticate('app', 'secret', '10.1.1.1')).toMatchObject({ ok: true });
    expect(registry.authenticate('app', 'nope', '10.1.1.1')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(registry.authenticate('ghost', 'secret', '127.0.0.1')).toEqual({ ok: false, reason: 'bad-credentials' });
    registry.clearPassword('app');
    expect(registry.authenticate('app', '', '127.0.0.1')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(registry.authenticate('app', 'secret', '127.0.0.1')).toEqual({ ok: false, reason: 'bad-credentials' });
  });

  it('lets loopback users in only from loopback, after checking the password', () => {
    const registry = withDefaultUser(new UserRegistry({ loopbackUsers: ['guest', 'local-only'] }));
    registry.addUser('local-only', 'pw');
    for (const address of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) {
      expect(registry.authenticate('guest', 'guest', address).ok).toBe(true);
    }
    expect(registry.authenticate('guest', 'guest', '192.168.1.20')).toEqual({ ok: false, reason: 'loopback-only' });
    expect(registry.authenticate('local-only', 'pw', '::ffff:192.168.1.20')).toEqual({ ok: false, reason: 'loopback-only' });
    expect(registry.authenticate('guest', 'wrong', '192.168.1.20')).toEqual({ ok: false, reason: 'bad-credentials' });

    const open = withDefaultUser(new UserRegistry({ loopbackUsers: [] }));
    expect(open.authenticate('guest', 'guest', '192.168.1.20').ok).toBe(true);
  });

  it('matches permission regexes unanchored, and "" as nothing', () => {
    const registry = new UserRegistry();
    registry.addUser('app', 'pw');
    registry.setPermission({ user: 'app', vhost: 'orders', configure: '^app\\..*', write: 'orders', read: '' });
    expect(registry.check('app', 'orders', 'configure', 'app.jobs')).toBe(true);
    expect(registry.check('app', 'orders', 'configure', 'jobs.app.x')).toBe(false);
    // unanchored: "orders" matches anywhere in the name
    expect(registry.check('app', 'orders', 'write', 'orders.events')).toBe(true);
    expect(registry.check('app', 'orders', 'write', 'my-orders-queue')).toBe(true);
    expect(registry.check('app', 'orders', 'write', 'amq.default')).toBe(false);
    // "" means ^$: nothing but the empty name
    expect(registry.check('app', 'orders', 'read', 'anything')).toBe(false);
    expect(registry.check('app', 'orders', 'read', '')).toBe(true);
    // no entry for the vhost: no access at all
    expect(registry.canAccessVhost('app', 'orders')).toBe(true);
    expect(registry.canAccessVhost('app', '/')).toBe(false);
    expect(registry.check('app', '/', 'read', 'q')).toBe(false);
  });

  it('checks the default exchange under its permission name amq.default', () => {
    const registry = new UserRegistry();
    registry.addUser('app', 'pw');
    registry.setPermission({ user: 'app', vhost: '/', configure: '', write: '^amq\\.default$', read: '' });
    expect(registry.checkExchange('app', '/', 'write', '')).toBe(true);
    expect(registry.check('app', '/', 'write', '')).toBe(false);
    expect(accessRefusedMessage('exchange', '', '/', 'app')).toBe("access to exchange 'amq.default' in vhost '/' refused for user 'app'");
    expect(vhostRefusedMessage('orders', 'app')).toBe("access to vhost 'orders' refused for user 'app'");
  });

  it('grants vhost access for an all-empty permission entry', () => {
    const registry = new UserRegistry();
    registry.addUser('viewer', 'pw', ['monitoring']);
    registry.setPermission({ user: 'viewer', vhost: '/', configure: '', write: '', read: '' });
    expect(registry.canAccessVhost('viewer', '/')).toBe(true);
    expect(registry.check('viewer', '/', 'read', 'q')).toBe(false);
    expect(registry.hasTag('viewer', 'monitoring')).toBe(true);
  });

  it('rejects bad patterns and unknown users when setting permissions', () => {
    const registry = new UserRegistry();
    registry.addUser('app', 'pw');
    expect(() => registry.setPermission({ user: 'app', vhost: '/', configure: '(', write: '', read: '' })).toThrow(
      /regular expression '\(' is invalid/,
    );
    expect(() => registry.setPermission({ user: 'nobody', vhost: '/', configure: '', write: '', read: '' })).toThrow(
      /user 'nobody' does not exist/,
    );
    expect(() => registry.addUser('app', 'again')).toThrow(/already exists/);
  });

  it('writes changes through to the store, dropping permissions with their user', () => {
    const store = recordingStore();
    const registry = new UserRegistry({ store });
    registry.addUser('app', 'pw');
    registry.setPermission({ user: 'app', vhost: '/', configure: '.*', write: '.*', read: '.*' });
    registry.setPermission({ user: 'app', vhost: 'orders', configure: '.*', write: '.*', read: '.*' });
    registry.clearPermission('app', '/');
    registry.setTags('app', ['management']);
    registry.deleteUser('app');
    expect(store.log).toEqual([
      'putUser app',
      'putPermission app /',
      'putPermission app orders',
      'deletePermission app /',
      'putUser app',
      'deletePermission app orders',
      'deleteUser app',
    ]);
    expect(registry.listPermissions()).toEqual([]);
  });

  it('loads recovered state without writing it back, and verifies its hashes', () => {
    const store = recordingStore();
    const registry = new UserRegistry({ store });
    registry.load(
      fixture.users.map((u) => ({ name: u.name, passwordHash: u.password_hash, hashingAlgorithm: u.hashing_algorithm, tags: [] })),
      [{ user: 'app', vhost: 'orders', configure: '^app\\..*', write: '.*', read: '.*' }],
    );
    expect(store.log).toEqual([]);
    expect(registry.authenticate('app', 'app-secret-pass-1', '10.0.0.5').ok).toBe(true);
    expect(registry.check('app', 'orders', 'configure', 'app.x')).toBe(true);
    registry.forgetVhost('orders');
    expect(registry.canAccessVhost('app', 'orders')).toBe(false);
  });

  it('changes a password', () => {
    const registry = new UserRegistry();
    registry.addUser('app', 'old');
    registry.setPassword('app', 'new');
    expect(registry.authenticate('app', 'old', '127.0.0.1').ok).toBe(false);
    expect(registry.authenticate('app', 'new', '127.0.0.1').ok).toBe(true);
  });
});

describe('Amazon MQ user rules', () => {
  const good = 'correct-horse-battery';

  it('accepts names and passwords Amazon accepts', () => {
    expect(validateUser('rabbitmq', 'app_user-1.x', good)).toBeNull();
    expect(validateUser('activemq', 'app~user', good, ['admins', 'ops'])).toBeNull();
    expect(validateUser('activemq', 'ab', 'a'.repeat(246) + 'bcde')).toBeNull();
  });

  it('enforces username rules per engine', () => {
    expect(validateUsername('rabbitmq', 'a')?.rule).toBe('username-length');
    expect(validateUsername('rabbitmq', 'a'.repeat(101))?.rule).toBe('username-length');
    expect(validateUsername('rabbitmq', 'a~b')?.rule).toBe('username-characters');
    expect(validateUsername('activemq', 'a~b')).toBeNull();
    expect(validateUsername('activemq', 'a b')?.rule).toBe('username-characters');
    expect(validateUsername('activemq', 'usér')?.rule).toBe('username-characters');
    expect(validateUsername('rabbitmq', 'guest')).toMatchObject({ rule: 'username-guest', attribute: 'username' });
    expect(validateUsername('activemq', 'guest')).toBeNull();
  });

  it('enforces password rules with Amazon-style messages', () => {
    expect(validatePassword('short-pw')).toEqual({
      rule: 'password-length',
      attribute: 'password',
      message: 'Password is invalid. Enter a password 12 to 250 characters long.',
    });
    expect(validatePassword('x'.repeat(251))?.rule).toBe('password-length');
    expect(validatePassword('abcabcabcabc')).toMatchObject({ rule: 'password-unique-characters' });
    expect(validatePassword('abcdabcdabcd')).toBeNull();
    for (const bad of ['has,comma-pass', 'has:colon-pass', 'has=equal-pass']) {
      expect(validatePassword(bad)).toMatchObject({ rule: 'password-characters' });
      expect(validatePassword(bad)!.message).toContain('(,:=)');
    }
    // characters, not UTF-16 units: eleven emoji are still too short
    expect(validatePassword('😀😁😂🤣😃😄😅😆😉😊😋')?.rule).toBe('password-length');
  });

  it('limits ActiveMQ groups', () => {
    expect(validateGroups(Array.from({ length: 20 }, (_, i) => `group${i}`))).toBeNull();
    expect(validateGroups(Array.from({ length: 21 }, (_, i) => `group${i}`))?.rule).toBe('groups-count');
    expect(validateGroups(['x'])?.rule).toBe('group-length');
    expect(validateGroups(['bad group'])?.rule).toBe('group-characters');
    expect(validateUser('activemq', 'app', good, ['bad group'])?.rule).toBe('group-characters');
    // groups do not apply to RabbitMQ brokers
    expect(validateUser('rabbitmq', 'app', good, ['bad group'])).toBeNull();
  });

  it('reports the username before the password', () => {
    expect(validateUser('rabbitmq', 'guest', 'short')?.rule).toBe('username-guest');
  });
});
