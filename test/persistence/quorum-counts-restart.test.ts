import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type Channel, type GetMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';

/**
 * A quorum queue's delivery counts survive a restart: rabbit_fifo keeps each message's
 * delivery_count and acquired_count in its header, part of the Raft state it recovers, so the
 * delivery limit and `x-delivery-count` (4.3: `x-acquired-count` too) go on from where they were.
 */

async function getOne(ch: Channel, queue: string): Promise<GetMessage> {
  for (;;) {
    const m = await ch.get(queue);
    if (m) return m;
  }
}

describe('quorum delivery counts across a restart', () => {
  it('4.2: x-delivery-count and the delivery limit carry on after the restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localmq-qq-counts-'));
    let b = await startBroker({ engineVersion: '4.2', dataDir });
    try {
      const c = await amqplib.connect(b.urls.amqp!);
      const ch = await c.createConfirmChannel();
      await ch.assertQueue('qq-counted', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 3 } });
      ch.sendToQueue('qq-counted', Buffer.from('poison'), { persistent: true });
      await ch.waitForConfirms();
      for (let i = 0; i < 2; i++) ch.reject(await getOne(ch, 'qq-counted'), true);
      const before = await getOne(ch, 'qq-counted');
      expect(before.properties.headers?.['x-delivery-count']).toBe(2);
      ch.reject(before, true); // 3: at the limit, still kept
      await ch.checkQueue('qq-counted');
      await c.close();
    } finally {
      await b.stop();
    }
    b = await startBroker({ engineVersion: '4.2', dataDir });
    try {
      const c = await amqplib.connect(b.urls.amqp!);
      const ch = await c.createChannel();
      const after = await getOne(ch, 'qq-counted');
      expect(after.fields.redelivered).toBe(true);
      expect(after.properties.headers?.['x-delivery-count']).toBe(3);
      ch.reject(after, true); // 4 > 3: dropped
      await ch.checkQueue('qq-counted');
      expect((await ch.checkQueue('qq-counted')).messageCount).toBe(0);
      await c.close();
    } finally {
      await b.stop();
    }
  });

  it('4.3: x-acquired-count too; a message never returned has none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localmq-qq-acquired-'));
    let b = await startBroker({ engineVersion: '4.3', dataDir });
    try {
      const c = await amqplib.connect(b.urls.amqp!);
      const ch = await c.createConfirmChannel();
      await ch.assertQueue('qq-acq', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      ch.sendToQueue('qq-acq', Buffer.from('a'), { persistent: true });
      ch.sendToQueue('qq-acq', Buffer.from('b'), { persistent: true });
      await ch.waitForConfirms();
      const a = await getOne(ch, 'qq-acq');
      ch.nack(a, false, true); // a plain return on 4.3: acquired only
      const again = await getOne(ch, 'qq-acq');
      expect(again.content.toString()).toBe('a');
      ch.reject(again, true); // failed: delivery_count 1, acquired 2
      const third = await getOne(ch, 'qq-acq'); // returned messages go first
      expect(third.content.toString()).toBe('a');
      ch.nack(third, false, true);
      await ch.checkQueue('qq-acq');
      await c.close();
    } finally {
      await b.stop();
    }
    b = await startBroker({ engineVersion: '4.3', dataDir });
    try {
      const c = await amqplib.connect(b.urls.amqp!);
      const ch = await c.createChannel();
      const a = await getOne(ch, 'qq-acq');
      expect(a.content.toString()).toBe('a');
      expect(a.properties.headers).toMatchObject({ 'x-delivery-count': 1, 'x-acquired-count': 3 });
      ch.ack(a);
      const other = await getOne(ch, 'qq-acq');
      expect(other.content.toString()).toBe('b');
      expect(other.properties.headers?.['x-acquired-count']).toBeUndefined();
      ch.ack(other);
      await ch.checkQueue('qq-acq');
      await c.close();
    } finally {
      await b.stop();
    }
  });
});
