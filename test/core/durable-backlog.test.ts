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
});
