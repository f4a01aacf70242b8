import { beforeAll, describe, expect, it } from 'vitest';
import { addTopicUser, useBroker } from '../helpers/broker.js';
import { RawStomp, getHeader, stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

/**
 * RabbitMQ's topic permissions over STOMP (rabbit_stomp_processor: check_topic_authorisation
 * on SEND, check_subscription_binding_access on SUBSCRIBE): a destination on a topic exchange
 * (/topic/<key> on amq.topic, /exchange/<topic exchange>/<key>) needs `write` on the routing
 * key to SEND and `read` on the binding key to SUBSCRIBE. A refusal is an ERROR frame with
 * `message:access_refused` and the AMQP reply text, then the connection closes.
 * rabbitmq_stomp's own python suite pins the SEND case: topic_permissions.test_publish_authorisation
 * sets `'^{username}.Authorised'` for both and expects access_refused on /topic/guest.RestrictedTopic.
 */
const broker = useBroker();
const LOGIN = { login: 'stomp-user', passcode: 'stomp-user-pass' };

beforeAll(() => {
  addTopicUser(broker(), LOGIN.login, LOGIN.passcode, { write: '^{username}.Authorised', read: '^{username}.Authorised' });
});

/**
 * The refusal as the client reads it, on the wire: stompit hands an ERROR frame with a
 * text/plain body to the frame stream, not the client (its onError destroys `this`, the
 * frame), so the body is read here from raw frames.
 */
async function refusal(command: string, headers: Record<string, string>): Promise<{ message: string | undefined; body: string }> {
  const { client } = await RawStomp.connected(broker(), LOGIN);
  client.send(command, headers, command === 'SEND' ? 'hello' : '');
  const f = await client.frame('ERROR');
  await client.whenClosed();
  return { message: getHeader(f, 'message'), body: f.body.toString() };
}

describe('STOMP: topic permissions (RabbitMQ STOMP plugin)', () => {
  it('SEND and SUBSCRIBE on an authorised topic work ({username} expanded)', async () => {
    const client = await stompitConnect(broker(), LOGIN);
    const sub = stompitSubscribe(client, { destination: '/topic/stomp-user.AuthorisedTopic', ack: 'auto' });
    await stompitSend(client, { destination: '/topic/stomp-user.AuthorisedTopic' }, 'authorised hello');
    const m = await sub.next();
    expect(m.body).toBe('authorised hello');
    expect(m.headers['destination']).toBe('/topic/stomp-user.AuthorisedTopic');
    await stompitDisconnect(client);
  });

  it('SEND to a restricted topic: ERROR access_refused with the write-access text, and the connection closes', async () => {
    const e = await refusal('SEND', { destination: '/topic/stomp-user.RestrictedTopic' });
    expect(e.message).toBe('access_refused');
    expect(e.body).toBe("ACCESS_REFUSED - write access to topic 'stomp-user.RestrictedTopic' in exchange 'amq.topic' in vhost '/' refused for user 'stomp-user'");
  });

  it('SUBSCRIBE to a restricted topic: ERROR access_refused with the read-access text', async () => {
    const e = await refusal('SUBSCRIBE', { destination: '/topic/other.#', id: 's1' });
    expect(e.message).toBe('access_refused');
    expect(e.body).toBe("ACCESS_REFUSED - read access to topic 'other.#' in exchange 'amq.topic' in vhost '/' refused for user 'stomp-user'");
  });

  it('/exchange/amq.topic/<key> is checked the same; /exchange/amq.direct/<key> (not a topic exchange) is not', async () => {
    const client = await stompitConnect(broker(), LOGIN);
    await stompitSend(client, { destination: '/exchange/amq.direct/anything' }, 'direct');
    await stompitDisconnect(client);
    const e = await refusal('SEND', { destination: '/exchange/amq.topic/elsewhere' });
    expect(e.message).toBe('access_refused');
    expect(e.body).toContain("write access to topic 'elsewhere' in exchange 'amq.topic'");
  });
});
