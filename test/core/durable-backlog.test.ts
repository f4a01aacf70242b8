import { describe, expect, it } from 'vitest';
import { Alarms, PublisherFlow, type FlowControlled } from '../../src/core/alarm.js';
import { Durability } from '../../src/core/durability.js';
import { MemoryStore } from '../../src/store/memory-store.js';

// Issue 18 part 3: a publisher at full speed must not read far ahead of the disk. Its waits
// for the store (confirms, receipts, PUBACKs) past a limit hold its reading until the
// store catches up (half the limit), as RabbitMQ's credit flow holds a reader.

function recorder(): FlowControlled & { events: string[] } {
  const events: string[] = [];
  return { events, pauseReading: () => events.push('pause'), resumeReading: () => events.push('resume') };
}

/** a store whose syncs end when the test says */
class SlowStore extends MemoryStore {
  readonly syncs: ((err?: Error) => void)[] = [];
  override sync(cb: (err?: Error) => void): void {
    this.syncs.push(cb);
  }
}

describe('a durability backlog holds the publisher', () => {
  it('holds reading once more than the limit wait, releases at half, and composes with the alarm', async () => {
    const alarms = new Alarms();
    const client = recorder();
    const flow = new PublisherFlow(alarms, client);
    const store = new SlowStore();
    // a store on disk: its syncs are real waits
    Object.defineProperty(store, 'durable', { value: true });
    const flushed: number[] = [];
    const waits = new Durability(store, alarms).ordered<number>((batch) => flushed.push(...batch), { hold: (on) => flow.hold(on), limit: 4 });
    for (let i = 1; i <= 4; i++) waits.add(i);
    expect(client.events).toEqual([]);
    waits.add(5);
    expect(client.events).toEqual(['pause']);
    await new Promise((r) => setImmediate(r));
    // the alarm goes on and off meanwhile: the backlog still holds the reading
    alarms.setMemory(true);
    flow.published();
    alarms.setMemory(false);
    expect(client.events).toEqual(['pause']);
    expect(store.syncs.length).toBe(1);
    store.syncs[0]!();
    expect(flushed).toEqual([1, 2, 3, 4, 5]);
    expect(client.events).toEqual(['pause', 'resume']);
    expect(waits.outstanding).toBe(0);
  });

  it('holds reading for the rest of the turn once a turn added turnLimit waits, on a durable store only', async () => {
    const alarms = new Alarms();
    const client = recorder();
    const flow = new PublisherFlow(alarms, client);
    const store = new SlowStore();
    Object.defineProperty(store, 'durable', { value: true });
    const flushed: number[] = [];
    const waits = new Durability(store, alarms).ordered<number>((batch) => flushed.push(...batch), { hold: (on) => flow.hold(on), turnLimit: 3 });
    waits.add(1);
    waits.add(2);
    expect(client.events).toEqual([]);
    // a socket read that parses many publishes: the reading stops after this one
    waits.add(3);
    waits.add(4);
    expect(client.events).toEqual(['pause']);
    await new Promise((r) => setImmediate(r));
    // next turn: the batch went to its own sync, and reading resumed before that sync ended
    expect(store.syncs.length).toBe(1);
    expect(client.events).toEqual(['pause', 'resume']);
    waits.add(5);
    await new Promise((r) => setImmediate(r));
    expect(store.syncs.length).toBe(2);
    store.syncs[0]!();
    expect(flushed).toEqual([1, 2, 3, 4]);
    store.syncs[1]!();
    expect(flushed).toEqual([1, 2, 3, 4, 5]);
    expect(client.events).toEqual(['pause', 'resume']);

    // the memory store answers at the end of the turn: nothing to hold for
    const memClient = recorder();
    const memFlow = new PublisherFlow(alarms, memClient);
    const mem = new Durability(new MemoryStore(), alarms).ordered<number>(() => undefined, { hold: (on) => memFlow.hold(on), turnLimit: 3 });
    for (let i = 0; i < 10; i++) mem.add(i);
    expect(memClient.events).toEqual([]);
  });
});
