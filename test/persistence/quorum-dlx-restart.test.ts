import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type GetMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { getJson } from '../helpers/management.js';

/**
 * At-least-once dead-lettering across a restart. rabbit_fifo keeps the messages it dead-letters
 * at least once in its dlx state (rabbit_fifo_dlx `discards`, part of the Raft state), so after
 * a restart they are still held for the dead-letter exchange, not ready in the queue, and
 * rabbit_fifo_dlx_worker offers them again as it starts. The management API shows them as
 * `messages_dlx` / `message_bytes_dlx` (rabbit_quorum_queue's statistics keys).
 */

const ARGS = { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': 'alo-dlx', 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' };

/** a broker on `dataDir` with alo-src holding one dead-lettered message the DLX routes nowhere */
async function holdOne(dataDir: string, bindDlqBeforeStop: boolean): Promise<void> {
  const b = await startBroker({ engineVersion: '4.2', dataDir });
  try {
    const c = await amqplib.connect(b.urls.amqp!);
    const ch = await c.createConfirmChannel();
    await ch.assertExchange('alo-dlx', 'fanout', { durable: true });
    await ch.assertQueue('alo-src', { durable: true, arguments: ARGS });
    ch.sendToQueue('alo-src', Buffer.from('held across a restart'), { persistent: true });
    await ch.waitForConfirms();
    const m = (await ch.get('alo-src')) as GetMessage;
    ch.nack(m, false, false);
    await ch.checkQueue('alo-src'); // the nack is processed
    expect(b.core.vhost('/')!.getQueue('alo-src')!.dlxHeldCount).toBe(1);
    const before = await getJson(b, '/api/queues/%2F/alo-src');
    expect(before).toMatchObject({ messages: 0, messages_ready: 0, messages_dlx: 1, message_bytes_dlx: 21 });
    if (bindDlqBeforeStop) {
      // the next offer (dead_letter_worker_publisher_confirm_timeout, 180 s) has not come yet
      await ch.assertQueue('alo-dlq', { durable: true, arguments: { 'x-queue-type': 'classic' } });
      await ch.bindQueue('alo-dlq', 'alo-dlx', '');
      expect(b.queue('alo-dlq').messageCount()).toBe(0);
    }
    await c.close();
  } finally {
    await b.stop();
  }
}

describe('at-least-once dead-lettering survives a restart (held, not ready)', () => {
  it('with nowhere to go, the message is still held after the restart and shows as messages_dlx', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localmq-dlx-held-'));
    await holdOne(dataDir, false);
    const b: LocalMQ = await startBroker({ engineVersion: '4.2', dataDir });
    try {
      const src = b.core.vhost('/')!.getQueue('alo-src')!;
      expect(src.messageCount).toBe(0);
      expect(src.dlxHeldCount).toBe(1);
      const q = await getJson(b, '/api/queues/%2F/alo-src');
      expect(q).toMatchObject({ messages: 0, messages_ready: 0, messages_dlx: 1, message_bytes_dlx: 21, delivery_limit: 20 });
      // a consumer gets nothing: the message is not ready
      const c = await amqplib.connect(b.urls.amqp!);
      const ch = await c.createChannel();
      expect(await ch.get('alo-src')).toBe(false);
      await c.close();
    } finally {
      await b.stop();
    }
  });

  it('offered again as the broker starts: the bound dead-letter queue gets it once, and the source lets go for good', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localmq-dlx-held-'));
    await holdOne(dataDir, true);
    let b: LocalMQ = await startBroker({ engineVersion: '4.2', dataDir });
    try {
      const dead = await b.waitFor('alo-dlq');
      expect(dead.text()).toBe('held across a restart');
      expect((dead.properties.headers?.['x-death'] as unknown as Record<string, unknown>[])[0]).toMatchObject({ queue: 'alo-src', reason: 'rejected', count: 1 });
      const src = b.core.vhost('/')!.getQueue('alo-src')!;
      expect(src.dlxHeldCount).toBe(0);
      expect(src.messageCount).toBe(0);
    } finally {
      await b.stop();
    }
    // and once more: nothing comes back to the source, the DLQ keeps its one copy
    b = await startBroker({ engineVersion: '4.2', dataDir });
    try {
      expect(b.core.vhost('/')!.getQueue('alo-src')!.dlxHeldCount).toBe(0);
      expect(b.queue('alo-src').messageCount()).toBe(0);
      expect(b.queue('alo-dlq').messageCount()).toBe(1);
    } finally {
      await b.stop();
    }
  });
});
