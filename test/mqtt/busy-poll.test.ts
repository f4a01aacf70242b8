import { describe, expect, it } from 'vitest';
import { startBroker } from '../../src/index.js';
import { busyPolling } from '../../src/protocols/common/busy-poll.js';
import { useBroker } from '../helpers/broker.js';
import { inbox, mqttConnect, subscribe } from '../helpers/mqtt.js';

// a window of a second here (500 µs by default), so the test sees the loop polling however loaded the machine
const broker = useBroker({ mqtt: { busyPollMicros: 1_000_000 } });

/** resolves once `cond` holds, checked every 5 ms */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Busy polling (src/protocols/common/busy-poll.ts): after MQTT input the event loop keeps
 * polling for a short window instead of sleeping, so a busy client is not preempted by a
 * broker woken for each of its packets; once input stops the loop sleeps again — an idle
 * broker spends nothing and never holds the process open.
 */
describe('MQTT busy polling', () => {
  it('polls while MQTT input arrives and stops by itself once it stops', async () => {
    const sub = await mqttConnect(broker(), { clientId: 'busy-sub' });
    const pub = await mqttConnect(broker(), { clientId: 'busy-pub' });
    const box = inbox(sub);
    await subscribe(sub, 'busy/poll', 1);
    await until(() => !busyPolling());
    pub.publish('busy/poll', 'one', { qos: 1 });
    await box.next();
    // the broker read the PUBLISH less than the window ago
    expect(busyPolling()).toBe(true);
    // no more input: the loop goes back to sleeping once the window has passed
    await until(() => !busyPolling());
    expect(busyPolling()).toBe(false);
    await pub.endAsync();
    await sub.endAsync();
  });

  // last in the file: the window is process-wide, and this broker sets it to 0
  it('busyPollMicros 0 turns it off', async () => {
    const quiet = await startBroker({ mqtt: { busyPollMicros: 0 } });
    try {
      await until(() => !busyPolling());
      const c = await mqttConnect(quiet, { clientId: 'no-busy' });
      const box = inbox(c);
      await subscribe(c, 'busy/off', 1);
      c.publish('busy/off', 'x', { qos: 1 });
      await box.next();
      expect(busyPolling()).toBe(false);
      await c.endAsync();
    } finally {
      await quiet.stop();
    }
  });
});
