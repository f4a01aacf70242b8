import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';

/**
 * A quorum queue's x-overflow: drop-head and reject-publish only. RabbitMQ does not refuse
 * reject-publish-dlx at declare: rabbit_quorum_queue:overflow/3 (3.13.7 and 4.2.9 alike) logs
 * "Invalid overflow strategy … for quorum queue" and uses its default, drop-head — so the
 * publish is confirmed and the oldest message is dead-lettered (maxlen) instead of the new one
 * being refused.
 */
describe('quorum queue overflow', () => {
  const broker = useBroker({ engineVersion: '4.2' });

  it('reject-publish-dlx is accepted and behaves as drop-head (rabbit_quorum_queue:overflow/3)', async () => {
    const conn = await amqplib.connect(broker().urls.amqp!);
    try {
      const ch = await conn.createConfirmChannel();
      await ch.assertQueue('qq-dlq', { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await ch.assertQueue('qq-rpd', {
        durable: true,
        arguments: { 'x-queue-type': 'quorum', 'x-max-length': 1, 'x-overflow': 'reject-publish-dlx', 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'qq-dlq' },
      });
      const outcomes = await Promise.all(
        ['first', 'second'].map(
          (body) => new Promise<string>((resolve) => ch.sendToQueue('qq-rpd', Buffer.from(body), { persistent: true }, (err) => resolve(err ? 'nack' : 'ack'))),
        ),
      );
      expect(outcomes).toEqual(['ack', 'ack']);
      expect(broker().queue('qq-rpd').messages().map((m) => m.text())).toEqual(['second']);
      const dead = await broker().waitFor('qq-dlq');
      expect(dead.text()).toBe('first');
      expect((dead.properties.headers?.['x-death'] as unknown as Record<string, unknown>[])[0]).toMatchObject({ reason: 'maxlen' });
    } finally {
      await conn.close();
    }
  });
});
