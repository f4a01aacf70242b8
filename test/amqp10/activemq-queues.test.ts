import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

// Queues an AMQP 1.0 client creates in the ActiveMQ profile are ActiveMQ destinations, as the
// ones OpenWire and STOMP create (ActiveMQ has one kind of queue whatever the transport):
// message groups (group-id is JMSXGroupID in ActiveMQ's JMS mapping) and expired persistent
// messages to ActiveMQ.DLQ. The behaviours themselves were measured on ActiveMQ 5.17 over
// OpenWire (bench/activemq-observed.md, "OpenWire features"); here: that AMQP 1.0's queues have them.
// expired messages leave an ActiveMQ queue with no consumer at its periodic sweep (30 s by default; here 100 ms)
const broker = useBroker({ engine: 'activemq', ports: { amqp10: 0 }, activemq: { expireMessagesPeriodMs: 100 } });
const port = () => broker().ports['amqp10']!;
let seq = 0;
const unique = (p: string) => `${p}.${++seq}.${Date.now()}`;

describe('queues created over AMQP 1.0 in the ActiveMQ profile', () => {
  it('message groups: every message of a group goes to the one consumer that owns it', async () => {
    const q = unique('groups');
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    const a = await openReceiver(conn, { source: { address: `queue://${q}` }, credit_window: 10 });
    const b = await openReceiver(conn, { source: { address: `queue://${q}` }, credit_window: 10 });
    // round robin alone would split each run of three between the two receivers
    for (const g of ['A', 'A', 'A', 'B', 'B', 'B']) expect((await sendAwait(s, { body: g, group_id: g })).outcome).toBe('accepted');
    const got = [...(await receiveN(a, 3)), ...(await receiveN(b, 3))];
    const byReceiver = (r: 'a' | 'b') => got.slice(r === 'a' ? 0 : 3, r === 'a' ? 3 : 6).map((m) => m.message.body as string);
    // each receiver got one whole group
    expect(new Set(byReceiver('a')).size).toBe(1);
    expect(new Set(byReceiver('b')).size).toBe(1);
    expect([...byReceiver('a'), ...byReceiver('b')].sort()).toEqual(['A', 'A', 'A', 'B', 'B', 'B']);
    await rheaClose(conn);
  });

  it('an expired durable message goes to ActiveMQ.DLQ; a non-durable one is dropped', async () => {
    const q = unique('expiry');
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    // both expired by the sweep that takes them: the non-durable one dropped, the durable one dead-lettered
    expect((await sendAwait(s, { body: 'dropped', durable: false, ttl: 30 })).outcome).toBe('accepted');
    expect((await sendAwait(s, { body: 'kept', durable: true, ttl: 30 })).outcome).toBe('accepted');
    const dead = await broker().waitFor('ActiveMQ.DLQ', (m) => m.body.toString() === 'kept');
    expect(dead.body.toString()).toBe('kept');
    expect(broker().queue(q).messageCount()).toBe(0);
    expect(broker().queue('ActiveMQ.DLQ').messages().map((m) => m.body.toString())).toEqual(['kept']);
    await rheaClose(conn);
  });
});
