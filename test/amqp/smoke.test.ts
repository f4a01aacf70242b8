import { describe, expect, it } from 'vitest';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';

const broker = useBroker();

describe('amqplib against LocalMQ', () => {
  it('runs the seeds example: assertQueue durable, sendToQueue, consume, ack', async () => {
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    await ch.assertQueue('orderQueue', { durable: true });
    ch.sendToQueue('orderQueue', Buffer.from('order-1'), { persistent: true });
    const got = await new Promise<string>((resolve) => {
      void ch.consume('orderQueue', (msg) => {
        if (!msg) return;
        ch.ack(msg);
        resolve(msg.content.toString());
      });
    });
    expect(got).toBe('order-1');
    await conn.close();
  });
});
