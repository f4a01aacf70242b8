import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { stompitConnect, stompitDisconnect, stompitSend, stompitSubscribe } from '../helpers/stomp.js';

// ActiveMQ's AMQP transport (the `activemq` profile: `amqp` 5672 and `amqp+ssl` 5671) with
// its JMS mapping (ActiveMQ's JMSMappingInbound/OutboundTransformer).
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, amqp10: 0 } });
const port = () => broker().ports['amqp10']!;
let seq = 0;
const unique = (p: string) => `${p}.${++seq}.${Date.now()}`;

describe('AMQP 1.0 in the ActiveMQ profile', () => {
  it('the endpoint table lists amqp and amqp+ssl, and AMQP 1.0 is no longer "not yet available"', () => {
    const keys = broker().endpoints.map((e) => e.key);
    expect(keys).toContain('amqp10');
    expect(keys).toContain('amqp10s');
    const tls = broker().endpoints.find((e) => e.key === 'amqp10s')!;
    expect(tls.url).toMatch(/^amqp\+ssl:\/\/localhost:\d+$/);
    expect(tls.amazonUrl).toMatch(/^amqp\+ssl:\/\/b-[0-9a-f-]{36}-1\.mq\.us-east-1\.amazonaws\.com:\d+$/);
  });

  it('queue://name and a plain name are the same queue, created on use', async () => {
    const q = unique('orders');
    const conn = await rheaConnect(port());
    const s1 = await openSender(conn, `queue://${q}`);
    const s2 = await openSender(conn, q);
    expect((await sendAwait(s1, { body: 'one' })).outcome).toBe('accepted');
    expect((await sendAwait(s2, { body: 'two' })).outcome).toBe('accepted');
    expect(broker().queue(q).info()).toMatchObject({ durable: true, messages: 2 });
    const rx = await openReceiver(conn, q);
    const got = await receiveN(rx, 2);
    expect(got.map((g) => g.message.body)).toEqual(['one', 'two']);
    // deliveries say where they came from, as ActiveMQ's JMS mapping does; ActiveMQ 5.x
    // writes no x-opt-jms-msg-type of its own (JMSMappingOutboundTransformer: only
    // x-opt-jms-dest and x-opt-jms-reply-to, plus the annotations the sender gave)
    expect(got[0]!.message.message_annotations).toEqual({ 'x-opt-jms-dest': 0 });
    await rheaClose(conn);
  });

  it('topic://name fans out to every subscriber; a topic with none takes the message and drops it', async () => {
    const t = unique('prices');
    const conn = await rheaConnect(port());
    const a = await openReceiver(conn, `topic://${t}`);
    const b = await openReceiver(conn, `topic://${t.split('.')[0]}.>`);
    const s = await openSender(conn, `topic://${t}`);
    expect((await sendAwait(s, { body: 'tick' })).outcome).toBe('accepted');
    expect((await receiveN(a, 1))[0]!.message.body).toBe('tick');
    const [fromWildcard] = await receiveN(b, 1);
    expect(fromWildcard!.message.body).toBe('tick');
    expect(fromWildcard!.message.message_annotations).toMatchObject({ 'x-opt-jms-dest': 1 });
    const lonely = await openSender(conn, `topic://${unique('nobody')}`);
    expect((await sendAwait(lonely, { body: 'x' })).outcome).toBe('accepted');
    await rheaClose(conn);
  });

  it('a text message from AMQP 1.0 is a text message to STOMP, properties and headers carried', async () => {
    const q = unique('to.stomp');
    const stomp = await stompitConnect(broker());
    const sub = stompitSubscribe(stomp, { destination: `/queue/${q}`, ack: 'auto' });
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    await sendAwait(s, {
      body: 'hello stomp',
      durable: true,
      priority: 7,
      subject: 'greeting',
      correlation_id: 'corr-1',
      reply_to: 'queue://answers',
      application_properties: { tenant: 'acme', n: 3 },
    });
    const m = await sub.next();
    expect(m.body).toBe('hello stomp');
    expect(m.headers).toMatchObject({ persistent: 'true', priority: '7', type: 'greeting', 'correlation-id': 'corr-1', 'reply-to': '/queue/answers', tenant: 'acme', n: '3' });
    // a text message: no content-length header (ActiveMQ writes it on bytes messages only)
    expect(m.headers['content-length']).toBeUndefined();
    await stompitDisconnect(stomp);
    await rheaClose(conn);
  });

  it('a STOMP SEND reaches an AMQP 1.0 receiver as an amqp-value string with the JMS destination annotations', async () => {
    const q = unique('from.stomp');
    const conn = await rheaConnect(port());
    const rx = await openReceiver(conn, `queue://${q}`);
    const stomp = await stompitConnect(broker());
    await stompitSend(stomp, { destination: `/queue/${q}`, persistent: 'true', 'reply-to': '/topic/back', color: 'blue' }, 'from stomp');
    const [{ message }] = await receiveN(rx, 1);
    expect(message.body).toBe('from stomp');
    expect(message.durable).toBe(true);
    expect(message.reply_to).toBe('topic://back');
    expect(message.to).toBe(`queue://${q}`);
    expect(message.application_properties).toMatchObject({ color: 'blue' });
    expect(message.message_annotations).toEqual({ 'x-opt-jms-dest': 0, 'x-opt-jms-reply-to': 1 });
    await stompitDisconnect(stomp);
    await rheaClose(conn);
  });

  it('the anonymous relay: a plain `to` is a queue, or a topic when x-opt-jms-dest says so (Qpid JMS)', async () => {
    const q = unique('relay.q');
    const t = unique('relay.t');
    const conn = await rheaConnect(port());
    const topicRx = await openReceiver(conn, `topic://${t}`);
    const relay = await openSender(conn, { target: {} });
    expect((await sendAwait(relay, { to: q, body: 'to a queue' })).outcome).toBe('accepted');
    expect((await sendAwait(relay, { to: t, body: 'to a topic', message_annotations: { 'x-opt-jms-dest': 1 } })).outcome).toBe('accepted');
    expect(broker().queue(q).messageCount()).toBe(1);
    expect((await receiveN(topicRx, 1))[0]!.message.body).toBe('to a topic');
    // no `to` at all: rejected, the link carries on
    const r = await sendAwait(relay, { body: 'nowhere' });
    expect(r.outcome).toBe('rejected');
    await rheaClose(conn);
  });

  it('a rejected persistent message goes to ActiveMQ.DLQ (ActiveMQ\'s dead-letter strategy, through the core)', async () => {
    const q = unique('poison');
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    await sendAwait(s, { body: 'poison', durable: true, message_id: 'poison-1' });
    const rx = await openReceiver(conn, { source: { address: `queue://${q}` }, autoaccept: false });
    const [got] = await receiveN(rx, 1);
    (got!.delivery as unknown as { reject(e?: object): void }).reject({ condition: 'app:poison' });
    const dlq = await openReceiver(conn, 'queue://ActiveMQ.DLQ');
    const [dead] = await receiveN(dlq, 1);
    expect(dead!.message.body).toBe('poison');
    expect(dead!.message.message_id).toBe('poison-1');
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 0 });
    await rheaClose(conn);
  });
});

