import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib, { type Channel, type ChannelModel } from 'amqplib';
import { afterEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { FaultyFs } from '../helpers/faulty-fs.js';
import { getJson } from '../helpers/management.js';
import { amqpUrl } from '../helpers/amqp.js';

/**
 * RabbitMQ's credit flow from publishers to the message store (core/store-flow.ts): while the
 * journal's records not yet durable are over its bound, a connection publishing persistent
 * messages is not read, whether or not it waits for anything (here AMQP 0-9-1 without
 * confirms: nothing else holds it); it goes on once they fall under half. RabbitMQ's
 * management shows such a connection in state `flow` while held (rabbit_reader's `state`
 * info item).
 */

const BOUND = 512 * 1024;
const BODY = Buffer.alloc(1024, 'x');
/**
 * 6 MiB of persistent messages: more than one turn of the event loop reads of a socket (libuv:
 * up to 32 reads of 64 KiB), which the broker parses whole even once it holds the reading
 */
const COUNT = 6000;

const dirs: string[] = [];
const fss: FaultyFs[] = [];
const brokers: LocalMQ[] = [];
const conns: ChannelModel[] = [];

afterEach(async () => {
  for (const fs of fss.splice(0)) fs.releaseFsyncs();
  for (const c of conns.splice(0)) await c.close().catch(() => undefined);
  for (const b of brokers.splice(0)) await b.stop().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function durableBroker(fs: FaultyFs): Promise<LocalMQ> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-store-flow-'));
  dirs.push(dir);
  fss.push(fs);
  const broker = await startBroker({ dataDir: dir, journal: { fs, backlogBytes: BOUND } });
  brokers.push(broker);
  return broker;
}

async function open(broker: LocalMQ, name: string): Promise<ChannelModel> {
  const c = await amqplib.connect(amqpUrl(broker), { clientProperties: { connection_name: name } });
  c.on('error', () => undefined);
  conns.push(c);
  return c;
}

/** the management API's state of the connection the client named `name` */
async function stateOf(broker: LocalMQ, name: string): Promise<string> {
  const all = await getJson<{ user_provided_name: string | null; state: string }[]>(broker, '/api/connections');
  const c = all.find((x) => x.user_provided_name === name);
  if (!c) throw new Error(`no connection ${name}`);
  return c.state;
}

/** the management API's state of each channel of the connection the client named `name`, by channel number */
async function channelStates(broker: LocalMQ, name: string): Promise<Record<number, string>> {
  const all = await getJson<{ number: number; state: string; connection_details: { name: string } }[]>(broker, '/api/channels');
  const conns = await getJson<{ name: string; user_provided_name: string | null }[]>(broker, '/api/connections');
  const conn = conns.find((x) => x.user_provided_name === name);
  if (!conn) throw new Error(`no connection ${name}`);
  return Object.fromEntries(all.filter((ch) => ch.connection_details.name === conn.name).map((ch) => [ch.number, ch.state]));
}

/** resolves once the journal's backlog goes over (true) or falls back under (false) its bound */
function backlog(broker: LocalMQ, behind: boolean): Promise<void> {
  return new Promise((resolve) => broker.store.onBacklog!((b) => b === behind && resolve()));
}

/** resolves once everything written so far is durable */
function idle(broker: LocalMQ): Promise<void> {
  return new Promise((resolve) => broker.store.sync(() => resolve()));
}

function publishAll(ch: Channel, queue: string): void {
  for (let i = 0; i < COUNT; i++) ch.sendToQueue(queue, BODY, { persistent: true });
}

/** the syncs held, `ch` floods `queue` until the journal is behind its bound and a sync waits */
async function floodUntilBehind(broker: LocalMQ, fs: FaultyFs, ch: Channel, queue: string): Promise<void> {
  fs.holdFsyncs = true;
  const behind = backlog(broker, true);
  publishAll(ch, queue);
  await behind;
  await fs.fsyncHeld();
}

/** polls the channels' states until they are `want` (the 1 s `flow` tail is a time window: core/channel-flow.test.ts pins it on a stepped clock) */
async function channelStatesBecome(broker: LocalMQ, name: string, want: Record<number, string>): Promise<void> {
  for (;;) {
    const shown = await channelStates(broker, name);
    if (JSON.stringify(shown) === JSON.stringify(want)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('the journal holds persistent publishers while it is behind (credit flow)', () => {
  it('a publisher without confirms is not read while the syncs wait, shows `flow`, and goes on after them', async () => {
    const fs = new FaultyFs();
    const broker = await durableBroker(fs);
    const publisher = await open(broker, 'flood');
    const watcher = await (await open(broker, 'watcher')).createChannel();
    const pch = await publisher.createChannel();
    await pch.assertQueue('q', { durable: true });
    await idle(broker);
    expect(await stateOf(broker, 'flood')).toBe('running');

    // the publish that finds the journal behind holds its connection: nothing it sends after is read
    await floodUntilBehind(broker, fs, pch, 'q');
    expect(await stateOf(broker, 'flood')).toBe('flow');
    let answered = false;
    const own = pch.checkQueue('q').then((ok) => ((answered = true), ok));
    // round trips on another connection are answered; the held one's request waits in its socket
    const held = (await watcher.checkQueue('q')).messageCount;
    expect(held).toBeLessThan(COUNT);
    await watcher.checkQueue('q');
    expect(await stateOf(broker, 'watcher')).toBe('running');
    expect(answered).toBe(false);

    // the syncs end, the backlog drains: the rest is read
    const caughtUp = backlog(broker, false);
    fs.releaseFsyncs();
    await caughtUp;
    expect((await own).messageCount).toBe(COUNT);
    const all: number[] = [];
    await new Promise<void>((resolve) => {
      void watcher.consume('q', (m) => {
        if (!m) return;
        all.push(m.content.length);
        watcher.ack(m);
        if (all.length === COUNT) resolve();
      });
    });
    expect(all.every((n) => n === BODY.length)).toBe(true);
    // all of it durable: the journal is not behind, the connection no longer held
    await idle(broker);
    expect(await stateOf(broker, 'flood')).toBe('running');
  });

  it('a held publisher that also consumes its queue with acks goes on once the syncs end (the journal needs no ack to drain)', async () => {
    const fs = new FaultyFs();
    const broker = await durableBroker(fs);
    const conn = await open(broker, 'both');
    const ch = await conn.createChannel();
    await ch.assertQueue('own', { durable: true });
    await ch.prefetch(10);
    const got: number[] = [];
    let done!: () => void;
    const consumed = new Promise<void>((r) => (done = r));
    await ch.consume('own', (m) => {
      if (!m) return;
      got.push(1);
      ch.ack(m);
      if (got.length === COUNT) done();
    });
    await idle(broker);

    await floodUntilBehind(broker, fs, ch, 'own');
    expect(await stateOf(broker, 'both')).toBe('flow');
    fs.releaseFsyncs();
    await consumed;
    expect(got.length).toBe(COUNT);
  });

  it('the publishing channel of a held connection shows `flow`, a channel of it that did not publish `running` (rabbit_channel state = credit_flow:state())', async () => {
    // RabbitMQ: the store's back-pressure runs queue -> channel -> reader, so the channel whose
    // publishes wait is blocked (`flow`) as well as its connection; a channel that sent nothing has
    // no credit to run out of. credit_flow:state/0 keeps `flow` for 1 s from the block's start.
    const fs = new FaultyFs();
    const broker = await durableBroker(fs);
    const publisher = await open(broker, 'chan-flood');
    const quiet = await publisher.createChannel();
    const pch = await publisher.createChannel();
    await pch.assertQueue('cq', { durable: true });
    await idle(broker);
    expect(await channelStates(broker, 'chan-flood')).toEqual({ 1: 'running', 2: 'running' });

    await floodUntilBehind(broker, fs, pch, 'cq');
    expect(await stateOf(broker, 'chan-flood')).toBe('flow');
    expect(await channelStates(broker, 'chan-flood')).toEqual({ 1: 'running', 2: 'flow' });

    // the syncs end: the rest is read (it may find the journal behind again, a block of its own)
    const caughtUp = backlog(broker, false);
    fs.releaseFsyncs();
    await caughtUp;
    expect((await pch.checkQueue('cq')).messageCount).toBe(COUNT);
    await idle(broker);
    expect(await stateOf(broker, 'chan-flood')).toBe('running');
    // the channel keeps `flow` for 1 s from its last block's start (credit_flow's STATE_CHANGE_INTERVAL;
    // pinned on a stepped clock in core/channel-flow.test.ts), then both run
    await channelStatesBecome(broker, 'chan-flood', { 1: 'running', 2: 'running' });
    await quiet.close();
  });

  it('the in-memory store never holds: a flood of persistent messages is read whole', async () => {
    const broker = await startBroker();
    brokers.push(broker);
    const publisher = await open(broker, 'mem-flood');
    const pch = await publisher.createChannel();
    await pch.assertQueue('m', { durable: true });
    publishAll(pch, 'm');
    const watcher = await (await open(broker, 'mem-watcher')).createChannel();
    // a round trip on the publisher's connection: everything it sent before has been read
    await pch.checkQueue('m');
    expect((await watcher.checkQueue('m')).messageCount).toBe(COUNT);
    expect(broker.store.onBacklog).toBeUndefined();
    expect(await stateOf(broker, 'mem-flood')).toBe('running');
  });
});
