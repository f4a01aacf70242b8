import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Channel, ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';

/*
 * RabbitMQ's own v1 management CLI, `rabbitmqadmin` (a Python script Debian's rabbitmq-server
 * package installs as /usr/bin/rabbitmqadmin), against LocalMQ's management API. The script
 * is never copied into the project: without it the test is skipped with the reason.
 */

const run = promisify(execFile);
const ADMIN = ['/usr/bin/rabbitmqadmin', '/usr/local/bin/rabbitmqadmin', '/usr/sbin/rabbitmqadmin'].find((p) => existsSync(p));

if (!ADMIN) {
  describe('rabbitmqadmin', () => {
    it.skip('lists, declares, publishes and gets (skipped: rabbitmqadmin not installed; apt-get install rabbitmq-server ships it)', () => undefined);
  });
} else {
  describe('rabbitmqadmin', () => {
    let broker: LocalMQ;
    let conn: ChannelModel;
    let ch: Channel;
    const admin = async (...args: string[]) => {
      const port = new URL(broker.urls.http!).port;
      const { stdout } = await run(ADMIN, ['-H', '127.0.0.1', '-P', port, '-u', 'guest', '-p', 'guest', ...args]);
      return stdout;
    };

    beforeAll(async () => {
      broker = await startBroker();
      conn = await connect(broker);
      ch = await conn.createChannel();
      await ch.assertQueue('from.amqplib', { durable: true });
      ch.sendToQueue('from.amqplib', Buffer.from('x'));
      await broker.waitFor('from.amqplib');
    });

    afterAll(async () => {
      await conn?.close();
      await broker?.stop();
    });

    it('lists queues, declares a queue, publishes and gets a message', async () => {
      const listed = JSON.parse(await admin('-f', 'raw_json', 'list', 'queues')) as { name: string; messages: number }[];
      expect(listed.find((q) => q.name === 'from.amqplib')).toMatchObject({ messages: 1 });
      expect(await admin('declare', 'queue', 'name=from.admin', 'durable=true')).toContain('queue declared');
      expect((await ch.checkQueue('from.admin')).queue).toBe('from.admin');
      expect(await admin('publish', 'routing_key=from.admin', 'payload=hello from rabbitmqadmin')).toContain('Message published');
      await broker.waitFor('from.admin', (m) => m.text() === 'hello from rabbitmqadmin');
      const got = JSON.parse(await admin('-f', 'raw_json', 'get', 'queue=from.admin', 'ackmode=ack_requeue_false')) as { payload: string; message_count: number }[];
      expect(got).toEqual([expect.objectContaining({ payload: 'hello from rabbitmqadmin', message_count: 0, redelivered: false })]);
      expect(broker.queue('from.admin').messageCount()).toBe(0);
      const overview = JSON.parse(await admin('-f', 'raw_json', 'show', 'overview')) as { rabbitmq_version: string }[];
      expect(overview[0]!.rabbitmq_version).toBe(broker.core.engineRules.fullVersion); // the engine version's (4.2.9 by default)
      expect(await admin('delete', 'queue', 'name=from.admin')).toContain('queue deleted');
      expect(broker.queue('from.admin').exists()).toBe(false);
    }, 30_000);
  });
}
