import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Alarms } from '../../src/core/alarm.js';
import { Durability } from '../../src/core/durability.js';
import { FileStore, nodeFs, type StoreFs } from '../../src/store/file/file-store.js';
import type { Store } from '../../src/store/store.js';
import { coreBroker, declareQueue, publish } from './helpers.js';

const dirs: string[] = [];
const stores: FileStore[] = [];
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fileStore(): Promise<FileStore> {
  const dir = mkdtempSync(join(tmpdir(), 'localmq-durability-'));
  dirs.push(dir);
  const store = new FileStore({ dir, logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  await store.open();
  stores.push(store);
  return store;
}

/**
 * A file store whose fsyncs, once gated, are held until the test releases them one by one, to see
 * which flush releases which waits.
 */
async function gatedStore() {
  const held: (() => void)[] = [];
  let gated = false;
  let wake: () => void = () => undefined;
  const fs: StoreFs = {
    ...nodeFs,
    async fdatasync(fd) {
      if (gated) await new Promise<void>((release) => {
        held.push(release);
        wake();
      });
      return nodeFs.fdatasync(fd);
    },
  };
  const dir = mkdtempSync(join(tmpdir(), 'localmq-durability-'));
  dirs.push(dir);
  const store = new FileStore({ dir, fs, logger: { info: () => undefined, warn: () => undefined, error: () => undefined } });
  await store.open();
  stores.push(store);
  const released: string[] = [];
  const g = {
    store,
    held,
    released,
    gate: (on: boolean) => (gated = on),
    wake: () => wake(),
    /** resolves once `cond()` holds, checked whenever an fsync is held or a wait released */
    until: async (cond: () => boolean) => {
      while (!cond()) await new Promise<void>((r) => (wake = r));
    },
    /** the oldest held fsync goes on */
    release: () => held.shift()!(),
    /** whatever the outcome, the held fsyncs end (the store closes after the test) */
    releaseAll: () => {
      gated = false;
      for (const r of held.splice(0)) r();
    },
  };
  return g;
}

/** a broker on a gated store with a durable queue 'q' already synced, the gate shut, and ordered waits whose releases `g.released` lists */
async function gatedConfirms() {
  const g = await gatedStore();
  const { broker, vhost } = coreBroker(g.store);
  declareQueue(vhost, 'q', {}, true);
  await new Promise<void>((resolve) => g.store.sync(() => resolve()));
  g.gate(true);
  const waits = broker.durability.ordered<string>((batch, err) => {
    expect(err).toBeUndefined();
    g.released.push(...batch);
    g.wake();
  });
  return { g, vhost, waits };
}

describe('the durability service (durability.ts)', () => {
  it('in memory, a wait is answered at once', () => {
    const { broker } = coreBroker();
    let answered = false;
    broker.durability.wait(() => (answered = true));
    expect(broker.durability.durable).toBe(false);
    expect(answered).toBe(true);
  });

  it('ordered waits come back in the order they were added, batched, once the journal has the writes', async () => {
    const store = await fileStore();
    const { broker, vhost } = coreBroker(store);
    declareQueue(vhost, 'q', {}, true);
    const flushed: number[][] = [];
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const waits = broker.durability.ordered<number>((batch, err) => {
      expect(err).toBeUndefined();
      flushed.push(batch);
      if (flushed.flat().length === 5) resolveAll();
    });
    for (let i = 1; i <= 3; i++) {
      publish(vhost, '', 'q', `m${i}`, { deliveryMode: 2 });
      waits.add(i);
    }
    expect(waits.outstanding).toBe(3);
    // a later turn of the event loop: its own batch
    await new Promise((r) => setImmediate(r));
    publish(vhost, '', 'q', 'm4', { deliveryMode: 2 });
    waits.add(4);
    waits.add(5);
    await all;
    expect(flushed.flat()).toEqual([1, 2, 3, 4, 5]);
    expect(flushed.length).toBeGreaterThanOrEqual(2);
    expect(waits.outstanding).toBe(0);
  });

  it('a batch of ordered waits is released by the flush that wrote its publishes, not by the next one that takes what other reads wrote meanwhile', async () => {
    const { g, vhost, waits } = await gatedConfirms();

    try {
      // flush 1 syncs (held)
      publish(vhost, '', 'q', 'one', { deliveryMode: 2 });
      waits.add('one');
      await g.until(() => g.held.length === 1);
      // this turn: 'two' is published and its confirm added; flush 2 takes it at the end of the
      // callback (and is written while flush 1 syncs); then, still in this turn, before the
      // confirms' wait is asked for, another client's read writes 'three' (setImmediate callbacks
      // run in the order they were asked for: this one first)
      setImmediate(() => publish(vhost, '', 'q', 'three', { deliveryMode: 2 }));
      publish(vhost, '', 'q', 'two', { deliveryMode: 2 });
      waits.add('two');
      let allSynced = false;
      await new Promise((r) => setImmediate(r));
      g.store.sync(() => {
        allSynced = true;
        g.wake();
      });
      g.release();
      await g.until(() => g.held.length === 1);
      expect(g.released).toEqual(['one']);
      // flush 2's fsync ends: 'two' is durable, and confirmed, while flush 3 (with 'three') syncs
      g.release();
      await g.until(() => g.held.length === 1);
      expect(g.released).toEqual(['one', 'two']);
      expect(allSynced).toBe(false);
      g.gate(false);
      g.release();
      await g.until(() => allSynced);
    } finally {
      g.releaseAll();
    }
  });

  it('waits added in one turn on both sides of a flush start: the first are released by that flush, not held for the next one', async () => {
    // Each socket read's callback ends with the flush of what it wrote (nextTick), and one turn of
    // the event loop runs many reads: a turn's confirms then span two flushes. Before session 19
    // the whole turn waited for the later flush, so the earlier one's end released nothing (on a
    // busy disk: two device flushes without a confirm).
    const { g, vhost, waits } = await gatedConfirms();

    try {
      // one read: 'a' written and its confirm added; the read's callback ends and flush 1 starts (nextTick)
      publish(vhost, '', 'q', 'a', { deliveryMode: 2 });
      waits.add('a');
      await new Promise((r) => process.nextTick(r));
      // the next read in the same turn (no setImmediate has run): 'b' goes to flush 2
      publish(vhost, '', 'q', 'b', { deliveryMode: 2 });
      waits.add('b');
      // the turn ends: the confirms' waits are asked for; flush 1 syncs (held), flush 2 is written and waits for it
      await new Promise((r) => setImmediate(r));
      await g.until(() => g.held.length === 1);
      g.release();
      // flush 1's fsync has ended and flush 2's is held: 'a' is durable, 'b' is not
      await g.until(() => g.held.length === 1);
      await new Promise((r) => setImmediate(r));
      expect(g.released).toEqual(['a']);
      g.gate(false);
      g.release();
      await g.until(() => g.released.length === 2);
      expect(g.released).toEqual(['a', 'b']);
      expect(waits.outstanding).toBe(0);
    } finally {
      g.releaseAll();
    }
  });

  it('a wait answers once the store has synced', async () => {
    const store = await fileStore();
    const { broker, vhost } = coreBroker(store);
    declareQueue(vhost, 'q', {}, true);
    publish(vhost, '', 'q', 'p', { deliveryMode: 2 });
    const err = await new Promise<Error | undefined>((resolve) => broker.durability.wait(resolve));
    expect(err).toBeUndefined();
    expect(store.durable).toBe(true);
  });
});

/** a store whose writes fail while `failing` is set, turning the disk alarm on as the journal does */
function failingStore(alarms: Alarms) {
  const s = {
    durable: true,
    failing: false,
    syncs: 0,
    sync(cb: (err?: Error) => void): void {
      s.syncs++;
      if (s.failing) {
        alarms.setDisk(true);
        setImmediate(() => cb(new Error('ENOSPC: no space left on device, write')));
      } else setImmediate(() => cb());
    },
    /** the retried write succeeds: the journal clears the disk alarm */
    recover(): void {
      s.failing = false;
      alarms.setDisk(false);
    },
  };
  return s;
}

describe('the durability failure policy: retry under the disk alarm, no when the write finally fails', () => {
  it('a wait on a failed write asks again when the disk alarm clears, and is answered yes once written', async () => {
    const alarms = new Alarms();
    const store = failingStore(alarms);
    const durability = new Durability(store as unknown as Store, alarms);
    store.failing = true;
    let answer: string | undefined;
    const answered = new Promise<void>((resolve) => durability.wait((err) => { answer = err ? 'no' : 'yes'; resolve(); }));
    await new Promise((r) => setTimeout(r, 20));
    expect(answer).toBeUndefined(); // still retrying: neither yes nor no
    expect(alarms.disk).toBe(true);
    store.recover();
    await answered; // the answer is an event: awaited, not slept for
    expect(answer).toBe('yes');
  });

  it('a write still failing giveUpMs after it first failed: the wait gets the error', async () => {
    const alarms = new Alarms();
    const store = failingStore(alarms);
    const durability = new Durability(store as unknown as Store, alarms);
    durability.giveUpMs = 30;
    store.failing = true;
    const err = await new Promise<Error | undefined>((resolve) => durability.wait(resolve));
    expect(err?.message).toMatch(/ENOSPC/);
    // a client that is gone hears nothing
    let heard = false;
    durability.wait(() => (heard = true), () => false);
    await new Promise((r) => setTimeout(r, 60));
    expect(heard).toBe(false);
  });

  it('an error that is not a write the store retries (a closed store, no disk alarm) is answered at once', async () => {
    const alarms = new Alarms();
    const store = { durable: true, sync: (cb: (err?: Error) => void) => setImmediate(() => cb(new Error('store is closed'))) };
    const durability = new Durability(store as unknown as Store, alarms);
    const err = await new Promise<Error | undefined>((resolve) => durability.wait(resolve));
    expect(err?.message).toBe('store is closed');
  });

  it('ordered waits keep their order through a retry: a later batch never overtakes an earlier one', async () => {
    const alarms = new Alarms();
    const store = failingStore(alarms);
    const durability = new Durability(store as unknown as Store, alarms);
    const flushed: [number[], string][] = [];
    let bothFlushed!: () => void;
    const done = new Promise<void>((resolve) => (bothFlushed = resolve));
    const waits = durability.ordered<number>((batch, err) => {
      flushed.push([batch, err ? 'no' : 'yes']);
      if (flushed.length === 2) bothFlushed();
    });
    store.failing = true;
    waits.add(1);
    await new Promise((r) => setTimeout(r, 10));
    // the second batch's sync succeeds first (the store recovered), the first is still to ask again
    store.failing = false;
    waits.add(2);
    await new Promise((r) => setTimeout(r, 10));
    expect(flushed).toEqual([]);
    store.recover();
    await done;
    expect(flushed).toEqual([[[1], 'yes'], [[2], 'yes']]);
    expect(waits.outstanding).toBe(0);
  });
});
