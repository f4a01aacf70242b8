import type { ChannelModel } from 'amqplib';
import type { MqttClient } from 'mqtt';
import { afterAll, describe, expect, it } from 'vitest';
import { Alarms, PublisherFlow, type FlowControlled } from '../../src/core/alarm.js';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { RawStomp } from '../helpers/stomp.js';

/** a connection as the alarm sees it, recording what it was told */
function recorder(): FlowControlled & { events: string[] } {
  const events: string[] = [];
  return {
    events,
    pauseReading: () => events.push('pause'),
    resumeReading: () => events.push('resume'),
    alarmChanged: (on, resources) => events.push(on ? `on:${resources.join('+')}` : 'off'),
  };
}

describe('the alarm service (core, no sockets)', () => {
  it('tells each subscribed connection once per change; a publish while alarmed stops its reading until the alarm clears', () => {
    const alarms = new Alarms();
    const a = recorder();
    const b = recorder();
    const fa = new PublisherFlow(alarms, a);
    new PublisherFlow(alarms, b);
    // the publish that crosses the watermark does not stop its own connection
    fa.published();
    alarms.setMemory(true);
    alarms.setDisk(true); // still on: nobody is told again
    fa.published();
    fa.published();
    alarms.setMemory(false);
    expect(a.events).toEqual(['on:memory', 'pause']);
    alarms.setDisk(false);
    expect(a.events).toEqual(['on:memory', 'pause', 'off', 'resume']);
    // b published nothing: told, never paused
    expect(b.events).toEqual(['on:memory', 'off']);
  });

  it('a connection joining while the alarm is on hears of it at once; a closed one hears nothing more', () => {
    const alarms = new Alarms();
    alarms.setDisk(true);
    const r = recorder();
    const flow = new PublisherFlow(alarms, r);
    expect(r.events).toEqual(['on:disk']);
    flow.close();
    alarms.setDisk(false);
    expect(r.events).toEqual(['on:disk']);
    expect(alarms.subscribers).toBe(0);
  });

  it('whenClear waits for its resource to clear', async () => {
    const alarms = new Alarms();
    alarms.setDisk(true);
    alarms.setMemory(true);
    const ran: string[] = [];
    alarms.whenClear('disk', () => ran.push('disk clear'));
    alarms.setMemory(false);
    expect(ran).toEqual([]);
    alarms.setDisk(false);
    expect(ran).toEqual(['disk clear']);
    await new Promise<void>((resolve) => alarms.whenClear('memory', resolve));
  });
});

describe('one alarm subscription for every connection of every protocol', () => {
  const broker = useBroker();
  const amqp: ChannelModel[] = [];
  const stomp: RawStomp[] = [];
  const mqtt: MqttClient[] = [];
  afterAll(async () => {
    for (const c of amqp) await c.close().catch(() => undefined);
    for (const c of stomp) c.close();
    for (const c of mqtt) await c.endAsync().catch(() => undefined);
  });

  it('100 connections: no MaxListenersExceededWarning, one broker listener, every AMQP connection blocked and unblocked', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const core = broker().core;
      const before = core.listenerCount('alarm');
      for (let i = 0; i < 40; i++) amqp.push(await connect(broker()));
      for (let i = 0; i < 30; i++) stomp.push((await RawStomp.connected(broker())).client);
      for (let i = 0; i < 30; i++) mqtt.push(await mqttConnect(broker(), { clientId: `alarm-${i}` }));
      expect(core.alarms.subscribers).toBe(100);
      expect(core.listenerCount('alarm')).toBe(before);

      const blocked = amqp.map((c) => new Promise<string>((resolve) => c.once('blocked', resolve)));
      core.alarms.setMemory(true);
      expect(await Promise.all(blocked)).toEqual(amqp.map(() => 'low on memory'));
      const unblocked = amqp.map((c) => new Promise<void>((resolve) => c.once('unblocked', () => resolve())));
      core.alarms.setMemory(false);
      await Promise.all(unblocked);
      // let any deferred process warning be emitted
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
