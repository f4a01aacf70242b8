import { describe, expect, it } from 'vitest';
import { PeriodActivity, SampledSilence, SilenceSince } from '../../src/protocols/common/idle-checks.js';

// The idle rules the connections' timers ask (src/protocols/common/idle-checks.ts), on a stepped
// clock: a connection whose reading is held (the memory alarm, the journal's credit flow) is not
// taken for gone however long the hold lasts, since what its peer sent waits unread; its silence
// counts again once the reading resumes. The hold tests (store-flow-amqp10, held-heartbeats)
// slept 3.5 / 3.5 / 1.5 s past the real timeouts to show that; they now show the hold itself.

describe('SampledSilence (RabbitMQ: rabbit_heartbeat, a sample each heartbeat)', () => {
  it('a peer silent from its open is gone at the third sample (the first always sees bytes)', () => {
    const s = new SampledSilence();
    expect([s.sample(100, false), s.sample(100, false), s.sample(100, false)]).toEqual([false, false, true]);
  });

  it('bytes between samples start the count again', () => {
    const s = new SampledSilence();
    expect([s.sample(100, false), s.sample(100, false), s.sample(150, false), s.sample(150, false), s.sample(150, false)]).toEqual([false, false, false, false, true]);
  });

  it('held for 100 heartbeats with nothing read: never gone; silent after the hold: gone at the third sample after it', () => {
    const s = new SampledSilence();
    s.sample(100, false);
    for (let k = 0; k < 100; k++) expect(s.sample(100, true)).toBe(false);
    expect([s.sample(100, false), s.sample(100, false)]).toEqual([false, true]);
  });
});

describe('SilenceSince (ActiveMQ AMQP 1.0: nothing received for the whole idle timeout)', () => {
  it('gone once more than the timeout passed since the last bytes', () => {
    const s = new SilenceSince(1000, 0);
    expect(s.expired(1000, false)).toBe(false);
    s.received(900);
    expect(s.expired(1900, false)).toBe(false);
    expect(s.expired(1901, false)).toBe(true);
  });

  it('held for 60 s with nothing read: never gone; the silence counts from the resume', () => {
    const s = new SilenceSince(1000, 0);
    for (let now = 0; now <= 60_000; now += 250) expect(s.expired(now, true)).toBe(false);
    // the reading resumes at 60 s (Amqp10Connection.resumeReading)
    s.received(60_000);
    expect(s.expired(61_000, false)).toBe(false);
    expect(s.expired(61_001, false)).toBe(true);
  });
});

describe('PeriodActivity (ActiveMQ InactivityMonitor, OpenWire: each period must read something)', () => {
  it('a period with nothing read ends the connection; one with bytes does not', () => {
    const a = new PeriodActivity();
    a.begin();
    a.received();
    expect(a.periodEnds(false)).toBe(false);
    expect(a.periodEnds(false)).toBe(true);
  });

  it('bytes before the first period do not count for it', () => {
    const a = new PeriodActivity();
    a.received();
    a.begin();
    expect(a.periodEnds(false)).toBe(true);
  });

  it('held for 50 periods with nothing read: never gone; after the resume a full period counts from there', () => {
    const a = new PeriodActivity();
    a.begin();
    for (let k = 0; k < 50; k++) expect(a.periodEnds(true)).toBe(false);
    // the reading resumes (OpenWireConnection.resumeReading): the period it is in does not judge
    a.received();
    expect(a.periodEnds(false)).toBe(false);
    expect(a.periodEnds(false)).toBe(true);
  });
});
