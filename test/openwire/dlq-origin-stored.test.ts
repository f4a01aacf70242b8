import amqplib from 'amqplib';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Message } from '../../src/core/message.js';
import { startBroker, type LocalMQ } from '../../src/index.js';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { ByteReader, ByteWriter } from '../../src/store/file/binary.js';
import { readMessageIndex, readMessagePart, writeMessage, writeMessagePart, RECORD_HEADER } from '../../src/store/file/record-codec.js';
import type { MessageIndex } from '../../src/store/store.js';
import { amqpUrl } from '../helpers/amqp.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { browse, dispatched, ended } from '../helpers/openwire-browser.js';
import { RawStomp, getHeader, nackToActiveMqDlq } from '../helpers/stomp.js';

/**
 * An ActiveMQ DLQ copy's originalDestination is a field of the stored message (Message.originalDestination),
 * as it is a field of ActiveMQ's message, not a header (review-s16-2 F4b/F4c): it survives a restart, and
 * readers that show headers (AMQP 0-9-1 under engine `all`) do not see LocalMQ's old internal key
 * `x-localmq-dlq-origin`. A record written before the field existed reads as before.
 */
const brokers: LocalMQ[] = [];
let dir = '';

afterEach(async () => {
  for (const b of brokers.splice(0)) await b.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = '';
});

async function start(options: Parameters<typeof startBroker>[0]): Promise<LocalMQ> {
  const b = await startBroker(options);
  brokers.push(b);
  return b;
}

/** what an OpenWire browser of ActiveMQ.DLQ is dispatched: each copy's originalDestination */
async function dlqOrigins(b: LocalMQ, n: number): Promise<unknown[]> {
  const c = await RawOpenWire.connected(b.ports['openwire']!);
  const id = await browse(c, 'ActiveMQ.DLQ', 100);
  await ended(c, id);
  const out = dispatched(c, id).map((d) => (d['message'] as OwStruct)['originalDestination']);
  c.close();
  expect(out).toHaveLength(n);
  return out;
}

describe('an ActiveMQ DLQ copy keeps its originalDestination as a stored field', () => {
  it('across a restart: a STOMP reader sees original-destination, a JMS reader originalDestination', async () => {
    dir = mkdtempSync(join(tmpdir(), 'localmq-dlq-origin-'));
    const options = { engine: 'activemq' as const, dataDir: dir, ports: { stomp: 0, openwire: 0 } };
    const first = await start(options);
    const { client } = await RawStomp.connected(first);
    client.useVersion('1.2');
    await nackToActiveMqDlq(client, 'f4c.poison');
    client.close();
    await first.stop();
    brokers.splice(0);

    const second = await start(options);
    expect(await dlqOrigins(second, 1)).toMatchObject([{ type: T.Queue, physicalName: 'f4c.poison' }]);
    const reader = (await RawStomp.connected(second)).client;
    reader.send('SUBSCRIBE', { destination: '/queue/ActiveMQ.DLQ', id: 'd', ack: 'auto' });
    const copy = await reader.frame('MESSAGE');
    expect(copy.body.toString()).toBe('bad');
    expect(getHeader(copy, 'original-destination')).toBe('/queue/f4c.poison');
    expect(getHeader(copy, 'x-localmq-dlq-origin')).toBeUndefined();
    reader.close();
  });

  it('engine all: an AMQP 0-9-1 reader of ActiveMQ.DLQ sees no header for it (the old code showed x-localmq-dlq-origin)', async () => {
    const b = await start({ engine: 'all', ports: { amqp: 0, openwire: 0 } });
    const c = await RawOpenWire.connected(b.ports['openwire']!);
    const make = await c.producer('ID:dlq-origin-all', 'f4c.expired');
    // expired before it arrived: ActiveMQ dead-letters it at once (persistent: to ActiveMQ.DLQ)
    const sent = { ...make(0, 'late'), persistent: true, expiration: Date.now() - 60_000 };
    expect((await c.request(sent)).type).toBe(T.Response);
    c.close();
    expect(await dlqOrigins(b, 1)).toMatchObject([{ type: T.Queue, physicalName: 'f4c.expired' }]);
    const conn = await amqplib.connect(amqpUrl(b));
    try {
      const ch = await conn.createChannel();
      const got = await ch.get('ActiveMQ.DLQ', { noAck: true });
      expect(got).not.toBe(false);
      if (got === false) return;
      expect(got.content.toString()).toBe('late');
      expect(Object.keys(got.properties.headers ?? {})).not.toContain('x-localmq-dlq-origin');
      expect(got.properties.headers).toHaveProperty('originalExpiration');
    } finally {
      await conn.close();
    }
  });
});

describe('the journal record of a message with and without the field', () => {
  const base = (): Message => ({
    exchange: '',
    routingKey: 'ActiveMQ.DLQ',
    properties: { deliveryMode: 2, messageId: 'ID:x-1', headers: { 'original-destination': '/queue/client-set', originalExpiration: 0n } },
    body: Buffer.from('body'),
    publishedAt: 1_700_000_000_000,
  });
  const roundTrip = (m: Message): { back: Message; index: MessageIndex } => {
    const w = new ByteWriter(256);
    writeMessagePart(w, m);
    const back = readMessagePart(new ByteReader(w.buf, 0, w.pos));
    const r = new ByteWriter(256);
    const end = writeMessage(r, 7, [2], m);
    const index: MessageIndex = { publishedAt: 0, priority: undefined, expiration: undefined, bodyLength: -1 };
    readMessageIndex(new ByteReader(r.buf, RECORD_HEADER + 1, end), index);
    return { back, index };
  };

  it('without it (as every record written before it): the headers read as they were, no originalDestination', () => {
    const { back, index } = roundTrip(base());
    expect(back.originalDestination).toBeUndefined();
    expect(back.properties.headers).toEqual({ 'original-destination': '/queue/client-set', originalExpiration: 0n });
    expect(index.bodyLength).toBe(4);
  });

  it('with it: read back as the field, beside a client property of the same name; the index skips it', () => {
    const { back, index } = roundTrip({ ...base(), originalDestination: '/topic/orders' });
    expect(back.originalDestination).toBe('/topic/orders');
    expect(back.properties.headers).toEqual({ 'original-destination': '/queue/client-set', originalExpiration: 0n });
    expect(back.body.toString()).toBe('body');
    expect(index).toMatchObject({ publishedAt: 1_700_000_000_000, bodyLength: 4 });
  });
});

describe('review-s17-2 FU1: a DLQ copy stored by fc35a17 (origin under the header x-localmq-dlq-origin)', () => {
  const old = (): Message => ({
    exchange: '',
    routingKey: 'ActiveMQ.DLQ',
    properties: { deliveryMode: 2, headers: { 'x-localmq-dlq-origin': '/queue/f4c.old', originalExpiration: 0n } },
    body: Buffer.from('body'),
    publishedAt: 1_700_000_000_000,
  });
  /**
   * the message part of that copy as fc35a17's writeMessagePart wrote it (review-s17-2's hex; the same bytes
   * from `git archive fc35a17 src` + its writeMessagePart: /tmp/s17-fidelity/fc35a17/gen.ts)
   */
  const oldRecord = (): ByteReader => {
    const hex = '00008056febc7842000c4163746976654d512e444c510c0c0214782d6c6f63616c6d712d646c712d6f726967696e070e2f71756575652f6634632e6f6c64126f726967696e616c45787069726174696f6e0601300204626f6479';
    const buf = Buffer.from(hex, 'hex');
    return new ByteReader(buf, 0, buf.length);
  };
  it('reads it back as originalDestination, the header gone', () => {
    const back = readMessagePart(oldRecord());
    expect(back.originalDestination).toBe('/queue/f4c.old');
    expect(back.properties.headers).toEqual({ originalExpiration: 0n });
  });
  it("a client's own x-localmq-dlq-origin written by this build stays a property", () => {
    const w = new ByteWriter(256);
    writeMessagePart(w, old());
    const back = readMessagePart(new ByteReader(w.buf, 0, w.pos));
    expect(back.originalDestination).toBeUndefined();
    expect(back.properties.headers).toEqual({ 'x-localmq-dlq-origin': '/queue/f4c.old', originalExpiration: 0n });
  });
});
