import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { useBroker } from '../helpers/broker.js';
import { inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';

// a window of a second here (500 µs by default), so the test sees the loop polling however loaded the machine
const broker = useBroker({ mqtt: { busyPollMicros: 1_000_000 } });

/** one QoS 1 message through `b` (subscriber and publisher of its own): MQTT input reaches it */
async function roundTrip(b: LocalMQ, id: string): Promise<void> {
  const sub = await mqttConnect(b, { clientId: `${id}-sub` });
  const pub = await mqttConnect(b, { clientId: `${id}-pub` });
  try {
    const box = inbox(sub);
    await subscribe(sub, `busy/${id}`, 1);
    pub.publish(`busy/${id}`, id, { qos: 1 });
    const m = await box.next();
    expect(m.payload.toString()).toBe(id);
  } finally {
    await pub.endAsync();
    await sub.endAsync();
  }
}

/**
 * Busy polling (src/protocols/common/busy-poll.ts): after MQTT input the event loop keeps
 * polling for a short window instead of sleeping, so a busy client is not preempted by a
 * broker woken for each of its packets; once input stops the loop sleeps again — an idle
 * broker spends nothing and never holds the process open. Each broker has its own.
 */
describe('MQTT busy polling', () => {
  it('polls while MQTT input arrives and stops by itself once it stops', async () => {
    const sub = await mqttConnect(broker(), { clientId: 'busy-sub' });
    const pub = await mqttConnect(broker(), { clientId: 'busy-pub' });
    const box = inbox(sub);
    await subscribe(sub, 'busy/poll', 1);
    await broker().busyPoll.idle();
    pub.publish('busy/poll', 'one', { qos: 1 });
    await box.next();
    // the broker read the PUBLISH less than the window ago
    expect(broker().busyPoll.active).toBe(true);
    // no more input: the loop goes back to sleeping once the window has passed
    await broker().busyPoll.idle();
    expect(broker().busyPoll.active).toBe(false);
    await pub.endAsync();
    await sub.endAsync();
  });

  // the brokers below poll for a minute after input: only their own stop() ends it within a test
  const MINUTE = 60_000_000;

  it('busyPollMicros 0 turns it off for that broker only', async () => {
    const on = await startBroker({ mqtt: { busyPollMicros: MINUTE } });
    const quiet = await startBroker({ mqtt: { busyPollMicros: 0 } });
    try {
      await roundTrip(on, 'on');
      await roundTrip(quiet, 'off');
      expect(quiet.busyPoll.active).toBe(false);
      // the other broker in this process keeps its own window (the state was process-wide once)
      expect(on.busyPoll.active).toBe(true);
    } finally {
      await quiet.stop();
      await on.stop();
    }
    expect(on.busyPoll.active || quiet.busyPoll.active).toBe(false);
  });

  it('two brokers in one process: stopping one ends its polling, the other still polls and serves', async () => {
    const a = await startBroker({ mqtt: { busyPollMicros: MINUTE } });
    const b = await startBroker({ mqtt: { busyPollMicros: MINUTE } });
    try {
      await roundTrip(a, 'a');
      await roundTrip(b, 'b');
      expect(a.busyPoll.active).toBe(true);
      expect(b.busyPoll.active).toBe(true);
      // a waiter for a's loop to sleep is released by its stop (the window is a minute away)
      const aIdle = a.busyPoll.idle();
      await a.stop();
      await aIdle;
      expect(a.busyPoll.active).toBe(false);
      // b: its own loop and its own connections' output, unaffected by a's stop
      expect(b.busyPoll.active).toBe(true);
      await roundTrip(b, 'b-after');
      expect(b.busyPoll.active).toBe(true);
    } finally {
      await a.stop();
      await b.stop();
    }
    expect(b.busyPoll.active).toBe(false);
  });
});
