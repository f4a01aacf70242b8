import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import mqtt from 'mqtt';
import { connect as netConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { UserRegistry } from '../../src/server/auth/users.js';
import { StrictModeError, StrictNoUsersError } from '../../src/server/auth/strict.js';
import { importDefinitionsJson, exportDefinitionsJson, DefinitionsImportError } from '../../src/server/definitions/apply.js';
import { channelClosed, connect } from '../helpers/amqp.js';
import { RawStomp, getHeader, wireFrame } from '../helpers/stomp.js';
import { closed, connackRefusal, mqttConnect } from '../helpers/mqtt.js';
import { runCli } from '../helpers/cli.js';

const PRODUCER = { name: 'producer', password: 'producer-secret-1' };

let broker: LocalMQ;

beforeAll(async () => {
  broker = await startBroker();
  // write-only on one queue pattern: may publish through the default exchange to orders.*,
  // may not declare, consume or publish elsewhere
  broker.users.addUser(PRODUCER.name, PRODUCER.password, []);
  broker.users.setPermission({ user: PRODUCER.name, vhost: '/', configure: '^$', write: '^(amq\\.default|orders\\..*)$', read: '^$' });
});

afterAll(async () => {
  await broker.stop();
});

describe('AMQP: a write-only user on one queue pattern', () => {
  it('publishes where its write pattern allows', async () => {
    const admin = await connect(broker);
    const ach = await admin.createChannel();
    await ach.assertQueue('orders.in');
    const c = await connect(broker, { user: PRODUCER.name, password: PRODUCER.password });
    const ch = await c.createConfirmChannel();
    ch.sendToQueue('orders.in', Buffer.from('ok'));
    await ch.waitForConfirms();
    expect((await broker.waitFor('orders.in')).text()).toBe('ok');
    await c.close();
    await ach.deleteQueue('orders.in');
    await admin.close();
  });

  it('declaring a queue needs configure: 403 ACCESS_REFUSED on the channel', async () => {
    const c = await connect(broker, { user: PRODUCER.name, password: PRODUCER.password });
    const ch = await c.createChannel();
    const closed = channelClosed(ch);
    await expect(ch.assertQueue('orders.new')).rejects.toThrow();
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain("ACCESS_REFUSED - configure access to queue 'orders.new' in vhost '/' refused for user 'producer'");
    // the connection lives on
    await (await c.createChannel()).close();
    await c.close();
  });

  it('consuming needs read: 403 on basic.consume', async () => {
    broker.core.requireVhost('/').declareQueue('orders.out', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
    const c = await connect(broker, { user: PRODUCER.name, password: PRODUCER.password });
    const ch = await c.createChannel();
    const closed = channelClosed(ch);
    await expect(ch.consume('orders.out', () => undefined)).rejects.toThrow();
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain("ACCESS_REFUSED - read access to queue 'orders.out' in vhost '/' refused for user 'producer'");
    await c.close();
  });

  it('publishing to an exchange outside the write pattern: 403, asynchronously', async () => {
    const c = await connect(broker, { user: PRODUCER.name, password: PRODUCER.password });
    const ch = await c.createChannel();
    const closed = channelClosed(ch);
    ch.publish('amq.topic', 'x', Buffer.from('no'));
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain("ACCESS_REFUSED - write access to exchange 'amq.topic' in vhost '/' refused for user 'producer'");
    await c.close();
  });
});

describe('STOMP: wrong password and the write-only user', () => {
  it('a wrong password: ERROR Bad CONNECT; the connection stays, not logged in (RabbitMQ 3.10.8, s17 badlogin2.mjs)', async () => {
    const client = await RawStomp.open(broker);
    client.write(wireFrame('CONNECT', { 'accept-version': '1.2', host: '/', login: PRODUCER.name, passcode: 'wrong' }));
    const f = await client.frame('ERROR');
    expect(getHeader(f, 'message')).toBe('Bad CONNECT');
    expect(f.body.toString()).toBe("Access refused for user 'producer'\n");
    client.send('SUBSCRIBE', { destination: '/queue/orders', id: 's1' });
    expect(getHeader(await client.frame('ERROR'), 'message')).toBe('Illegal command');
    client.close();
  });

  it('SUBSCRIBE to a queue it may not read: ERROR access_refused', async () => {
    broker.core.requireVhost('/').declareQueue('orders.audit', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
    const { client } = await RawStomp.connected(broker, { login: PRODUCER.name, passcode: PRODUCER.password });
    client.send('SUBSCRIBE', { destination: '/amq/queue/orders.audit', id: 's1' });
    const f = await client.frame('ERROR');
    expect(getHeader(f, 'message')).toBe('access_refused');
    expect(f.body.toString()).toContain("read access to queue 'orders.audit' in vhost '/' refused for user 'producer'");
    await client.whenClosed();
  });
});

describe('MQTT: wrong password, no vhost access, no read', () => {
  it('a wrong password gets CONNACK 4; a user with no permission in the vhost gets 5', async () => {
    expect(await connackRefusal(broker, { username: PRODUCER.name, password: 'wrong' })).toBe(4);
    broker.users.addUser('outsider', 'outsider-secret-1', []);
    expect(await connackRefusal(broker, { username: 'outsider', password: 'outsider-secret-1' })).toBe(5);
  });

  it('a user without read on amq.topic gets SUBACK 0x80 for its subscription, then the connection closes (RabbitMQ)', async () => {
    const c = await mqttConnect(broker, { clientId: 'producer-sub', username: PRODUCER.name, password: PRODUCER.password });
    const gone = closed(c);
    await expect(c.subscribeAsync('orders/x', { qos: 0 })).rejects.toMatchObject({ packet: { cmd: 'suback', granted: [128] } });
    await gone;
    c.end(true);
  });
});

describe('guest from a non-loopback address', () => {
  it('the registry refuses guest from 10.0.0.5 and ::ffff:10.0.0.5, only after checking the password', () => {
    const users = new UserRegistry();
    users.addUser('guest', 'guest', ['administrator']);
    expect(users.authenticate('guest', 'guest', '10.0.0.5')).toEqual({ ok: false, reason: 'loopback-only' });
    expect(users.authenticate('guest', 'guest', '::ffff:10.0.0.5')).toEqual({ ok: false, reason: 'loopback-only' });
    expect(users.authenticate('guest', 'wrong', '10.0.0.5')).toEqual({ ok: false, reason: 'bad-credentials' });
    expect(users.authenticate('guest', 'guest', '::ffff:127.0.0.1').ok).toBe(true);
  });

  // Tests here may only send traffic to loopback addresses, so a real non-loopback peer is
  // out of reach: this broker's registry sees every peer as 10.0.0.5 instead (the real
  // address check, with the peer's address swapped), and each protocol's answer is asserted.
  describe('end to end, each protocol, with the peer seen as 10.0.0.5', () => {
    let remote: LocalMQ;
    beforeAll(async () => {
      remote = await startBroker();
      const authenticate = remote.users.authenticate.bind(remote.users);
      remote.users.authenticate = (name, password) => authenticate(name, password, '10.0.0.5');
    });
    afterAll(async () => {
      await remote?.stop();
    });

    it("AMQP: 403 ACCESS_REFUSED with RabbitMQ's text", async () => {
      const err = await amqplib.connect(`amqp://guest:guest@127.0.0.1:${new URL(remote.urls.amqp!).port}`).catch((e: Error) => e);
      expect((err as Error).message).toContain("ACCESS_REFUSED - PLAIN login refused: user 'guest' can only connect via localhost");
    });

    it('STOMP: ERROR, then close', async () => {
      const port = Number(new URL(remote.urls.stomp!).port);
      const body = await new Promise<string>((resolve) => {
        const chunks: Buffer[] = [];
        const s = netConnect({ host: '127.0.0.1', port }, () => s.write(wireFrame('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest' })));
        s.on('data', (c) => chunks.push(c));
        s.on('close', () => resolve(Buffer.concat(chunks).toString()));
        s.on('error', () => undefined);
      });
      expect(body.startsWith('ERROR\n')).toBe(true);
      expect(body).toContain('non-loopback access denied');
    });

    it('MQTT: CONNACK 5 (not authorized)', async () => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${new URL(remote.urls.mqtt!).port}`, { username: 'guest', password: 'guest', reconnectPeriod: 0, protocolVersion: 4 });
      const code = await new Promise<number | undefined>((resolve) => {
        client.once('connect', () => resolve(0));
        client.once('error', (e: Error & { code?: number }) => resolve(e.code));
      });
      client.end(true);
      expect(code).toBe(5);
    });

    it('a user that is not loopback-only connects from there', async () => {
      remote.users.addUser('app', 'app-secret-123', []);
      remote.users.setPermission({ user: 'app', vhost: '/', configure: '.*', write: '.*', read: '.*' });
      const c = await amqplib.connect(`amqp://app:app-secret-123@127.0.0.1:${new URL(remote.urls.amqp!).port}`);
      await c.close();
    });
  });
});

describe('strict mode: Amazon MQ user rules wherever users are created', () => {
  const good = 'correct-horse-battery';

  it.each([
    ['rabbitmq', 'ab', 'short', 'password-length'],
    ['rabbitmq', 'ab', 'a'.repeat(251), 'password-length'],
    ['rabbitmq', 'ab', 'aaaabbbbcccc', 'password-unique-characters'],
    ['rabbitmq', 'ab', 'long-enough,password', 'password-characters'],
    ['rabbitmq', 'ab', 'long-enough:password', 'password-characters'],
    ['rabbitmq', 'ab', 'long-enough=password', 'password-characters'],
    ['rabbitmq', 'a', good, 'username-length'],
    ['rabbitmq', 'x'.repeat(101), good, 'username-length'],
    ['rabbitmq', 'bad name', good, 'username-characters'],
    ['rabbitmq', 'tilde~user', good, 'username-characters'],
    ['rabbitmq', 'guest', good, 'username-guest'],
    ['all', 'guest', good, 'username-guest'],
  ] as const)('startBroker on %s refuses user %j / %j: rule %s', async (engine, name, password, rule) => {
    const err = await startBroker({ engine, strict: true, users: [{ name, password }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrictModeError);
    expect((err as StrictModeError).rule).toBe(rule);
    expect((err as Error).message).toContain(`breaks rule ${rule}`);
  });

  it('activemq allows ~ and guest (with a good password), and checks groups (at most 20)', async () => {
    const ok = await startBroker({
      engine: 'activemq',
      strict: true,
      users: [
        { name: 'tilde~user', password: good, groups: ['admins', 'ops'], consoleAccess: true },
        { name: 'guest', password: good },
      ],
    });
    expect(ok.users.getUser('tilde~user')).toMatchObject({ groups: ['admins', 'ops'], consoleAccess: true });
    await ok.stop();
    const groups = Array.from({ length: 21 }, (_, i) => `group-${i}`);
    const err = await startBroker({ engine: 'activemq', strict: true, users: [{ name: 'many', password: good, groups }] }).catch((e: unknown) => e);
    expect((err as StrictModeError).rule).toBe('groups-count');
  });

  it('strict mode has no default user: startBroker without users says what to give', async () => {
    const err = await startBroker({ engine: 'rabbitmq', strict: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrictNoUsersError);
    expect((err as Error).message).toMatch(/prohibits 'guest'.*users: \[\{ name, password \}\].*--user/);
  });

  it('a strict broker with a valid user serves it, and guest does not exist', async () => {
    // strict mode listens on TLS only, as Amazon MQ does; the plaintext port is asked for explicitly
    const b = await startBroker({ engine: 'rabbitmq', strict: true, users: [{ name: 'app-user', password: good }], ports: { amqp: 0 } });
    try {
      expect(b.users.getUser('guest')).toBeUndefined();
      const c = await connect(b, { user: 'app-user', password: good });
      await c.close();
    } finally {
      await b.stop();
    }
  });

  it('definitions import: username rules always, password rules when given in clear; nothing applied on refusal', async () => {
    const b = await startBroker({ engine: 'rabbitmq', strict: true, users: [{ name: 'app-user', password: good }] });
    try {
      const hashOnly = { users: [{ name: 'guest', password_hash: '', tags: [] }], vhosts: [{ name: 'v1' }] };
      expect(() => importDefinitionsJson(b, hashOnly)).toThrow(DefinitionsImportError);
      expect(() => importDefinitionsJson(b, hashOnly)).toThrow(/breaks rule username-guest/);
      expect(b.core.vhost('v1')).toBeUndefined();
      expect(() => importDefinitionsJson(b, { users: [{ name: 'weak', password: 'short', tags: [] }] })).toThrow(/breaks rule password-length/);
      // a hash cannot be checked: the user is imported
      const exported = exportDefinitionsJson(b) as { users: { name: string; password_hash: string }[] };
      const hashed = exported.users.find((u) => u.name === 'app-user')!;
      importDefinitionsJson(b, { users: [{ name: 'copy-user', password_hash: hashed.password_hash, tags: [] }] });
      expect(b.users.getUser('copy-user')).toBeDefined();
    } finally {
      await b.stop();
    }
  });

  it('the management API import refuses with 400 naming the rule', async () => {
    const b = await startBroker({ engine: 'rabbitmq', strict: true, users: [{ name: 'app-user', password: good }], ports: { http: 0 } });
    try {
      const res = await fetch(`${b.urls.http}/api/definitions`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`app-user:${good}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ users: [{ name: 'x', password: good, tags: [] }] }),
      });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain('breaks rule username-length');
    } finally {
      await b.stop();
    }
  });

  it('without strict mode nothing is checked (guest/guest is the default user)', async () => {
    const b = await startBroker({ engine: 'rabbitmq', users: [{ name: 'x', password: 'y' }] });
    expect(b.users.getUser('x')).toBeDefined();
    await b.stop();
  });
});

describe('ActiveMQ-profile users: groups and console access', () => {
  it('are kept, persisted across a restart and exported under their own keys', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localmq-users-'));
    try {
      const users = [{ name: 'ops-user', password: 'ops-secret-123', groups: ['ops', 'admins'], consoleAccess: true }];
      const first = await startBroker({ engine: 'activemq', dataDir, users });
      const json = exportDefinitionsJson(first) as { users: Record<string, unknown>[] };
      expect(json.users.find((u) => u['name'] === 'ops-user')).toMatchObject({ groups: ['ops', 'admins'], console_access: true });
      await first.stop();
      const second = await startBroker({ engine: 'activemq', dataDir });
      expect(second.users.getUser('ops-user')).toMatchObject({ groups: ['ops', 'admins'], consoleAccess: true });
      await second.stop();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('strict mode from the CLI', () => {
  it('exits 2 with one line naming the rule (--user), or saying there is no default user', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'localmq-strict-'));
    try {
      const weak = await runCli(['start', '--strict', '--engine', 'rabbitmq', '--in-memory', '--free-ports', '--user', 'app-user:short'], { cwd });
      expect(weak.status).toBe(2);
      expect(weak.stderr.trim().split('\n')).toHaveLength(1);
      expect(weak.stderr).toContain("user 'app-user' breaks rule password-length");
      const none = await runCli(['start', '--in-memory', '--free-ports'], { cwd, env: { LOCALMQ_STRICT: 'true' } });
      expect(none.status).toBe(2);
      expect(none.stderr).toContain('there is no default user');
      const badType = await runCli(['start', '--in-memory', '--free-ports', '--instance-type', 'mq.x9.huge'], { cwd });
      expect(badType.status).toBe(2);
      expect(badType.stderr).toContain('--instance-type must be one of mq.t3.micro');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  }, 30_000);
});
