import { describe, expect, it } from 'vitest';
import type { OwStruct } from '../../src/protocols/openwire/codec/marshal.js';
import { decodePrimitiveMap } from '../../src/protocols/openwire/codec/primitive.js';
import { useBroker } from '../helpers/broker.js';
import { RawOpenWire } from '../helpers/openwire.js';
import { browse, dispatched, ended } from '../helpers/openwire-browser.js';
import { RawStomp, getHeader, nackToActiveMqDlq } from '../helpers/stomp.js';

/**
 * A client's own `original-destination` header is a property like any other; only a DLQ copy has
 * ActiveMQ's originalDestination field. ActiveMQ 5.17, asked by review-s15-2 (F4: a STOMP SEND with
 * original-destination:/queue/foo, originalExpiration:123, myprop:x, read by JMS): `origDest=null`,
 * properties `myprop = x, original-destination = /queue/foo (String), originalExpiration = 123`.
 * The old code took the header for the field (origDest queue://foo) and dropped the property.
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, openwire: 0 } });

/** what an OpenWire browser of `queue` is dispatched: each message's originalDestination and properties */
async function browseAll(queue: string, n: number): Promise<{ originalDestination: unknown; properties: Record<string, unknown> }[]> {
  const c = await RawOpenWire.connected(broker().ports['openwire']!);
  const id = await browse(c, queue, 100);
  await ended(c, id);
  const out = dispatched(c, id).map((d) => {
    const m = d['message'] as OwStruct;
    const raw = m['marshalledProperties'] as Buffer | null;
    const properties = Object.fromEntries([...(raw ? decodePrimitiveMap(raw) : new Map())].map(([k, v]) => [k, v.v]));
    return { originalDestination: m['originalDestination'], properties };
  });
  c.close();
  expect(out).toHaveLength(n);
  return out;
}

describe("a client's own original-destination header (ActiveMQ 5.17: a property, no originalDestination)", () => {
  it('sent over STOMP, read over OpenWire: originalDestination null, the property kept', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/f4.redrive', 'original-destination': '/queue/foo', myprop: 'x', receipt: 's1' }, 'again');
    await client.receipt('s1');
    const [m] = await browseAll('f4.redrive', 1);
    expect(m!.originalDestination).toBeNull();
    expect(m!.properties).toMatchObject({ 'original-destination': '/queue/foo', myprop: 'x' });
    client.close();
  });

  it("the key LocalMQ kept the origin under before (x-localmq-dlq-origin) is a client's property like any other", async () => {
    // review-s16-2 F4b: a client could set it and got a JMS originalDestination and a STOMP original-destination
    // out of it (old code: originalDestination { physicalName: 'bar' }); ActiveMQ 5.17 has no such key, a header
    // it does not know is a property, delivered as sent
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/f4b.forged', 'x-localmq-dlq-origin': '/queue/bar', receipt: 's1' }, 'forged');
    await client.receipt('s1');
    const [m] = await browseAll('f4b.forged', 1);
    expect(m!.originalDestination).toBeNull();
    expect(m!.properties).toMatchObject({ 'x-localmq-dlq-origin': '/queue/bar' });
    client.send('SUBSCRIBE', { destination: '/queue/f4b.forged', id: 'f', ack: 'auto' });
    const shown = await client.frame('MESSAGE');
    expect(getHeader(shown, 'x-localmq-dlq-origin')).toBe('/queue/bar');
    expect(getHeader(shown, 'original-destination')).toBeUndefined();
    client.close();
  });

  it('a DLQ copy still has the field and no such property; a STOMP reader sees original-destination', async () => {
    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    await nackToActiveMqDlq(client, 'f4.poison');
    const [copy] = await browseAll('ActiveMQ.DLQ', 1);
    expect(copy!.originalDestination).toMatchObject({ physicalName: 'f4.poison' });
    expect(Object.keys(copy!.properties).sort()).toEqual(['originalExpiration']);
    client.send('SUBSCRIBE', { destination: '/queue/ActiveMQ.DLQ', id: 'd', ack: 'auto' });
    const shown = await client.frame('MESSAGE');
    expect(getHeader(shown, 'original-destination')).toBe('/queue/f4.poison');
    expect(getHeader(shown, 'x-localmq-dlq-origin')).toBeUndefined();
    client.close();
  });
});
