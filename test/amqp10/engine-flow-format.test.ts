import rhea, { type Sender } from 'rhea';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { once, openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

// What each engine's source says about the credit it grants a sending client, a transfer's
// message-format, and x-opt-jms-dest for a temporary queue.
const rabbit = useBroker();
const activemq = useBroker({ engine: 'activemq', ports: { amqp10: 0 } });
let seq = 0;
const unique = (p: string) => `${p}.${++seq}.${Date.now()}`;

const credit = (s: Sender) => (s as unknown as { credit: number }).credit;

/** send `n` pre-settled messages and wait until the queue holds `total` */
async function sendSettled(s: Sender, n: number, queueCount: () => number, total: number): Promise<void> {
  for (let i = 0; i < n; i++) s.send({ body: `m${i}` });
  while (queueCount() < total) await new Promise((r) => setImmediate(r));
}

describe('AMQP 1.0 link credit granted to a sender, per engine', () => {
  it('RabbitMQ 4: 170, topped up to 170 once down to half (rabbit_amqp_session DEFAULT_MAX_LINK_CREDIT, grant_link_credit)', async () => {
    const q = unique('credit-rabbit');
    const conn = await rheaConnect(rabbit().ports['amqp']!);
    const s = await openSender(conn, { target: { address: `/queue/${q}` }, snd_settle_mode: 1 });
    if (!s.sendable()) await once(s, 'sendable');
    expect(credit(s)).toBe(170);
    const count = () => rabbit().queue(q).messageCount();
    await sendSettled(s, 84, count, 84);
    expect(credit(s)).toBe(86); // above half: nothing granted yet
    const flow = once(s, 'sender_flow');
    await sendSettled(s, 1, count, 85);
    await flow;
    expect(credit(s)).toBe(170);
    await rheaClose(conn);
  });

  it('ActiveMQ 5.19: 1000 (AmqpWireFormat.DEFAULT_PRODUCER_CREDIT), 700 more once down to 30% (AmqpReceiver)', async () => {
    const q = unique('credit-amq');
    const conn = await rheaConnect(activemq().ports['amqp10']!);
    const s = await openSender(conn, { target: { address: `queue://${q}` }, snd_settle_mode: 1 });
    if (!s.sendable()) await once(s, 'sendable');
    expect(credit(s)).toBe(1000);
    const count = () => activemq().queue(q).messageCount();
    await sendSettled(s, 699, count, 699);
    expect(credit(s)).toBe(301);
    const flow = once(s, 'sender_flow');
    await sendSettled(s, 1, count, 700);
    await flow;
    expect(credit(s)).toBe(1000);
    await rheaClose(conn);
  });
});

describe('AMQP 1.0 message-format', () => {
  const encoded = () => rhea.message.encode({ body: 'formatted', application_properties: { k: 'v' } }) as unknown as Buffer;

  it('ActiveMQ carries a non-zero message-format: JMS_AMQP_MESSAGE_FORMAT in, the transfer\'s message-format out (JMSMappingInboundTransformer, JMSMappingOutboundTransformer, AmqpSender)', async () => {
    const q = unique('format');
    const conn = await rheaConnect(activemq().ports['amqp10']!);
    const s = await openSender(conn, `queue://${q}`);
    if (!s.sendable()) await once(s, 'sendable');
    s.send(encoded() as never, undefined, 7);
    const rx = await openReceiver(conn, `queue://${q}`);
    const [got] = await receiveN(rx, 1);
    expect((got!.delivery as unknown as { format: number }).format).toBe(7);
    // rhea hands a message of another format over as its bytes
    const m = rhea.message.decode(got!.message as unknown as Buffer);
    expect(m.body).toBe('formatted');
    expect(m.application_properties).toEqual({ k: 'v' });
    await rheaClose(conn);
  });

  it('RabbitMQ 4 delivers every message with message-format 0 (rabbit_amqp_session ?MESSAGE_FORMAT)', async () => {
    const q = unique('format-rabbit');
    const conn = await rheaConnect(rabbit().ports['amqp']!);
    const s = await openSender(conn, `/queue/${q}`);
    if (!s.sendable()) await once(s, 'sendable');
    s.send(encoded() as never, undefined, 7);
    const rx = await openReceiver(conn, `/queue/${q}`);
    const [got] = await receiveN(rx, 1);
    expect((got!.delivery as unknown as { format: number }).format).toBe(0);
    expect(got!.message.body).toBe('formatted');
    await rheaClose(conn);
  });
});

describe('x-opt-jms-dest of a temporary queue (ActiveMQ)', () => {
  it('a message sent to a dynamic node says 2, temporary queue (JMSMappingOutboundTransformer.destinationType)', async () => {
    const conn = await rheaConnect(activemq().ports['amqp10']!);
    const rx = await openReceiver(conn, { source: { dynamic: true } as never });
    const address = (rx as unknown as { source: { address: string } }).source.address;
    expect(address).toMatch(/^temp-queue:\/\//);
    const s = await openSender(conn, address);
    expect((await sendAwait(s, { body: 'to a temp queue' })).outcome).toBe('accepted');
    const [got] = await receiveN(rx, 1);
    expect(got!.message.message_annotations).toMatchObject({ 'x-opt-jms-dest': 2 });
    // a queue that is not temporary still says 0
    const q = unique('plain');
    const s2 = await openSender(conn, `queue://${q}`);
    await sendAwait(s2, { body: 'plain' });
    const rx2 = await openReceiver(conn, `queue://${q}`);
    const [plain] = await receiveN(rx2, 1);
    expect(plain!.message.message_annotations).toMatchObject({ 'x-opt-jms-dest': 0 });
    await rheaClose(conn);
  });
});
