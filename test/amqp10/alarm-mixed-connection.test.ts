import { afterEach, expect, it } from 'vitest';
import type { Receiver } from 'rhea';
import { encodeMessage, uint, type Composite } from '../../src/protocols/amqp10/codec/index.js';
import { startBroker } from '../../src/index.js';
import { RawClient } from '../helpers/amqp10-raw.js';
import { afterPublishes } from '../helpers/broker.js';
import { openReceiver, openSender, rheaConnect } from '../helpers/amqp10.js';

/**
 * One AMQP 1.0 connection that both publishes to a queue and consumes from it, under the memory
 * alarm: its consumer's settlements are what brings memory down, so the connection must still be
 * read. RabbitMQ 4 never stops reading an AMQP 1.0 connection for an alarm (rabbit_amqp_reader has
 * no alarm; only the sessions' windows shut), nor does ActiveMQ 5.15+ (a send under producer flow
 * control waits in memory for its response). LocalMQ stops the reading at a publish under the alarm
 * only for a connection that consumes nothing (Amqp10Connection.publishedUnderAlarm); this one is
 * stopped by the window (RabbitMQ 4) or its credit (ActiveMQ) and goes on once the queue drains.
 * (review-s19-1 R1: stopping its reading left the alarm on for ever.)
 */
const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

const N = 200;

for (const engine of ['rabbitmq', 'activemq'] as const) {
  for (const settled of [true, false]) {
    it(`${engine} profile, ${settled ? 'pre-settled' : 'unsettled'}: a connection that publishes and consumes is still read under the alarm, drains the queue and publishes on`, async () => {
      const b = await startBroker({ engine, limits: { memoryHighWatermark: 256 * 1024 } });
      cleanup.push(() => b.stop());
      b.core.vhost('/')!.declareQueue('wm', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
      const address = engine === 'rabbitmq' ? '/queues/wm' : 'queue://wm';
      const conn = await rheaConnect(b.ports[engine === 'rabbitmq' ? 'amqp' : 'amqp10']!);
      // not waiting for the close's answer: a connection left unread would never give it
      cleanup.push(() => void conn.close());
      // the consumer first, with no credit until the alarm is on
      const r: Receiver = await openReceiver(conn, { source: { address }, credit_window: 0, autoaccept: true } as never);
      let got = 0;
      let all!: () => void;
      const allIn = new Promise<void>((resolve) => (all = resolve));
      r.on('message', () => {
        r.add_credit(1);
        if (++got === N) all();
      });
      const s = await openSender(conn, { target: { address }, snd_settle_mode: settled ? 1 : 0 } as never);
      let sent = 0;
      const pump = () => {
        while (sent < N && s.sendable()) {
          s.send({ body: Buffer.alloc(16 * 1024, sent & 255) } as never);
          sent++;
        }
      };
      s.on('sendable', pump);
      pump();
      await afterPublishes(b, () => b.core.alarmed);
      expect(got).toBe(0);
      r.add_credit(10);
      await allIn;
      expect(sent).toBe(N);
      expect(b.core.alarmed).toBe(false);
    }, 15_000);
  }
}

it('rabbitmq profile: a consuming connection whose client ignores the shut window is held to the credit it had (no top-up for a transfer past the window)', async () => {
  // review-s19-1 R4: not paused (it consumes) and topped up under the alarm, such a client got everything it
  // wrote taken, up to the 65,536-transfer margin. Now the 171st transfer finds no credit: the link is
  // detached (transfer-limit-exceeded), as before the window was shut (RabbitMQ 4 would end the session
  // with window-violation at 401)
  const b = await startBroker({ limits: { memoryHighWatermark: 1000 } });
  cleanup.push(() => b.stop());
  for (const q of ['wm', 'other']) b.core.vhost('/')!.declareQueue(q, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
  const c = await RawClient.open(b.ports['amqp']!);
  cleanup.push(() => c.socket.destroy());
  c.frame(0, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(1000), outgoingWindow: uint(1000) });
  await c.performative('begin');
  // a receiver: the connection consumes, so its reading is not paused under the alarm
  c.frame(0, { $: 'attach', name: 'r', handle: uint(1), role: true, source: { $: 'source', address: '/queues/other' }, target: { $: 'target' } } as Composite);
  await c.next((g) => 'performative' in g && g.performative.$ === 'attach' && g.performative['handle'] === 1);
  c.frame(0, { $: 'attach', name: 's', handle: uint(0), role: false, sndSettleMode: 1, source: { $: 'source' }, target: { $: 'target', address: '/queues/wm' } } as Composite);
  const credit = (await c.next((g) => 'performative' in g && g.performative.$ === 'flow' && g.performative['handle'] === 0)) as { performative: Composite };
  expect(credit.performative['linkCredit']).toBe(170);
  const from = c.got.length;
  b.publish('', 'wm', Buffer.alloc(2000));
  await c.next((g) => c.got.indexOf(g) >= from && 'performative' in g && g.performative.$ === 'flow' && g.performative['handle'] === undefined);
  const body = encodeMessage({ body: { kind: 'data', chunks: [Buffer.alloc(16 * 1024)] } });
  for (let id = 0; id < 400; id++) {
    c.frame(0, { $: 'transfer', handle: uint(0), deliveryId: uint(id), deliveryTag: Buffer.from(String(id)), messageFormat: uint(0), settled: true } as Composite, body);
  }
  // an attach after the burst: answered once every transfer before it was read
  c.frame(0, { $: 'attach', name: 'probe', handle: uint(2), role: true, source: { $: 'source', address: '/queues/other' }, target: { $: 'target' } } as Composite);
  await c.next((g) => 'performative' in g && g.performative.$ === 'attach' && g.performative['handle'] === 2);
  expect(b.queue('wm').messageCount() - 1).toBe(170);
  const detach = c.got.find((g) => 'performative' in g && g.performative.$ === 'detach' && g.performative['handle'] === 0) as { performative: Composite } | undefined;
  expect((detach?.performative['error'] as { condition?: string } | undefined)?.condition).toBe('amqp:link:transfer-limit-exceeded');
  expect(b.core.alarmed).toBe(true);
});
