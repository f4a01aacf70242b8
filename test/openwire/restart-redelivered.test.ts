import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { RawOpenWire } from '../helpers/openwire.js';

/**
 * After a broker restart an ActiveMQ queue's messages all come back not redelivered, whatever
 * happened to them before it: ActiveMQ 5.17 (Debian's, KahaDB, default policies: persistJMSRedelivered
 * off) asked with the ActiveMQ JMS client (/work/notes/s14-fidelity.md §2): queues of 10 persistent
 * messages, a client-ack consumer received 3 (the rest in its prefetch) and was left open / its consumer
 * closed / its connection closed (m0-m2 then redelivered with JMSXDeliveryCount 2), a transacted one
 * not committed, a prefetch-1 one; broker stopped (SIGTERM, and SIGKILL), started on the same data: a
 * new consumer got every message with JMSRedelivered false and JMSXDeliveryCount 1 (redeliveryCounter
 * 0). The old code wrote RabbitMQ's "delivered" mark for them and brought every message ever
 * dispatched, prefetched ones included, back with redeliveryCounter 1. (RabbitMQ's own rule, unacked
 * ones back redelivered, is test/persistence/restart.test.ts.)
 */
const CONN = 'ID:ow-restart-redelivered';
const brokers: LocalMQ[] = [];
const clients: RawOpenWire[] = [];
let dir = '';

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const b of brokers.splice(0)) await b.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function start(): Promise<{ b: LocalMQ; c: RawOpenWire }> {
  const b = await startBroker({ engine: 'activemq', dataDir: dir, ports: { openwire: 0 } });
  brokers.push(b);
  const c = await RawOpenWire.connected(b.ports['openwire']!);
  clients.push(c);
  return { b, c };
}

async function stop(b: LocalMQ, c: RawOpenWire): Promise<void> {
  await b.stop();
  brokers.splice(brokers.indexOf(b), 1);
  c.close();
  clients.splice(clients.indexOf(c), 1);
}

let consumers = 0;
/** a consumer of `queue` with prefetch `count` and the `count` messages dispatched to it (none acked) */
async function consume(c: RawOpenWire, queue: string, count: number): Promise<{ id: OwStruct; got: OwStruct[] }> {
  const id = { type: T.ConsumerId, connectionId: CONN, sessionId: 1, value: ++consumers };
  const mine = (s: OwStruct) => s.type === T.MessageDispatch && (s['consumerId'] as OwStruct)['value'] === id.value && s['message'] !== null;
  await c.request({ type: T.ConsumerInfo, consumerId: id, destination: { type: T.Queue, physicalName: queue }, prefetchSize: count });
  const got: OwStruct[] = [];
  for (let i = 0; i < count; i++) got.push((await c.next(mine))['message'] as OwStruct);
  return { id, got };
}

/** body and redelivery counter of each: `m0(r1)` when redelivered */
const seen = (got: OwStruct[]) => got.map((m) => `${(m['content'] as Buffer).toString()}${m['redeliveryCounter'] ? `(r${String(m['redeliveryCounter'])})` : ''}`).join(' ');
const brokerSeq = (m: OwStruct) => (m['messageId'] as OwStruct)['brokerSequenceId'] as number;

describe('OpenWire: what an ActiveMQ queue shows as redelivered after a broker restart', () => {
  it('messages dispatched before a restart (held, prefetched, returned by a consumer removal) come back with redeliveryCounter 0', async () => {
    dir = mkdtempSync(join(tmpdir(), 'localmq-ow-restart-redelivered-'));
    const first = await start();
    const make = await first.c.producer(CONN, 'ow.rr.held');
    for (const queue of ['ow.rr.held', 'ow.rr.returned']) {
      const destination = { type: T.Queue, physicalName: queue };
      for (let n = 0; n < 5; n++) expect((await first.c.request({ ...make(n, `m${n}`), destination, persistent: true })).type).toBe(T.Response);
    }
    // held: a consumer has all five dispatched, none acked, and is still open at the stop
    expect(seen((await consume(first.c, 'ow.rr.held', 5)).got)).toBe('m0 m1 m2 m3 m4');
    // returned: a consumer had all five and was removed naming the second as the last it delivered
    const returned = await consume(first.c, 'ow.rr.returned', 5);
    await first.c.request({ type: T.RemoveInfo, objectId: returned.id, lastDeliveredSequenceId: brokerSeq(returned.got[1]!) });
    const flags = (b: LocalMQ, q: string) => b.queue(q).messages().map((m) => `${m.text()}${m.redelivered ? '(r)' : ''}`).join(' ');
    expect(flags(first.b, 'ow.rr.returned')).toBe('m0(r) m1(r) m2 m3 m4');
    await stop(first.b, first.c);

    const after = await start();
    await after.c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: CONN, value: 1 } });
    expect(flags(after.b, 'ow.rr.held')).toBe('m0 m1 m2 m3 m4');
    expect(flags(after.b, 'ow.rr.returned')).toBe('m0 m1 m2 m3 m4');
    expect(seen((await consume(after.c, 'ow.rr.held', 5)).got)).toBe('m0 m1 m2 m3 m4');
    expect(seen((await consume(after.c, 'ow.rr.returned', 5)).got)).toBe('m0 m1 m2 m3 m4');
  });

  it('a journal whose older form marked dispatched messages delivered: they come back with redeliveryCounter 0 too', async () => {
    // test/fixtures/openwire-journal-delivered-marks: m0 m1 m2 of five marked delivered by main c9a069a
    dir = mkdtempSync(join(tmpdir(), 'localmq-ow-restart-redelivered-'));
    cpSync(new URL('../fixtures/openwire-journal-delivered-marks/', import.meta.url), dir, { recursive: true });
    const { b, c } = await start();
    await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: CONN, value: 1 } });
    expect(b.queue('ow.rr.marked').messageCount()).toBe(5);
    expect(seen((await consume(c, 'ow.rr.marked', 5)).got)).toBe('m0 m1 m2 m3 m4');
  });
});
