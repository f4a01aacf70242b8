import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { amqpPort, connect, RawAmqp } from '../helpers/amqp.js';
import { basic, call, getJson } from '../helpers/management.js';
import { connackRefusal, mqttConnect } from '../helpers/mqtt.js';
import { getHeader, RawStomp, stompitConnect, stompitDisconnect, wireFrame } from '../helpers/stomp.js';

/*
 * Operator policies, vhost limits and user limits as RabbitMQ 3.13 serves and enforces
 * them (rabbit_mgmt_wm_operator_policy(ies), rabbit_mgmt_wm_limit(s), _user_limit(s);
 * rabbit_policy:merge_operator_definitions + rabbit_policies:merge_policy_value;
 * rabbit_vhost_limit; rabbit_reader's is_over_vhost_connection_limit /
 * is_over_user_connection_limit / is_over_limits; rabbit_queue_type:check_vhost_queue_limit),
 * driven with amqplib, stompit and mqtt.js over real sockets.
 */

let broker: LocalMQ;
let conn: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  broker = await startBroker();
  conn = await connect(broker);
  ch = await conn.createChannel();
  expect((await call(broker, 'PUT', '/api/vhosts/limited')).status).toBe(201);
  // the vhost's creator already has full permissions there (rabbit_vhost:maybe_grant_full_permissions)
  expect((await call(broker, 'PUT', '/api/permissions/limited/guest', { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBe(204);
  expect((await call(broker, 'PUT', '/api/users/alice', { body: { password: 'alice-pw', tags: 'management' } })).status).toBe(201);
  expect((await call(broker, 'PUT', '/api/permissions/%2F/alice', { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBe(201);
});

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await broker?.stop();
});

/**
 * An amqplib connection, or the connection.close a refused one got: amqplib reports only
 * "Expected ConnectionOpenOk", so a refusal is read again over a raw AMQP handshake.
 */
async function amqpOutcome(opts: { vhost?: string; user?: string; password?: string }): Promise<{ conn?: ChannelModel; error?: string }> {
  try {
    return { conn: await connect(broker, opts) };
  } catch (err) {
    if (!/ConnectionOpenOk/.test((err as Error).message)) throw err;
  }
  const c = await RawAmqp.open(amqpPort(broker));
  try {
    c.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    await c.method('connection.start');
    c.send(0, 'connection.start-ok', { clientProperties: {}, mechanism: 'PLAIN', response: Buffer.from(`\0${opts.user ?? 'guest'}\0${opts.password ?? 'guest'}`), locale: 'en_US' });
    await c.method('connection.tune');
    c.send(0, 'connection.tune-ok', { channelMax: 0, frameMax: 131072, heartbeat: 0 });
    c.send(0, 'connection.open', { virtualHost: opts.vhost ?? '/' });
    const close = (await c.method('connection.close')).args as { replyCode: number; replyText: string };
    return { error: `${close.replyCode} ${close.replyText}` };
  } finally {
    c.close();
  }
}

describe('operator policies', () => {
  it('serves /api/operator-policies as RabbitMQ does: 201/204, validation, admin only', async () => {
    const put = await call(broker, 'PUT', '/api/operator-policies/%2F/cap', { body: { pattern: '^capped\\.', definition: { 'max-length': 3, 'message-ttl': 60000 }, priority: 1, 'apply-to': 'queues' } });
    expect(put.status).toBe(201);
    expect((await call(broker, 'PUT', '/api/operator-policies/%2F/cap', { body: { pattern: '^capped\\.', definition: { 'max-length': 3, 'message-ttl': 60000 }, priority: 1, 'apply-to': 'queues' } })).status).toBe(204);
    expect(await getJson(broker, '/api/operator-policies/%2F/cap')).toEqual({ vhost: '/', name: 'cap', pattern: '^capped\\.', 'apply-to': 'queues', definition: { 'max-length': 3, 'message-ttl': 60000 }, priority: 1 });
    expect((await getJson(broker, '/api/operator-policies')).map((p: { name: string }) => p.name)).toEqual(['cap']);
    expect((await getJson(broker, '/api/operator-policies/%2F')).length).toBe(1);
    // keys an operator policy may not set (rabbit_policies' operator_policy_validator list)
    const bad = await call(broker, 'PUT', '/api/operator-policies/%2F/bad', { body: { pattern: '.*', definition: { 'dead-letter-exchange': 'x' } } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'bad_request', reason: 'Validation failed\n\n[{<<"dead-letter-exchange">>,<<"x">>}] are not recognised policy settings\n' });
    expect((await call(broker, 'PUT', '/api/operator-policies/nowhere/p', { body: { pattern: '.*', definition: { 'max-length': 1 } } })).status).toBe(404);
    // a management user may list, not read one or write
    const alice = basic('alice', 'alice-pw');
    expect((await call(broker, 'GET', '/api/operator-policies', { auth: alice })).status).toBe(200);
    const refused = await call(broker, 'PUT', '/api/operator-policies/%2F/mine', { auth: alice, body: { pattern: '.*', definition: { 'max-length': 1 } } });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
  });

  it('applies with the user policy: the lower max-length wins, an amqplib publisher sees the cap', async () => {
    await ch.assertQueue('capped.jobs');
    // the user policy allows 10, the operator policy 3: 3 holds
    expect((await call(broker, 'PUT', '/api/policies/%2F/roomy', { body: { pattern: '^capped\\.', definition: { 'max-length': 10, 'dead-letter-exchange': 'dlx' }, 'apply-to': 'queues' } })).status).toBe(201);
    const q = await getJson(broker, '/api/queues/%2F/capped.jobs');
    expect(q.policy).toBe('roomy');
    expect(q.operator_policy).toBe('cap');
    expect(q.effective_policy_definition).toEqual({ 'max-length': 3, 'message-ttl': 60000, 'dead-letter-exchange': 'dlx' });
    for (let i = 0; i < 6; i++) ch.sendToQueue('capped.jobs', Buffer.from(`m${i}`));
    await ch.assertQueue('capped.jobs');
    const { messageCount } = await ch.checkQueue('capped.jobs');
    expect(messageCount).toBe(3);
    // RabbitMQ drops from the head: the last three stay
    const first = await ch.get('capped.jobs', { noAck: true });
    expect(first && first.content.toString()).toBe('m3');
    // a lower user policy wins over the operator's
    expect((await call(broker, 'PUT', '/api/policies/%2F/roomy', { body: { pattern: '^capped\\.', definition: { 'max-length': 1 }, 'apply-to': 'queues' } })).status).toBe(204);
    expect((await getJson(broker, '/api/queues/%2F/capped.jobs')).effective_policy_definition).toEqual({ 'max-length': 1, 'message-ttl': 60000 });
    expect((await ch.checkQueue('capped.jobs')).messageCount).toBe(1);
    // removing both lifts the cap
    expect((await call(broker, 'DELETE', '/api/policies/%2F/roomy')).status).toBe(204);
    expect((await call(broker, 'DELETE', '/api/operator-policies/%2F/cap')).status).toBe(204);
    expect((await call(broker, 'DELETE', '/api/operator-policies/%2F/cap')).status).toBe(404);
    const after = await getJson(broker, '/api/queues/%2F/capped.jobs');
    expect(after.operator_policy).toBeNull();
    expect(after.effective_policy_definition).toEqual({});
    for (let i = 0; i < 5; i++) ch.sendToQueue('capped.jobs', Buffer.from('more'));
    await ch.assertQueue('capped.jobs');
    expect((await ch.checkQueue('capped.jobs')).messageCount).toBe(6);
  });

  it('refuses operator policy changes with 405 when the broker configuration disables them', async () => {
    const locked = await startBroker({ management: { operatorPolicyChangesDisabled: true } });
    try {
      const res = await call(locked, 'PUT', '/api/operator-policies/%2F/p', { body: { pattern: '.*', definition: { 'max-length': 1 } } });
      expect(res.status).toBe(405);
      expect(await res.json()).toEqual({ error: 'method_not_allowed', reason: 'Broker settings disallow editing of operator policies.' });
    } finally {
      await locked.stop();
    }
  });
});

describe('vhost limits', () => {
  it('serves /api/vhost-limits: set, list, validate, clear', async () => {
    expect(await getJson(broker, '/api/vhost-limits')).toEqual([]);
    expect((await call(broker, 'PUT', '/api/vhost-limits/limited/max-connections', { body: { value: 1 } })).status).toBe(204);
    expect((await call(broker, 'PUT', '/api/vhost-limits/limited/max-queues', { body: { value: 2 } })).status).toBe(204);
    // the last one set first, as RabbitMQ lists them
    expect(JSON.stringify(await getJson(broker, '/api/vhost-limits'))).toBe(JSON.stringify([{ vhost: 'limited', value: { 'max-queues': 2, 'max-connections': 1 } }]));
    expect(await getJson(broker, '/api/vhost-limits/limited')).toEqual([{ vhost: 'limited', value: { 'max-connections': 1, 'max-queues': 2 } }]);
    expect(await getJson(broker, '/api/vhost-limits/%2F')).toEqual([]);
    const unknown = await call(broker, 'PUT', '/api/vhost-limits/limited/max-widgets', { body: { value: 2 } });
    expect(unknown.status).toBe(400);
    expect((await unknown.json()).reason).toBe('Validation failed\n\nUnrecognised terms [{<<"max-widgets">>,2}] in limits\n');
    const notNumber = await call(broker, 'PUT', '/api/vhost-limits/limited/max-queues', { body: { value: 'many' } });
    expect(notNumber.status).toBe(400);
    expect((await notNumber.json()).reason).toBe('Validation failed\n\nmax-queues should be a number, actually was <<"many">>\n');
    const missing = await call(broker, 'PUT', '/api/vhost-limits/limited/max-queues', { body: {} });
    expect(await missing.json()).toEqual({ error: 'bad_request', reason: '[{key_missing,value}]' });
    const noVhost = await call(broker, 'PUT', '/api/vhost-limits/nowhere/max-queues', { body: { value: 1 } });
    expect(noVhost.status).toBe(404);
    expect(await noVhost.json()).toEqual({ error: 'not_found', reason: 'vhost_not_found' });
    expect((await call(broker, 'PUT', '/api/vhost-limits/limited/max-queues', { auth: basic('alice', 'alice-pw'), body: { value: 9 } })).status).toBe(401);
  });

  it('enforces max-connections on AMQP, STOMP and MQTT clients with RabbitMQ refusals', async () => {
    const first = await amqpOutcome({ vhost: 'limited' });
    expect(first.conn).toBeDefined();
    const second = await amqpOutcome({ vhost: 'limited' });
    expect(second.error).toBe("530 NOT_ALLOWED - access to vhost 'limited' refused for user 'guest': connection limit (1) is reached");
    // STOMP (RabbitMQ's plugin answers a refused vhost as access denied)
    const s = await RawStomp.open(broker);
    s.write(wireFrame('CONNECT', { 'accept-version': '1.2', host: 'limited', login: 'guest', passcode: 'guest' }));
    const error = await s.frame('ERROR');
    expect(getHeader(error, 'message')).toBe('Bad CONNECT');
    expect(error.body.toString()).toContain("Virtual host 'limited' access denied");
    // not logged in, the connection stays (a refused CONNECT goes on in RabbitMQ's STOMP plugin: error/3)
    s.close();
    // MQTT 3.1.1: CONNACK "not authorized" (5), rabbit_mqtt_processor's mapping of ?RC_QUOTA_EXCEEDED
    // (3.13, 4.x); MQTT 5 gets 0x97 (test/mqtt/mqtt5-quota.test.ts)
    expect(await connackRefusal(broker, { username: 'limited:guest', password: 'guest' })).toBe(5);
    // other vhosts are not affected
    const elsewhere = await amqpOutcome({});
    expect(elsewhere.conn).toBeDefined();
    await elsewhere.conn!.close();
    // a slot frees when a connection closes
    await first.conn!.close();
    const again = await amqpOutcome({ vhost: 'limited' });
    expect(again.conn).toBeDefined();
    await again.conn!.close();
    // 0 refuses every connection; a negative value lifts the limit
    expect((await call(broker, 'PUT', '/api/vhost-limits/limited/max-connections', { body: { value: 0 } })).status).toBe(204);
    expect((await amqpOutcome({ vhost: 'limited' })).error).toContain('connection limit (0) is reached');
    expect((await call(broker, 'PUT', '/api/vhost-limits/limited/max-connections', { body: { value: -1 } })).status).toBe(204);
    const a = await amqpOutcome({ vhost: 'limited' });
    const b = await amqpOutcome({ vhost: 'limited' });
    expect(a.conn && b.conn).toBeDefined();
    await a.conn!.close();
    await b.conn!.close();
  });

  it('enforces max-queues with 406 PRECONDITION_FAILED on the declaring channel', async () => {
    const c = await connect(broker, { vhost: 'limited' });
    try {
      const x = await c.createChannel();
      await x.assertQueue('one');
      await x.assertQueue('two');
      // redeclaring an existing queue is fine
      await x.assertQueue('one');
      const closed = new Promise<Error>((resolve) => x.once('error', resolve));
      await expect(x.assertQueue('three')).rejects.toThrow(/406 \(PRECONDITION-FAILED\) with message "PRECONDITION_FAILED - cannot declare queue 'three': queue limit in vhost 'limited' \(2\) is reached"/);
      await closed;
      // deleting one makes room
      const y = await c.createChannel();
      await y.deleteQueue('two');
      await y.assertQueue('three');
      // the API's queue PUT meets the same limit
      const put = await call(broker, 'PUT', '/api/queues/limited/four', { body: { durable: true } });
      expect(put.status).toBe(400);
      expect((await put.json()).reason).toContain("queue limit in vhost 'limited' (2) is reached");
    } finally {
      await c.close();
    }
    expect((await call(broker, 'DELETE', '/api/vhost-limits/limited/max-queues')).status).toBe(204);
    expect(await getJson(broker, '/api/vhost-limits/limited')).toEqual([{ vhost: 'limited', value: { 'max-connections': -1 } }]);
  });
});

describe('user limits', () => {
  it('serves /api/user-limits: set, list, read own, clear', async () => {
    expect((await call(broker, 'PUT', '/api/user-limits/alice/max-connections', { body: { value: 1 } })).status).toBe(204);
    expect((await call(broker, 'PUT', '/api/user-limits/alice/max-channels', { body: { value: 2 } })).status).toBe(204);
    expect(JSON.stringify(await getJson(broker, '/api/user-limits'))).toBe(JSON.stringify([{ user: 'alice', value: { 'max-channels': 2, 'max-connections': 1 } }]));
    expect(await getJson(broker, '/api/user-limits/alice', basic('alice', 'alice-pw'))).toEqual([{ user: 'alice', value: { 'max-connections': 1, 'max-channels': 2 } }]);
    expect(await getJson(broker, '/api/user-limits/guest')).toEqual([]);
    expect((await call(broker, 'GET', '/api/user-limits', { auth: basic('alice', 'alice-pw') })).status).toBe(401);
    expect((await call(broker, 'GET', '/api/user-limits/guest', { auth: basic('alice', 'alice-pw') })).status).toBe(401);
    expect((await call(broker, 'GET', '/api/user-limits/nobody')).status).toBe(404);
    const bad = await call(broker, 'PUT', '/api/user-limits/alice/max-queues', { body: { value: 1 } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).reason).toBe('Unrecognised terms [{<<"max-queues">>,1}] in user-limits');
    // RabbitMQ 3.10, measured: an unknown user is a 400 with the backend's error term
    expect(await (await call(broker, 'PUT', '/api/user-limits/nobody/max-channels', { body: { value: 1 } })).json()).toEqual({ error: 'bad_request', reason: ['no_such_user', 'nobody'] });
  });

  it('enforces max-connections per user across protocols', async () => {
    const first = await amqpOutcome({ user: 'alice', password: 'alice-pw' });
    expect(first.conn).toBeDefined();
    const second = await amqpOutcome({ user: 'alice', password: 'alice-pw' });
    expect(second.error).toBe("530 NOT_ALLOWED - connection refused for user 'alice': user connection limit (1) is reached");
    expect(await connackRefusal(broker, { username: 'alice', password: 'alice-pw' })).toBe(5);
    // guest is not limited
    const guest = await stompitConnect(broker);
    await stompitDisconnect(guest);
    const m = await mqttConnect(broker);
    await m.endAsync();
    await first.conn!.close();
  });

  it('enforces max-channels per user across the user connections: 530 NOT_ALLOWED on the third channel.open', async () => {
    expect((await call(broker, 'PUT', '/api/user-limits/alice/max-connections', { body: { value: 2 } })).status).toBe(204);
    const c1 = await connect(broker, { user: 'alice', password: 'alice-pw' });
    const c2 = await connect(broker, { user: 'alice', password: 'alice-pw' });
    await c1.createChannel();
    const spare = await c2.createChannel();
    const closed = new Promise<Error>((resolve) => c2.once('error', resolve));
    await expect(c2.createChannel()).rejects.toThrow();
    expect((await closed).message).toContain("530 (NOT-ALLOWED) with message \"NOT_ALLOWED - number of channels opened for user 'alice' has reached the maximum allowed user limit of (2)\"");
    void spare;
    // c2's channel went with c2: a new connection may open one again
    const c3 = await connect(broker, { user: 'alice', password: 'alice-pw' });
    await c3.createChannel();
    await c3.close();
    await c1.close();
    expect((await call(broker, 'DELETE', '/api/user-limits/alice/max-channels')).status).toBe(204);
    expect(await getJson(broker, '/api/user-limits/alice')).toEqual([{ user: 'alice', value: { 'max-connections': 2 } }]);
    // deleting the user drops its limits
    expect((await call(broker, 'DELETE', '/api/users/alice')).status).toBe(204);
    expect(await getJson(broker, '/api/user-limits')).toEqual([]);
  });
});

describe('limits survive a restart with a data dir', () => {
  it('keeps operator policies, vhost limits and user limits', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'localmq-limits-'));
    try {
      let b = await startBroker({ dataDir: dir, ports: { amqp: 0, http: 0 } });
      expect((await call(b, 'PUT', '/api/operator-policies/%2F/op', { body: { pattern: '.*', definition: { 'max-length': 5 } } })).status).toBe(201);
      expect((await call(b, 'PUT', '/api/vhost-limits/%2F/max-queues', { body: { value: 7 } })).status).toBe(204);
      expect((await call(b, 'PUT', '/api/user-limits/guest/max-channels', { body: { value: 9 } })).status).toBe(204);
      await b.stop();
      b = await startBroker({ dataDir: dir, ports: { amqp: 0, http: 0 } });
      try {
        expect((await getJson(b, '/api/operator-policies')).map((p: { name: string }) => p.name)).toEqual(['op']);
        expect(await getJson(b, '/api/vhost-limits')).toEqual([{ vhost: '/', value: { 'max-queues': 7 } }]);
        expect(await getJson(b, '/api/user-limits')).toEqual([{ user: 'guest', value: { 'max-channels': 9 } }]);
      } finally {
        await b.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
