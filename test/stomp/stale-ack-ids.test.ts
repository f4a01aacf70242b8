import { describe, expect, it } from 'vitest';
import { MAX_STALE, StaleAckIds } from '../../src/protocols/stomp/activemq/stale-acks.js';

/**
 * The stale 1.2 ack ids of an ActiveMQ-dialect connection (ActiveMQ 5.17.2 answers each once, see
 * activemq-ack-ids.test.ts): bounded, the oldest closed subscriptions' going first.
 */
describe('StaleAckIds', () => {
  it('answers each once; a cumulative ACK takes the earlier ones of its group, a NACK only its own', () => {
    const s = new StaleAckIds();
    s.add([5, 3, 9], false);
    s.add([4, 6, 8], true);
    expect(s.take(3, 'ACK')).toBe(true);
    expect(s.take(3, 'ACK')).toBe(false);
    expect(s.take(7, 'ACK')).toBe(false);
    expect(s.take(6, 'NACK')).toBe(true);
    expect(s.take(4, 'ACK')).toBe(true);
    expect(s.take(8, 'ACK')).toBe(true);
    expect(s.take(9, 'NACK')).toBe(true);
    expect(s.take(5, 'ACK')).toBe(true);
    // every group answered: nothing left
    expect(s.take(5, 'ACK')).toBe(false);
  });

  it(`keeps at most ${MAX_STALE}: past that the oldest groups go`, () => {
    const s = new StaleAckIds();
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    s.add(range(1, 40_000), false);
    s.add(range(100_001, 40_000), false);
    expect(s.take(1, 'ACK')).toBe(false);
    expect(s.take(100_001, 'ACK')).toBe(true);
    s.add(range(200_001, MAX_STALE + 10), true);
    expect(s.take(100_002, 'ACK')).toBe(false);
    // of one group bigger than the bound, the newest
    expect(s.take(200_010, 'NACK')).toBe(false);
    expect(s.take(200_011, 'NACK')).toBe(true);
    expect(s.take(200_001 + MAX_STALE + 9, 'ACK')).toBe(true);
    expect(s.take(200_012, 'ACK')).toBe(false);
  });
});
