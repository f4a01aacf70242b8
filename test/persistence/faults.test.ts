import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { createLogger } from '../../src/server/logger.js';
import type { AmqpConnection } from '../../src/protocols/amqp/connection.js';
import { channelClosed, connect } from '../helpers/amqp.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';
import { mqttConnect } from '../helpers/mqtt.js';
import { FaultyFs } from '../helpers/faulty-fs.js';

function enospc(): NodeJS.ErrnoException {
  return Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
}

const dirs: string[] = [];
const faultyFss: FaultyFs[] = [];
const brokers: LocalMQ[] = [];
const conns: ChannelModel[] = [];

/** `giveUpMs`: how long a failing write is retried before its waiters are told no (the durability policy) */
async function setup(fs: FaultyFs, dir = mkdtempSync(join(tmpdir(), 'localmq-faults-')), giveUpMs = 300, engine?: 'activemq') {
  dirs.push(dir);
  faultyFss.push(fs);
  const logs: { level: string; msg: string }[] = [];
  const broker = await startBroker({
    ...(engine ? { engine, ports: { stomp: 0 } } : {}),
    dataDir: dir,
    logger: createLogger('info', (line) => logs.push(JSON.parse(line) as { level: string; msg: string })),
    journal: { fs, retryDelayMs: 20, giveUpMs },
  });
  brokers.push(broker);
  return { broker, logs, dir };
}

async function open(broker: LocalMQ): Promise<ChannelModel> {
  const c = await connect(broker);
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}

/** resolves once the store has nothing left to write (the declare before was flushed) */
function idle(broker: LocalMQ): Promise<void> {
  return new Promise((resolve) => broker.store.sync(() => resolve()));
}

/** publish and resolve with 'ack' or 'nack' */
function publish(ch: ConfirmChannel, queue: string, body: string): Promise<'ack' | 'nack'> {
  return new Promise((resolve) => ch.sendToQueue(queue, Buffer.from(body), { persistent: true }, (err) => resolve(err ? 'nack' : 'ack')));
}

afterEach(async () => {
  for (const fs of faultyFss.splice(0)) {
    fs.failWrites = null;
    fs.releaseFsyncs();
  }
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('group commit: nothing is confirmed before its fsync', () => {
  it('a publisher confirm waits for the fsync', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const conn = await open(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });

    await idle(broker);
    fs.holdFsyncs = true;
    let outcome: string | undefined;
    const confirmed = publish(ch, 'q', 'one').then((o) => (outcome = o));
    await fs.fsyncHeld();
    // a round trip on the same connection: anything the broker had sent before it has arrived
    await (await conn.createChannel()).checkQueue('q');
    expect(outcome).toBeUndefined();
    expect(broker.queue('q').messageCount()).toBe(1);

    fs.releaseFsyncs();
    await expect(confirmed).resolves.toBe('ack');
  });

  it('a publish that arrives while an fsync is under way waits for the next one', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const conn = await open(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    const probe = await conn.createChannel();

    await idle(broker);
    fs.holdFsyncs = true;
    const outcomes = new Map<string, string>();
    const first = publish(ch, 'q', 'first').then((o) => outcomes.set('first', o));
    await fs.fsyncHeld();
    // 'second' is written after the fsync in flight began: that fsync does not cover it
    const second = publish(ch, 'q', 'second').then((o) => outcomes.set('second', o));
    await broker.waitFor('q', (m) => m.text() === 'second');
    fs.releaseHeld();
    await first;
    await fs.fsyncHeld();
    await probe.checkQueue('q');
    expect([...outcomes]).toEqual([['first', 'ack']]);
    fs.releaseFsyncs();
    await second;
    expect(outcomes.get('second')).toBe('ack');
  });

  it('tx.commit-ok waits for the fsync', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const conn = await open(broker);
    const tx = await conn.createChannel();
    await tx.assertQueue('q', { durable: true });
    await tx.assertQueue('transient-only', { durable: false });
    // a commit of transient messages has nothing to wait for
    await txSelect(tx);
    tx.sendToQueue('transient-only', Buffer.from('t'), { persistent: false });
    await idle(broker);
    fs.holdFsyncs = true;
    await txCommit(tx);

    let committed = false;
    tx.sendToQueue('q', Buffer.from('p'), { persistent: true });
    const commit = txCommit(tx).then(() => (committed = true));
    await fs.fsyncHeld();
    await (await conn.createChannel()).checkQueue('q');
    expect(committed).toBe(false);
    fs.releaseFsyncs();
    await commit;
    expect(committed).toBe(true);
  });

  it('publishes that arrive together share one fsync', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const conn = await open(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    const store = broker.store as unknown as { stats: { fsyncs: number; flushes: number } };
    const before = store.stats.fsyncs;
    const all = [];
    for (let i = 0; i < 500; i++) all.push(publish(ch, 'q', `m${i}`));
    expect(new Set(await Promise.all(all))).toEqual(new Set(['ack']));
    // far fewer fsyncs than messages: batched per event-loop turn, not per message
    expect(store.stats.fsyncs - before).toBeLessThan(50);
  });
});

describe('write errors (a full disk)', () => {
  it('blocks publishers with connection.blocked, pauses reading, nacks what it could not write, logs, and unblocks', async () => {
    const fs = new FaultyFs();
    const { broker, logs, dir } = await setup(fs);
    const conn = await open(broker);
    const events: string[] = [];
    const blocked = new Promise<string>((resolve) =>
      conn.on('blocked', (reason: string) => {
        events.push('blocked');
        resolve(reason);
      }),
    );
    const unblocked = new Promise<void>((resolve) =>
      conn.on('unblocked', () => {
        events.push('unblocked');
        resolve();
      }),
    );
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    expect(await publish(ch, 'q', 'before')).toBe('ack');

    fs.failWrites = enospc();
    // written while the disk is full: never confirmed
    expect(await publish(ch, 'q', 'during')).toBe('nack');
    expect(await blocked).toBe('low on disk');
    expect(broker.core.alarmed).toBe(true);
    const error = logs.find((l) => l.level === 'error');
    expect(error?.msg).toMatch(new RegExp(`journal ${dir}: write failed \\(ENOSPC: no space left on device, write\\); publishers are blocked`));

    // a publish on a blocked connection stops the broker reading it...
    const server = broker.connections()[0] as AmqpConnection;
    const blockedPublish = publish(ch, 'q', 'while-blocked');
    await broker.waitFor('q', (m) => m.text() === 'while-blocked');
    expect(server.socket.isPaused()).toBe(true);
    // ...so this one waits in the socket until the disk has room again
    let laterOutcome: string | undefined;
    const later = publish(ch, 'q', 'after').then((o) => (laterOutcome = o));
    expect(await blockedPublish).toBe('nack');
    expect(laterOutcome).toBeUndefined();
    expect(broker.queue('q').messages().map((m) => m.text())).not.toContain('after');

    fs.failWrites = null;
    await unblocked;
    expect(await later).toBe('ack');
    expect(server.socket.isPaused()).toBe(false);
    expect(events).toEqual(['blocked', 'unblocked']);
    expect(broker.core.alarmed).toBe(false);
    expect(logs.some((l) => l.level === 'warn' && /writes succeed again/.test(l.msg))).toBe(true);

    // the confirmed ones are on disk; the retried writes carried the nacked ones too
    await broker.stop();
    brokers.splice(brokers.indexOf(broker), 1);
    const again = await startBroker({ dataDir: dir });
    brokers.push(again);
    const texts = again.queue('q').messages().map((m) => m.text());
    expect(texts).toEqual(['before', 'during', 'while-blocked', 'after']);
  });

  it('tx.commit-ok is withheld until the failed write has been retried successfully', async () => {
    const fs = new FaultyFs();
    // the write recovers long before the policy gives up on it
    const { broker } = await setup(fs, undefined, 60_000);
    const conn = await open(broker);
    const unblocked = new Promise<void>((resolve) => conn.on('unblocked', () => resolve()));
    const tx = await conn.createChannel();
    await tx.assertQueue('q', { durable: true });
    await txSelect(tx);

    fs.failWrites = enospc();
    let committed = false;
    tx.sendToQueue('q', Buffer.from('p'), { persistent: true });
    const commit = txCommit(tx).then(() => (committed = true));
    await new Promise<void>((resolve) => conn.once('blocked', () => resolve()));
    await (await conn.createChannel()).checkQueue('q');
    expect(committed).toBe(false);

    fs.failWrites = null;
    await unblocked;
    await commit;
    expect(committed).toBe(true);
  });
});

describe('the durability policy: retried under the disk alarm, no only when the write finally fails', () => {
  it('a confirm waiting on a failed write that is retried successfully in time is an ack, not a nack', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs, undefined, 60_000);
    const conn = await open(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('q', { durable: true });
    fs.failWrites = enospc();
    const blocked = new Promise<void>((resolve) => conn.once('blocked', () => resolve()));
    const outcome = publish(ch, 'q', 'retried');
    await blocked;
    fs.failWrites = null;
    expect(await outcome).toBe('ack');
  });

  it('tx.commit of a write that finally fails: 406 PRECONDITION_FAILED - partial tx completion (RabbitMQ\'s failed tx)', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const conn = await open(broker);
    const tx = await conn.createChannel();
    await tx.assertQueue('q', { durable: true });
    await txSelect(tx);
    const closed = channelClosed(tx);
    fs.failWrites = enospc();
    tx.sendToQueue('q', Buffer.from('p'), { persistent: true });
    await expect(txCommit(tx)).rejects.toThrow();
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain('PRECONDITION_FAILED - partial tx completion');
    fs.failWrites = null;
  });

  it('a STOMP receipt waiting on a write that finally fails: ERROR "Message not persisted", no RECEIPT', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const { client } = await RawStomp.connected(broker);
    client.send('SEND', { destination: '/queue/durable-stomp', persistent: 'true', receipt: 'r0' }, 'zero');
    await client.receipt('r0');
    fs.failWrites = enospc();
    client.send('SEND', { destination: '/queue/durable-stomp', persistent: 'true', receipt: 'r1' }, 'one');
    const f = await client.frame();
    expect(f.command).toBe('ERROR');
    expect(getHeader(f, 'message')).toBe('Message not persisted');
    await client.whenClosed();
    fs.failWrites = null;
  });
});

// amqplib has no tx methods; its generic rpc sends any method and awaits the reply
type Rpc = { rpc(method: number, fields: object, expect: number): Promise<unknown> };
const TX = 90 * 65536;
function txSelect(ch: object): Promise<void> {
  return (ch as Rpc).rpc(TX + 10, {}, TX + 11).then(() => undefined);
}
function txCommit(ch: object): Promise<void> {
  return (ch as Rpc).rpc(TX + 20, {}, TX + 21).then(() => undefined);
}

describe('STOMP: a receipt for a persistent SEND waits for its fsync', () => {
  it('holds the RECEIPT while the fsync is held, also for a SEND that arrives during an fsync in flight', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const { client } = await RawStomp.connected(broker);
    client.send('SEND', { destination: '/queue/durable-stomp', persistent: 'true', receipt: 'r0' }, 'zero');
    await client.receipt('r0');
    await idle(broker);

    fs.holdFsyncs = true;
    const receipts: string[] = [];
    const frames = (async () => {
      for (let i = 0; i < 2; i++) receipts.push(getHeader(await client.frame('RECEIPT'), 'receipt-id')!);
    })();
    client.send('SEND', { destination: '/queue/durable-stomp', persistent: 'true', receipt: 'r1' }, 'one');
    await fs.fsyncHeld();
    // 'two' is written after the fsync in flight began: that fsync does not cover it
    client.send('SEND', { destination: '/queue/durable-stomp', persistent: 'true', receipt: 'r2' }, 'two');
    await broker.waitFor('durable-stomp', (m) => m.text() === 'two');
    expect(receipts).toEqual([]);
    fs.releaseHeld();
    await fs.fsyncHeld();
    await broker.waitFor('durable-stomp', (m) => m.text() === 'two');
    expect(receipts).toEqual(['r1']);
    fs.releaseFsyncs();
    await frames;
    expect(receipts).toEqual(['r1', 'r2']);
    client.close();
  });
});

describe('ActiveMQ STOMP: a SUBSCRIBE receipt held behind a persistent SEND\'s fsync', () => {
  it('heart-beats still go out while it is held (review-s16-2 H1: they were held with it); the receipts then come in frame order', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs, undefined, 300, 'activemq');
    // ActiveMQ sends a heart-beat every cy ms of the client's `cx,cy`
    const { client } = await RawStomp.connected(broker, { 'heart-beat': '0,100' });
    client.useVersion('1.2');
    client.send('SEND', { destination: '/queue/hb.q', persistent: 'true', receipt: 'r0' }, 'zero');
    await client.receipt('r0');
    await idle(broker);
    fs.holdFsyncs = true;
    client.send('SEND', { destination: '/queue/hb.x', persistent: 'true', receipt: 's1' }, 'one');
    client.send('SUBSCRIBE', { destination: '/queue/hb.q', id: 's', ack: 'auto', receipt: 'r2' });
    await fs.fsyncHeld();
    const beats = client.heartbeats;
    await client.heartbeatsReceived(beats + 2);
    expect(client.frames).toEqual([]);
    fs.releaseFsyncs();
    expect(getHeader(await client.frame('RECEIPT'), 'receipt-id')).toBe('s1');
    expect(getHeader(await client.frame('RECEIPT'), 'receipt-id')).toBe('r2');
    expect((await client.frame('MESSAGE')).body.toString()).toBe('zero');
    client.close();
  });
});

describe('MQTT: no PUBACK for what the store could not write', () => {
  it('a QoS 1 publish during a write failure gets no PUBACK; the client is disconnected', async () => {
    const fs = new FaultyFs();
    const { broker } = await setup(fs);
    const sub = await mqttConnect(broker, { clientId: 'durable-sub', clean: false });
    await sub.subscribeAsync('plant/+', { qos: 1 });
    await sub.endAsync();
    await idle(broker);

    const pub = await mqttConnect(broker, { clientId: 'publisher' });
    let acked = false;
    const gone = new Promise<void>((resolve) => pub.once('close', () => resolve()));
    fs.failWrites = enospc();
    pub.publish('plant/a', 'not written', { qos: 1 }, (err) => {
      if (!err) acked = true;
    });
    await gone;
    expect(acked).toBe(false);
    pub.end(true);
  });
});
