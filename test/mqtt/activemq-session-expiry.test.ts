import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { inbox, mqttConnect } from '../helpers/mqtt.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * ActiveMQ engine: an MQTT client's subscription is an ActiveMQ topic subscription, so a persistent message that
 * expires in it while the client is away goes to ActiveMQ.DLQ, as on any ActiveMQ destination. ActiveMQ 5.17
 * asked (/tmp/s18-fidelity/mqtt-expiry.mjs, its MQTT connector given the mqtt-client codec jar): client mx
 * (clean session false) subscribes a/b at QoS 1 and leaves; STOMP sends two persistent messages to /topic/a.b,
 * one expiring 1 s later; 2.5 s on, mx comes back and gets only the other; ActiveMQ.DLQ holds the expired one
 * with original-destination /topic/a.b and dlqDeliveryFailureCause "java.lang.Throwable: Message Expired.
 * Expiration:<at>". The old code dropped it (its session queue was no ActiveMQ destination).
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, mqtt: 0 } });

describe('ActiveMQ engine: what expires in an MQTT session goes to ActiveMQ.DLQ (ActiveMQ 5.17)', () => {
  it('a persistent message expiring while a clean-session-false client is away', async () => {
    const clientId = `mx-${Date.now()}`;
    const away = await mqttConnect(broker(), { clientId, clean: false, protocolVersion: 4 });
    await away.subscribeAsync('exp/a', { qos: 1 });
    await away.endAsync();

    const { client: stomp } = await RawStomp.connected(broker(), { 'accept-version': '1.2' });
    stomp.useVersion('1.2');
    // a margin its arrival cannot use up (a message expired on arrival is dead-lettered at enqueue on the old code too)
    const expiresAt = Date.now() + 500;
    stomp.send('SEND', { destination: '/topic/exp.a', persistent: 'true', expires: String(expiresAt), receipt: 's1' }, 'expires');
    stomp.send('SEND', { destination: '/topic/exp.a', persistent: 'true', receipt: 's2' }, 'stays');
    await stomp.receipt('s1');
    await stomp.receipt('s2');
    // arrived before its expiry: still in the session's queue
    expect(broker().core.vhost('/')!.getQueue(`mqtt-subscription-${clientId}qos1`)?.messageCount).toBe(2);
    // past its expiry (the session queue, an ActiveMQ destination, has no timer: it leaves at the next dispatch)
    while (Date.now() <= expiresAt) await new Promise((r) => setTimeout(r, expiresAt - Date.now() + 1));

    const back = await mqttConnect(broker(), { clientId, clean: false, protocolVersion: 4 });
    const [got] = await inbox(back).count(1);
    expect(got!.payload.toString()).toBe('stays');
    await back.endAsync();
    // dead-lettered at that dispatch, before 'stays' went out (the old code: none)
    expect(broker().core.vhost('/')!.getQueue('ActiveMQ.DLQ')?.messageCount ?? 0).toBe(1);

    stomp.send('SUBSCRIBE', { destination: '/queue/ActiveMQ.DLQ', id: 'd', ack: 'auto' });
    const copy = await stomp.frame('MESSAGE');
    expect([copy.body.toString(), getHeader(copy, 'original-destination'), getHeader(copy, 'dlqDeliveryFailureCause')]).toEqual([
      'expires',
      '/topic/exp.a',
      `java.lang.Throwable: Message Expired. Expiration:${expiresAt}`,
    ]);
    stomp.close();
  });
});
