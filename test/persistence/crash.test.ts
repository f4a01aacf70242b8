import { describe, expect, it } from 'vitest';
import { crashRound } from '../helpers/crash-round.js';

/**
 * kill -9 while publishers with confirms and a consumer with acks are busy: a new broker
 * on the same data dir holds every confirmed message once, and no durably acked one.
 * scripts/crash-test.ts runs the same round 100 times.
 */
describe('crash: SIGKILL at a random moment', () => {
  const rounds = [
    { segmentSize: undefined },
    { segmentSize: 128 * 1024 },
    { segmentSize: undefined },
    { segmentSize: 128 * 1024 },
  ];
  for (const [i, { segmentSize }] of rounds.entries()) {
    it(`round ${i + 1}${segmentSize ? ' (small segments: rolls and compaction under load)' : ''}`, async () => {
      const killAfterMs = 100 + Math.floor(Math.random() * 500);
      const r = await crashRound({ killAfterMs, segmentSize });
      const context = `kill after ${killAfterMs} ms: published ${r.published}, confirmed ${r.confirmed}`;
      expectRecovered(r, context);
    });
  }

  it('into a recycled segment file: a compacted-away segment\'s, its old records behind the new ones (fails on the old code: no segment file is ever recycled)', async () => {
    // 64 KiB segments, 2 KiB bodies, the consumer holding only its first message: consumed segments are
    // compacted away within the first few hundred ms, and segments after them made on their files
    // (spare-segment.ts). Killed after a random time once the segment being written is one of those.
    const killAfterMs = 100 + Math.floor(Math.random() * 400);
    const r = await crashRound({ killAfterMs, segmentSize: 64 * 1024, bodySize: 2048, holdEvery: 1, holdMax: 1, killInRecycledHead: true });
    const context = `kill after ${killAfterMs} ms: published ${r.published}, confirmed ${r.confirmed}; recovery log: ${r.recoveryLog.join(' | ')}`;
    expect(r.headRecycled, context).toBe(true);
    expectRecovered(r, context);
  });

  it('into a head a clean stop left with its zeros, continued by the next start (fails before session 19: every start made a new head)', async () => {
    // two clean runs (queues declared, nothing published), then the killed broker goes on writing in their head
    // segment after its data: the kill tears a flush there, over the zeros the clean stop kept
    const killAfterMs = Math.floor(Math.random() * 300);
    const r = await crashRound({ killAfterMs, cleanRunsBefore: 2 });
    const context = `kill after ${killAfterMs} ms: published ${r.published}, confirmed ${r.confirmed}; recovery log: ${r.recoveryLog.join(' | ')}`;
    expect(r.headContinued, context).toBe(true);
    expectRecovered(r, context);
  });
});

/** what every kill -9 round must find after the restart: all confirmed, nothing twice or back from the dead, in order */
function expectRecovered(r: Awaited<ReturnType<typeof crashRound>>, context: string): void {
  expect(r.confirmed, context).toBeGreaterThan(0);
  expect(r.lost, context).toEqual([]);
  expect(r.duplicates, context).toEqual([]);
  expect(r.resurrected, context).toEqual([]);
  expect(r.outOfOrder, context).toBe(0);
  // what the consumer held unacked (its delivery proven written) is back, flagged redelivered
  expect(r.heldDurably, context).toBeGreaterThan(0);
  expect(r.heldNotRedelivered, context).toEqual([]);
}
