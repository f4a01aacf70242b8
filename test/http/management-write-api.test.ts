import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { amqpPort, connect } from '../helpers/amqp.js';
import { basic, call, getJson } from '../helpers/management.js';

/*
 * RabbitMQ's management API beyond reading: declaring and deleting through it, getting and
 * publishing messages, bindings, users, vhosts, permissions, connections, health checks,
 * pagination and the user tags. Shapes, status codes and error bodies follow
 * rabbitmq_management (rabbit_mgmt_wm_*.erl, rabbit_mgmt_util.erl) for 3.13/4.x.
 */

const ALICE = basic('alice', 'alice-secret'); // management
const MONA = basic('mona', 'mona-secret'); // monitoring
const POLLY = basic('polly', 'polly-secret'); // policymaker
const NOBODY = basic('nobody', 'nobody-secret'); // no tags

let broker: LocalMQ;
let conn: ChannelModel;
let ch: Channel;

beforeAll(async () => {
  broker = await startBroker({
    users: [
      { name: 'guest', password: 'guest', tags: ['administrator'] },
      { name: 'alice', password: 'alice-secret', tags: ['management'] },
      { name: 'mona', password: 'mona-secret', tags: ['monitoring'] },
      { name: 'polly', password: 'polly-secret', tags: ['policymaker'] },
      { name: 'nobody', password: 'nobody-secret', tags: [] },
    ],
  });
  conn = await connect(broker);
  ch = await conn.createChannel();
});

afterAll(async () => {
  await conn?.close().catch(() => undefined);
  await broker?.stop();
});

describe('overview and node', () => {
  it('has the fields tools read: versions, cluster name, node, listeners, totals, message stats', async () => {
    const o = await getJson(broker, '/api/overview');
    // the engine version's full version (4.2.9 by default: src/core/engine-versions.ts)
    expect(o).toMatchObject({ rabbitmq_version: broker.core.engineRules.fullVersion, product_version: broker.core.engineRules.fullVersion, management_version: expect.any(String), cluster_name: expect.any(String), node: expect.any(String), rates_mode: 'basic' });
    expect(o.listeners).toContainEqual(expect.objectContaining({ protocol: 'amqp', port: amqpPort(broker), node: o.node }));
    expect(Object.keys(o.object_totals).sort()).toEqual(['channels', 'connections', 'consumers', 'exchanges', 'queues']);
    expect(o.queue_totals).toMatchObject({ messages: expect.any(Number), messages_details: { rate: expect.any(Number) } });
    expect(o.message_stats).toMatchObject({ publish: expect.any(Number), publish_details: { rate: expect.any(Number) }, ack_details: { rate: expect.any(Number) } });
  });

  it('answers nodes, extensions, cluster-name, whoami and auth', async () => {
    const nodes = await getJson<any[]>(broker, '/api/nodes');
    expect(nodes).toHaveLength(1);
    expect(nodes[0]).toMatchObject({ running: true, type: 'disc', mem_used: expect.any(Number), disk_free: expect.any(Number), mem_alarm: false });
    expect(await getJson(broker, `/api/nodes/${encodeURIComponent(nodes[0].name)}`)).toMatchObject({ name: nodes[0].name });
    expect((await call(broker, 'GET', '/api/nodes/rabbit@elsewhere')).status).toBe(404);
    expect(await getJson(broker, '/api/extensions')).toEqual([]);
    expect((await call(broker, 'PUT', '/api/cluster-name', { body: { name: 'local-cluster' } })).status).toBe(204);
    expect(await getJson(broker, '/api/cluster-name')).toEqual({ name: 'local-cluster' });
    expect((await getJson(broker, '/api/overview')).cluster_name).toBe('local-cluster');
    expect(await getJson(broker, '/api/whoami', POLLY)).toEqual({ name: 'polly', tags: ['policymaker'] });
    const auth = await call(broker, 'GET', '/api/auth', { auth: null });
    expect(auth.status).toBe(200);
    expect(await auth.json()).toMatchObject({ oauth_enabled: false });
  });
});

describe('vhosts, users, permissions', () => {
  it('creates (201), updates (204), shows and deletes a vhost', async () => {
    expect((await call(broker, 'PUT', '/api/vhosts/staging', { body: { description: 'stage', tags: 'a,b', default_queue_type: 'classic' } })).status).toBe(201);
    expect((await call(broker, 'PUT', '/api/vhosts/staging', { body: { description: 'staging env' } })).status).toBe(204);
    expect(await getJson(broker, '/api/vhosts/staging')).toMatchObject({ name: 'staging', description: 'staging env', tags: ['a', 'b'], messages: 0 });
    expect((await call(broker, 'DELETE', '/api/vhosts/staging')).status).toBe(204);
    expect((await call(broker, 'GET', '/api/vhosts/staging')).status).toBe(404);
    expect((await call(broker, 'DELETE', '/api/vhosts/staging')).status).toBe(404);
  });

  it('creates a user who then logs in over AMQP, and keeps a password_hash given as is', async () => {
    expect((await call(broker, 'PUT', '/api/users/carol', { body: { password: 'carol-pw', tags: 'management' } })).status).toBe(201);
    expect((await call(broker, 'PUT', '/api/permissions/%2F/carol', { body: { configure: '^carol\\.', write: '.*', read: '.*' } })).status).toBe(201);
    expect(await getJson(broker, '/api/permissions/%2F/carol')).toEqual({ user: 'carol', vhost: '/', configure: '^carol\\.', write: '.*', read: '.*' });
    const carol = await connect(broker, { user: 'carol', password: 'carol-pw' });
    await carol.close();
    const u = await getJson(broker, '/api/users/carol');
    expect(u).toMatchObject({ name: 'carol', tags: ['management'], hashing_algorithm: 'rabbit_password_hashing_sha256' });
    expect((await call(broker, 'PUT', '/api/users/dave', { body: { password_hash: u.password_hash, tags: [] } })).status).toBe(201);
    const dave = await connect(broker, { user: 'dave', password: 'carol-pw' }).catch((e: Error) => e);
    // dave has the right password but no permissions in '/': refused at connection.open
    expect(dave).toBeInstanceOf(Error);
    expect((await getJson<any[]>(broker, '/api/users/without-permissions')).map((x) => x.name)).toContain('dave');
    expect((await call(broker, 'PUT', '/api/users/erin', { body: { password: 'x' } })).status).toBe(400);
    expect((await call(broker, 'DELETE', '/api/permissions/%2F/carol')).status).toBe(204);
    expect((await call(broker, 'GET', '/api/permissions/%2F/carol')).status).toBe(404);
    expect((await call(broker, 'DELETE', '/api/users/dave')).status).toBe(204);
    expect((await call(broker, 'GET', '/api/users/dave')).status).toBe(404);
  });

  it('keeps topic permissions', async () => {
    expect((await call(broker, 'PUT', '/api/topic-permissions/%2F/alice', { body: { exchange: 'amq.topic', write: '^a', read: '.*' } })).status).toBe(201);
    expect(await getJson(broker, '/api/topic-permissions/%2F/alice')).toEqual([{ user: 'alice', vhost: '/', exchange: 'amq.topic', write: '^a', read: '.*' }]);
    expect((await call(broker, 'DELETE', '/api/topic-permissions/%2F/alice')).status).toBe(204);
  });
});

describe('queues', () => {
  it('declares with PUT (201, then 204), refuses an inequivalent redeclare (400) and amqplib sees the queue', async () => {
    expect((await call(broker, 'PUT', '/api/queues/%2F/api.q1', { body: { durable: true, arguments: { 'x-max-length': 100 } } })).status).toBe(201);
    expect((await call(broker, 'PUT', '/api/queues/%2F/api.q1', { body: { durable: true, arguments: { 'x-max-length': 100 } } })).status).toBe(204);
    const refused = await call(broker, 'PUT', '/api/queues/%2F/api.q1', { body: { durable: false } });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({ error: 'bad_request', reason: "inequivalent arg 'durable' for queue 'api.q1' in vhost '/': received 'false' but current is 'true'" });
    expect(await ch.checkQueue('api.q1')).toMatchObject({ queue: 'api.q1', messageCount: 0 });
    // a durable queue that names no type has the version's default (quorum on 4.2+)
    const type = broker.core.engineRules.defaultQueueType;
    expect(await getJson(broker, '/api/queues/%2F/api.q1')).toMatchObject({ name: 'api.q1', durable: true, arguments: { 'x-max-length': 100 }, type, policy: null, consumer_details: [] });
  });

  it('gets messages by every ack mode, distinct within a batch, as RabbitMQ does', async () => {
    await ch.assertQueue('api.get');
    for (let i = 1; i <= 3; i++) ch.sendToQueue('api.get', Buffer.from(`m${i}`), { headers: { n: i }, contentType: 'text/plain' });
    ch.sendToQueue('api.get', Buffer.from([0xff, 0x00]));
    await waitForCount('api.get', 4);
    const requeued = await call(broker, 'POST', '/api/queues/%2F/api.get/get', { body: { count: 2, ackmode: 'ack_requeue_true', encoding: 'auto', truncate: 50000 } });
    expect(requeued.status).toBe(200);
    const two: any = await requeued.json();
    expect(two).toHaveLength(2);
    expect(two[0]).toEqual({ payload_bytes: 2, redelivered: false, exchange: '', routing_key: 'api.get', message_count: 3, properties: { content_type: 'text/plain', headers: { n: 1 } }, payload: 'm1', payload_encoding: 'string' });
    expect(two[1].payload).toBe('m2');
    expect(broker.queue('api.get').messageCount()).toBe(4);
    const again: any = await (await call(broker, 'POST', '/api/queues/%2F/api.get/get', { body: { count: 1, ackmode: 'reject_requeue_true', encoding: 'base64' } })).json();
    expect(again[0]).toMatchObject({ redelivered: true, payload: Buffer.from('m1').toString('base64'), payload_encoding: 'base64' });
    const consumed: any = await (await call(broker, 'POST', '/api/queues/%2F/api.get/get', { body: { count: 10, ackmode: 'ack_requeue_false', encoding: 'auto', truncate: 1 } })).json();
    expect(consumed.map((m: any) => m.payload)).toEqual(['m', 'm', 'm', Buffer.from([0xff]).toString('base64')]);
    expect(consumed[3].payload_encoding).toBe('base64');
    expect(broker.queue('api.get').messageCount()).toBe(0);
    const bad = await call(broker, 'POST', '/api/queues/%2F/api.get/get', { body: { count: 1, ackmode: 'nope', encoding: 'auto' } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).reason).toMatch(/^Invalid ackmode value: nope/);
    const missing = await call(broker, 'POST', '/api/queues/%2F/no.such/get', { body: { count: 1, ackmode: 'ack_requeue_false', encoding: 'auto' } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'not_found', reason: 'queue_not_found' });
  });

  it('purges (visible to amqplib) and deletes with if-empty / if-unused', async () => {
    await ch.assertQueue('api.del');
    ch.sendToQueue('api.del', Buffer.from('x'));
    await waitForCount('api.del', 1);
    const notEmpty = await call(broker, 'DELETE', '/api/queues/%2F/api.del?if-empty=true');
    expect(notEmpty.status).toBe(400);
    expect(await notEmpty.json()).toEqual({ error: 'bad_request', reason: "queue 'api.del' in vhost '/' not empty" });
    expect((await call(broker, 'DELETE', '/api/queues/%2F/api.del/contents')).status).toBe(204);
    expect((await ch.checkQueue('api.del')).messageCount).toBe(0);
    const consumer = await ch.consume('api.del', () => undefined);
    expect((await call(broker, 'DELETE', '/api/queues/%2F/api.del?if-unused=true')).status).toBe(400);
    await ch.cancel(consumer.consumerTag);
    expect((await call(broker, 'DELETE', '/api/queues/%2F/api.del?if-empty=true&if-unused=true')).status).toBe(204);
    expect(broker.queue('api.del').exists()).toBe(false);
    expect((await call(broker, 'DELETE', '/api/queues/%2F/api.del')).status).toBe(404);
  });
});

describe('exchanges and bindings', () => {
  it('declares an exchange, binds a queue with POST (201 + Location), publishes through it and unbinds', async () => {
    expect((await call(broker, 'PUT', '/api/exchanges/%2F/api.x', { body: { type: 'topic', durable: true } })).status).toBe(201);
    // the single exchange carries its (basic rates mode: empty) incoming/outgoing breakdowns, as RabbitMQ 3.10 shows them
    expect(await getJson(broker, '/api/exchanges/%2F/api.x')).toEqual({ name: 'api.x', vhost: '/', type: 'topic', durable: true, auto_delete: false, internal: false, arguments: {}, incoming: [], outgoing: [] });
    await ch.assertQueue('api.bound');
    const bound = await call(broker, 'POST', '/api/bindings/%2F/e/api.x/q/api.bound', { body: { routing_key: 'order.*', arguments: {} } });
    expect(bound.status).toBe(201);
    const location = bound.headers.get('location')!;
    expect(location).toBe('/api/bindings/%2F/e/api.x/q/api.bound/order.*');
    expect(await getJson(broker, location)).toMatchObject({ source: 'api.x', destination: 'api.bound', destination_type: 'queue', routing_key: 'order.*', properties_key: 'order.*' });
    expect((await getJson<any[]>(broker, '/api/exchanges/%2F/api.x/bindings/source')).map((b) => b.destination)).toEqual(['api.bound']);
    expect((await getJson<any[]>(broker, '/api/queues/%2F/api.bound/bindings')).map((b) => b.source)).toEqual(['', 'api.x']);

    const published = await call(broker, 'POST', '/api/exchanges/%2F/api.x/publish', {
      body: { routing_key: 'order.created', payload: 'hello', payload_encoding: 'string', properties: { delivery_mode: 2, headers: { origin: 'api' }, message_id: 'm-1' } },
    });
    expect(published.status).toBe(200);
    expect(await published.json()).toEqual({ routed: true });
    const got = await ch.get('api.bound', { noAck: true });
    expect(got && got.content.toString()).toBe('hello');
    expect(got && got.properties).toMatchObject({ deliveryMode: 2, messageId: 'm-1', headers: { origin: 'api' } });
    const unroutable = await call(broker, 'POST', '/api/exchanges/%2F/api.x/publish', { body: { routing_key: 'nothing', payload: 'aGk=', payload_encoding: 'base64', properties: {} } });
    expect(await unroutable.json()).toEqual({ routed: false });

    const inUse = await call(broker, 'DELETE', '/api/exchanges/%2F/api.x?if-unused=true');
    expect(inUse.status).toBe(400);
    expect((await call(broker, 'DELETE', location)).status).toBe(204);
    expect((await call(broker, 'GET', location)).status).toBe(404);
    const after = await call(broker, 'POST', '/api/exchanges/%2F/api.x/publish', { body: { routing_key: 'order.created', payload: 'lost', payload_encoding: 'string', properties: {} } });
    expect(await after.json()).toEqual({ routed: false });
    expect((await call(broker, 'DELETE', '/api/exchanges/%2F/api.x?if-unused=true')).status).toBe(204);
    expect((await call(broker, 'GET', '/api/exchanges/%2F/api.x')).status).toBe(404);
    const noExchange = await call(broker, 'POST', '/api/exchanges/%2F/api.x/publish', { body: { routing_key: 'k', payload: 'p', payload_encoding: 'string', properties: {} } });
    expect(noExchange.status).toBe(404);
    expect(await noExchange.json()).toEqual({ error: 'not_found', reason: 'exchange_not_found' });
  });

  it('publishes to the default exchange as amq.default', async () => {
    await ch.assertQueue('api.default');
    const res = await call(broker, 'POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: 'api.default', payload: 'via default', payload_encoding: 'string', properties: {} } });
    expect(await res.json()).toEqual({ routed: true });
    expect((await ch.get('api.default', { noAck: true }) || undefined)?.content.toString()).toBe('via default');
  });

  it('refuses an expiration the channel would refuse: 400 with the 406 text (RabbitMQ 3.10.8, review-s16-2 E4; the old code routed it)', async () => {
    await ch.assertQueue('api.badexp');
    for (const [expiration, reason] of [
      ['-1', '{value_negative,-1}'],
      ['abc', 'no_integer'],
      ['', 'no_integer'], // review-s17-2 E4b: '' was routed (RabbitMQ 3.10.8 asked: 400, the same 406 text)
    ]) {
      const res = await call(broker, 'POST', '/api/exchanges/%2F/amq.default/publish', { body: { routing_key: 'api.badexp', payload: 'x', payload_encoding: 'string', properties: { expiration } } });
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'bad_request', reason: `406 PRECONDITION_FAILED - invalid expiration '${expiration}': ${reason}` });
    }
    expect((await ch.checkQueue('api.badexp')).messageCount).toBe(0);
  });
});

describe('connections, channels, consumers', () => {
  it('finds a client connection by its RabbitMQ name, lists its channels and consumers, and closes it with 320 and X-Reason', async () => {
    const other = await amqplib.connect(`${broker.urls.amqp!.replace('amqp://', 'amqp://guest:guest@')}`, { clientProperties: { connection_name: 'billing-worker' } });
    const och = await other.createChannel();
    await och.prefetch(7);
    await och.assertQueue('api.consumed');
    await och.consume('api.consumed', () => undefined, { consumerTag: 'billing-1' });
    const conns = await getJson<any[]>(broker, '/api/connections');
    const mine = conns.find((c) => c.user_provided_name === 'billing-worker');
    expect(mine).toMatchObject({ protocol: 'AMQP 0-9-1', user: 'guest', vhost: '/', state: 'running', peer_host: '127.0.0.1', port: amqpPort(broker), channels: 1 });
    expect(mine.name).toBe(`127.0.0.1:${mine.peer_port} -> 127.0.0.1:${amqpPort(broker)}`);
    const name = encodeURIComponent(mine.name);
    expect(await getJson(broker, `/api/connections/${name}`)).toMatchObject({ name: mine.name, client_properties: { connection_name: 'billing-worker' } });
    const channels = await getJson<any[]>(broker, `/api/connections/${name}/channels`);
    expect(channels).toEqual([expect.objectContaining({ name: `${mine.name} (1)`, number: 1, consumer_count: 1, prefetch_count: 7, confirm: false })]);
    expect(await getJson(broker, `/api/channels/${encodeURIComponent(`${mine.name} (1)`)}`)).toMatchObject({ number: 1 });
    const consumers = await getJson<any[]>(broker, '/api/consumers/%2F');
    expect(consumers.find((c) => c.consumer_tag === 'billing-1')).toMatchObject({ queue: { name: 'api.consumed', vhost: '/' }, ack_required: true, prefetch_count: 7, channel_details: { connection_name: mine.name, number: 1 } });

    // amqplib reports 320 CONNECTION_FORCED on 'close' (it is not a fatal error to amqplib)
    const closed = new Promise<Error>((resolve) => other.on('close', resolve));
    const res = await call(broker, 'DELETE', `/api/connections/${name}`, { headers: { 'X-Reason': 'maintenance window' } });
    expect(res.status).toBe(204);
    const err = await closed;
    expect(err.message).toContain('CONNECTION_FORCED - maintenance window');
    expect((err as Error & { code?: number }).code).toBe(320);
    expect((await call(broker, 'GET', `/api/connections/${name}`)).status).toBe(404);
  });
});

describe('user tags', () => {
  it('refuses a management user an administrator call, and a monitoring call, with RabbitMQ\'s bodies', async () => {
    const admin = await call(broker, 'GET', '/api/users', { auth: ALICE });
    expect(admin.status).toBe(401);
    expect(await admin.json()).toEqual({ error: 'not_authorised', reason: 'Not administrator user' });
    const nodes = await call(broker, 'GET', '/api/nodes', { auth: ALICE });
    expect(await nodes.json()).toEqual({ error: 'not_authorised', reason: 'Not monitor user' });
    expect((await call(broker, 'GET', '/api/nodes', { auth: MONA })).status).toBe(200);
    const none = await call(broker, 'GET', '/api/overview', { auth: NOBODY });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: 'not_authorised', reason: 'Not management user' });
    expect((await call(broker, 'PUT', '/api/policies/%2F/p', { body: { pattern: '.*', definition: { 'max-length': 1 } }, auth: ALICE })).status).toBe(401);
    expect((await call(broker, 'GET', '/api/policies', { auth: POLLY })).status).toBe(200);
    expect((await call(broker, 'DELETE', '/api/vhosts/%2F', { auth: MONA })).status).toBe(401);
    expect(broker.core.vhost('/')).toBeDefined();
  });
});

describe('parameters', () => {
  it('keeps global parameters, and refuses runtime parameters of plugins LocalMQ does not run, as RabbitMQ without them', async () => {
    expect((await call(broker, 'PUT', '/api/global-parameters/my-setting', { body: { value: { a: 1 } } })).status).toBe(201);
    expect(await getJson(broker, '/api/global-parameters/my-setting')).toEqual({ name: 'my-setting', value: { a: 1 } });
    expect((await call(broker, 'DELETE', '/api/global-parameters/my-setting')).status).toBe(204);
    const fed = await call(broker, 'PUT', '/api/parameters/federation-upstream/%2F/up', { body: { value: { uri: 'amqp://elsewhere' } } });
    expect(fed.status).toBe(400);
    expect(await fed.json()).toEqual({ error: 'bad_request', reason: 'Validation failed\n\ncomponent federation-upstream not found\n' });
    expect(await getJson(broker, '/api/parameters')).toEqual([]);
  });
});

describe('bad input', () => {
  it('answers an unknown vhost, malformed JSON, a wrong password and a wrong method as RabbitMQ does, and keeps serving', async () => {
    expect((await call(broker, 'GET', '/api/queues/no-such-vhost')).status).toBe(404);
    expect(await (await call(broker, 'GET', '/api/exchanges/no-such-vhost/x')).json()).toEqual({ error: 'Object Not Found', reason: 'Not Found' });
    const malformed = await call(broker, 'PUT', '/api/queues/%2F/q', { raw: '{"durable": tru', headers: { 'content-type': 'application/json' } });
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toEqual({ error: 'bad_request', reason: 'not_json' });
    const notObject = await call(broker, 'PUT', '/api/queues/%2F/q', { raw: '[1,2]' });
    expect(await notObject.json()).toEqual({ error: 'bad_request', reason: 'not_json' });
    const wrong = await call(broker, 'GET', '/api/overview', { auth: basic('guest', 'nope') });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'not_authorized', reason: 'Login failed' });
    expect((await call(broker, 'PATCH', '/api/overview')).status).toBe(405);
    expect((await call(broker, 'GET', '/api/overview')).status).toBe(200);
  });
});

describe('pagination, sorting and columns', () => {
  it('pages, filters by name (substring and regex), sorts and cuts columns as rabbit_mgmt_util does', async () => {
    for (const n of ['page.a', 'page.b', 'page.c']) await ch.assertQueue(n);
    const page = await getJson(broker, '/api/queues/%2F?page=1&page_size=2&name=page.&sort=name&sort_reverse=true&columns=name,messages');
    expect(page).toEqual({ total_count: expect.any(Number), item_count: 2, filtered_count: 3, page: 1, page_size: 2, page_count: 2, items: [{ name: 'page.c', messages: 0 }, { name: 'page.b', messages: 0 }] });
    const regex = await getJson(broker, '/api/queues/%2F?page=1&name=^PAGE\\.[ab]$&use_regex=true&columns=name');
    expect(regex.items).toEqual([{ name: 'page.a' }, { name: 'page.b' }]);
    const cols = await getJson<any[]>(broker, '/api/queues?columns=name,message_stats.publish');
    expect(cols.find((q) => q.name === 'page.a')).toEqual({ name: 'page.a', message_stats: { publish: 0 } });
    const bad = await call(broker, 'GET', '/api/queues?page=0');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toEqual({ error: 'invalid_pagination_parameters', reason: 'Invalid pagination parameters: page number 0, page size undefined' });
    const beyond = await call(broker, 'GET', '/api/queues?page=99&page_size=1');
    expect(beyond.status).toBe(400);
    expect((await beyond.json()).error).toBe('page_out_of_range');
  });
});

describe('health checks', () => {
  it('answers the checks orchestrators call', async () => {
    for (const path of ['/api/health/checks/alarms', '/api/health/checks/local-alarms', '/api/health/checks/virtual-hosts', `/api/health/checks/port-listener/${amqpPort(broker)}`, '/api/health/checks/protocol-listener/amqp', '/api/aliveness-test/%2F']) {
      const res = await call(broker, 'GET', path);
      expect(res.status, path).toBe(200);
      expect((await res.json()).status).toBe('ok');
    }
    const closed = await call(broker, 'GET', '/api/health/checks/port-listener/1');
    expect(closed.status).toBe(503);
    expect(await closed.json()).toMatchObject({ status: 'failed', reason: 'No active listener', missing: 1 });
    expect((await call(broker, 'GET', '/api/aliveness-test/nowhere')).status).toBe(404);
  });
});

describe('definitions', () => {
  it('round-trips an export into a fresh broker, and exports one vhost', async () => {
    await call(broker, 'PUT', '/api/exchanges/%2F/defs.x', { body: { type: 'fanout' } });
    await call(broker, 'PUT', '/api/queues/%2F/defs.q', { body: { durable: true, arguments: { 'x-message-ttl': 60000 } } });
    await call(broker, 'POST', '/api/bindings/%2F/e/defs.x/q/defs.q', { body: { routing_key: '' } });
    await call(broker, 'PUT', '/api/policies/%2F/defs-limit', { body: { pattern: '^defs\\.', definition: { 'max-length': 10 }, priority: 1, 'apply-to': 'queues' } });
    const exported = await getJson(broker, '/api/definitions');
    const fresh = await startBroker();
    try {
      expect((await call(fresh, 'POST', '/api/definitions', { body: exported })).status).toBe(204);
      const again = await getJson(fresh, '/api/definitions');
      for (const key of ['queues', 'exchanges', 'bindings', 'policies', 'users', 'permissions']) expect(again[key], key).toEqual(exported[key]);
      expect(await getJson(fresh, '/api/queues/%2F/defs.q')).toMatchObject({ policy: 'defs-limit', effective_policy_definition: { 'max-length': 10 } });
    } finally {
      await fresh.stop();
    }
    const one = await getJson(broker, '/api/definitions/%2F');
    expect(one.users).toBeUndefined();
    // a durable queue that names no type: the version's default, written in on 4.x
    const rules = broker.core.engineRules;
    const implicit = rules.writesImplicitQueueType ? { 'x-queue-type': rules.defaultQueueType } : {};
    expect(one.queues.find((q: any) => q.name === 'defs.q')).toEqual({ name: 'defs.q', durable: true, auto_delete: false, arguments: { 'x-message-ttl': 60000, ...implicit }, type: rules.defaultQueueType });
    const bad = await call(broker, 'POST', '/api/definitions', { body: { queues: [{ name: 'q', vhost: 'missing' }] } });
    expect(bad.status).toBe(400);
  });
});

/** resolves once the queue holds `n` ready messages (published before, or later) */
async function waitForCount(queue: string, n: number): Promise<void> {
  if (broker.queue(queue).messageCount() >= n) return;
  await new Promise<void>((resolve) => {
    const check = () => {
      if (broker.queue(queue).messageCount() >= n) {
        broker.events.off('published', check);
        resolve();
      }
    };
    broker.events.on('published', check);
  });
}
