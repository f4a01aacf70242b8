import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage, type GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { useBroker } from '../helpers/broker.js';
import { call, getJson } from '../helpers/management.js';
import { readFileSync } from 'node:fs';
import { importDefinitionsJson } from '../../src/server/definitions/apply.js';

/**
 * The engine versions Amazon MQ runs, each with its own rules (src/core/engine-versions.ts).
 * Texts and codes come from RabbitMQ's source at the tag each version reports:
 * rabbit_quorum_queue:declare/2 and capabilities/0, rabbit_queue_type_util:check_*,
 * rabbit_amqqueue:check_declare_arguments/3 and check_queue_version/2, rabbit_fifo's delivery
 * limit, rabbit_channel's basic.qos when global_qos is denied (v4.3.5), and the 4.0.1 / 4.3.0
 * release notes (default delivery limit 20; deprecated features denied by default).
 */

/** the reply code and text a channel or connection closed with, after `op` failed */
async function closedWith(conn: ChannelModel, op: (ch: Channel) => Promise<unknown>): Promise<{ code: number; text: string; scope: 'channel' | 'connection' }> {
  const ch = await conn.createChannel();
  const chClosed = new Promise<{ code: number; text: string; scope: 'channel' | 'connection' }>((resolve) => {
    ch.on('error', (e: { code: number; message: string }) => resolve({ code: e.code, text: e.message, scope: 'channel' }));
    conn.on('error', (e: { code: number; message: string }) => resolve({ code: e.code, text: e.message, scope: 'connection' }));
  });
  await op(ch).catch(() => undefined);
  return chClosed;
}

/** consume until `n` messages came, nacking each with requeue; returns what was seen */
function nackLoop(ch: Channel, queue: string, n: number): Promise<ConsumeMessage[]> {
  const seen: ConsumeMessage[] = [];
  return new Promise((resolve) => {
    void ch.consume(queue, (m) => {
      if (!m) return;
      seen.push(m);
      ch.nack(m, false, true);
      if (seen.length === n) resolve(seen);
    });
  });
}

function dlqOnce(ch: Channel, queue: string): Promise<ConsumeMessage> {
  return new Promise((resolve) => {
    void ch.consume(queue, (m) => {
      if (m) resolve(m);
    }, { noAck: true });
  });
}

function stompConnected(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.write('CONNECT\naccept-version:1.2\nhost:/\nlogin:guest\npasscode:guest\n\n\0'));
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\0')) {
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', reject);
  });
}

describe('the version a broker reports', () => {
  for (const [engineVersion, full] of [['3.13', '3.13.7'], ['4.2', '4.2.9'], ['4.3', '4.3.5']] as const) {
    it(`RabbitMQ ${engineVersion}: connection.start version ${full}, STOMP server RabbitMQ/${full}`, async () => {
      const broker = await startBroker({ engineVersion });
      try {
        const conn = await amqplib.connect(broker.urls.amqp!);
        expect((conn.connection as unknown as { serverProperties: Record<string, unknown> }).serverProperties['version']).toBe(full);
        await conn.close();
        const frame = await stompConnected(Number(new URL(broker.urls.stomp!).port));
        expect(frame).toContain(`server:RabbitMQ/${full}\n`);
      } finally {
        await broker.stop();
      }
    });
  }

  it('ActiveMQ 5.18 and 5.19 (the default) in STOMP CONNECTED', async () => {
    for (const [engineVersion, full] of [[undefined, '5.19.10'], ['5.18', '5.18.7']] as const) {
      const broker = await startBroker({ engine: 'activemq', ...(engineVersion ? { engineVersion } : {}) });
      try {
        const frame = await stompConnected(Number(new URL(broker.urls.stomp!).port));
        expect(frame).toContain(`server:ActiveMQ/${full}\n`);
      } finally {
        await broker.stop();
      }
    }
  });

  it('an engine version Amazon MQ does not run is refused at start, naming the ones it does', async () => {
    await expect(startBroker({ engineVersion: '3.12' })).rejects.toThrow(/unknown engine version '3.12' \(Amazon MQ runs RabbitMQ 3.13, 4.2, 4.3; ActiveMQ 5.18, 5.19\)/);
    await expect(startBroker({ engine: 'rabbitmq', engineVersion: '3.12' })).rejects.toThrow(/unknown RabbitMQ engine version '3.12' \(Amazon MQ runs 3.13, 4.2, 4.3\)/);
    await expect(startBroker({ engine: 'activemq', engineVersion: '5.17' })).rejects.toThrow(/unknown ActiveMQ engine version '5.17'/);
  });
});

describe('the default version: what Amazon MQ recommends for new brokers (RabbitMQ 4.2, ActiveMQ 5.19)', () => {
  // Amazon MQ's "Managing Amazon MQ for RabbitMQ engine versions": "recommends all brokers use
  // the latest supported version RabbitMQ 4.2"; "the default queue type on Amazon MQ for
  // RabbitMQ 4.2 brokers is quorum"
  it('connection.start, STOMP CONNECTED and the management API report 4.2.9; ActiveMQ 5.19.10', async () => {
    const broker = await startBroker();
    try {
      const conn = await amqplib.connect(broker.urls.amqp!);
      expect((conn.connection as unknown as { serverProperties: Record<string, unknown> }).serverProperties['version']).toBe('4.2.9');
      await conn.close();
      const overview = await getJson(broker, '/api/overview');
      expect(overview).toMatchObject({ rabbitmq_version: '4.2.9', product_version: '4.2.9', management_version: '4.2.9' });
      expect((await getJson(broker, '/api/definitions')).rabbit_version).toBe('4.2.9');
      expect(await stompConnected(Number(new URL(broker.urls.stomp!).port))).toContain('server:RabbitMQ/4.2.9\n');
    } finally {
      await broker.stop();
    }
    const active = await startBroker({ engine: 'activemq' });
    try {
      expect(await stompConnected(Number(new URL(active.urls.stomp!).port))).toContain('server:ActiveMQ/5.19.10\n');
    } finally {
      await active.stop();
    }
  });

  it('both engines at once: a version names its own side; the other keeps its default', async () => {
    const broker = await startBroker({ engineVersion: '5.18' });
    try {
      const conn = await amqplib.connect(broker.urls.amqp!);
      expect((conn.connection as unknown as { serverProperties: Record<string, unknown> }).serverProperties['version']).toBe('4.2.9');
      await conn.close();
      expect(broker.core.activemqRules.fullVersion).toBe('5.18.7');
    } finally {
      await broker.stop();
    }
  });

  it('LOCALMQ_ENGINE_VERSION sets the version of a broker that names none, for the engine it is a version of', async () => {
    const before = process.env['LOCALMQ_ENGINE_VERSION'];
    process.env['LOCALMQ_ENGINE_VERSION'] = '4.3';
    try {
      const rabbit = await startBroker();
      expect(rabbit.core.engineRules.fullVersion).toBe('4.3.5');
      await rabbit.stop();
      const pinned = await startBroker({ engineVersion: '3.13' });
      expect(pinned.core.engineRules.fullVersion).toBe('3.13.7');
      await pinned.stop();
      const active = await startBroker({ engine: 'activemq' });
      expect(active.core.engineRules.fullVersion).toBe('5.19.10');
      await active.stop();
    } finally {
      if (before === undefined) delete process.env['LOCALMQ_ENGINE_VERSION'];
      else process.env['LOCALMQ_ENGINE_VERSION'] = before;
    }
  });

  it('/api/queues shows the implicit type: quorum for a durable queue, classic (written in) for an exclusive one; /api/vhosts says quorum', async () => {
    const broker = await startBroker();
    try {
      const conn = await amqplib.connect(broker.urls.amqp!);
      const ch = await conn.createChannel();
      const ok = await ch.assertQueue('implicit', { durable: true });
      expect(ok).toMatchObject({ queue: 'implicit', messageCount: 0, consumerCount: 0 });
      const excl = await ch.assertQueue('', { exclusive: true });
      // rabbit_amqqueue:augment_declare_args/5 (4.x): the type is written into the arguments
      expect(await getJson(broker, '/api/queues/%2F/implicit')).toMatchObject({ type: 'quorum', durable: true, arguments: { 'x-queue-type': 'quorum' } });
      expect(await getJson(broker, `/api/queues/%2F/${excl.queue}`)).toMatchObject({ type: 'classic', exclusive: true, arguments: { 'x-queue-type': 'classic' } });
      expect(await getJson(broker, '/api/vhosts/%2F')).toMatchObject({ default_queue_type: 'quorum' });
      // the implicit type is not compared; a different explicit one is
      await ch.assertQueue('implicit', { durable: true });
      const r = await closedWith(conn, (c) => c.assertQueue('implicit', { durable: true, arguments: { 'x-queue-type': 'classic' } }));
      expect(r).toMatchObject({ code: 406, scope: 'channel' });
      expect(r.text).toContain("inequivalent arg 'x-queue-type' for queue 'implicit' in vhost '/'");
      await conn.close();
    } finally {
      await broker.stop();
    }
  });

  it("RabbitMQ 3.10's export with a durable x-max-priority queue is refused on 4.2 as RabbitMQ 4 refuses it", async () => {
    const broker = await startBroker();
    try {
      const fixture = JSON.parse(readFileSync(new URL('../fixtures/rabbitmq/rabbitmq-3.10-definitions.json', import.meta.url), 'utf8')) as unknown;
      expect(() => importDefinitionsJson(broker, fixture)).toThrow(
        "queue 'orders.priority' in vhost 'orders' was refused: PRECONDITION_FAILED - invalid arg 'x-max-priority' for queue 'orders.priority' in vhost 'orders' of queue type rabbit_quorum_queue",
      );
    } finally {
      await broker.stop();
    }
  });

  it('GET /api/aliveness-test is a no-op on 4.x (rabbit_mgmt_wm_aliveness_test since 4.1); 3.13 declares its queue', async () => {
    const four = await startBroker();
    try {
      expect(await getJson(four, '/api/aliveness-test/%2F')).toEqual({ status: 'ok' });
      expect(four.queue('aliveness-test').exists()).toBe(false);
    } finally {
      await four.stop();
    }
    const three = await startBroker({ engineVersion: '3.13' });
    try {
      expect(await getJson(three, '/api/aliveness-test/%2F')).toEqual({ status: 'ok' });
      expect(three.queue('aliveness-test').exists()).toBe(true);
    } finally {
      await three.stop();
    }
  });
});

describe("a vhost's default_queue_type (metadata) and the node's default", () => {
  it('3.13: a vhost created with default_queue_type quorum makes durable queues quorum, and writes classic into the rest', async () => {
    const broker = await startBroker({ engineVersion: '3.13' });
    try {
      expect((await call(broker, 'PUT', '/api/vhosts/qv', { body: { default_queue_type: 'quorum' } })).status).toBe(201);
      expect((await call(broker, 'PUT', '/api/permissions/qv/guest', { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBeLessThan(300);
      const conn = await amqplib.connect(`${broker.urls.amqp!}/qv`);
      const ch = await conn.createChannel();
      await ch.assertQueue('in-qv', { durable: true });
      const excl = await ch.assertQueue('', { exclusive: true });
      expect(broker.queue('in-qv', 'qv').info()).toMatchObject({ type: 'quorum' });
      expect(broker.queue(excl.queue, 'qv').info()).toMatchObject({ type: 'classic', arguments: { 'x-queue-type': 'classic' } });
      // the default vhost has none: nothing is written (3.13)
      await ch.close();
      const root = await amqplib.connect(broker.urls.amqp!);
      const rc = await root.createChannel();
      await rc.assertQueue('in-root', { durable: true });
      expect(broker.queue('in-root').info()).toMatchObject({ type: 'classic', arguments: {} });
      await root.close();
      await conn.close();
    } finally {
      await broker.stop();
    }
  });

  it('4.2: a vhost whose default_queue_type is classic keeps durable queues classic (written in)', async () => {
    const broker = await startBroker();
    try {
      expect((await call(broker, 'PUT', '/api/vhosts/cv', { body: { default_queue_type: 'classic' } })).status).toBe(201);
      expect((await call(broker, 'PUT', '/api/permissions/cv/guest', { body: { configure: '.*', write: '.*', read: '.*' } })).status).toBeLessThan(300);
      const conn = await amqplib.connect(`${broker.urls.amqp!}/cv`);
      const ch = await conn.createChannel();
      await ch.assertQueue('prio', { durable: true, arguments: { 'x-max-priority': 3 } });
      expect(broker.queue('prio', 'cv').info()).toMatchObject({ type: 'classic', arguments: { 'x-max-priority': 3, 'x-queue-type': 'classic' } });
      expect(await getJson(broker, '/api/vhosts/cv')).toMatchObject({ default_queue_type: 'classic' });
      await conn.close();
    } finally {
      await broker.stop();
    }
  });

  it("the node's default (core option, rabbitmq.conf default_queue_type) applies where a vhost sets none", async () => {
    const broker = await startBroker({ engineVersion: '4.2' });
    try {
      broker.core.defaultQueueType = 'classic';
      const conn = await amqplib.connect(broker.urls.amqp!);
      const ch = await conn.createChannel();
      await ch.assertQueue('node-default', { durable: true });
      expect(broker.queue('node-default').info()).toMatchObject({ type: 'classic' });
      await conn.close();
    } finally {
      await broker.stop();
    }
  });
});

describe('consumer timeout (consumer_timeout, x-consumer-timeout, policy consumer-timeout)', () => {
  /** the channel's close after a delivery stays unacked; how long it took */
  async function timesOut(broker: LocalMQ, queue: string, args: Record<string, unknown>, type: 'classic' | 'quorum' = 'classic') {
    const conn = await amqplib.connect(broker.urls.amqp!);
    const setup = await conn.createChannel();
    await setup.assertQueue(queue, { durable: true, arguments: { 'x-queue-type': type, ...args } });
    setup.sendToQueue(queue, Buffer.from('slow'));
    await setup.close();
    const ch = await conn.createChannel();
    const closed = new Promise<{ code: number; message: string }>((resolve) => ch.on('error', resolve));
    const started = Date.now();
    await ch.consume(queue, () => undefined); // never acked
    const err = await closed;
    const took = Date.now() - started;
    await conn.close().catch(() => undefined);
    return { err, took };
  }

  /** a broker of `engineVersion` with consumer_timeout `ms`, one channel that records a channel error */
  async function watched(engineVersion: string, ms: number, body: (ch: Channel, broker: LocalMQ, failed: () => boolean) => Promise<void>): Promise<void> {
    const broker = await startBroker({ engineVersion });
    try {
      broker.core.consumerTimeoutMs = ms;
      const conn = await amqplib.connect(broker.urls.amqp!);
      const ch = await conn.createChannel();
      let failed = false;
      ch.on('error', () => (failed = true));
      await body(ch, broker, () => failed);
      await conn.close();
    } finally {
      await broker.stop();
    }
  }

  it('3.13 and 4.2: the channel closes with 406 and rabbit_channel\'s text; the message goes back to the queue', async () => {
    for (const engineVersion of ['3.13', '4.2']) {
      const broker = await startBroker({ engineVersion });
      try {
        expect(broker.core.consumerTimeoutMs).toBe(1_800_000); // RabbitMQ's default: 30 minutes
        broker.core.consumerTimeoutMs = 200;
        const { err, took } = await timesOut(broker, 'slow', {}, engineVersion === '4.2' ? 'quorum' : 'classic');
        expect(err.code).toBe(406);
        expect(err.message).toContain(
          'PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: 200 ms. This timeout value can be configured, see consumers doc guide to learn more',
        );
        expect(took).toBeGreaterThanOrEqual(190);
        expect(broker.queue('slow').messageCount()).toBe(1);
      } finally {
        await broker.stop();
      }
    }
  });

  it('x-consumer-timeout and a consumer-timeout policy override the broker\'s (the lower of the two wins)', async () => {
    const broker = await startBroker({ engineVersion: '3.13' });
    try {
      const { err } = await timesOut(broker, 'arg-timeout', { 'x-consumer-timeout': 150 });
      expect(err.message).toContain('Timeout value used: 150 ms.');
      expect((await call(broker, 'PUT', '/api/policies/%2F/ct', { body: { pattern: '^pol-', definition: { 'consumer-timeout': 120 }, 'apply-to': 'queues' } })).status).toBe(201);
      const byPolicy = await timesOut(broker, 'pol-timeout', { 'x-consumer-timeout': 5000 });
      expect(byPolicy.err.message).toContain('Timeout value used: 120 ms.');
    } finally {
      await broker.stop();
    }
  });

  it('4.3 moved the timeout into the queues: a classic queue\'s consumer keeps its channel', async () => {
    await watched('4.3', 100, async (ch, _broker, failed) => {
      await ch.assertQueue('cq43', { durable: true, arguments: { 'x-queue-type': 'classic' } });
      const got = new Promise<void>((resolve) => void ch.consume('cq43', (m) => m && resolve()));
      ch.sendToQueue('cq43', Buffer.from('held'));
      await got;
      await new Promise((r) => setTimeout(r, 300)); // past the timeout: nothing may happen
      expect(failed()).toBe(false);
      expect((await ch.checkQueue('cq43')).messageCount).toBe(0);
    });
  });

  it('4.3 quorum queue: the timed-out message goes back and the consumer gets basic.cancel; the channel stays open (rabbit_fifo, rabbit_channel {released,…,timeout})', async () => {
    await watched('4.3', 150, async (ch, _broker, failed) => {
      await ch.assertQueue('qq43', { durable: true });
      ch.sendToQueue('qq43', Buffer.from('held'), { persistent: true });
      const cancelled = new Promise<void>((resolve) => {
        void ch.consume('qq43', (m) => {
          if (m === null) resolve(); // amqplib: the broker cancelled the consumer
        });
      });
      await cancelled;
      expect(failed()).toBe(false);
      const back = await ch.get('qq43', { noAck: true });
      expect(back && back.content.toString()).toBe('held');
      expect(back && back.properties.headers?.['x-delivery-count']).toBeUndefined(); // a return, not a failure
    });
  });

  it('4.3 quorum queue: after basic.cancel the timed-out delivery still settles without error (rabbit_channel keeps its pending acks; rabbit_fifo ignores a settle of a returned message)', async () => {
    await watched('4.3', 150, async (ch, broker, failed) => {
      await ch.assertQueue('qq43-late', { durable: true });
      ch.sendToQueue('qq43-late', Buffer.from('held'), { persistent: true });
      let held: ConsumeMessage | undefined;
      const cancelled = new Promise<void>((resolve) => {
        void ch.consume('qq43-late', (m) => {
          if (m) held = m;
          else resolve();
        });
      });
      await cancelled;
      ch.ack(held!); // late: the message is back in the queue already
      await ch.checkQueue('qq43-late'); // a round trip: an unknown tag would have closed the channel (406)
      expect(failed()).toBe(false);
      expect(broker.queue('qq43-late').info()).toMatchObject({ messages: 1, unacked: 0 });
    });
  });

  it('4.3 quorum queue: the x-consumer-timeout consumer argument is the consumer\'s own timeout (rabbit_queue_type:consume/3)', async () => {
    await watched('4.3', 3_600_000, async (ch, _broker, failed) => {
      await ch.assertQueue('qq43-arg', { durable: true });
      ch.sendToQueue('qq43-arg', Buffer.from('held'), { persistent: true });
      const started = Date.now();
      await new Promise<void>((resolve) => {
        void ch.consume('qq43-arg', (m) => m === null && resolve(), { arguments: { 'x-consumer-timeout': 120 } });
      });
      expect(Date.now() - started).toBeGreaterThanOrEqual(110);
      expect(failed()).toBe(false);
    });
  });

  it('4.3 quorum queue: a basic.get left unacked closes the channel with 406, timeout -1 (its dequeue tag is no consumer of the channel: rabbit_channel\'s fallback)', async () => {
    await watched('4.3', 120, async (ch, broker) => {
      await ch.assertQueue('qq43-get', { durable: true });
      ch.sendToQueue('qq43-get', Buffer.from('got'), { persistent: true });
      const closed = new Promise<{ code: number; message: string }>((resolve) => ch.on('error', resolve));
      let got: GetMessage | false = false;
      while (!got) got = await ch.get('qq43-get'); // never acked
      const err = await closed;
      expect(err.code).toBe(406);
      expect(err.message).toContain('PRECONDITION_FAILED - delivery acknowledgement on channel 1 timed out. Timeout value used: -1 ms.');
      expect(broker.queue('qq43-get').messageCount()).toBe(1);
    });
  });

  it('acked in time: nothing happens', async () => {
    await watched('4.2', 150, async (ch, _broker, failed) => {
      await ch.assertQueue('quick', { durable: true });
      const got = new Promise<void>((resolve) => void ch.consume('quick', (m) => {
        if (m) {
          ch.ack(m);
          resolve();
        }
      }));
      ch.sendToQueue('quick', Buffer.from('q'));
      await got;
      await new Promise((r) => setTimeout(r, 300)); // past the timeout: the channel stays open
      expect(failed()).toBe(false);
      await ch.checkQueue('quick');
    });
  });
});

describe('quorum queues (every version)', () => {
  const broker = useBroker({ engineVersion: '3.13' });
  let conn: ChannelModel;
  beforeAll(async () => {
    conn = await amqplib.connect(broker().urls.amqp!);
  });
  afterAll(async () => {
    await conn.close().catch(() => undefined);
  });
  const reconnect = async () => {
    await conn.close().catch(() => undefined);
    conn = await amqplib.connect(broker().urls.amqp!);
  };

  it.each([
    [{ durable: true, exclusive: true }, "invalid property 'exclusive-owner' for queue 'qq-props' in vhost '/'"],
    [{ durable: true, autoDelete: true }, "invalid property 'auto-delete' for queue 'qq-props' in vhost '/'"],
    [{ durable: false }, "invalid property 'non-durable' for queue 'qq-props' in vhost '/'"],
  ])('%o → 406 with RabbitMQ text', async (props, text) => {
    const r = await closedWith(conn, (ch) => ch.assertQueue('qq-props', { ...props, arguments: { 'x-queue-type': 'quorum' } }));
    expect(r).toMatchObject({ code: 406, scope: 'channel' });
    expect(r.text).toContain(`PRECONDITION_FAILED - ${text}`);
  });

  it('classic-only arguments are refused on a quorum queue, quorum-only ones on a classic queue', async () => {
    const a = await closedWith(conn, (ch) => ch.assertQueue('qq-prio', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-max-priority': 5 } }));
    expect(a.text).toContain("invalid arg 'x-max-priority' for queue 'qq-prio' in vhost '/' of queue type rabbit_quorum_queue");
    const b = await closedWith(conn, (ch) => ch.assertQueue('cq-limit', { durable: true, arguments: { 'x-delivery-limit': 3 } }));
    expect(b.text).toContain("invalid arg 'x-delivery-limit' for queue 'cq-limit' in vhost '/' of queue type rabbit_classic_queue");
  });

  it('streams are refused: Amazon MQ does not support them', async () => {
    const r = await closedWith(conn, (ch) => ch.assertQueue('s1', { durable: true, arguments: { 'x-queue-type': 'stream' } }));
    expect(r.code).toBe(406);
    expect(r.text).toContain("invalid arg 'x-queue-type' for queue 's1' in vhost '/': streams are not supported by Amazon MQ");
  });

  it('x-delivery-limit: redeliveries carry x-delivery-count, then the message is dead-lettered with reason delivery_limit', async () => {
    await reconnect();
    const ch = await conn.createChannel();
    await ch.assertQueue('qq-dlq', { durable: true });
    await ch.assertQueue('qq-limited', {
      durable: true,
      arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 2, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': 'qq-dlq' },
    });
    const dead = dlqOnce(ch, 'qq-dlq');
    ch.sendToQueue('qq-limited', Buffer.from('poison'), { persistent: true });
    const seen = await nackLoop(ch, 'qq-limited', 3);
    expect(seen.map((m) => m.properties.headers?.['x-delivery-count'])).toEqual([undefined, 1, 2]);
    expect(seen.map((m) => m.fields.redelivered)).toEqual([false, true, true]);
    const m = await dead;
    expect(m.content.toString()).toBe('poison');
    const death = (m.properties.headers?.['x-death'] as unknown as Array<Record<string, unknown>>)[0];
    expect(death).toMatchObject({ queue: 'qq-limited', reason: 'delivery_limit', count: 1 });
    expect(m.properties.headers?.['x-first-death-reason']).toBe('delivery_limit');
  });

  it('without a dead-letter exchange a message past its limit is dropped', async () => {
    const ch = await conn.createChannel();
    await ch.assertQueue('qq-drop', { durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': 0 } });
    ch.sendToQueue('qq-drop', Buffer.from('x'));
    await nackLoop(ch, 'qq-drop', 1);
    await ch.cancel((await ch.consume('qq-drop', () => undefined)).consumerTag);
    expect((await ch.checkQueue('qq-drop')).messageCount).toBe(0);
  });

  it('x-dead-letter-strategy at-least-once (with overflow reject-publish) keeps a message until a queue takes it; drop-head falls back to at-most-once', async () => {
    // rabbit_quorum_queue:dead_letter_handler/2 and dlh/5; rabbit_fifo_dlx_worker retries every
    // dead_letter_worker_publisher_confirm_timeout (180 s; here 100 ms)
    broker().core.deadLetterRetryMs = 100;
    const ch = await conn.createChannel();
    await ch.assertExchange('alo-dlx', 'fanout', { durable: true });
    const args = { 'x-queue-type': 'quorum', 'x-dead-letter-exchange': 'alo-dlx', 'x-dead-letter-strategy': 'at-least-once' };
    await ch.assertQueue('alo-src', { durable: true, arguments: { ...args, 'x-overflow': 'reject-publish' } });
    await ch.assertQueue('amo-src', { durable: true, arguments: args }); // drop-head: at-most-once
    for (const q of ['alo-src', 'amo-src']) {
      ch.sendToQueue(q, Buffer.from(`from ${q}`), { persistent: true });
      const m = await new Promise<GetMessage>((resolve) => {
        const poll = async () => {
          const got = await ch.get(q);
          if (got) resolve(got);
          else setImmediate(() => void poll());
        };
        void poll();
      });
      ch.nack(m, false, false); // dead-lettered: the DLX routes it nowhere yet
    }
    await ch.checkQueue('alo-src'); // the nacks are processed
    const src = broker().core.vhost('/')!.getQueue('alo-src')!;
    expect(src.dlxHeldCount).toBe(1);
    expect(src.messageCount).toBe(0);
    expect(broker().core.vhost('/')!.getQueue('amo-src')!.dlxHeldCount).toBe(0);
    // a queue bound to the DLX: the next offer goes there, and only then does the source let go
    await ch.assertQueue('alo-dlq', { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await ch.bindQueue('alo-dlq', 'alo-dlx', '');
    const dead = await broker().waitFor('alo-dlq');
    expect(dead.text()).toBe('from alo-src');
    expect((dead.properties.headers?.['x-death'] as unknown as Record<string, unknown>[])[0]).toMatchObject({ queue: 'alo-src', reason: 'rejected', count: 1 });
    expect(src.dlxHeldCount).toBe(0);
    expect(broker().queue('alo-dlq').messageCount()).toBe(1); // the at-most-once one was dropped long ago
    await ch.close();
  });

  it('consuming a quorum queue on a channel with global QoS closes the connection: 540 NOT_IMPLEMENTED (rabbit_quorum_queue:consume/3)', async () => {
    await reconnect();
    const ch = await conn.createChannel();
    await ch.assertQueue('qq-global', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    const r = await closedWith(conn, async (c) => {
      await c.prefetch(10, true);
      await c.consume('qq-global', () => undefined);
    });
    expect(r).toMatchObject({ code: 540, scope: 'connection' });
    expect(r.text).toContain("NOT_IMPLEMENTED - queue 'qq-global' in vhost '/' does not support global qos");
    await reconnect();
  });

  it('3.13 has no default limit and counts a closed channel\'s returns', async () => {
    const ch = await conn.createChannel();
    await ch.assertQueue('qq-returns', { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    ch.sendToQueue('qq-returns', Buffer.from('r'));
    for (let i = 1; i <= 2; i++) {
      const c2 = await conn.createChannel();
      const got = await new Promise<ConsumeMessage>((resolve) => void c2.consume('qq-returns', (m) => m && resolve(m)));
      expect(got.properties.headers?.['x-delivery-count']).toBe(i === 1 ? undefined : 1);
      await c2.close(); // unacked: returned to the queue
    }
    const again = await ch.get('qq-returns');
    expect(again && again.properties.headers?.['x-delivery-count']).toBe(2);
  });
});

describe('RabbitMQ 4.2: quorum is the default queue type, delivery limit 20', () => {
  const broker = useBroker({ engineVersion: '4.2' });
  let conn: ChannelModel;
  beforeAll(async () => {
    conn = await amqplib.connect(broker().urls.amqp!);
  });
  afterAll(async () => {
    await conn.close().catch(() => undefined);
  });

  it('a durable queue that names no type is a quorum queue; exclusive, auto-delete and transient ones stay classic', async () => {
    const ch = await conn.createChannel();
    await ch.assertQueue('dq-durable', { durable: true });
    await ch.assertQueue('dq-durable', { durable: true }); // the same declaration again is equivalent
    const excl = await ch.assertQueue('', { exclusive: true });
    await ch.assertQueue('dq-transient', { durable: false, exclusive: false });
    expect(broker().queue('dq-durable').info()).toMatchObject({ type: 'quorum' });
    expect(broker().queue(excl.queue).info()).toMatchObject({ type: 'classic' });
    expect(broker().queue('dq-transient').info()).toMatchObject({ type: 'classic' });
    const r = await closedWith(conn, (c) => c.assertQueue('dq-durable', { durable: true, arguments: { 'x-queue-type': 'classic' } }));
    expect(r.text).toContain("inequivalent arg 'x-queue-type' for queue 'dq-durable' in vhost '/'");
  });

  it('every return counts toward the default delivery limit of 20, a closed channel\'s too (v4.2.9 rabbit_fifo return_one compares acquired_count; rabbit_fifo_client writes it as x-delivery-count)', async () => {
    const ch = await conn.createChannel();
    await ch.assertQueue('dq-limit', { durable: true });
    ch.sendToQueue('dq-limit', Buffer.from('p'));
    const c2 = await conn.createChannel();
    const first = await new Promise<ConsumeMessage>((resolve) => void c2.consume('dq-limit', (m) => m && resolve(m)));
    expect(first.fields.redelivered).toBe(false);
    expect(first.properties.headers?.['x-delivery-count']).toBeUndefined();
    await c2.close(); // returned: acquired_count 1
    const seen = await nackLoop(ch, 'dq-limit', 20);
    expect(seen.map((m) => m.properties.headers?.['x-delivery-count'])).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(seen[0]!.properties.headers?.['x-acquired-count']).toBeUndefined(); // a 4.3 header
    await ch.checkQueue('dq-limit'); // the 20th nack (acquired_count 21 > 20) dropped it
    expect((await ch.checkQueue('dq-limit')).messageCount).toBe(0);
  });

  it('a quorum queue and its persistent messages survive a restart on a data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localmq-versions-'));
    let b: LocalMQ = await startBroker({ engineVersion: '4.2', dataDir });
    let c = await amqplib.connect(b.urls.amqp!);
    const ch = await c.createConfirmChannel();
    await ch.assertQueue('qq-durable', { durable: true });
    ch.sendToQueue('qq-durable', Buffer.from('kept'), { persistent: true });
    await ch.waitForConfirms();
    await c.close();
    await b.stop();
    b = await startBroker({ engineVersion: '4.2', dataDir });
    try {
      expect(b.queue('qq-durable').info()).toMatchObject({ type: 'quorum' });
      expect(b.queue('qq-durable').messages().map((m) => m.text())).toEqual(['kept']);
      c = await amqplib.connect(b.urls.amqp!);
      const ch2 = await c.createChannel();
      await ch2.assertQueue('qq-durable', { durable: true }); // equivalent after the restart too
      await c.close();
    } finally {
      await b.stop();
    }
  });
});

describe('RabbitMQ 4.3: what counts toward a quorum queue\'s delivery limit', () => {
  const broker = useBroker({ engineVersion: '4.3' });

  it('basic.nack with requeue does not count (x-acquired-count only); a closed channel and basic.reject with requeue do (rabbit_channel v4.3.5: reject → modify delivery_failed; quorum_queue_SUITE)', async () => {
    const conn = await amqplib.connect(broker().urls.amqp!);
    try {
      const ch = await conn.createChannel();
      await ch.assertQueue('qq43-counts', { durable: true, arguments: { 'x-delivery-limit': 1 } });
      ch.sendToQueue('qq43-counts', Buffer.from('c'), { persistent: true });
      // nacked three times, past a limit of 1: still there ("unlimited explicit message returns", 4.3.0 notes)
      const c2 = await conn.createChannel();
      const seen: ConsumeMessage[] = [];
      await new Promise<void>((resolve) => {
        void c2.consume('qq43-counts', (m) => {
          if (!m) return;
          seen.push(m);
          if (seen.length < 4) c2.nack(m, false, true);
          else resolve(); // the fourth stays unacked
        });
      });
      expect(seen.map((m) => m.properties.headers?.['x-delivery-count'])).toEqual([undefined, undefined, undefined, undefined]);
      expect(seen.map((m) => m.properties.headers?.['x-acquired-count'])).toEqual([undefined, 1, 2, 3]);
      expect(seen.map((m) => m.fields.redelivered)).toEqual([false, true, true, true]);
      await c2.close(); // the consumer's channel goes down: a failed delivery (delivery_count 1)
      const again = await ch.get('qq43-counts');
      expect(again && again.properties.headers).toMatchObject({ 'x-delivery-count': 1, 'x-acquired-count': 4 });
      ch.reject(again as GetMessage, true); // delivery_count 2 > 1: dropped
      await ch.checkQueue('qq43-counts');
      expect((await ch.checkQueue('qq43-counts')).messageCount).toBe(0);
    } finally {
      await conn.close();
    }
  });
});

describe('RabbitMQ 4.3 refusals', () => {
  const broker = useBroker({ engineVersion: '4.3' });

  it('a transient non-exclusive queue closes the connection with 541 and the deprecated-feature text', async () => {
    const conn = await amqplib.connect(broker().urls.amqp!);
    const r = await closedWith(conn, (ch) => ch.assertQueue('transient', { durable: false, exclusive: false }));
    expect(r).toMatchObject({ code: 541, scope: 'connection' });
    // RabbitMQ cuts the notice at 255 characters (reply-text is a shortstr)
    expect(r.text).toContain('INTERNAL_ERROR - Feature `transient_nonexcl_queues` is deprecated.\nBy default, this feature is not permitted anymore.');
  });

  it('x-queue-version 1 is refused; 2 and transient exclusive queues are fine', async () => {
    const conn = await amqplib.connect(broker().urls.amqp!);
    const ch = await conn.createChannel();
    await ch.assertQueue('', { exclusive: true, durable: false });
    await ch.assertQueue('cqv2', { durable: true, arguments: { 'x-queue-type': 'classic', 'x-queue-version': 2 } });
    const r = await closedWith(conn, (c) => c.assertQueue('cqv1', { durable: true, arguments: { 'x-queue-type': 'classic', 'x-queue-version': 1 } }));
    expect(r.code).toBe(406);
    expect(r.text).toContain(`invalid arg 'x-queue-version' for queue 'cqv1' in vhost '/': "unsupported queue version '1'"`);
    await conn.close();
  });

  it('basic.qos global=true limits each consumer instead of the channel (rabbit_channel, global_qos denied)', async () => {
    const conn = await amqplib.connect(broker().urls.amqp!);
    const ch = await conn.createChannel();
    await ch.assertQueue('qos-a', { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await ch.assertQueue('qos-b', { durable: true, arguments: { 'x-queue-type': 'classic' } });
    for (let i = 0; i < 3; i++) {
      ch.sendToQueue('qos-a', Buffer.from('a'));
      ch.sendToQueue('qos-b', Buffer.from('b'));
    }
    await ch.prefetch(1, true);
    const got: string[] = [];
    const both = new Promise<void>((resolve) => {
      const on = (m: ConsumeMessage | null) => {
        if (m) got.push(m.content.toString());
        if (got.length === 2) resolve();
      };
      void ch.consume('qos-a', on);
      void ch.consume('qos-b', on);
    });
    await both; // with a channel-wide limit of 1 only one of them could be in flight
    expect(got.sort()).toEqual(['a', 'b']);
    expect(broker().queue('qos-a').info()).toMatchObject({ unacked: 1 });
    await conn.close();
  });
});

describe('strict mode listens where Amazon MQ does: TLS only', () => {
  const good = 'correct-horse-battery-9';
  it.each([
    ['rabbitmq', ['amqps', 'https']],
    ['activemq', ['amqp10s', 'console', 'mqtts', 'stomps', 'wss']],
  ] as const)('%s', async (engine, expected) => {
    const b = await startBroker({ engine, strict: true, users: [{ name: 'app-user', password: good }] });
    try {
      expect(Object.keys(b.urls).sort()).toEqual([...expected].sort());
    } finally {
      await b.stop();
    }
  });
});
