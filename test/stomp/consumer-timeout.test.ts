import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { call } from '../helpers/management.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * The consumer timeout over STOMP. RabbitMQ's STOMP plugin consumes on an AMQP channel of its
 * own (rabbit_stomp_processor: one channel per connection, channel 1), so the version's
 * consumer timeout reaches it as it reaches AMQP clients:
 * - 3.13 and 4.2: rabbit_channel's evaluate_consumer_timeout closes the channel with 406
 *   ("delivery acknowledgement on channel 1 timed out…", handle_consumer_timed_out), and
 *   rabbit_stomp_processor:amqp_death sends ERROR message:precondition_failed with that text and
 *   closes the connection; the unacked message goes back to its queue.
 * - 4.3: the timeout lives in quorum queues (rabbit_fifo evaluate_consumer_timeout): the
 *   timed-out message goes back and the consumer is cancelled, which the plugin reports as
 *   ERROR "Server cancelled subscription" (server_cancel_consumer) and carries on; classic
 *   queues have none.
 */

async function withBroker(engineVersion: string, timeoutMs: number, body: (broker: LocalMQ) => Promise<void>): Promise<void> {
  const broker = await startBroker({ engineVersion });
  try {
    broker.core.consumerTimeoutMs = timeoutMs;
    await body(broker);
  } finally {
    await broker.stop();
  }
}

/** a queue of `type` holding one persistent message, subscribed with ack:client and never acked */
async function holdOne(broker: LocalMQ, queue: string, type: 'classic' | 'quorum'): Promise<RawStomp & { held?: string }> {
  const { client } = await RawStomp.connected(broker);
  client.send('SEND', { destination: `/queue/${queue}`, 'x-queue-type': type, durable: 'true', persistent: 'true', receipt: 'sent' }, 'held');
  await client.receipt('sent');
  client.send('SUBSCRIBE', { destination: `/queue/${queue}`, id: 's1', ack: 'client', 'x-queue-type': type, durable: 'true' });
  const msg = await client.frame('MESSAGE');
  expect(msg.body.toString()).toBe('held');
  return Object.assign(client, { held: getHeader(msg, 'ack') });
}

describe('STOMP consumer timeout', () => {
  for (const engineVersion of ['3.13', '4.2']) {
    it(`${engineVersion}: ERROR precondition_failed with rabbit_channel's text, the connection closes, the message goes back`, async () => {
      await withBroker(engineVersion, 150, async (broker) => {
        const started = Date.now();
        const client = await holdOne(broker, `slow-${engineVersion}`, engineVersion === '4.2' ? 'quorum' : 'classic');
        const err = await client.frame('ERROR');
        expect(Date.now() - started).toBeGreaterThanOrEqual(140);
        expect(getHeader(err, 'message')).toBe('precondition_failed');
        expect(err.body.toString()).toBe(
          'PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 150 ms. This timeout value can be configured, see consumers doc guide to learn more',
        );
        await client.whenClosed();
        expect(broker.queue(`slow-${engineVersion}`).messageCount()).toBe(1);
      });
    });
  }

  it('a consumer-timeout policy overrides the broker\'s (the lower wins)', async () => {
    await withBroker('3.13', 60_000, async (broker) => {
      const put = await call(broker, 'PUT', '/api/policies/%2F/ct', { body: { pattern: '^polq$', definition: { 'consumer-timeout': 120 }, 'apply-to': 'queues' } });
      expect(put.status).toBe(201);
      const client = await holdOne(broker, 'polq', 'classic');
      const err = await client.frame('ERROR');
      expect(err.body.toString()).toContain('Timeout value used: 120 ms.');
    });
  });

  it('4.3 quorum queue: the message goes back, the subscription is cancelled by the server, the connection stays', async () => {
    await withBroker('4.3', 150, async (broker) => {
      const client = await holdOne(broker, 'qq43', 'quorum');
      const err = await client.frame('ERROR');
      expect(getHeader(err, 'message')).toBe('Server cancelled subscription');
      expect(getHeader(err, 'subscription')).toBe('s1');
      expect(err.body.toString()).toBe("The server has canceled a subscription.\nNo more messages will be delivered for \"id='s1'\".\n");
      // still connected: a receipt comes back, and the message is ready again (a return, not a failure)
      client.send('SEND', { destination: '/queue/other', receipt: 'alive' }, 'y');
      await client.receipt('alive');
      expect(client.closed).toBe(false);
      expect(broker.queue('qq43').messageCount()).toBe(1);
      client.send('SUBSCRIBE', { destination: '/queue/qq43', id: 's2', ack: 'auto', 'x-queue-type': 'quorum', durable: 'true' });
      const again = await client.frame('MESSAGE');
      expect(again.body.toString()).toBe('held');
      expect(getHeader(again, 'x-delivery-count')).toBeUndefined();
      client.close();
    });
  });

  it('4.3 classic queue: no timeout (the subscription keeps its message; the timer window asserts nothing happens)', async () => {
    await withBroker('4.3', 100, async (broker) => {
      const client = await holdOne(broker, 'cq43', 'classic');
      await new Promise((r) => setTimeout(r, 300));
      client.send('SEND', { destination: '/queue/other', receipt: 'alive' }, 'y');
      await client.receipt('alive'); // no ERROR came before it
      expect(broker.queue('cq43').messageCount()).toBe(0);
      client.close();
    });
  });

  it('acked in time: nothing happens', async () => {
    await withBroker('4.2', 150, async (broker) => {
      const client = await holdOne(broker, 'quick', 'quorum');
      client.send('ACK', { id: client.held!, receipt: 'acked' });
      await client.receipt('acked');
      await new Promise((r) => setTimeout(r, 300)); // past the timeout: the connection stays
      client.send('SEND', { destination: '/queue/other', receipt: 'alive' }, 'y');
      await client.receipt('alive');
      expect(broker.queue('quick').messageCount()).toBe(0);
      client.close();
    });
  });
});
