import type { IPublishPacket, Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { mqttConnect, mqttPort } from '../helpers/mqtt.js';
import { useBroker } from '../helpers/broker.js';
import { Raw } from '../helpers/mqtt-raw.js';

/**
 * The client's Receive Maximum is one send quota for the connection [MQTT-4.9.0-1]: a QoS 2
 * delivery holds its unit until PUBCOMP (or a PUBREC >= 0x80), and deliveries from every queue
 * the client consumes (its subscriptions' queue, each shared subscription's) share it. Review
 * s11-3 F5 and F10; Mosquitto 2.0.11 sends nothing more before the PUBCOMP, one PUBLISH in all
 * to a Receive Maximum 1 client with one plain and two shared subscriptions, and one of three
 * retained QoS 1 messages its SUBSCRIBE matched.
 */
const broker = useBroker();

async function client(clientId: string, subscriptions: { topic: string; qos: 1 | 2 }[]): Promise<Raw> {
  const r = await Raw.open(mqttPort(broker()), 5);
  r.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 5, clientId, clean: true, keepalive: 60, username: 'guest', password: Buffer.from('guest'), properties: { receiveMaximum: 1 } }, 5);
  expect((await r.next()).cmd).toBe('connack');
  r.send({ cmd: 'subscribe', messageId: 1, subscriptions }, 5);
  expect((await r.next()).cmd).toBe('suback');
  return r;
}

/**
 * the packets the broker sends up to its answer to a PINGREQ: what it writes in answer to
 * our last packet goes out before the PINGRESP (deliveries a settle frees are written in that turn)
 */
async function untilPing(r: Raw): Promise<Packet[]> {
  r.send({ cmd: 'pingreq' }, 5);
  const seen: Packet[] = [];
  for (;;) {
    const p = await r.next();
    if (p.cmd === 'pingresp') return seen;
    seen.push(p);
  }
}

const payloads = (ps: Packet[]) => ps.filter((p) => p.cmd === 'publish').map((p) => (p as IPublishPacket).payload.toString());

describe('MQTT 5: the client\'s Receive Maximum is one window per connection', () => {
  it('a QoS 2 delivery holds its unit until PUBCOMP, not PUBREC', async () => {
    const r = await client('rm-qos2', [{ topic: 'rm/qos2', qos: 2 }]);
    const pub = await mqttConnect(broker(), { protocolVersion: 5, clientId: 'rm-qos2-pub' });
    for (let i = 0; i < 3; i++) await pub.publishAsync('rm/qos2', `m${i}`, { qos: 2 });
    const first = (await r.next()) as IPublishPacket;
    expect(first.payload.toString()).toBe('m0');
    r.send({ cmd: 'pubrec', messageId: first.messageId! }, 5);
    // PUBREL, and no PUBLISH while our PUBCOMP is held back
    expect((await untilPing(r)).map((p) => p.cmd)).toEqual(['pubrel']);
    r.send({ cmd: 'pubcomp', messageId: first.messageId! }, 5);
    const next = (await r.next()) as IPublishPacket;
    expect(next.payload.toString()).toBe('m1');
    await pub.endAsync();
    r.socket.destroy();
  });

  it('a plain and two shared subscriptions share it: one PUBLISH until its PUBACK', async () => {
    const r = await client('rm-shared', [
      { topic: 'rms/a/#', qos: 1 },
      { topic: '$share/g1/rms/b/#', qos: 1 },
      { topic: '$share/g2/rms/c/#', qos: 1 },
    ]);
    const pub = await mqttConnect(broker(), { protocolVersion: 5, clientId: 'rm-shared-pub' });
    for (const t of ['a', 'b', 'c']) await pub.publishAsync(`rms/${t}/1`, t, { qos: 1 });
    const first = (await r.next()) as IPublishPacket;
    expect(first.cmd).toBe('publish');
    expect(payloads(await untilPing(r))).toEqual([]);
    // each PUBACK lets exactly one more out, whichever queue it comes from
    const got = [first.payload.toString()];
    let last = first;
    for (let i = 0; i < 2; i++) {
      r.send({ cmd: 'puback', messageId: last.messageId! }, 5);
      last = (await r.next()) as IPublishPacket;
      expect(last.cmd).toBe('publish');
      got.push(last.payload.toString());
      expect(payloads(await untilPing(r))).toEqual([]);
    }
    expect(got.sort()).toEqual(['a', 'b', 'c']);
    await pub.endAsync();
    r.socket.destroy();
  });

  it('retained QoS 1 messages a SUBSCRIBE matches take units too: one at a time, in order, as PUBACKs come', async () => {
    const pub = await mqttConnect(broker(), { protocolVersion: 5, clientId: 'rm-retained-pub' });
    for (const n of ['1', '2', '3']) await pub.publishAsync(`rmr/${n}`, `r${n}`, { qos: 1, retain: true });
    const r = await client('rm-retained', [{ topic: 'rmr/#', qos: 1 }]);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const p = (await r.next()) as IPublishPacket;
      expect(p).toMatchObject({ cmd: 'publish', retain: true });
      got.push(p.payload.toString());
      expect(payloads(await untilPing(r))).toEqual([]);
      r.send({ cmd: 'puback', messageId: p.messageId! }, 5);
    }
    expect(got.sort()).toEqual(['r1', 'r2', 'r3']);
    // a live message after them takes the freed unit
    await pub.publishAsync('rmr/1', 'live', { qos: 1 });
    expect(((await r.next()) as IPublishPacket).payload.toString()).toBe('live');
    await pub.endAsync();
    r.socket.destroy();
  });
});

describe('MQTT 5: a refused QoS 2 PUBLISH gives our Receive Maximum unit back', () => {
  const small = useBroker({ mqtt: { receiveMaximum: 2 } });
  it('QoS 2 PUBLISHes to $SYS/…, more than our Receive Maximum of 2: PUBREC 0x87 each, never DISCONNECT 0x93 (review s11-3 F4; Mosquitto 2.0.11: PUBREC 135)', async () => {
    const r = await Raw.connected(mqttPort(small()), 5, 'rm-sys-qos2');
    for (let id = 1; id <= 3; id++) {
      r.send({ cmd: 'publish', topic: '$SYS/forged', payload: Buffer.from('x'), qos: 2, dup: false, retain: false, messageId: id }, 5);
      expect(await r.next()).toMatchObject({ cmd: 'pubrec', messageId: id, reasonCode: 0x87 });
    }
    // still connected, and a plain QoS 2 exchange completes
    r.send({ cmd: 'publish', topic: 'rm/after', payload: Buffer.from('y'), qos: 2, dup: false, retain: false, messageId: 4 }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'pubrec', messageId: 4 });
    r.send({ cmd: 'pubrel', messageId: 4 }, 5);
    expect(await r.next()).toMatchObject({ cmd: 'pubcomp', messageId: 4, reasonCode: 0 });
    r.socket.destroy();
  });
});
