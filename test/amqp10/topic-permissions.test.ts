import type { EventContext, Session } from 'rhea';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../helpers/amqp.js';
import { addTopicUser, useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

/**
 * RabbitMQ 4's topic permissions over AMQP 1.0 (rabbit_amqp_session
 * check_write_permitted_on_topics on a transfer, check_read_permitted_on_topic when a source
 * binds a queue): only on topic exchanges; a refused transfer is a protocol error that ends
 * the session with amqp:unauthorized-access and rabbit_access_control's text (a refused
 * source detaches its link, as this adapter's other attach-time permission refusals do).
 */
const broker = useBroker();
const port = () => broker().ports['amqp']!;
const APP = { username: 'amqp10-app', password: 'amqp10-app-pass' };

beforeAll(() => {
  addTopicUser(broker(), APP.username, APP.password, { write: '^app\\.', read: '^app\\.' });
});

/** the error a session ends with */
function sessionError(session: Session): Promise<{ condition?: string; description?: string }> {
  return new Promise((resolve) => session.once('session_error', (ctx: EventContext) => resolve(ctx.session!.error as { condition?: string; description?: string })));
}

describe('AMQP 1.0: topic permissions (RabbitMQ 4)', () => {
  it('a transfer to /exchanges/amq.topic/<allowed key> is accepted and routed', async () => {
    const admin = await connect(broker());
    const ach = await admin.createChannel();
    const q = (await ach.assertQueue('', { exclusive: true })).queue;
    await ach.bindQueue(q, 'amq.topic', 'app.#');
    const conn = await rheaConnect(port(), APP);
    const sender = await openSender(conn, { target: { address: '/exchanges/amq.topic/app.orders' } });
    expect((await sendAwait(sender, { body: 'allowed' })).outcome).toBe('accepted');
    const got = await ach.get(q, { noAck: true });
    expect(got && got.content.toString()).toBeTruthy();
    await rheaClose(conn);
    await admin.close();
  });

  it('a transfer with a routing key outside the write pattern ends the session: unauthorized-access', async () => {
    const conn = await rheaConnect(port(), APP);
    const session = conn.create_session();
    session.begin();
    const ended = sessionError(session);
    const sender = session.open_sender({ target: { address: '/exchanges/amq.topic/other.orders' } });
    sender.once('sendable', () => sender.send({ body: 'no' }));
    const error = await ended;
    expect(error.condition).toBe('amqp:unauthorized-access');
    expect(error.description).toBe("write access to topic 'other.orders' in exchange 'amq.topic' in vhost '/' refused for user 'amqp10-app'");
    await rheaClose(conn);
  });

  it('a source on /topic/<key> binds only keys the read pattern allows', async () => {
    const conn = await rheaConnect(port(), APP);
    const receiver = await openReceiver(conn, { source: { address: '/topic/app.news' } });
    const sender = await openSender(conn, { target: { address: '/exchanges/amq.topic/app.news' } });
    await sendAwait(sender, { body: 'news' });
    expect((await receiveN(receiver, 1))[0]!.message.body).toBe('news');
    // refused at attach like this adapter's other permission checks there: the link is detached with the error
    const refused = await openReceiver(conn, { source: { address: '/topic/private.#' } }).catch((e: Error & { condition?: string }) => e);
    expect((refused as { condition?: string }).condition).toBe('amqp:unauthorized-access');
    expect((refused as Error).message).toContain("read access to topic 'private.#' in exchange 'amq.topic' in vhost '/' refused for user 'amqp10-app'");
    await rheaClose(conn);
  });

  it('other exchange types are not checked', async () => {
    const conn = await rheaConnect(port(), APP);
    const sender = await openSender(conn, { target: { address: '/exchanges/amq.direct/other.orders' } });
    expect(['accepted', 'released']).toContain((await sendAwait(sender, { body: 'direct' })).outcome);
    await rheaClose(conn);
  });
});
