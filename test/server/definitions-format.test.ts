import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { verifyPassword } from '../../src/server/auth/password.js';
import { DefinitionsError, formatDefinitions, parseDefinitions } from '../../src/server/definitions/format.js';

const fixture = JSON.parse(
  readFileSync(new URL('../fixtures/rabbitmq/rabbitmq-3.10-definitions.json', import.meta.url), 'utf8'),
) as Record<string, unknown>;

function clone<T>(value: T): T {
  return structuredClone(value);
}

/** what may differ between a 3.10 export and ours: version fields, tag form, the exchange `internal` flag */
function normalise(doc: Record<string, unknown>): Record<string, unknown> {
  const out = clone(doc);
  delete out['rabbit_version'];
  delete out['rabbitmq_version'];
  delete out['product_name'];
  delete out['product_version'];
  const tags = (t: unknown) => (typeof t === 'string' ? t.split(',').filter((s) => s !== '') : t);
  for (const u of out['users'] as Record<string, unknown>[]) u['tags'] = tags(u['tags']);
  for (const v of out['vhosts'] as { metadata: Record<string, unknown> }[]) v.metadata['tags'] = tags(v.metadata['tags']);
  for (const x of out['exchanges'] as Record<string, unknown>[]) if (x['internal'] === false) delete x['internal'];
  return out;
}

describe('parseDefinitions', () => {
  it('reads the RabbitMQ 3.10 export whole', () => {
    const defs = parseDefinitions(fixture);
    expect(defs.rabbitVersion).toBe('3.10.8');
    expect(defs.users.map((u) => [u.name, u.tags])).toEqual([
      ['guest', ['administrator']],
      ['app', ['management']],
    ]);
    expect(defs.vhosts).toEqual([
      { name: 'orders', description: '', tags: [] },
      { name: '/', description: 'Default virtual host', tags: [] },
    ]);
    expect(defs.permissions).toContainEqual({ user: 'app', vhost: 'orders', configure: '^app\\..*', write: '.*', read: '.*' });
    expect(defs.exchanges).toHaveLength(6);
    expect(defs.exchanges.find((x) => x.name === 'orders.main')).toEqual({
      vhost: 'orders',
      name: 'orders.main',
      type: 'direct',
      durable: true,
      autoDelete: false,
      internal: false,
      arguments: { 'alternate-exchange': 'orders.unrouted' },
    });
    expect(defs.queues).toHaveLength(6);
    expect(defs.queues.find((q) => q.name === 'orders.created')?.arguments).toEqual({
      'x-dead-letter-exchange': 'orders.dlx',
      'x-dead-letter-routing-key': 'dead',
      'x-message-ttl': 60000,
    });
    expect(defs.bindings).toContainEqual({
      vhost: 'orders',
      source: 'orders.events',
      destination: 'orders.fanout',
      destinationType: 'exchange',
      routingKey: 'order.#',
      arguments: {},
    });
    expect(defs.bindings.find((b) => b.source === 'orders.headers')?.arguments).toEqual({
      kind: 'vip',
      region: 'eu',
      'x-match': 'any',
    });
    expect(defs.policies).toEqual([
      {
        vhost: 'orders',
        name: 'cap-lazy',
        pattern: '^orders\\.lazy$',
        applyTo: 'queues',
        definition: { 'max-length': 5000 },
        priority: 0,
      },
    ]);
  });

  it('keeps password hashes that still verify', () => {
    const defs = parseDefinitions(fixture);
    const guest = defs.users.find((u) => u.name === 'guest')!;
    const app = defs.users.find((u) => u.name === 'app')!;
    expect(verifyPassword('guest', guest.passwordHash, guest.hashingAlgorithm)).toBe(true);
    expect(verifyPassword('app-secret-pass-1', app.passwordHash, app.hashingAlgorithm)).toBe(true);
  });

  it('accepts the older and looser forms RabbitMQ imports', () => {
    const defs = parseDefinitions({
      rabbit_version: '3.5.7',
      users: [
        { name: 'a', password_hash: 'AAAAAAAA', tags: 'administrator, monitoring' },
        { name: 'b', password: 'clear-text', tags: '' },
        { name: 'c', password_hash: '', administrator: 'true' },
      ],
      vhosts: [{ name: 'v', description: 'top level', tags: ['x'], default_queue_type: 'quorum' }],
      queues: [{ name: 'q', vhost: 'v', durable: true, auto_delete: false, arguments: [], type: 'quorum' }],
    });
    expect(defs.users[0]).toMatchObject({ tags: ['administrator', 'monitoring'], hashingAlgorithm: 'rabbit_password_hashing_md5' });
    expect(defs.users[1]!.tags).toEqual([]);
    expect(verifyPassword('clear-text', defs.users[1]!.passwordHash, defs.users[1]!.hashingAlgorithm)).toBe(true);
    expect(defs.users[2]).toMatchObject({ passwordHash: '', tags: ['administrator'] });
    expect(defs.vhosts[0]).toEqual({ name: 'v', description: 'top level', tags: ['x'], defaultQueueType: 'quorum' });
    expect(defs.queues[0]!.arguments).toEqual({ 'x-queue-type': 'quorum' });
    expect(defs.exchanges).toEqual([]);
  });

  it('fills the vhost of a single-vhost export', () => {
    const defs = parseDefinitions({ queues: [{ name: 'q', durable: true, auto_delete: false, arguments: {} }] }, { vhost: 'orders' });
    expect(defs.queues[0]!.vhost).toBe('orders');
  });

  it('names the path that is wrong', () => {
    const bad = clone(fixture);
    (bad['queues'] as Record<string, unknown>[])[3]!['vhost'] = 42;
    expect(() => parseDefinitions(bad)).toThrow(new DefinitionsError('queues[3].vhost', 'expected a string, got 42'));
    expect(() => parseDefinitions(bad)).toThrow(/^queues\[3\]\.vhost: expected a string/);

    const cases: [unknown, RegExp][] = [
      [[], /^definitions: expected an object, got an array/],
      [{ users: {} }, /^users: expected an array/],
      [{ users: [{ name: 'x', password_hash: 'AAAAAAAA' }] }, /^users\[0\]\.tags: expected a string or an array of strings/],
      [{ users: [{ name: 'x', password: 'p', password_hash: 'AAAAAAAA', tags: [] }] }, /^users\[0\]: both password and password_hash/],
      [{ users: [{ name: 'x', password_hash: 'AAAAAAAA', hashing_algorithm: 'sha1', tags: [] }] }, /^users\[0\]\.hashing_algorithm: expected one of/],
      [{ exchanges: [{ name: 'x', vhost: '/', type: 'direct', durable: 'yes' }] }, /^exchanges\[0\]\.durable: expected a boolean, got "yes"/],
      [{ bindings: [{ source: 'a', vhost: '/', destination: 'b', destination_type: 'topic' }] }, /^bindings\[0\]\.destination_type: expected one of "queue", "exchange"/],
      [{ permissions: [{ user: 'u', vhost: '/', configure: '(', write: '', read: '' }] }, /^permissions\[0\]\.configure: invalid regular expression/],
      [{ policies: [{ vhost: '/', name: 'p', pattern: '.*', definition: { 'max-length': 'x' }, priority: 1.5 }] }, /^policies\[0\]\.priority: expected an integer/],
      [{ queues: [{ name: 'q', vhost: '/', arguments: { 'x-message-ttl': {}, nested: [1, { a: undefined }] } }] }, /^queues\[0\]\.arguments\.nested\[1\]\.a: nothing has no JSON form/],
    ];
    for (const [doc, message] of cases) expect(() => parseDefinitions(doc)).toThrow(message);
  });
});

describe('formatDefinitions', () => {
  it('writes back the shape RabbitMQ exported', () => {
    const out = formatDefinitions(parseDefinitions(fixture));
    expect(normalise(out)).toEqual(normalise(fixture));
  });

  it('writes the 3.13 forms: tags as arrays, versions, exchange internal flag', () => {
    const out = formatDefinitions(parseDefinitions(fixture), { productName: 'LocalMQ', productVersion: '0.1.0' });
    expect(out['rabbitmq_version']).toBe('3.13.7');
    expect(out['product_name']).toBe('LocalMQ');
    expect((out['vhosts'] as { metadata: { tags: unknown } }[])[0]!.metadata.tags).toEqual([]);
    expect((out['exchanges'] as { internal: unknown }[]).every((x) => x.internal === false)).toBe(true);
  });

  it('round-trips through JSON text and parses again to the same definitions', () => {
    const once = parseDefinitions(fixture);
    const twice = parseDefinitions(JSON.parse(JSON.stringify(formatDefinitions(once))));
    expect({ ...twice, rabbitVersion: undefined, rabbitmqVersion: undefined }).toEqual({
      ...once,
      rabbitVersion: undefined,
      rabbitmqVersion: undefined,
    });
  });

  it('keeps limits, groups and non-classic queue types', () => {
    const defs = parseDefinitions({
      users: [{ name: 'u', password_hash: '', tags: [], limits: { 'max-connections': 5 }, groups: ['admins'], console_access: true }],
      vhosts: [{ name: 'v', limits: { 'max-queues': 10 }, metadata: { description: 'd', tags: ['t'], default_queue_type: 'quorum' } }],
      queues: [{ name: 'q', vhost: 'v', durable: true, auto_delete: false, arguments: { 'x-queue-type': 'stream' }, type: 'stream' }],
    });
    const out = formatDefinitions(defs);
    expect(out['users']).toEqual([
      {
        name: 'u',
        password_hash: '',
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: [],
        limits: { 'max-connections': 5 },
        groups: ['admins'],
        console_access: true,
      },
    ]);
    expect(out['vhosts']).toEqual([
      { name: 'v', limits: { 'max-queues': 10 }, metadata: { description: 'd', tags: ['t'], default_queue_type: 'quorum' } },
    ]);
    expect((out['queues'] as { type: string }[])[0]!.type).toBe('stream');
  });
});
