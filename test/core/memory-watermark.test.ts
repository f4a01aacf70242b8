import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { toOpenWire } from '../../src/protocols/openwire/message-map.js';
import { watermarkBytes } from '../../src/server/memory-watermark.js';
import { parseSize } from '../../src/server/resource-limit.js';
import { brokerOptions, resolveSettings } from '../../src/cli/config.js';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { RawStomp } from '../helpers/stomp.js';
import { once, openSender, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';

// RabbitMQ's memory alarm (rabbit_alarm + vm_memory_monitor): above vm_memory_high_watermark
// every publishing connection stops being read until memory falls below it again. The
// publish that crosses the watermark does not stop its own connection; the next one does.
// A watermark of 1,000 bytes of queued bodies makes the alarm deterministic here.

const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const BIG = 2000;

/** a few event-loop turns and a little real time: long enough for a frame on loopback to be read if it were */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 100));
}

function declare(b: LocalMQ, name: string): void {
  b.core.vhost('/')!.declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
}

/**
 * The common script: `send(i, body)` publishes message i; the first one (BIG bytes) crosses
 * the watermark; the second is taken (it stops the connection's reading); the third stalls
 * until the queue is drained, then arrives.
 */
async function blocksAndResumes(b: LocalMQ, queue: string, send: (i: number, body: Buffer) => Promise<void> | void): Promise<void> {
  const q = b.queue(queue);
  await send(1, Buffer.alloc(BIG, 'a'));
  await b.waitFor(queue, (m) => m.body.length === BIG);
  expect(b.core.alarms.memory).toBe(true);
  await send(2, Buffer.from('second'));
  await b.waitFor(queue, (m) => m.body.toString() === 'second');
  const third = send(3, Buffer.from('third'));
  await settle();
  // the connection is no longer read: the third publish waits in the kernel
  expect(q.messageCount()).toBe(2);
  expect(q.messages().map((m) => m.body.toString())).not.toContain('third');
  // a consumer drains the queue: memory falls, the alarm clears, the third arrives
  q.purge();
  expect(b.core.alarms.memory).toBe(false);
  await b.waitFor(queue, (m) => m.body.toString() === 'third');
  await third;
}

describe('the memory high watermark blocks publishers of every protocol, and releases them', () => {
  const broker = useBroker({ limits: { memoryHighWatermark: 1000 } });

  it('AMQP 0-9-1: connection.blocked, reads pause (a publish stays in the kernel) until memory falls, then connection.unblocked', async () => {
    const b = broker();
    declare(b, 'wm.amqp');
    const conn = await connect(b);
    const events: string[] = [];
    conn.on('blocked', (reason: string) => events.push(`blocked: ${reason}`));
    const unblocked = new Promise<void>((resolve) => conn.on('unblocked', () => (events.push('unblocked'), resolve())));
    try {
      const ch = await conn.createChannel();
      await blocksAndResumes(b, 'wm.amqp', (_i, body) => {
        ch.sendToQueue('wm.amqp', body);
      });
      await unblocked;
      expect(events).toEqual(['blocked: low on memory', 'unblocked']);
    } finally {
      await conn.close();
    }
  });

  it('AMQP 1.0: once memory is over, a sender stops at once whatever credit it holds: the session window is shut (RabbitMQ 4); credit and window again once it falls', async () => {
    const b = broker();
    declare(b, 'wm.amqp10');
    const conn = await rheaConnect(b.ports['amqp']!);
    try {
      const s = await openSender(conn, '/queues/wm.amqp10');
      // the first message crosses the watermark
      expect((await sendAwait(s, { body: Buffer.alloc(BIG, 'a') })).outcome).toBe('accepted');
      expect(b.core.alarms.memory).toBe(true);
      // the link keeps its credit (RabbitMQ 4 does not revoke it), but rabbit_amqp_session's conserve_resources
      // set the session's incoming window to 0 and told the client: rhea writes no transfer
      const held = (s as unknown as { credit: number }).credit;
      expect(held).toBeGreaterThan(0);
      const waiting = sendAwait(s, { body: 'held by the window' });
      // the broker handles a connection's frames in order: a second link attached after that send is
      // answered after any transfer it wrote (attached while memory is over, it gets RabbitMQ 4's 170 credit:
      // grant_link_credit has no alarm term, the window stops it)
      const probe = await openSender(conn, '/queues/wm.amqp10');
      expect((probe as unknown as { credit: number }).credit).toBe(170);
      expect(b.queue('wm.amqp10').messageCount()).toBe(1);
      // memory falls: the window opens, the waiting message goes, and credit comes back
      b.queue('wm.amqp10').purge();
      expect(b.core.alarms.memory).toBe(false);
      expect((await waiting).outcome).toBe('accepted');
      expect((await sendAwait(s, { body: 'after the alarm' })).outcome).toBe('accepted');
      expect(b.queue('wm.amqp10').messageCount()).toBe(2);
    } finally {
      await rheaClose(conn);
    }
  });

  it('STOMP: reads pause (a RECEIPT is withheld) until memory falls', async () => {
    const b = broker();
    declare(b, 'wm.stomp');
    const { client } = await RawStomp.connected(b);
    try {
      await blocksAndResumes(b, 'wm.stomp', async (i, body) => {
        client.send('SEND', { destination: '/queue/wm.stomp', receipt: `r${i}`, 'content-length': String(body.length) }, body);
        await client.receipt(`r${i}`);
      });
    } finally {
      client.close();
    }
  });

  it('MQTT: reads pause (a PUBACK is withheld) until memory falls', async () => {
    const b = broker();
    declare(b, 'wm.mqtt');
    const conn = await connect(b);
    const ch = await conn.createChannel();
    await ch.bindQueue('wm.mqtt', 'amq.topic', 'wm.mqtt');
    await conn.close();
    const client = await mqttConnect(b, { clientId: 'wm-mqtt' });
    try {
      await blocksAndResumes(b, 'wm.mqtt', (_i, body) => client.publishAsync('wm/mqtt', body, { qos: 1 }).then(() => undefined));
    } finally {
      await client.endAsync();
    }
  });

  it('OpenWire: a synchronous send is answered only once memory falls (ActiveMQ producer flow control)', async () => {
    const b = broker();
    const c = await RawOpenWire.connected(b.ports['openwire']!);
    try {
      const destination = { type: T.Queue, physicalName: 'wm.ow' };
      declare(b, 'wm.ow');
      const m = toOpenWire({ exchange: '', routingKey: 'wm.ow', properties: { deliveryMode: 1 }, body: Buffer.alloc(BIG, 'a'), publishedAt: Date.now() }, destination, 1, 0, () => false);
      let answered = false;
      const reply = c.request({ ...m, destination, persistent: false }).then((r) => ((answered = true), r));
      await b.waitFor('wm.ow', (x) => x.body.length === BIG);
      expect(b.core.alarms.memory).toBe(true);
      await settle();
      expect(answered).toBe(false);
      b.queue('wm.ow').purge();
      expect(b.core.alarms.memory).toBe(false);
      expect((await reply).type).toBe(T.Response);
    } finally {
      c.close();
    }
  });

  it('the management API shows mem_limit and mem_alarm', async () => {
    const b = broker();
    declare(b, 'wm.api');
    const nodes = async () =>
      ((await (await fetch(`${b.urls.http}/api/nodes`, { headers: { authorization: GUEST } })).json()) as { mem_limit: number; mem_alarm: boolean }[])[0]!;
    expect(await nodes()).toMatchObject({ mem_limit: 1000, mem_alarm: false });
    b.publish('', 'wm.api', Buffer.alloc(BIG));
    expect(await nodes()).toMatchObject({ mem_limit: 1000, mem_alarm: true });
    b.queue('wm.api').purge();
    expect(await nodes()).toMatchObject({ mem_alarm: false });
  });
});

describe('vm_memory_high_watermark settings', () => {
  it('relative (a fraction of RAM, default 0.4) or absolute (bytes or RabbitMQ units)', () => {
    const ram = 8 * 1024 ** 3;
    expect(watermarkBytes(undefined, ram)).toBe(Math.floor(ram * 0.4));
    expect(watermarkBytes(0.5, ram)).toBe(ram / 2);
    expect(watermarkBytes('0.25', ram)).toBe(ram / 4);
    expect(watermarkBytes({ relative: 0.1 }, ram)).toBe(Math.floor(ram * 0.1));
    expect(watermarkBytes(200_000_000, ram)).toBe(200_000_000);
    expect(watermarkBytes('512MiB', ram)).toBe(512 * 1024 ** 2);
    expect(watermarkBytes({ absolute: '1GB' }, ram)).toBe(1e9);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(() => watermarkBytes('lots', ram)).toThrow(/fraction of RAM/);
    expect(() => watermarkBytes(-1, ram)).toThrow(/fraction of RAM/);
  });

  it('the CLI takes --memory-high-watermark / LOCALMQ_MEMORY_HIGH_WATERMARK and counts RSS', () => {
    const s = resolveSettings([{ raw: { memoryHighWatermark: '256MiB' }, source: 'flag' }], '/tmp');
    const o = brokerOptions(s);
    expect(o).toMatchObject({ memoryHighWatermark: '256MiB', memoryCalculation: 'rss' });
    expect(() => resolveSettings([{ raw: { memoryHighWatermark: 'huge' }, source: 'env' }], '/tmp')).toThrow(/LOCALMQ_MEMORY_HIGH_WATERMARK/);
  });

  it('startBroker: the default is 0.4 of RAM; memoryCalculation rss counts the process (over a tiny watermark: blocked at once)', async () => {
    const b = await startBroker({ memoryHighWatermark: 1_000_000, memoryCalculation: 'rss', ports: { amqp: 0 } });
    try {
      // this process's RSS is far above 1 MB: RabbitMQ with such a watermark is alarmed from the start
      expect(b.core.alarms.memory).toBe(true);
      expect(b.core.limits.settings.memoryHighWatermark).toBe(1_000_000);
      expect(b.core.memoryInUse).toBeGreaterThan(1_000_000);
    } finally {
      await b.stop();
    }
    const d = await startBroker({ ports: { amqp: 0 } });
    try {
      const { totalmem } = await import('node:os');
      expect(d.core.limits.settings.memoryHighWatermark).toBe(Math.floor(totalmem() * 0.4));
      expect(d.core.alarms.memory).toBe(false);
    } finally {
      await d.stop();
    }
  });
});
