import { describe, expect, it } from 'vitest';
import { JournalState } from '../../src/store/file/journal-state.js';
import { LOOK_MS, LookClock } from '../../src/store/file/look-clock.js';

/**
 * LookClock dates what a segment notes in looks (no clock read per removal): a fall noted in a look
 * happened at the latest when that look ended, at the next tick, however long the store was idle before.
 */
describe('LookClock', () => {
  it('dates a fall noted after an idle spell by the tick that follows it, not by the look it noted', () => {
    const state = new JournalState();
    const clock = new LookClock(state, 0);
    clock.tick(50);
    expect(state.look).toBe(0);
    // idle for 10 s: nothing ticks; a removal now notes look 0
    const noted = state.look;
    expect(clock.latest(noted, 10_000)).toBe(10_000);
    clock.tick(10_020);
    expect(state.look).toBe(Math.floor(10_020 / LOOK_MS));
    // it happened before the tick at 10,020, not before look 0 ended on the clock (100)
    expect(clock.latest(noted, 10_030)).toBe(10_020);
    expect(clock.latest(-1, 10_030)).toBe(-Infinity);
  });

  it('a look whose end is no longer kept ended more than 6.2 s ago', () => {
    const state = new JournalState();
    const clock = new LookClock(state, 0);
    const first = state.look;
    let now = 0;
    for (let i = 0; i < 100; i++) clock.tick((now += LOOK_MS));
    expect(clock.latest(first, now)).toBe(-Infinity);
    // the last ones are dated by their ends
    const recent = state.look - 1;
    expect(clock.latest(recent, now)).toBe(now);
    expect(clock.latest(state.look - 2, now)).toBe(now - LOOK_MS);
  });
});
