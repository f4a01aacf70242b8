import { describe, expect, it } from 'vitest';
import { RawStomp, getHeader } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';

/**
 * RabbitMQ dialect: a SUBSCRIBE refused for an invalid prefetch-count declares nothing (RabbitMQ's
 * rabbit_stomp_processor reads prefetch-count before it ensures the endpoint). review-s14-1 F1:
 * 9e3f007 read it after ensureSource and left the queue (or the subscription's own
 * stomp-subscription-* queue for /topic and /exchange) behind.
 */
const broker = useBroker({ ports: { stomp: 0 } });

describe('STOMP SUBSCRIBE with an invalid prefetch-count (RabbitMQ dialect)', () => {
  for (const destination of ['/queue/pfc-refused', '/topic/pfc-refused', '/exchange/amq.fanout']) {
    it(`${destination}: ERROR, and no queue left behind`, async () => {
      const vhost = broker().core.vhost('/')!;
      const before = new Set(vhost.queues.keys());
      const { client } = await RawStomp.connected(broker());
      client.send('SUBSCRIBE', { id: 's1', destination, ack: 'client', 'prefetch-count': 'abc' });
      const err = await client.frame('ERROR');
      // RabbitMQ 3.10.8: Processing error (integer_header crashes; rabbitmq-processing-error.test.ts)
      expect([getHeader(err, 'message'), err.body.toString()]).toEqual(['Processing error', 'Processing error']);
      expect([...vhost.queues.keys()].filter((q) => !before.has(q))).toEqual([]);
      client.close();
    });
  }
});
