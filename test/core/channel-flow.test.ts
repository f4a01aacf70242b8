import { describe, expect, it } from 'vitest';
import { Alarms, PublisherFlow, type FlowControlled } from '../../src/core/alarm.js';
import { ChannelFlow } from '../../src/core/channel-flow.js';
import { Routed, Stored } from '../../src/core/exchanges/routing.js';
import { StoreFlow } from '../../src/core/store-flow.js';

/**
 * A channel's `state` under the journal's credit flow, on a stepped clock: RabbitMQ's
 * credit_flow:state/0 (rabbit_channel's `state` info item) is `flow` while the channel is blocked,
 * and for STATE_CHANGE_INTERVAL (1 s) from when the block BEGAN, then `running` (RabbitMQ 3.10.8
 * asked with credit_flow_default_credit {2,1}: the flooding channel `flow`, a quiet channel of the same
 * connection `running`, both `running` once the flood stopped). The management API over a held AMQP
 * connection is test/persistence/store-flow.test.ts.
 */

/** the journal as StoreFlow hears it, and a connection that records nothing it is told */
function setUp() {
  let backlog: (behind: boolean) => void = () => {};
  const storeFlow = new StoreFlow({ onBacklog: (listener) => (backlog = listener) });
  const client: FlowControlled = { pauseReading: () => {}, resumeReading: () => {} };
  const connection = new PublisherFlow(new Alarms(), client, storeFlow);
  let t = 0;
  const clock = { now: () => t, at: (ms: number) => (t = ms) };
  const channel = () => new ChannelFlow(() => connection, clock.now);
  return { behind: (on: boolean) => backlog(on), connection, clock, channel };
}

const PERSISTENT = Routed | Stored;

describe('ChannelFlow: a channel in flow as credit_flow:state/0 says', () => {
  it('the channel whose publish found the journal behind is in flow while held and for 1 s from the block; a quiet one, or one publishing transient messages, never', () => {
    const { behind, connection, clock, channel } = setUp();
    const [quiet, flooding, transient] = [channel(), channel(), channel()];
    flooding.stored(PERSISTENT);
    expect([quiet.inFlow, flooding.inFlow, transient.inFlow]).toEqual([false, false, false]);

    clock.at(100);
    behind(true);
    flooding.stored(PERSISTENT);
    transient.stored(Routed);
    expect(connection.flowHold).not.toBe(0);
    expect([quiet.inFlow, flooding.inFlow, transient.inFlow]).toEqual([false, true, false]);
    // held longer than the second: still flow (blocked)
    clock.at(5000);
    expect(flooding.inFlow).toBe(true);
    behind(false);
    // released more than 1 s after the block began: running at once
    expect(connection.flowHold).toBe(0);
    expect(flooding.inFlow).toBe(false);
  });

  it('released within the second: flow until 1 s from the block\'s START (credit_blocked_at), not from the last publish of that hold', () => {
    const { behind, clock, channel } = setUp();
    const ch = channel();
    clock.at(1000);
    behind(true);
    ch.stored(PERSISTENT);
    // a later publish of the same hold does not move the block's start
    clock.at(1800);
    ch.stored(PERSISTENT);
    clock.at(1900);
    behind(false);
    expect(ch.inFlow).toBe(true);
    clock.at(1999);
    expect(ch.inFlow).toBe(true);
    clock.at(2000);
    expect(ch.inFlow).toBe(false);
  });

  it('a new hold is a new block: its start counts again', () => {
    const { behind, clock, channel } = setUp();
    const ch = channel();
    behind(true);
    ch.stored(PERSISTENT);
    clock.at(200);
    behind(false);
    clock.at(3000);
    expect(ch.inFlow).toBe(false);
    behind(true);
    ch.stored(PERSISTENT);
    behind(false);
    clock.at(3999);
    expect(ch.inFlow).toBe(true);
    clock.at(4000);
    expect(ch.inFlow).toBe(false);
  });
});
