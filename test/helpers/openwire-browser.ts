import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { AckType, T } from '../../src/protocols/openwire/codec/types.js';
import type { RawOpenWire } from './openwire.js';

/** A QueueBrowser on the project's raw OpenWire client: opening one, reading and acking what it is sent. */

/** a session and a browser of `queue` in it on `c`, with this prefetch: its ConsumerId, once the broker answered */
export async function browse(c: RawOpenWire, queue: string, prefetchSize: number): Promise<OwStruct> {
  await c.request({ type: T.SessionInfo, sessionId: { type: T.SessionId, connectionId: c.connectionId, value: 1 } });
  const consumerId = { type: T.ConsumerId, connectionId: c.connectionId, sessionId: 1, value: 1 };
  await c.request({ type: T.ConsumerInfo, consumerId, destination: { type: T.Queue, physicalName: queue }, prefetchSize, browser: true });
  return consumerId;
}

export const isDispatchTo = (s: OwStruct, id: OwStruct): boolean => s.type === T.MessageDispatch && (s['consumerId'] as OwStruct)['value'] === id['value'];

/** the browse's messages received so far, in order (not its end marker) */
export const dispatched = (c: RawOpenWire, id: OwStruct): OwStruct[] => c.log.filter((s) => isDispatchTo(s, id) && s['message'] !== null);

export const body = (d: OwStruct): string => ((d['message'] as OwStruct)['content'] as Buffer).toString();

/** the browser's end marker (an empty dispatch) */
export const ended = (c: RawOpenWire, id: OwStruct): Promise<OwStruct> => c.next((s) => isDispatchTo(s, id) && s['message'] === null);

/** a standard ack of `messageCount` up to the dispatch `d`, as the ActiveMQ JMS client acks what it browsed */
export const ackBrowsed = (c: RawOpenWire, id: OwStruct, d: OwStruct, messageCount: number): void =>
  c.writeOneWay([{ type: T.MessageAck, consumerId: id, destination: d['destination'], ackType: AckType.Standard, lastMessageId: (d['message'] as OwStruct)['messageId'], messageCount }]);
