import { describe, expect, it } from 'vitest';
import { RawMqttClient } from '../../bench/lib/mqtt-raw-client.js';
import { useBroker } from '../helpers/broker.js';

/**
 * The bare client of bench/mqtt-e2e.ts --raw against the broker: what it counts is what was
 * delivered, its QoS 1 window holds (the broker's Receive Maximum, 1024, is never exceeded:
 * MQTT 5 would DISCONNECT 0x93), and its packet ids wrap past 65535 without a clash.
 */
const broker = useBroker();

describe('bench: the bare MQTT client (bench/lib/mqtt-raw-client.ts)', () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 4 ? '3.1.1' : '5'}: 70 000 QoS 1 PUBLISHes from two publishers, window 1000, all counted by a QoS 1 subscriber`, async () => {
      const url = broker().urls.mqtt!;
      const topic = `bench/raw/v${version}`;
      const sub = await RawMqttClient.open(url, `raw-sub-${version}`, version);
      expect(await sub.subscribe(topic, 1)).toBe(1);
      const all = sub.countPublishes(70_000);
      const pubs = [await RawMqttClient.open(url, `raw-pub-a-${version}`, version), await RawMqttClient.open(url, `raw-pub-b-${version}`, version)];
      const body = Buffer.alloc(16, 0x61);
      // 66 000 from one: its packet ids wrap past 65535 (to 1) while earlier ones may still be in flight
      const sent = pubs.map((p, i) => p.publish({ topic, count: i === 0 ? 66_000 : 4_000, body, qos: 1, window: 1000 }, [sub.failed]));
      await Promise.all(sent);
      await Promise.race([all, sub.failed]);
      for (const p of pubs) await p.close();
      await sub.close();
    });
  }

  it('a refused CONNECT rejects open', async () => {
    const url = new URL(broker().urls.mqtt!);
    url.username = 'guest';
    url.password = 'wrong';
    await expect(RawMqttClient.open(url.href, 'raw-refused', 4)).rejects.toThrow('CONNACK refused: code 0x4');
  });
});
