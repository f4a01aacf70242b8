import { describe, expect, it } from 'vitest';
import { RawStomp, getHeader } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';

/**
 * ActiveMQ's periodic expiry (Queue.expireMessages every expireMessagesPeriod, 30 s by default):
 * expired messages leave a queue for ActiveMQ.DLQ without a consumer or a browser, but only among
 * the first maxExpirePageSize (400). Asked of ActiveMQ 5.17 (Debian's, default policies; JMS
 * client, /work/notes/s14-fidelity.md §4), persistent messages, no consumer, ActiveMQ.DLQ read by
 * a consumer with a selector: [k0, k1 1 s to live, k2] → k1 reached the DLQ at the 30 s sweep
 * (30033 ms after the send); an expiring message behind 100 or 350 others: at the sweep; behind
 * 450, 1000 or 5000: still not after 75 s (two sweeps). The old code expired only the head: k1
 * stayed in its queue (40 s watched). Here the period is 100 ms (BrokerOptions.activemq).
 * A head [h0 1 s to live, h1] left 2 s without a consumer: ActiveMQ.DLQ still empty (ActiveMQ has
 * no head timer: h0 reached the DLQ at the 30 s sweep, 30030 ms); then a consumer got h1 and h0
 * went to the DLQ at that dispatch. The old code's head timer dead-lettered h0 at once (1015 ms).
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0 }, activemq: { expireMessagesPeriodMs: 100 } });
let seq = 0;

function fill(queue: string, bodies: [string, string | undefined][]): void {
  broker().core.vhost('/')!.declareQueue(queue, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-activemq-queue': true } }, null);
  for (const [body, expiration] of bodies) broker().publish('', queue, body, { deliveryMode: 2, ...(expiration !== undefined ? { expiration } : {}), headers: { queue } });
}

/** a STOMP consumer of ActiveMQ.DLQ taking only `queue`'s messages */
async function dlqOf(queue: string, on: typeof broker = broker): Promise<RawStomp> {
  const { client } = await RawStomp.connected(on());
  client.useVersion('1.2');
  const r = `dlq${++seq}`;
  client.send('SUBSCRIBE', { id: r, destination: '/queue/ActiveMQ.DLQ', selector: `queue = '${queue}'`, receipt: r });
  await client.receipt(r);
  return client;
}

describe('ActiveMQ queues: no head expiry timer (the default 30 s sweep)', () => {
  const defaults = useBroker({ engine: 'activemq', ports: { stomp: 0 } });

  it('an expired head stays until a consumer comes (or the sweep), then goes to ActiveMQ.DLQ as the consumer is served', async () => {
    const queue = `expiry.head.${++seq}`;
    const vhost = defaults().core.vhost('/')!;
    vhost.declareQueue(queue, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-activemq-queue': true } }, null);
    defaults().publish('', queue, 'h0', { deliveryMode: 2, expiration: '20' });
    defaults().publish('', queue, 'h1', { deliveryMode: 2 });
    // past h0's expiry, by a timer due after the one the old code armed for it (timers fire by due time)
    await new Promise((r) => setTimeout(r, 40));
    expect(defaults().queue(queue).messages().map((m) => m.text())).toEqual(['h0', 'h1']);
    expect(defaults().queue('ActiveMQ.DLQ').messages().map((m) => m.text())).not.toContain('h0');
    const { client } = await RawStomp.connected(defaults());
    client.useVersion('1.2');
    client.send('SUBSCRIBE', { id: 's1', destination: `/queue/${queue}`, ack: 'auto' });
    expect((await client.frame('MESSAGE')).body.toString()).toBe('h1');
    expect(defaults().queue('ActiveMQ.DLQ').messages().map((m) => m.text())).toContain('h0');
    client.close();
  });
});

describe('ActiveMQ queues: a message that arrives expired', () => {
  const defaults = useBroker({ engine: 'activemq', ports: { stomp: 0 } });

  it('goes to ActiveMQ.DLQ at once, even with a consumer waiting (ActiveMQ 5.17; RabbitMQ would hand it to the consumer)', async () => {
    // ActiveMQ 5.17 (/tmp/s14-fidelity/stomp-arrived-expired.mjs): SEND persistent with `expires` 1 s past,
    // a subscriber of the queue waiting: it got only the next message; the expired one was on ActiveMQ.DLQ
    const queue = `expiry.arrived.${++seq}`;
    const { client } = await RawStomp.connected(defaults());
    client.useVersion('1.2');
    client.send('SUBSCRIBE', { id: 's1', destination: `/queue/${queue}`, ack: 'auto', receipt: 'sub' });
    await client.receipt('sub');
    client.send('SEND', { destination: `/queue/${queue}`, persistent: 'true', expires: String(Date.now() - 1000) }, 'x0');
    client.send('SEND', { destination: `/queue/${queue}`, persistent: 'true' }, 'x1');
    expect((await client.frame('MESSAGE')).body.toString()).toBe('x1');
    expect(defaults().queue('ActiveMQ.DLQ').messages().map((m) => m.text())).toContain('x0');
    expect(defaults().core.vhost('/')!.getQueue(queue)!.stats.expired).toBe(1);
    client.close();
  });

  it("its ActiveMQ.DLQ copy names the client's own expiry, not the arrival (originalExpiration, the cause)", async () => {
    // ActiveMQ 5.17 (/tmp/s15-fidelity/stomp-arrived-expired.mjs, amq-arrived-expired.txt): `expires` 1 s past →
    // originalExpiration:<that expires>, dlqDeliveryFailureCause:java.lang.Throwable: Message Expired. Expiration:<that expires>;
    // the old code named the arrival time (it kept a TTL clamped at 0)
    const queue = `expiry.arrived.copy.${++seq}`;
    const dlq = await dlqOf(queue, defaults);
    const { client } = await RawStomp.connected(defaults());
    client.useVersion('1.2');
    const expires = String(Date.now() - 1000);
    client.send('SEND', { destination: `/queue/${queue}`, persistent: 'true', expires, queue, receipt: 'sent' }, 'x0');
    await client.receipt('sent');
    const copy = await dlq.frame('MESSAGE');
    expect(copy.body.toString()).toBe('x0');
    expect(getHeader(copy, 'originalExpiration')).toBe(expires);
    expect(getHeader(copy, 'dlqDeliveryFailureCause')).toBe(`java.lang.Throwable: Message Expired. Expiration:${expires}`);
    expect(getHeader(copy, 'expires')).toBe('0');
    client.close();
    dlq.close();
  });
});

describe('ActiveMQ queues: the periodic expiry sweep (ActiveMQ 5.17 expireMessagesPeriod)', () => {
  it('an expired message in the middle of a queue with no consumer goes to ActiveMQ.DLQ at a sweep', async () => {
    const queue = `expiry.sweep.middle.${++seq}`;
    const dlq = await dlqOf(queue);
    fill(queue, [['k0', undefined], ['k1', '50'], ['k2', undefined]]);
    expect((await dlq.frame('MESSAGE')).body.toString()).toBe('k1');
    expect(broker().queue(queue).messages().map((m) => m.text())).toEqual(['k0', 'k2']);
    expect(broker().core.vhost('/')!.getQueue(queue)!.stats.expired).toBe(1);
    dlq.close();
  });

  it('messages that come back after a sweep found none ready are swept too (review-s14-1 F2)', async () => {
    const queue = `expiry.sweep.returned.${++seq}`;
    const dlq = await dlqOf(queue);
    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    client.send('SUBSCRIBE', { id: 's1', destination: `/queue/${queue}`, ack: 'client' });
    fill(queue, [['k0', undefined], ['k1', '50'], ['k2', undefined]]);
    for (let i = 0; i < 3; i++) await client.frame('MESSAGE');
    // the clock past two periods: sweeps (due before this timer) found nothing ready, all three held
    await new Promise((r) => setTimeout(r, 250));
    client.close();
    expect((await dlq.frame('MESSAGE')).body.toString()).toBe('k1');
    expect(broker().queue(queue).messages().map((m) => m.text())).toEqual(['k0', 'k2']);
    dlq.close();
  });

  it('the sweep looks at the first 400 messages only: one 350th goes, one 450th stays', async () => {
    const queue = `expiry.sweep.depth.${++seq}`;
    const dlq = await dlqOf(queue);
    const bodies: [string, string | undefined][] = [];
    for (let i = 0; i < 500; i++) bodies.push([`m${i}`, i === 350 || i === 450 ? '50' : undefined]);
    fill(queue, bodies);
    // one sweep took m350; m450 was in that same pass, past its 400
    expect((await dlq.frame('MESSAGE')).body.toString()).toBe('m350');
    const left = broker().queue(queue).messages().map((m) => m.text());
    expect(left).toHaveLength(499);
    expect(left).toContain('m450');
    dlq.close();
  });
});
