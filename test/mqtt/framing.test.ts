import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { mqttPort } from '../helpers/mqtt.js';
import { Raw } from '../helpers/mqtt-raw.js';
import { PacketReader } from '../../src/protocols/mqtt/framing.js';

const broker = useBroker();

/**
 * The broker cuts the byte stream into packets itself (src/protocols/mqtt/framing.ts) and
 * reads the hot ones (PUBLISH, the acks, PINGREQ) without mqtt-packet: packets split at any
 * byte, or many in one chunk, must read exactly as mqtt-packet reads them.
 */
describe('MQTT packets split across reads, or many in one', () => {
  const big = Buffer.alloc(10_000, 'z');
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 4 ? '3.1.1' : '5'}: split inside the fixed header, the remaining length and the body`, async () => {
      const r = await Raw.open(mqttPort(broker()), version);
      r.socket.setNoDelay(true);
      const gen = (p: Packet) => mqttPacket.generate(p, { protocolVersion: version });
      const packets: Packet[] = [
        { cmd: 'connect', protocolId: 'MQTT', protocolVersion: version, clientId: `split-${version}`, clean: true, keepalive: 60, username: 'guest', password: Buffer.from('guest') },
        { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'split/#', qos: 1 }] },
        { cmd: 'publish', topic: 'split/a', payload: Buffer.from('hello'), qos: 1, messageId: 7, retain: false, dup: false },
        { cmd: 'publish', topic: 'split/é', payload: big, qos: 0, retain: false, dup: false },
        { cmd: 'pingreq' },
      ];
      if (version === 5) {
        // a PUBLISH with properties is read by mqtt-packet: the user property gets through
        packets.push({ cmd: 'publish', topic: 'split/p', payload: Buffer.from('props'), qos: 1, messageId: 8, retain: false, dup: false, properties: { userProperties: { k: 'v' } } });
      }
      const bytes = Buffer.concat(packets.map(gen));
      const connectLength = gen(packets[0]!).length;
      // cut points: after the CONNECT's type byte, inside the subscription, inside the big
      // PUBLISH's two-byte remaining length, in its body, and one byte at a time at the end
      const cuts = [1, connectLength + 3, bytes.length - 10_030, bytes.length - 10_029, bytes.length - 5_000];
      for (let i = bytes.length - 8; i < bytes.length; i++) cuts.push(i);
      let from = 0;
      for (const at of [...cuts, bytes.length]) {
        r.socket.write(bytes.subarray(from, at));
        from = at;
        await new Promise((resolve) => setTimeout(resolve, 15));
      }
      const seen: Packet[] = [];
      const want = version === 5 ? 8 : 6;
      while (seen.length < want) seen.push(await r.next());
      const byCmd = (cmd: string) => seen.filter((p) => p.cmd === cmd);
      expect(byCmd('connack')).toHaveLength(1);
      expect(byCmd('suback')[0]).toMatchObject({ messageId: 1, granted: [1] });
      expect(byCmd('puback').map((p) => (p as { messageId: number }).messageId)).toEqual(version === 5 ? [7, 8] : [7]);
      expect(byCmd('pingresp')).toHaveLength(1);
      const delivered = byCmd('publish') as IPublishPacket[];
      expect(delivered[0]).toMatchObject({ topic: 'split/a', qos: 1 });
      expect(delivered[0]!.payload.toString()).toBe('hello');
      expect(delivered[1]).toMatchObject({ topic: 'split/é', qos: 0 });
      expect(Buffer.compare(delivered[1]!.payload as Buffer, big)).toBe(0);
      if (version === 5) {
        expect(delivered[2]).toMatchObject({ topic: 'split/p', properties: { userProperties: { k: 'v' } } });
        expect(delivered[2]!.payload.toString()).toBe('props');
      }
      r.socket.end();
      await r.closed;
    });
  }

  it('a PUBREL with wrong reserved flags closes the connection at once (mqtt-packet has the same rule)', async () => {
    const r = await Raw.connected(mqttPort(broker()), 4, 'bad-flags');
    // a PUBREL must carry flags 0010; this one declares a body that never comes
    r.socket.write(Buffer.from([0x60, 0x40, 0x00]));
    await r.closed;
  });
});

describe('PacketReader, the cut into packets itself', () => {
  // the session 9 review: every packet once and in order however the stream is cut into reads,
  // and none handed over after stopIf (ReadSlices.over) said stop in the same push
  const publish = (i: number): Buffer => {
    const body = Buffer.concat([Buffer.from([0, 1, 0x74, i >> 8, i & 0xff]), Buffer.alloc(i % 300, i & 0xff)]);
    const len = body.length;
    return Buffer.concat([Buffer.from(len < 128 ? [0x30, len] : [0x30, (len & 127) | 128, len >> 7]), body]);
  };
  it('reads every packet once, in order, wherever the reads are cut and the reading stops', () => {
    const packets = Array.from({ length: 500 }, (_, i) => publish(i));
    const all = Buffer.concat(packets);
    for (const stopEvery of [0, 1, 2, 5]) {
      let seed = 11;
      const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n) + 1;
      const reader = new PacketReader(1 << 20);
      const got: number[] = [];
      let stopped = false;
      let afterStop = 0;
      let asked = 0;
      const each = (b: Buffer, start: number) => {
        if (stopped) afterStop++;
        got.push(b.readUInt16BE(start + (b[start + 1]! & 128 ? 3 : 2) + 3));
      };
      const stopIf = stopEvery ? () => (stopped = ++asked % stopEvery === 0) : undefined;
      const push = (chunk: Buffer) => {
        stopped = false;
        return reader.push(chunk, each, stopIf);
      };
      for (let at = 0; at < all.length; ) {
        const n = rnd(700);
        let rest = push(all.subarray(at, at + n));
        while (rest) rest = push(rest);
        at += n;
      }
      expect(got, `stop every ${stopEvery}`).toEqual(packets.map((_, i) => i));
      expect(afterStop, `packets after a stop, stop every ${stopEvery}`).toBe(0);
    }
  });
});
