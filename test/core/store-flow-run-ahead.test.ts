import { expect, it } from 'vitest';
import { Alarms, PublisherFlow, type FlowControlled } from '../../src/core/alarm.js';
import { Stored } from '../../src/core/exchanges/routing.js';
import { RUN_AHEAD_BYTES, StoreFlow } from '../../src/core/store-flow.js';

/**
 * What connections held by credit (AMQP 1.0) send on credit granted before the hold is one budget
 * for all of them, a fresh one each hold (review-s17-1 H-M2: it was 4 MiB per connection). Over
 * real sockets with rhea: test/persistence/store-flow-amqp10.test.ts.
 */
it('held connections share one run-ahead budget, renewed when the journal has caught up', () => {
  let backlog: (behind: boolean) => void = () => {};
  const storeFlow = new StoreFlow({ onBacklog: (listener) => (backlog = listener) });
  const byCredit = (): { flow: PublisherFlow; held: boolean[] } => {
    const held: boolean[] = [];
    const client: FlowControlled = { pauseReading: () => {}, resumeReading: () => {}, creditHeld: (on) => held.push(on) };
    return { flow: new PublisherFlow(new Alarms(), client, storeFlow), held };
  };
  const [a, b] = [byCredit(), byCredit()];
  const MiB = 1024 * 1024;

  backlog(true);
  expect([a.flow.stored(Stored), b.flow.stored(Stored)]).toEqual([true, true]);
  expect([a.held, b.held]).toEqual([[true], [true]]);
  expect(a.flow.ranAhead(RUN_AHEAD_BYTES - MiB)).toBe(false);
  expect(b.flow.ranAhead(MiB)).toBe(false); // exactly the budget: not over
  expect(b.flow.ranAhead(1)).toBe(true);
  expect(a.flow.ranAhead(1)).toBe(true); // spent for both, whoever spent it

  backlog(false);
  expect([a.held, b.held]).toEqual([[true, false], [true, false]]);
  backlog(true);
  a.flow.stored(Stored);
  expect(a.flow.ranAhead(RUN_AHEAD_BYTES)).toBe(false); // a new hold, a new budget
  expect(a.flow.ranAhead(1)).toBe(true);
});
