import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IPublishPacket } from 'mqtt';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';

// Measured on ActiveMQ 5.17.2 first (bench/activemq-observed.md).

const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, mqtt: 0 } });
let seq = 0;
const unique = (p: string) => `${p}${++seq}x${Date.now()}`;

async function stomp(b: LocalMQ = broker()): Promise<RawStomp> {
  const { client } = await RawStomp.connected(b, { 'accept-version': '1.2' });
  client.useVersion('1.2');
  return client;
}

function collect(client: Awaited<ReturnType<typeof mqttConnect>>) {
  const got: { topic: string; payload: string; qos: number }[] = [];
  let wake: (() => void) | undefined;
  client.on('message', (topic, payload, packet: IPublishPacket) => {
    got.push({ topic, payload: payload.toString(), qos: packet.qos });
    wake?.();
  });
  return {
    got,
    async atLeast(n: number) {
      while (got.length < n) await new Promise<void>((r) => (wake = r));
    },
  };
}

describe('activemq dialect over MQTT (measured on ActiveMQ 5.17)', () => {
  it('overlapping subscriptions get one copy each, at each subscription\'s QoS', async () => {
    const t = unique('mq');
    const sub = await mqttConnect(broker(), { clientId: `sub-${t}` });
    const inbox = collect(sub);
    // ActiveMQ answers each filter at its own QoS, the exact `t/b` too
    await sub.subscribeAsync({ [`${t}/#`]: { qos: 0 }, [`${t}/b`]: { qos: 1 }, [`${t}/+`]: { qos: 1 } });
    const pub = await mqttConnect(broker(), { clientId: `pub-${t}` });
    await pub.publishAsync(`${t}/b`, 'overlap', { qos: 1 });
    await pub.publishAsync(`${t}/marker/deep`, 'marker', { qos: 1 }); // only `#` takes this one
    await inbox.atLeast(4);
    const overlap = inbox.got.filter((m) => m.payload === 'overlap');
    expect(overlap.map((m) => m.qos).sort()).toEqual([0, 1, 1]);
    expect(inbox.got.filter((m) => m.payload === 'marker')).toHaveLength(1);
    expect(overlap.every((m) => m.topic === `${t}/b`)).toBe(true);
    // every QoS 1 copy was acknowledged: nothing stays unacked in the core
    await sub.endAsync();
    await pub.endAsync();
  });

  it('MQTT a/v1.2 is STOMP /topic/a.v1/2 (bytes message, persistent at QoS 1), and STOMP /topic/a.c/d is MQTT a/c.d', async () => {
    const t = unique('map');
    const s = await stomp();
    const r = unique('r');
    s.send('SUBSCRIBE', { destination: `/topic/${t}.>`, id: 'st', receipt: r });
    await s.receipt(r);
    const pub = await mqttConnect(broker(), { clientId: `p-${t}` });
    await pub.publishAsync(`${t}/v1.2`, 'dotted', { qos: 0 });
    await pub.publishAsync(`${t}/x/y`, 'levels', { qos: 1 });
    const m1 = await s.frame('MESSAGE');
    expect(getHeader(m1, 'destination')).toBe(`/topic/${t}.v1/2`);
    expect(getHeader(m1, 'content-length')).toBe('6');
    expect(getHeader(m1, 'ActiveMQ.MQTT.QoS')).toBe('0');
    expect(getHeader(m1, 'persistent')).toBeUndefined();
    const m2 = await s.frame('MESSAGE');
    expect(getHeader(m2, 'destination')).toBe(`/topic/${t}.x.y`);
    expect(getHeader(m2, 'persistent')).toBe('true');

    const sub = await mqttConnect(broker(), { clientId: `s-${t}` });
    const inbox = collect(sub);
    await sub.subscribeAsync({ [`${t}/#`]: { qos: 1 } });
    const rr = unique('r');
    s.send('SEND', { destination: `/topic/${t}.c/d`, receipt: rr }, 'from-stomp');
    await s.receipt(rr);
    await inbox.atLeast(1);
    expect(inbox.got[0]).toMatchObject({ topic: `${t}/c.d`, payload: 'from-stomp' });
    s.close();
    await pub.endAsync();
    await sub.endAsync();
  });
});

describe('activemq dialect persistence (measured on ActiveMQ 5.17)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'localmq-activemq-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('after a restart, persistent:true messages are there in order; non-persistent ones are gone', async () => {
    const q = unique('restart.');
    let b = await startBroker({ engine: 'activemq', dataDir: dir, ports: { stomp: 0, mqtt: 0 } });
    const p = await stomp(b);
    const bodies = ['p1', 'np1', 'p2', 'np2', 'p3'];
    for (const body of bodies) {
      const r = unique('r');
      p.send('SEND', { destination: `/queue/${q}`, receipt: r, ...(body.startsWith('p') ? { persistent: 'true' } : {}) }, body);
      await p.receipt(r);
    }
    p.close();
    await b.stop();
    b = await startBroker({ engine: 'activemq', dataDir: dir, ports: { stomp: 0, mqtt: 0 } });
    const c = await stomp(b);
    const r = unique('s');
    c.send('SUBSCRIBE', { destination: `/queue/${q}`, id: 's', receipt: r });
    await c.receipt(r);
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await c.frame('MESSAGE');
      got.push(m.body.toString());
      expect(getHeader(m, 'message-id')).toMatch(/^ID:/);
    }
    expect(got).toEqual(['p1', 'p2', 'p3']);
    expect(b.core.vhost('/')!.getQueue(q)!.messageCount).toBe(0);
    c.close();
    await b.stop();
  });
});
