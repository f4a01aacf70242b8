import { afterEach, expect, it } from 'vitest';
import { encodeMessage, uint, type Composite } from '../../src/protocols/amqp10/codec/index.js';
import { startBroker } from '../../src/index.js';
import { RawClient } from '../helpers/amqp10-raw.js';
import { afterPublishes } from '../helpers/broker.js';
import { openReceiver, openSender, rheaClose, rheaConnect } from '../helpers/amqp10.js';

/**
 * ActiveMQ's AMQP transport with a sender that does not settle first (AmqpReceiver.processDelivery,
 * read at apache/activemq 13b915a; since 5.15, AMQ-6498, a pre-settled one goes the same way, which
 * LocalMQ does not match): the message goes to the broker with a response handler, and that handler
 * both settles the delivery (accepted) and tops the link's credit up. Under producer flow control
 * (memory over its limit) the broker keeps a
 * send that wants a response in Queue.messagesWaitingForSpace and answers it once there is space:
 * the sender gets neither its answer nor credit meanwhile, and its transport is still read.
 */
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

it('ActiveMQ profile: an unsettled send taken while the alarm is on is answered only once it clears; the connection is still read meanwhile', async () => {
  const b = await startBroker({ engine: 'activemq', limits: { memoryHighWatermark: 1000 } });
  cleanup.push(() => b.stop());
  b.core.vhost('/')!.declareQueue('wm', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
  const conn = await rheaConnect(b.ports['amqp10']!);
  cleanup.push(() => rheaClose(conn));
  const s = await openSender(conn, { target: { address: 'queue://wm' } });
  b.publish('', 'wm', Buffer.alloc(2000));
  expect(b.core.alarmed).toBe(true);
  let outcome: string | undefined;
  s.once('accepted', () => (outcome = 'accepted'));
  s.send({ body: 'while over' });
  await afterPublishes(b, () => b.queue('wm').messageCount() >= 2);
  // the same connection is read (two attaches answered, the second after anything the first read
  // sent), and the send is still unanswered
  await openReceiver(conn, { source: { address: 'queue://wm' }, credit_window: 0 } as never).then((r) => r.close());
  await openReceiver(conn, { source: { address: 'queue://wm' }, credit_window: 0 } as never).then((r) => r.close());
  expect(outcome).toBeUndefined();
  const accepted = new Promise<void>((r) => s.once('accepted', () => r()));
  b.queue('wm').purge();
  expect(b.core.alarmed).toBe(false);
  await accepted;
  expect(outcome).toBe('accepted');
});

it('ActiveMQ profile: an unsettled sender gets its credit back after the answers, not on receipt (AmqpReceiver tops up in the response handler)', async () => {
  const b = await startBroker({ engine: 'activemq' });
  cleanup.push(() => b.stop());
  b.core.vhost('/')!.declareQueue('c', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
  const c = await RawClient.open(b.ports['amqp10']!);
  cleanup.push(() => c.socket.destroy());
  c.frame(0, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(5000), outgoingWindow: uint(5000) });
  await c.performative('begin');
  c.frame(0, { $: 'attach', name: 's', handle: uint(0), role: false, sndSettleMode: 0, rcvSettleMode: 0, source: { $: 'source' }, target: { $: 'target', address: 'queue://c' } } as Composite);
  const credit = await c.next((g) => 'performative' in g && g.performative.$ === 'flow' && g.performative['handle'] === 0);
  expect((credit as { performative: Composite }).performative['linkCredit']).toBe(1000);
  const from = c.got.length;
  // 701 unsettled transfers: the credit goes down to ActiveMQ's refill mark (300) at the 700th
  const body = encodeMessage({ body: { kind: 'value', value: 'x' } });
  for (let id = 0; id < 701; id++) {
    c.frame(0, { $: 'transfer', handle: uint(0), deliveryId: uint(id), deliveryTag: Buffer.from(String(id)), messageFormat: uint(0), settled: false } as Composite, body);
  }
  const refill = await c.next((g) => c.got.indexOf(g) >= from && 'performative' in g && g.performative.$ === 'flow' && g.performative['handle'] === 0);
  expect((refill as { performative: Composite }).performative['linkCredit']).toBe(1000);
  // the answer to the delivery that took the credit down to the mark (the 700th: 300 left) came before the credit
  const answeredAt = c.got.findIndex((g) => {
    if (c.got.indexOf(g) < from || !('performative' in g) || g.performative.$ !== 'disposition') return false;
    const first = g.performative['first'] as number;
    const last = (g.performative['last'] as number | undefined) ?? first;
    return first <= 699 && 699 <= last;
  });
  expect(answeredAt).toBeGreaterThanOrEqual(0);
  expect(answeredAt).toBeLessThan(c.got.indexOf(refill));
});
