import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawStomp, stompitConnect, stompitDisconnect, stompitSubscribe } from '../helpers/stomp.js';

/**
 * Issue 18 point 5 (1M publish floods): a STOMP publisher mostly repeats its destination and
 * headers. A SEND whose properties equal the previous SEND's on the connection shares the
 * previous message's properties object (frozen; headers of primitives only), instead of a
 * queued message holding one of its own; subscribers see every message's headers as before.
 */
describe('STOMP (RabbitMQ): repeated properties of a connection', () => {
  const broker = useBroker();

  it('equal properties share one frozen object, others have their own; MESSAGE headers as sent', async () => {
    const b = broker();
    // SENDs without receipts: a receipt is a header of its message (RabbitMQ's user_header), so a publisher
    // asking one per SEND gives each message properties of its own (rabbitmq-user-headers.test.ts)
    const { client: raw } = await RawStomp.connected(b);
    const sends: Record<string, string>[] = [{}, {}, { 'content-type': 'text/plain', k: 'v' }, { 'content-type': 'text/plain', k: 'v' }, { 'content-type': 'text/plain', k: 'w' }, { persistent: 'true' }];
    for (const [i, h] of sends.entries()) raw.send('SEND', { destination: '/queue/stomp.repeated', ...h }, `m${i}`);
    raw.send('SEND', { destination: '/queue/stomp.repeated.sync', receipt: 'sync' }, 'z');
    await raw.receipt('sync');
    raw.close();
    const client = await stompitConnect(b);
    const messages = [...b.core.vhost('/')!.getQueue('stomp.repeated')!.ready.entries()].map((e) => e.message);
    expect(messages).toHaveLength(6);
    const [m0, m1, m2, m3, m4, m5] = messages.map((m) => m.properties);
    expect(m1).toBe(m0);
    expect(m3).toBe(m2);
    expect(Object.isFrozen(m2) && Object.isFrozen(m2!.headers)).toBe(true);
    expect(m4).not.toBe(m2);
    expect(m4!.headers).toEqual({ k: 'w' });
    expect(m5).not.toBe(m0);
    expect(m5).toEqual({ deliveryMode: 2 });
    const sub = stompitSubscribe(client, { destination: '/queue/stomp.repeated', ack: 'auto' });
    const got = [];
    for (let i = 0; i < 6; i++) got.push(await sub.next());
    expect(got.map((m) => [m.body, m.headers['content-type'], m.headers['k'], m.headers['persistent']])).toEqual([
      ['m0', undefined, undefined, undefined],
      ['m1', undefined, undefined, undefined],
      ['m2', 'text/plain', 'v', undefined],
      ['m3', 'text/plain', 'v', undefined],
      ['m4', 'text/plain', 'w', undefined],
      ['m5', undefined, undefined, 'true'],
    ]);
    await stompitDisconnect(client);
  });

  it('content-length (a header of its message, as on RabbitMQ) varying with the body: properties still shared per length', async () => {
    // review-s18-2 U1: stompjs sends content-length on every SEND; bodies of varying size defeated the sharing with
    // the previous message alone (heap per queued message 289 -> 425 B at 100k; /tmp/s19-fidelity/heap1.txt)
    const b = broker();
    const { client: raw } = await RawStomp.connected(b);
    for (const body of ['aa', 'bbb', 'cc', 'ddd', 'e']) raw.send('SEND', { destination: '/queue/stomp.repeated.len', 'content-length': String(body.length) }, body);
    raw.send('SEND', { destination: '/queue/stomp.repeated.len', receipt: 'sync' }, 'z');
    await raw.receipt('sync');
    raw.close();
    const [a, bb, c, d, e] = [...b.core.vhost('/')!.getQueue('stomp.repeated.len')!.ready.entries()].map((m) => m.message.properties);
    expect(c).toBe(a);
    expect(d).toBe(bb);
    expect(bb).not.toBe(a);
    expect([a!.headers, bb!.headers, e!.headers]).toEqual([{ 'content-length': '2' }, { 'content-length': '3' }, { 'content-length': '1' }]);
  });
});
