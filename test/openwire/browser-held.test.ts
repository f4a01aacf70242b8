import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { useBroker } from '../helpers/broker.js';
import { jmsClasspath, jmsUnavailable } from '../helpers/jms.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { ackBrowsed, body, browse, dispatched, ended, isDispatchTo } from '../helpers/openwire-browser.js';

/**
 * What a QueueBrowser shows of a queue whose messages consumers hold, took or acked, as real
 * ActiveMQ 5.17 shows it. Asked of ActiveMQ 5.17 (Debian's, the instance's activemq.xml: KahaDB)
 * with the same Java program (test/java/JmsBrowseStates.java) and the ActiveMQ 5.17 JMS client:
 * a browser sees every message the queue holds that is not acknowledged — ready, in a consumer's
 * prefetch, received and not acked, acked in a transaction not committed — in the queue's order,
 * not flagged redelivered; never an acked one, never an expired one (the broker sends none: a raw
 * browser gets none on the wire). The old code browsed the ready messages only.
 */

const ALL = 'm0 m1 m2 m3 m4 m5 m6 m7 m8 m9';
/** case → what ActiveMQ 5.17 enumerated (/work/notes/s13-browse.md §1), each over m0…m9 */
const ACTIVEMQ_5_17: Record<string, string> = {
  // a client-ack consumer (prefetch 1000) received m0 m1 m2 and has not acked; m3…m9 sit in its prefetch
  'client-held': ALL,
  // the same with prefetch 1: m3 in its prefetch, m4… ready
  'client-held-prefetch1': ALL,
  // the same, browsed with queueBrowserPrefetch 0 (the client pulls each one)
  'client-held-browser-prefetch0': ALL,
  'client-acked': 'm3 m4 m5 m6 m7 m8 m9',
  // a client-ack consumer received m0 m1 m2 (m3… in its prefetch), then its consumer, session or connection closed:
  // only what it handed to the application comes back redelivered (RemoveInfo's lastDeliveredSequenceId)
  'consumer-closed': 'm0(r) m1(r) m2(r) m3 m4 m5 m6 m7 m8 m9',
  'session-closed': 'm0(r) m1(r) m2(r) m3 m4 m5 m6 m7 m8 m9',
  'connection-closed': 'm0(r) m1(r) m2(r) m3 m4 m5 m6 m7 m8 m9',
  // two consumers of one client-ack session (/work/notes/s14-fidelity.md §1): A (prefetch 5) holds m0…m4 and
  // received m0 m1, B holds m5…m9 and received m5; A closed, then the connection: each its own last delivered
  'two-consumers-consumer-closed': 'm0(r) m1(r) m2 m3 m4 m5(r) m6 m7 m8 m9',
  // the session closed instead: its RemoveInfo names the highest id delivered (B's m5) for both, so A's m0 m1 are not flagged
  'two-consumers-session-closed': 'm0 m1 m2 m3 m4 m5(r) m6 m7 m8 m9',
  // A on this queue received m0 m1, B on a second queue (filled later: higher ids) received its m0; the session closed
  'two-queues-session-closed': 'm0 m1 m2 m3 m4 m5 m6 m7 m8 m9 | m0(r) m1 m2 m3 m4 m5 m6 m7 m8 m9',
  // auto-ack, prefetch 1: m0 m1 m2 acked, m3 in its prefetch
  'auto-acked-prefetch1': 'm3 m4 m5 m6 m7 m8 m9',
  'transacted-uncommitted': ALL,
  'transacted-committed-prefetch1': 'm3 m4 m5 m6 m7 m8 m9',
  // the even ones expired, no consumer: the browse shows the rest and expires them (to ActiveMQ.DLQ, empty before it)
  'expired-dead-lettered': 'm1 m3 m5 m7 m9 | DLQ m0 m2 m4 m6 m8',
  // the even ones expired while the consumer held m0 m1 m2 and the rest sat in its prefetch
  'expired-held': 'm1 m3 m5 m7 m9',
  // the browser's selector color = 'red' while a consumer holds m0 m1 m2
  'selector-browser-held': 'm0 m2 m4 m6 m8',
  // a consumer selecting color = 'blue' received m1 m3 (m5 m7 m9 in its prefetch)
  'selector-consumer-held': ALL,
  // a client-ack consumer holds m0 m1 (m2 in its prefetch); an auto-ack one took m3 m4 (m5 in its prefetch)
  'two-consumers': 'm0 m1 m2 m5 m6 m7 m8 m9',
};

/** runs JmsBrowseStates against `url` for every case: case → its enumeration (or FAIL …) */
function browseStates(url: string): Promise<Map<string, string>> {
  const child = spawn('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', jmsClasspath('JmsBrowseStates'), 'JmsBrowseStates', url, ...Object.keys(ACTIVEMQ_5_17)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', () => {
      const seen = new Map<string, string>();
      for (const m of output.matchAll(/^BROWSE (\S+): ?(.*)$/gm)) seen.set(m[1]!, m[2]!);
      if (seen.size === 0) reject(new Error(`JmsBrowseStates printed nothing:\n${output}`));
      else resolve(seen);
    });
  });
}

const unavailable = jmsUnavailable();

describe.skipIf(unavailable !== undefined)(`QueueBrowser of held messages, ActiveMQ JMS client${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let broker: LocalMQ;
  let seen: Map<string, string>;
  beforeAll(async () => {
    broker = await startBroker({ engine: 'activemq', ports: { openwire: 0 } });
    seen = await browseStates(broker.urls.openwire!.replace('localhost', '127.0.0.1'));
  }, 120_000);
  afterAll(() => broker?.stop());

  // the old code: client-held, transacted-uncommitted, expired-held, selector-browser-held '' (all delivered: nothing ready);
  // expired-dead-lettered '… | DLQ m0' (only the head, by its expiry timer);
  // client-held-prefetch1 and transacted-uncommitted with prefetch 1 'm4 … m9'; two-consumers 'm6 m7 m8 m9'
  for (const [name, expected] of Object.entries(ACTIVEMQ_5_17)) {
    it(`${name}: ActiveMQ 5.17 enumerates ${expected}`, () => {
      expect(seen.get(name)).toBe(expected);
    });
  }
});

describe('QueueBrowser of held messages, raw OpenWire', () => {
  const getBroker = useBroker({ engine: 'all', ports: { amqp: 0, openwire: 0 } });
  let broker: LocalMQ;
  let port: number;
  let amqpUrl: string;
  beforeAll(() => {
    broker = getBroker();
    port = Number(new URL(broker.urls.openwire!).port);
    amqpUrl = broker.urls.amqp!.replace('amqp://', 'amqp://guest:guest@');
  });
  const declare = (queue: string) => broker.core.vhost('/')!.declareQueue(queue, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);

  it('expired messages are not sent to a browser (ActiveMQ 5.17, a raw browser: the 5 of 10 not expired, no expired one on the wire; the old code sent all 10)', async () => {
    declare('ow.browse.expired');
    // the odd ones expired as they arrive (the head is not: the queue's expiry timer takes none of them)
    for (let i = 0; i < 10; i++) broker.publish('', 'ow.browse.expired', `m${i}`, i % 2 ? { expiration: '0' } : {});
    const c = await RawOpenWire.connected(port);
    const browser = await browse(c, 'ow.browse.expired', 100);
    await ended(c, browser);
    expect(dispatched(c, browser).map(body)).toEqual(['m0', 'm2', 'm4', 'm6', 'm8']);
    c.close();
  });

  it('a browser shows a message a consumer holds unacked with its redelivery counter before that delivery (ActiveMQ 5.17: not JMSRedelivered)', async () => {
    declare('ow.browse.counter');
    for (let i = 0; i < 3; i++) broker.publish('', 'ow.browse.counter', `m${i}`);
    const conn = await amqplib.connect(amqpUrl);
    const ch = await conn.createChannel();
    const got: amqplib.ConsumeMessage[] = [];
    await new Promise<void>((resolve) => void ch.consume('ow.browse.counter', (m) => got.push(m!) === 3 && resolve(), { noAck: false }));
    const c = await RawOpenWire.connected(port);
    const browser = await browse(c, 'ow.browse.counter', 100);
    await ended(c, browser);
    const d = dispatched(c, browser);
    expect(d.map(body)).toEqual(['m0', 'm1', 'm2']);
    expect(d.map((s) => s['redeliveryCounter'])).toEqual([0, 0, 0]);
    c.close();
    await conn.close();
  });

  it('a browse held by its window still shows what a consumer took meanwhile and has not acked, and not what it acked (ActiveMQ 5.17, JMS client, browser prefetch 100 of 1000: 1000 with the consumer not acking, 100 once it acked; the old code showed 100 either way)', async () => {
    for (const acked of [false, true]) {
      const queue = `ow.browse.stalled.${acked ? 'acked' : 'held'}`;
      declare(queue);
      for (let i = 0; i < 1000; i++) broker.publish('', queue, String(i));
      const c = await RawOpenWire.connected(port);
      const browser = await browse(c, queue, 100);
      await c.next((s) => isDispatchTo(s, browser) && s['message'] !== null && body(s) === '99');
      await broker.core.bulkWork.idle();
      // a consumer takes all 1000 while the browse waits for acks
      const conn = await amqplib.connect(amqpUrl);
      const ch = await conn.createChannel();
      const got: amqplib.ConsumeMessage[] = [];
      await new Promise<void>((resolve) => void ch.consume(queue, (m) => got.push(m!) === 1000 && resolve(), { noAck: false }));
      if (acked) {
        ch.ack(got[999]!, true);
        // the ack is settled once a later round trip on the channel is answered
        await ch.checkQueue(queue);
      }
      // the browser acks as it goes, as the JMS client does: the rest, then the end
      const first = dispatched(c, browser);
      const ack = (d: OwStruct, messageCount: number) => ackBrowsed(c, browser, d, messageCount);
      ack(first[99]!, 100);
      if (!acked) for (let i = 100; i < 1000; i++) ack(await c.next((s) => isDispatchTo(s, browser) && s['message'] !== null && body(s) === String(i)), 1);
      await ended(c, browser);
      expect(dispatched(c, browser).map(body), acked ? 'acked' : 'held').toEqual(Array.from({ length: acked ? 100 : 1000 }, (_, i) => String(i)));
      c.close();
      await conn.close();
    }
  });
});

describe('QueueBrowser of a paged queue', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-browse-paged-'));
  const getBroker = useBroker({ engine: 'all', ports: { amqp: 0, openwire: 0 }, dataDir: dir, journal: { pageThreshold: 16, segmentSize: 256 * 1024 } });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('messages the browse copied from disk and could not send yet (the socket full) go out as they were, though a consumer took and acked them meanwhile (their journal records gone)', async () => {
    const broker = getBroker();
    const n = 3000;
    broker.core.vhost('/')!.declareQueue('ow.browse.paged', { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: {} }, null);
    const bodyOf = (i: number) => `${i}:`.padEnd(10_000, 'p');
    for (let i = 0; i < n; i++) broker.publish('', 'ow.browse.paged', bodyOf(i), { deliveryMode: 2 });
    const c = await RawOpenWire.connected(Number(new URL(broker.urls.openwire!).port));
    const browser = await browse(c, 'ow.browse.paged', 10 * n);
    c.socket.pause();
    await broker.core.bulkWork.idle();
    // a consumer takes and acks them all while the browse waits for the socket
    const conn = await amqplib.connect(broker.urls.amqp!.replace('amqp://', 'amqp://guest:guest@'));
    const ch = await conn.createChannel();
    let got = 0;
    await new Promise<void>((resolve) => void ch.consume('ow.browse.paged', (m) => (ch.ack(m!), ++got === n && resolve()), { noAck: false }));
    await ch.checkQueue('ow.browse.paged');
    c.socket.resume();
    await ended(c, browser);
    const d = dispatched(c, browser);
    // what went out before the consumer's acks, and what the browse had copied: each the message it was
    expect(d.length).toBeGreaterThan(0);
    expect(d.length).toBeLessThan(n);
    d.forEach((s, i) => expect(body(s), `browsed message ${i}`).toBe(bodyOf(i)));
    c.close();
    await conn.close();
  });
});
