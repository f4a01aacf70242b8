import { beforeAll, describe, expect, it } from 'vitest';
import { channelClosed, connect } from '../helpers/amqp.js';
import { addTopicUser, useBroker } from '../helpers/broker.js';
import { call } from '../helpers/management.js';

/**
 * RabbitMQ's topic permissions over AMQP 0-9-1 (rabbit_channel check_topic_authorisation,
 * rabbit_auth_backend_internal check_topic_access, rabbit_access_control's text): on a
 * topic exchange only, `write` on basic.publish (every routing key: the key, CC and BCC),
 * `read` on queue.bind / unbind and exchange.bind (the source). No topic permission for the
 * exchange: allowed. Patterns are unanchored, "" is "^$", `{username}` and `{vhost}` expand.
 * A refusal closes the channel with 403 ACCESS_REFUSED.
 */
const broker = useBroker();
const APP = { user: 'app', password: 'app-password-1' };

beforeAll(() => {
  const b = broker();
  addTopicUser(b, APP.user, APP.password, { write: '^{username}\\.', read: '^{vhost}\\.{username}\\.|^public\\.' });
  // a topic exchange with an empty read pattern: nothing may be bound to it ("" is "^$")
  b.users.setTopicPermission({ user: APP.user, vhost: '/', exchange: 'closed.topic', write: '', read: '' });
});

async function appChannel() {
  const c = await connect(broker(), { user: APP.user, password: APP.password });
  return { c, ch: await c.createChannel() };
}

describe('AMQP 0-9-1: topic permissions (RabbitMQ 3.7+)', () => {
  it('a publish whose routing key matches the write pattern after {username} expands is routed', async () => {
    const admin = await connect(broker());
    const ach = await admin.createChannel();
    const q = (await ach.assertQueue('', { exclusive: true })).queue;
    await ach.bindQueue(q, 'amq.topic', 'app.#');
    const { c } = await appChannel();
    const ch = await c.createConfirmChannel();
    ch.publish('amq.topic', 'app.orders', Buffer.from('allowed'));
    await ch.waitForConfirms();
    const got = await ach.get(q, { noAck: true });
    expect(got && got.content.toString()).toBe('allowed');
    await c.close();
    await admin.close();
  });

  it('a publish outside the write pattern closes the channel: 403 with rabbit_access_control\'s text', async () => {
    const { c, ch } = await appChannel();
    const closed = channelClosed(ch);
    ch.publish('amq.topic', 'other.orders', Buffer.from('no'));
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain("ACCESS_REFUSED - write access to topic 'other.orders' in exchange 'amq.topic' in vhost '/' refused for user 'app'");
    await c.close();
  });

  it('every routing key of the publish is checked: a CC key outside the pattern is refused', async () => {
    const { c, ch } = await appChannel();
    const closed = channelClosed(ch);
    ch.publish('amq.topic', 'app.ok', Buffer.from('no'), { headers: { CC: ['app.also', 'elsewhere'] } });
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain("write access to topic 'elsewhere' in exchange 'amq.topic'");
    await c.close();
  });

  it('only topic exchanges are checked: the same key through amq.direct or the default exchange passes', async () => {
    const { c } = await appChannel();
    const ch = await c.createConfirmChannel();
    ch.publish('amq.direct', 'other.orders', Buffer.from('direct'));
    ch.publish('', 'other.orders', Buffer.from('default'));
    await ch.waitForConfirms();
    await c.close();
  });

  it('a topic exchange without a topic permission for the user is not restricted', async () => {
    const admin = await connect(broker());
    const ach = await admin.createChannel();
    await ach.assertExchange('free.topic', 'topic', { autoDelete: false });
    const { c } = await appChannel();
    const ch = await c.createConfirmChannel();
    ch.publish('free.topic', 'anything.at.all', Buffer.from('x'));
    await ch.waitForConfirms();
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    await ch.bindQueue(q, 'free.topic', 'whatever.#');
    await c.close();
    await admin.close();
  });

  it('queue.bind needs read on the binding key ({vhost} and {username} expanded); unbind too', async () => {
    const { c, ch } = await appChannel();
    const q = (await ch.assertQueue('', { exclusive: false, autoDelete: false })).queue;
    await ch.bindQueue(q, 'amq.topic', '/.app.#');
    await ch.bindQueue(q, 'amq.topic', 'public.news');
    await ch.unbindQueue(q, 'amq.topic', 'public.news');
    const closed = channelClosed(ch);
    await expect(ch.bindQueue(q, 'amq.topic', 'private.#')).rejects.toThrow();
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain("ACCESS_REFUSED - read access to topic 'private.#' in exchange 'amq.topic' in vhost '/' refused for user 'app'");
    const ch2 = await c.createChannel();
    const closed2 = channelClosed(ch2);
    await expect(ch2.unbindQueue(q, 'amq.topic', 'private.#')).rejects.toThrow();
    expect((await closed2).code).toBe(403);
    await (await c.createChannel()).deleteQueue(q);
    await c.close();
  });

  it('an empty pattern allows nothing; exchange.bind checks read on its source', async () => {
    const admin = await connect(broker());
    const ach = await admin.createChannel();
    await ach.assertExchange('closed.topic', 'topic', { autoDelete: false });
    const { c, ch } = await appChannel();
    await ch.assertExchange('app.sink', 'fanout', { autoDelete: true });
    const closed = channelClosed(ch);
    await expect(ch.bindExchange('app.sink', 'closed.topic', 'a.b')).rejects.toThrow();
    const err = await closed;
    expect(err.message).toContain("read access to topic 'a.b' in exchange 'closed.topic' in vhost '/' refused for user 'app'");
    await c.close();
    await admin.close();
  });

  it('set through the management API, cleared through it: enforced at once', async () => {
    const api = (method: string, path: string, body?: unknown) => call(broker(), method, path, body === undefined ? {} : { body });
    const b = broker();
    b.users.addUser('api-user', 'api-user-pass', []);
    b.users.setPermission({ user: 'api-user', vhost: '/', configure: '.*', write: '.*', read: '.*' });
    expect((await api('PUT', '/api/topic-permissions/%2F/api-user', { exchange: 'amq.topic', write: '^allowed\\.', read: '.*' })).status).toBe(201);
    const c = await connect(b, { user: 'api-user', password: 'api-user-pass' });
    const ch = await c.createChannel();
    const closed = channelClosed(ch);
    ch.publish('amq.topic', 'denied.x', Buffer.from('no'));
    expect((await closed).code).toBe(403);
    expect((await api('DELETE', '/api/topic-permissions/%2F/api-user')).status).toBe(204);
    const ch2 = await c.createConfirmChannel();
    ch2.publish('amq.topic', 'denied.x', Buffer.from('now allowed'));
    await ch2.waitForConfirms();
    await c.close();
  });
});
