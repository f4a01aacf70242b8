import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { closed, inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';
import { useBroker } from '../helpers/broker.js';

const broker = useBroker();

describe('MQTT sessions, retained messages and wills', () => {
  it('a persistent session keeps QoS 1 and 2 messages published while the client is away', async () => {
    const a = await mqttConnect(broker(), { clientId: 'away', clean: false });
    await a.subscribeAsync({ 'away/+': { qos: 2 } });
    await a.endAsync();
    const q = broker().queue('mqtt-subscription-awayqos1').info()!;
    expect(q).toMatchObject({ durable: true, exclusive: false, autoDelete: false });

    const pub = await mqttConnect(broker(), { clientId: 'away-pub' });
    await pub.publishAsync('away/one', 'm1', { qos: 1 });
    await pub.publishAsync('away/two', 'm2', { qos: 2 });
    await pub.endAsync();
    expect(broker().queue('mqtt-subscription-awayqos1').messageCount()).toBe(2);

    const back = await mqttConnect(broker(), { clientId: 'away', clean: false });
    const box = inbox(back);
    const got = await box.count(2);
    expect(got.map((m) => [m.topic, m.payload.toString(), m.packet.qos])).toEqual([
      ['away/one', 'm1', 1],
      ['away/two', 'm2', 2],
    ]);
    await back.endAsync();
  });

  it('reports session present for a persistent session with subscriptions, not for a clean one', async () => {
    const a = await mqttConnect(broker(), { clientId: 'present', clean: false });
    await subscribe(a, 'p/x', 1);
    await a.endAsync();
    const connack = await new Promise<boolean>((resolve, reject) => {
      import('mqtt').then(({ default: mqtt }) => {
        const c = mqtt.connect(broker().urls.mqtt!, { clientId: 'present', clean: false, username: 'guest', password: 'guest', reconnectPeriod: 0 });
        c.once('connect', (p) => {
          resolve(p.sessionPresent);
          c.end();
        });
        c.once('error', reject);
      });
    });
    expect(connack).toBe(true);
    // a clean connection with the same id drops the persistent session and its queue
    const clean = await mqttConnect(broker(), { clientId: 'present', clean: true });
    expect(broker().queue('mqtt-subscription-presentqos1').exists()).toBe(false);
    await subscribe(clean, 'p/x', 1);
    expect(broker().queue('mqtt-subscription-presentqos1').info()).toMatchObject({ durable: false, exclusive: true, autoDelete: true });
    await clean.endAsync();
    await expect.poll(() => broker().queue('mqtt-subscription-presentqos1').exists()).toBe(false);
  });

  it('delivers retained messages to late subscribers and clears them with an empty retained publish', async () => {
    const pub = await mqttConnect(broker(), { clientId: 'ret-pub' });
    await pub.publishAsync('ret/a', 'kept', { qos: 1, retain: true });
    const late = await mqttConnect(broker(), { clientId: 'ret-late' });
    const box = inbox(late);
    await subscribe(late, 'ret/#', 1);
    const m = await box.next();
    expect([m.topic, m.payload.toString(), m.packet.retain, m.packet.qos]).toEqual(['ret/a', 'kept', true, 1]);
    await late.endAsync();

    await pub.publishAsync('ret/a', '', { qos: 1, retain: true });
    const later = await mqttConnect(broker(), { clientId: 'ret-later' });
    const box2 = inbox(later);
    await subscribe(later, 'ret/#', 1);
    // a marker published after the subscription arrives first and alone: nothing retained came
    await pub.publishAsync('ret/marker', 'after', { qos: 1 });
    const first = await box2.next();
    expect(first.payload.toString()).toBe('after');
    expect(box2.messages).toHaveLength(1);
    await later.endAsync();
    await pub.endAsync();
  });

  it('publishes the will on an abrupt disconnect, not on a clean DISCONNECT', async () => {
    const watcher = await mqttConnect(broker(), { clientId: 'will-watch' });
    const box = inbox(watcher);
    await subscribe(watcher, 'will/#', 1);

    const polite = await mqttConnect(broker(), { clientId: 'polite', will: { topic: 'will/polite', payload: Buffer.from('bye'), qos: 1, retain: false } });
    await polite.endAsync();
    const rude = await mqttConnect(broker(), { clientId: 'rude', will: { topic: 'will/rude', payload: Buffer.from('gone'), qos: 1, retain: false } });
    const rudeClosed = closed(rude);
    rude.stream.destroy();
    await rudeClosed;
    const m = await box.next();
    expect([m.topic, m.payload.toString()]).toEqual(['will/rude', 'gone']);
    // the polite client's will never came: a message published now is the next one
    const pub = await mqttConnect(broker(), { clientId: 'will-pub' });
    await pub.publishAsync('will/marker', 'm', { qos: 1 });
    expect((await box.next()).topic).toBe('will/marker');
    expect(box.messages.map((x) => x.topic)).toEqual(['will/rude', 'will/marker']);
    await pub.endAsync();
    await watcher.endAsync();
  });

  it('does not match $ topics with # or + in the first level', async () => {
    const wild = await mqttConnect(broker(), { clientId: 'dollar-wild' });
    const wbox = inbox(wild);
    await wild.subscribeAsync({ '#': { qos: 0 }, '+/x': { qos: 0 } });
    const sys = await mqttConnect(broker(), { clientId: 'dollar-sys' });
    const sbox = inbox(sys);
    await subscribe(sys, '$SYS/#');
    // MQTT clients may not publish to $ topics; AMQP can put one on amq.topic
    broker().publish('amq.topic', '$SYS.x', 'system');
    broker().publish('amq.topic', 'plain.x', 'plain');
    const s = await sbox.next();
    expect([s.topic, s.payload.toString()]).toEqual(['$SYS/x', 'system']);
    const w = await wbox.next();
    expect(w.topic).toBe('plain/x');
    expect(wbox.messages).toHaveLength(1);
    await wild.endAsync();
    await sys.endAsync();
  });
});

describe('MQTT persistent session across a broker restart', () => {
  it('keeps subscriptions, queued QoS 1 messages and retained messages on a data dir', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = await mkdtemp(join(tmpdir(), 'localmq-mqtt-'));
    try {
      const first = await startBroker({ dataDir: dir });
      const a = await mqttConnect(first, { clientId: 'durable-client', clean: false });
      await subscribe(a, 'restart/#', 1);
      await a.endAsync();
      const pub = await mqttConnect(first, { clientId: 'restart-pub' });
      await pub.publishAsync('restart/queued', 'survives', { qos: 1 });
      await pub.publishAsync('restart/retained', 'kept', { qos: 1, retain: true });
      await pub.endAsync();
      await first.stop();

      const second = await startBroker({ dataDir: dir });
      try {
        const back = await mqttConnect(second, { clientId: 'durable-client', clean: false });
        const box = inbox(back);
        const got = await box.count(2);
        expect(got.map((m) => [m.topic, m.payload.toString()])).toEqual([
          ['restart/queued', 'survives'],
          ['restart/retained', 'kept'],
        ]);
        await back.endAsync();
        const late = await mqttConnect(second, { clientId: 'restart-late' });
        const lbox = inbox(late);
        await subscribe(late, 'restart/retained', 1);
        const r = await lbox.next();
        expect([r.payload.toString(), r.packet.retain]).toEqual(['kept', true]);
        await late.endAsync();
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
