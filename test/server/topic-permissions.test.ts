import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { UserRegistry, expandTopicPattern } from '../../src/server/auth/users.js';
import { exportDefinitionsJson, importDefinitionsJson } from '../../src/server/definitions/apply.js';

/**
 * Where topic permissions live: with the users (RabbitMQ's rabbit_auth_backend_internal
 * keeps them beside the vhost permissions), checked by rabbit_auth_backend_internal's rules,
 * kept by the store, in definitions, and gone with their user or vhost.
 */
describe('topic permissions: the user registry', () => {
  it('no topic permission on the exchange: allowed; else the unanchored pattern decides, "" meaning ^$', () => {
    const r = new UserRegistry();
    r.addUser('u', 'pw');
    expect(r.checkTopic('u', '/', 'write', 'amq.topic', 'anything')).toBe(true);
    r.setTopicPermission({ user: 'u', vhost: '/', exchange: 'amq.topic', write: 'b\\.c', read: '' });
    expect(r.checkTopic('u', '/', 'write', 'amq.topic', 'a.b.c.d')).toBe(true); // unanchored, as re:run
    expect(r.checkTopic('u', '/', 'write', 'amq.topic', 'a.x')).toBe(false);
    expect(r.checkTopic('u', '/', 'read', 'amq.topic', 'a')).toBe(false);
    expect(r.checkTopic('u', '/', 'read', 'amq.topic', '')).toBe(true);
    // another exchange, another vhost, another user: no topic permission there
    expect(r.checkTopic('u', '/', 'write', 'other.topic', 'a.x')).toBe(true);
    expect(r.checkTopic('u', 'v2', 'write', 'amq.topic', 'a.x')).toBe(true);
    expect(r.checkTopic('someone', '/', 'write', 'amq.topic', 'a.x')).toBe(true);
  });

  it('variables expand escaped: {username}, {vhost} and a protocol\'s own ({client_id})', () => {
    // rabbit_auth_backend_internal:expand_topic_permission replaces each {K} with rabbit_re:escape(V)
    expect(expandTopicPattern('^{username}.{vhost}.{client_id}$', { username: 'a.b', vhost: '/', client_id: 'c+d' })).toBe('^a\\.b.\\/.c\\+d$');
    const r = new UserRegistry();
    r.addUser('a.b', 'pw');
    r.setTopicPermission({ user: 'a.b', vhost: '/', exchange: 'amq.topic', write: '^{username}\\.{client_id}$', read: '.*' });
    expect(r.checkTopic('a.b', '/', 'write', 'amq.topic', 'a.b.dev-1', { client_id: 'dev-1' })).toBe(true);
    // the user name's dot is escaped: it matches only a dot
    expect(r.checkTopic('a.b', '/', 'write', 'amq.topic', 'axb.dev-1', { client_id: 'dev-1' })).toBe(false);
    expect(r.checkTopic('a.b', '/', 'write', 'amq.topic', 'a.b.dev-2', { client_id: 'dev-1' })).toBe(false);
  });

  it('a pattern that does not compile is refused when set; deleting the user drops its topic permissions', () => {
    const r = new UserRegistry();
    r.addUser('u', 'pw');
    expect(() => r.setTopicPermission({ user: 'u', vhost: '/', exchange: 'amq.topic', write: '(', read: '' })).toThrow(/invalid/);
    expect(() => r.setTopicPermission({ user: 'nobody', vhost: '/', exchange: 'amq.topic', write: '', read: '' })).toThrow(/does not exist/);
    r.setTopicPermission({ user: 'u', vhost: '/', exchange: 'amq.topic', write: '^x', read: '^x' });
    r.setTopicPermission({ user: 'u', vhost: 'v', exchange: 'amq.topic', write: '^x', read: '^x' });
    r.forgetVhost('v');
    expect(r.listTopicPermissions()).toEqual([{ user: 'u', vhost: '/', exchange: 'amq.topic', write: '^x', read: '^x' }]);
    r.deleteUser('u');
    expect(r.listTopicPermissions()).toEqual([]);
  });
});

describe('topic permissions: definitions and the store', () => {
  it('imported from definitions, enforced, exported back', async () => {
    const b = await startBroker();
    try {
      importDefinitionsJson(b, {
        users: [{ name: 'dev', password: 'dev-password-1', tags: '' }],
        permissions: [{ user: 'dev', vhost: '/', configure: '.*', write: '.*', read: '.*' }],
        topic_permissions: [{ user: 'dev', vhost: '/', exchange: 'amq.topic', write: '^dev\\.', read: '.*' }],
      });
      expect(b.users.checkTopic('dev', '/', 'write', 'amq.topic', 'prod.x')).toBe(false);
      expect(exportDefinitionsJson(b)['topic_permissions']).toEqual([{ user: 'dev', vhost: '/', exchange: 'amq.topic', write: '^dev\\.', read: '.*' }]);
    } finally {
      await b.stop();
    }
  });

  it('kept across a restart with a data dir (RabbitMQ keeps them in its metadata store)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-topic-perms-'));
    try {
      const b = await startBroker({ dataDir: dir });
      b.users.addUser('dev', 'dev-password-1', []);
      b.users.setTopicPermission({ user: 'dev', vhost: '/', exchange: 'amq.topic', write: '^dev\\.', read: '.*' });
      b.users.setTopicPermission({ user: 'dev', vhost: '/', exchange: 'x.topic', write: '^gone', read: '' });
      b.users.clearTopicPermissions('dev', '/', 'x.topic');
      await b.stop();
      const again = await startBroker({ dataDir: dir });
      try {
        expect(again.users.listTopicPermissions()).toEqual([{ user: 'dev', vhost: '/', exchange: 'amq.topic', write: '^dev\\.', read: '.*' }]);
        expect(again.users.checkTopic('dev', '/', 'write', 'amq.topic', 'prod.x')).toBe(false);
      } finally {
        await again.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
