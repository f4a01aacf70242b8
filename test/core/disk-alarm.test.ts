import { mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { DEFAULT_DISK_FREE_LIMIT, DiskMonitor, diskFreeLimitBytes } from '../../src/server/disk-monitor.js';
import { createLogger } from '../../src/server/logger.js';
import { brokerOptions, resolveSettings } from '../../src/cli/config.js';
import { connect } from '../helpers/amqp.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { RawStomp } from '../helpers/stomp.js';

/**
 * RabbitMQ's free disk space alarm (rabbit_disk_monitor, disk_free_limit): while the data
 * dir's filesystem has less free space than the limit (50 MB by default, absolute or relative
 * to RAM), the disk alarm is on and publishers of every protocol are blocked through the
 * core's alarm, the same path the memory watermark takes (AMQP connection.blocked with reason
 * "low on disk", STOMP and MQTT reads paused); a new limit is checked at once
 * (rabbitmqctl set_disk_free_limit), and the alarm clears when free space is back above it.
 * A limit no disk can meet (100000 TB) raises the alarm on this machine's disk.
 */
const GUEST = `Basic ${Buffer.from('guest:guest').toString('base64')}`;
const NO_DISK_HAS_THIS = '100000TB';

/** a few event-loop turns and a little real time: long enough for a frame on loopback to be read if it were */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await new Promise((r) => setTimeout(r, 100));
}

describe('disk_free_limit settings', () => {
  it('absolute (bytes or RabbitMQ units, default 50MB) or relative to RAM', () => {
    const ram = 8 * 1024 ** 3;
    expect(diskFreeLimitBytes(undefined, ram)).toBe(DEFAULT_DISK_FREE_LIMIT);
    expect(DEFAULT_DISK_FREE_LIMIT).toBe(50_000_000);
    expect(diskFreeLimitBytes('50MB', ram)).toBe(50_000_000);
    expect(diskFreeLimitBytes('2GiB', ram)).toBe(2 * 1024 ** 3);
    expect(diskFreeLimitBytes(1_000_000_000, ram)).toBe(1e9);
    expect(diskFreeLimitBytes({ absolute: '1GB' }, ram)).toBe(1e9);
    expect(diskFreeLimitBytes({ relative: 1.0 }, ram)).toBe(ram);
    expect(diskFreeLimitBytes({ relative: 1.5 }, ram)).toBe(ram * 1.5);
    expect(diskFreeLimitBytes('mem_relative:2.0', ram)).toBe(ram * 2);
    expect(() => diskFreeLimitBytes('lots', ram)).toThrow(/disk free limit/);
    expect(() => diskFreeLimitBytes(-1, ram)).toThrow(/disk free limit/);
    expect(() => diskFreeLimitBytes({ relative: -1 }, ram)).toThrow(/disk free limit/);
  });

  it('the CLI takes --disk-free-limit / LOCALMQ_DISK_FREE_LIMIT / the config file key diskFreeLimit', () => {
    expect(brokerOptions(resolveSettings([{ raw: { diskFreeLimit: '1GB' }, source: 'flag' }], '/tmp'))).toMatchObject({ diskFreeLimit: '1GB' });
    expect(brokerOptions(resolveSettings([{ raw: { diskFreeLimit: '2000000' }, source: 'env' }], '/tmp'))).toMatchObject({ diskFreeLimit: 2_000_000 });
    expect(brokerOptions(resolveSettings([{ raw: { diskFreeLimit: { relative: 1.0 } }, source: 'file' }], '/tmp'))).toMatchObject({ diskFreeLimit: { relative: 1.0 } });
    expect(brokerOptions(resolveSettings([{ raw: {}, source: 'flag' }], '/tmp')).diskFreeLimit).toBeUndefined();
    expect(() => resolveSettings([{ raw: { diskFreeLimit: 'huge' }, source: 'env' }], '/tmp')).toThrow(/LOCALMQ_DISK_FREE_LIMIT/);
    expect(() => resolveSettings([{ raw: { diskFreeLimit: 'huge' }, source: 'flag' }], '/tmp')).toThrow(/--disk-free-limit/);
  });
});

describe('the free disk space alarm blocks publishers of every protocol, and releases them', () => {
  let b: LocalMQ;
  const dir = mkdtempSync(join(tmpdir(), 'localmq-disk-alarm-'));

  beforeAll(async () => {
    b = await startBroker({ dataDir: dir, diskFreeLimit: NO_DISK_HAS_THIS, ports: { amqp: 0, stomp: 0, mqtt: 0, http: 0 } });
  });
  afterAll(async () => {
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const nodes = async () =>
    ((await (await fetch(`${b.urls.http}/api/nodes`, { headers: { authorization: GUEST } })).json()) as { disk_free: number; disk_free_limit: number; disk_free_alarm: boolean; mem_alarm: boolean }[])[0]!;

  it('a limit above the free space raises the disk alarm from the start; the management API shows disk_free, disk_free_limit, disk_free_alarm', async () => {
    expect(b.core.alarms.disk).toBe(true);
    expect(b.core.alarmResources).toEqual(['disk']);
    expect(b.diskFreeLimit).toBe(100000 * 1000 ** 4);
    const n = await nodes();
    expect(n).toMatchObject({ disk_free_limit: 100000 * 1000 ** 4, disk_free_alarm: true, mem_alarm: false });
    // what statfs says of the data dir's filesystem, as of the monitor's reading
    const s = statfsSync(dir);
    expect(n.disk_free).toBeGreaterThan(0);
    expect(n.disk_free).toBeLessThanOrEqual(s.blocks * s.bsize);
    expect(b.diskFree).toBe(n.disk_free);
  });

  it('AMQP 0-9-1: connection.blocked "low on disk", reads paused; a lower limit unblocks and the held publish arrives', async () => {
    const conn = await connect(b);
    try {
      // the limit rises above the free space: every connection that can take connection.blocked hears of it
      await b.setDiskFreeLimit('1MB');
      const blocked = new Promise<string>((resolve) => conn.once('blocked', resolve));
      await b.setDiskFreeLimit(NO_DISK_HAS_THIS);
      expect(await blocked).toBe('low on disk');
      const ch = await conn.createChannel();
      await ch.assertQueue('disk.amqp', { durable: true });
      ch.sendToQueue('disk.amqp', Buffer.from('first'));
      await b.waitFor('disk.amqp', (m) => m.body.toString() === 'first');
      // the connection published while blocked: it is no longer read
      ch.sendToQueue('disk.amqp', Buffer.from('second'));
      await settle();
      expect(b.queue('disk.amqp').messages().map((m) => m.body.toString())).toEqual(['first']);
      const unblocked = new Promise<void>((resolve) => conn.once('unblocked', () => resolve()));
      await b.setDiskFreeLimit('1MB');
      expect(b.core.alarms.disk).toBe(false);
      await unblocked;
      await b.waitFor('disk.amqp', (m) => m.body.toString() === 'second');
      expect(await nodes()).toMatchObject({ disk_free_limit: 1_000_000, disk_free_alarm: false });
    } finally {
      await conn.close();
    }
  });

  it('STOMP: reads pause (a RECEIPT is withheld) while free space is under the limit', async () => {
    await b.setDiskFreeLimit(NO_DISK_HAS_THIS);
    const { client } = await RawStomp.connected(b);
    try {
      const send = (i: number) => client.send('SEND', { destination: '/queue/disk.stomp', receipt: `r${i}`, 'content-length': '1' }, Buffer.from(String(i)));
      send(1);
      await client.receipt('r1');
      send(2);
      let second = false;
      const receipt2 = client.receipt('r2').then(() => (second = true));
      await settle();
      expect(second).toBe(false);
      expect(b.queue('disk.stomp').messages().map((m) => m.body.toString())).toEqual(['1']);
      await b.setDiskFreeLimit('1MB');
      await receipt2;
      expect(b.queue('disk.stomp').messages().map((m) => m.body.toString())).toEqual(['1', '2']);
    } finally {
      client.close();
    }
  });

  it('MQTT: reads pause (a PUBACK is withheld) while free space is under the limit', async () => {
    const conn = await connect(b);
    const ch = await conn.createChannel();
    await ch.assertQueue('disk.mqtt', { durable: true });
    await ch.bindQueue('disk.mqtt', 'amq.topic', 'disk.mqtt');
    await conn.close();
    await b.setDiskFreeLimit(NO_DISK_HAS_THIS);
    const client = await mqttConnect(b, { clientId: 'disk-mqtt' });
    try {
      await client.publishAsync('disk/mqtt', '1', { qos: 1 });
      let second = false;
      const puback2 = client.publishAsync('disk/mqtt', '2', { qos: 1 }).then(() => (second = true));
      await settle();
      expect(second).toBe(false);
      expect(b.queue('disk.mqtt').messages().map((m) => m.body.toString())).toEqual(['1']);
      await b.setDiskFreeLimit({ relative: 0 });
      await puback2;
      expect(b.queue('disk.mqtt').messages().map((m) => m.body.toString())).toEqual(['1', '2']);
    } finally {
      await client.endAsync();
    }
  });

  it('the memory and disk alarms together: clearing one leaves the connection blocked by the other', async () => {
    await b.setDiskFreeLimit('1MB');
    const conn = await connect(b);
    try {
      const blocked = new Promise<string>((resolve) => conn.once('blocked', resolve));
      await b.setDiskFreeLimit(NO_DISK_HAS_THIS);
      expect(await blocked).toBe('low on disk');
      b.core.alarms.setMemory(true);
      expect(b.core.alarmResources).toEqual(['memory', 'disk']);
      let unblockedAt: string | undefined;
      const unblocked = new Promise<void>((resolve) => conn.once('unblocked', () => resolve()));
      void unblocked.then(() => (unblockedAt = b.core.alarmResources.join()));
      await b.setDiskFreeLimit('1MB');
      expect(b.core.alarmResources).toEqual(['memory']);
      // the memory alarm still holds it: no connection.unblocked reaches the client meanwhile
      await settle();
      expect(unblockedAt).toBeUndefined();
      b.core.alarms.setMemory(false);
      await unblocked;
      // unblocked only once both had cleared
      expect(unblockedAt).toBe('');
    } finally {
      b.core.alarms.setMemory(false);
      await conn.close();
    }
  });
});

describe('DiskMonitor', () => {
  it('clears the alarm once free space rises above the limit, and sets it again when it falls (the store failing is a separate cause)', async () => {
    const b = await startBroker({});
    try {
      let free = 10_000_000;
      const m = new DiskMonitor(b.core, '/nowhere', '50MB', createLogger('silent'), (_dir, cb) => cb(null, free));
      await m.start();
      expect(b.core.alarms.disk).toBe(true);
      expect(m.free).toBe(10_000_000);
      free = 60_000_000;
      await m.check();
      expect(b.core.alarms.disk).toBe(false);
      // a failing store and low free space are two causes of the one disk alarm
      b.core.alarms.setDisk(true, 'store');
      free = 1;
      await m.check();
      free = 60_000_000;
      await m.check();
      expect(b.core.alarms.disk).toBe(true);
      expect(b.core.alarms.isOn('disk-free')).toBe(false);
      b.core.alarms.setDisk(false, 'store');
      expect(b.core.alarms.disk).toBe(false);
      // an unreadable filesystem leaves the alarm as it was
      free = 1;
      await m.check();
      const failing = new DiskMonitor(b.core, '/nowhere', '50MB', createLogger('silent'), (_dir, cb) => cb(new Error('EIO'), 0));
      await failing.start();
      expect(b.core.alarms.disk).toBe(true);
      m.stop();
      failing.stop();
    } finally {
      b.core.alarms.setDisk(false, 'disk-free');
      await b.stop();
    }
  });

  it('while the alarm is on, transient messages are not paged out to the disk (RabbitMQ keeps them in memory); after it, they are again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localmq-disk-alarm-'));
    const b = await startBroker({ dataDir: dir, diskFreeLimit: NO_DISK_HAS_THIS, journal: { pageThreshold: 16 } });
    try {
      b.core.vhost('/')!.declareQueue('disk.transient', { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: { 'x-queue-type': 'classic' } }, null);
      const ready = () => b.core.vhost('/')!.getQueue('disk.transient')!.ready;
      for (let i = 0; i < 40; i++) b.publish('', 'disk.transient', Buffer.from(`low ${i}`));
      expect(ready().paged).toBe(0);
      await b.setDiskFreeLimit('1MB');
      for (let i = 0; i < 40; i++) b.publish('', 'disk.transient', Buffer.from(`ok ${i}`));
      expect(ready().paged).toBe(40);
      expect(b.queue('disk.transient').messages().map((m) => m.body.toString())).toEqual([
        ...Array.from({ length: 40 }, (_, i) => `low ${i}`),
        ...Array.from({ length: 40 }, (_, i) => `ok ${i}`),
      ]);
    } finally {
      await b.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a broker without a data dir monitors nothing: no alarm whatever the limit, which the management API still shows', async () => {
    const b = await startBroker({ diskFreeLimit: NO_DISK_HAS_THIS, ports: { http: 0 } });
    try {
      expect(b.core.alarms.disk).toBe(false);
      expect(b.diskFree).toBeUndefined();
      const n = ((await (await fetch(`${b.urls.http}/api/nodes`, { headers: { authorization: GUEST } })).json()) as Record<string, unknown>[])[0]!;
      expect(n).toMatchObject({ disk_free_limit: 100000 * 1000 ** 4, disk_free_alarm: false });
      await b.setDiskFreeLimit('2GB');
      expect(b.diskFreeLimit).toBe(2e9);
    } finally {
      await b.stop();
    }
  });
});
