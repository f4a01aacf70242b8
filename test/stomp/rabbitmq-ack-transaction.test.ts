import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * RabbitMQ's STOMP plugin checks an ACK's / NACK's id (present, well formed, of a subscription) before its
 * transaction. RabbitMQ 3.10.8 asked (review-s18-2 F5, /tmp/review-s18-2/rv/stomp-cases4.mjs, stomp-cases5.mjs), each
 * with transaction:none (never begun): ACK id:nope -> Invalid header; NACK id:nope -> Invalid header; ACK without id ->
 * Missing header; ACK id:T_s9@@sess@@1 -> Subscription not found; ACK of a live ack id -> Bad transaction. The
 * session goes on after each.
 */
const broker = useBroker({ ports: { stomp: 0 } });

describe('RabbitMQ STOMP: an ACK in an unknown transaction is refused for its id first (RabbitMQ 3.10.8)', () => {
  it('id errors before the transaction; a live id then Bad transaction', async () => {
    const { client } = await RawStomp.connected(broker());
    client.useVersion('1.2');
    client.send('SEND', { destination: '/queue/ack.tx.order', receipt: 'p' }, 'm');
    await client.receipt('p');
    client.send('SUBSCRIBE', { destination: '/queue/ack.tx.order', id: 'k', ack: 'client-individual' });
    const live = getHeader(await client.frame('MESSAGE'), 'ack')!;
    const cases: [string, Record<string, string>, string][] = [
      ['ACK', { id: 'nope' }, 'Invalid header'],
      ['NACK', { id: 'nope' }, 'Invalid header'],
      ['ACK', {}, 'Missing header'],
      ['ACK', { id: 'T_s9@@sess@@1' }, 'Subscription not found'],
      ['ACK', { id: live }, 'Bad transaction'],
    ];
    const got: string[] = [];
    for (const [command, headers] of cases) {
      client.send(command, { ...headers, transaction: 'none', receipt: 'e' });
      got.push(getHeader(await client.frame('ERROR'), 'message')!);
    }
    expect(got).toEqual(cases.map(([, , m]) => m));
    client.send('SEND', { destination: '/queue/ack.tx.order', receipt: 'after' }, 'x');
    await client.receipt('after');
    client.close();
  });
});
