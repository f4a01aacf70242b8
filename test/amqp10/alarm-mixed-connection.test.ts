import { afterEach, expect, it } from 'vitest';
import type { Receiver } from 'rhea';
import { startBroker } from '../../src/index.js';
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
      while (!b.core.alarmed) await new Promise((res) => setTimeout(res, 10));
      expect(got).toBe(0);
      r.add_credit(10);
      await allIn;
      expect(sent).toBe(N);
      expect(b.core.alarmed).toBe(false);
    }, 15_000);
  }
}
