import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileStore } from '../../src/store/file/file-store.js';
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

  it('waitRetrying answers once the store has synced', async () => {
    const store = await fileStore();
    const { broker, vhost } = coreBroker(store);
    declareQueue(vhost, 'q', {}, true);
    publish(vhost, '', 'q', 'p', { deliveryMode: 2 });
    await new Promise<void>((resolve) => broker.durability.waitRetrying(resolve, () => true));
    expect(store.durable).toBe(true);
  });
});
