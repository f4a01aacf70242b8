import { describe, expect, it } from 'vitest';
import { T } from '../../src/protocols/openwire/codec/types.js';
import { brokerWireFormatInfo } from '../../src/protocols/openwire/codec/wire-format.js';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { useBroker } from '../helpers/broker.js';
import { RawOpenWire } from '../helpers/openwire.js';

/**
 * A failover reconnect: the JMS client resends its ConnectionInfo, the SAME ConnectionId and client
 * id, on a new socket while the broker still holds the old one. ActiveMQ 5.17 (review-s15-2 C1,
 * takeover.ts): the new socket is answered and the stale connection closed (TransportConnection.
 * processAddConnection); another ConnectionId with the client id is refused (InvalidClientIDException).
 * The old code refused the reconnect as well, until the old socket timed out.
 */
const broker = useBroker({ engine: 'activemq', ports: { openwire: 0 } });

/** a socket through the handshake sending ConnectionInfo: the answer */
async function connectAs(connectionId: string, clientId: string): Promise<{ c: RawOpenWire; answer: OwStruct }> {
  const c = await RawOpenWire.open(broker().ports['openwire']!);
  await c.next((s) => s.type === T.WireFormatInfo);
  c.write(brokerWireFormatInfo({ maxFrameSize: 1 << 24, maxInactivityDuration: 0, maxInactivityDurationInitialDelay: 0, providerVersion: 'test' }));
  const answer = await c.request({ type: T.ConnectionInfo, connectionId: { type: T.ConnectionId, value: connectionId }, clientId, userName: 'guest', password: 'guest' });
  return { c, answer };
}

describe('OpenWire failover reconnect (ActiveMQ 5.17)', () => {
  it('the same ConnectionId on a new socket takes the client id over and the stale connection is closed', async () => {
    const id = `ID:takeover-${Date.now()}`;
    const first = await connectAs(id, `client-${id}`);
    expect(first.answer.type).toBe(T.Response);
    const second = await connectAs(id, `client-${id}`);
    expect(second.answer.type).toBe(T.Response);
    await first.c.closed;
    second.c.close();
  });

  it('another ConnectionId with the client id is refused', async () => {
    const id = `ID:other-${Date.now()}`;
    const first = await connectAs(id, `client-${id}`);
    const second = await connectAs(`${id}-2`, `client-${id}`);
    expect(second.answer.type).toBe(T.ExceptionResponse);
    expect((second.answer['exception'] as { message?: string }).message).toMatch(new RegExp(`^Broker: localhost - Client: client-${id} already connected from tcp://`));
    first.c.close();
    second.c.close();
  });
});
