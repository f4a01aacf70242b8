import { describe, expect, it } from 'vitest';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { useBroker } from '../helpers/broker.js';
import { RawOpenWire } from '../helpers/openwire.js';

/**
 * A consumer's unacked messages going back as it is removed are flagged redelivered up to the one
 * its RemoveInfo names as the last delivered to the application (lastDeliveredSequenceId: that
 * message's broker sequence id), as ActiveMQ 5.17's Queue.removeSubscription does: the rest sat
 * in its prefetch and come back as never delivered; when it names none of them (-1: nothing
 * delivered) none is flagged, when the client does not know (-2) all are. With the ActiveMQ JMS
 * client (test/openwire/browser-held.test.ts, cases consumer-closed, session-closed,
 * connection-closed): a client-ack consumer receives 3 of 10 and closes, ActiveMQ 5.17 redelivers
 * m0-m2 flagged and m3-m9 not. The old code flagged all 10 (and counted them toward the client's
 * maximumRedeliveries).
 */
describe('OpenWire consumer removal: what comes back redelivered', () => {
  const broker = useBroker({ engine: 'activemq', ports: { openwire: 0 } });

  /** a consumer (prefetch 5) of a queue of 5 on `c`: its id and the dispatches it got */
  async function holding(c: RawOpenWire, queue: string): Promise<{ id: OwStruct; got: OwStruct[] }> {
    const b = broker();
    b.core.vhost('/')!.declareQueue(queue, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: { 'x-activemq-queue': true } }, null);
    for (let i = 0; i < 5; i++) b.publish('', queue, `m${i}`);
    await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: c.connectionId, value: 1 } });
    const id = { type: T.ConsumerId, connectionId: c.connectionId, sessionId: 1, value: 1 };
    await c.request({ type: T.ConsumerInfo, consumerId: id, destination: { type: T.Queue, physicalName: queue }, prefetchSize: 5 });
    const got: OwStruct[] = [];
    for (let i = 0; i < 5; i++) got.push(await c.next((s) => s.type === T.MessageDispatch));
    return { id, got };
  }
  const brokerSeq = (d: OwStruct) => ((d['message'] as OwStruct)['messageId'] as OwStruct)['brokerSequenceId'] as number;

  for (const [what, last, flagged] of [
    ['the second of five', (got: OwStruct[]) => brokerSeq(got[1]!), [true, true, false, false, false]],
    ['none delivered (-1)', () => -1, [false, false, false, false, false]],
    ['unknown (-2)', () => -2, [true, true, true, true, true]],
    ['one not among them', () => 987_654_321, [false, false, false, false, false]],
  ] as const) {
    it(`RemoveInfo naming ${what} as the last delivered: ${flagged.filter(Boolean).length} of 5 come back redelivered`, async () => {
      const queue = `ow.close.${what.replace(/\W+/g, '.')}`;
      const c = await RawOpenWire.connected(broker().ports['openwire']!);
      const { id, got } = await holding(c, queue);
      // each dispatch names its message by the broker-wide message id, distinct and in queue order
      const seqs = got.map(brokerSeq);
      expect(new Set(seqs).size).toBe(5);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      await c.request({ type: T.RemoveInfo, objectId: id, lastDeliveredSequenceId: last(got) });
      expect(broker().queue(queue).messages().map((m) => `${m.text()}${m.redelivered ? '(r)' : ''}`)).toEqual(flagged.map((r, i) => `m${i}${r ? '(r)' : ''}`));
      c.close();
    });
  }
});
