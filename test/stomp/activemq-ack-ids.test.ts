import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * STOMP 1.2 ack ids in the ActiveMQ dialect once their subscription is gone. ActiveMQ 5.17.2
 * (/tmp/s17-fidelity/stale-cases.mjs, stale-cases2.mjs; notes/s17-fidelity.md §2) keeps a connection's
 * pending acks when a subscription closes: an ACK or NACK of an id it left unacknowledged gets a
 * RECEIPT, once (again: `ERROR Unexpected ACK received for message-id [null]`), and settles nothing
 * (the messages are back on the queue, also while another subscription of the connection holds them);
 * an `ack:client` subscription's stale ACK takes the earlier ids with it; an id never handed out is
 * refused. The old code refused every stale id. The ids leave the live map with their subscription,
 * however many (review-s16-2 L2: 600 unacked went back in slices and their ids stayed live).
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0 } });

/** the answer to a frame with a receipt: `RECEIPT` or `ERROR <message>` */
async function answer(client: RawStomp, command: string, headers: Record<string, string>): Promise<string> {
  client.send(command, { ...headers, receipt: 'x' });
  const f = await client.frame();
  return f.command === 'ERROR' ? `ERROR ${getHeader(f, 'message')}` : f.command;
}

/** `n` queued, all received unacknowledged (ack mode `ack`) by subscription `s`, UNSUBSCRIBE: the client and the ack ids */
async function leftUnacked(queue: string, n: number, ack = 'client-individual'): Promise<{ client: RawStomp; ids: string[] }> {
  const { client } = await RawStomp.connected(broker());
  client.useVersion('1.2');
  for (let i = 0; i < n; i++) client.send('SEND', { destination: `/queue/${queue}`, ...(i === n - 1 ? { receipt: 'sent' } : {}) }, `m${i}`);
  await client.receipt('sent');
  client.send('SUBSCRIBE', { destination: `/queue/${queue}`, id: 's', ack, 'activemq.prefetchSize': String(n) });
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(getHeader(await client.frame('MESSAGE'), 'ack')!);
  client.send('UNSUBSCRIBE', { id: 's', receipt: 'gone' });
  await client.receipt('gone');
  return { client, ids };
}

const UNEXPECTED_ACK = 'ERROR Unexpected ACK received for message-id [null]';

describe('ActiveMQ STOMP 1.2 ack ids of a closed subscription (ActiveMQ 5.17.2)', () => {
  it('a stale ACK gets a RECEIPT once and settles nothing, with 10 unacked and with 600', async () => {
    for (const n of [10, 600]) {
      const { client, ids } = await leftUnacked(`ackids.${n}`, n);
      expect(await answer(client, 'ACK', { id: ids[n - 1]! })).toBe('RECEIPT');
      expect(await answer(client, 'ACK', { id: ids[0]! })).toBe('RECEIPT');
      expect(await answer(client, 'ACK', { id: ids[0]! })).toBe(UNEXPECTED_ACK);
      expect(broker().queue(`ackids.${n}`).purge()).toBe(n); // those on their way back put back first
      client.close();
    }
  });

  it('a stale NACK gets a RECEIPT and dead-letters nothing; an id never handed out is refused', async () => {
    const { client, ids } = await leftUnacked('ackids.nack', 2);
    expect(await answer(client, 'NACK', { id: ids[1]! })).toBe('RECEIPT');
    expect(broker().queue('ackids.nack').purge()).toBe(2); // those on their way back put back first
    expect(broker().queue('ActiveMQ.DLQ').messageCount()).toBe(0);
    expect(await answer(client, 'ACK', { id: 'nope' })).toBe(UNEXPECTED_ACK);
    expect(await answer(client, 'ACK', { id: 'nope', 'message-id': 'xyz' })).toBe('ERROR Unexpected ACK received for message-id [xyz]');
    expect(await answer(client, 'ACK', {})).toBe('ERROR ACK received without a ack id for acknowledge!');
    expect(await answer(client, 'NACK', {})).toBe('ERROR NACK received without an ack header to acknowledge!');
    client.close();
  });

  it('while a new subscription of the connection holds the messages again, a stale ACK leaves them unacknowledged', async () => {
    const { client, ids } = await leftUnacked('ackids.again', 2);
    client.send('SUBSCRIBE', { destination: '/queue/ackids.again', id: 't', ack: 'client-individual' });
    const again = [await client.frame('MESSAGE'), await client.frame('MESSAGE')];
    expect(again.map((m) => getHeader(m, 'redelivered'))).toEqual(['true', 'true']);
    expect(await answer(client, 'ACK', { id: ids[0]! })).toBe('RECEIPT');
    client.send('UNSUBSCRIBE', { id: 't', receipt: 'gone' });
    await client.receipt('gone');
    expect(broker().queue('ackids.again').purge()).toBe(2); // those on their way back put back first
    client.close();
  });

  it("ack:client: a stale ACK takes the subscription's earlier stale ids with it", async () => {
    const { client, ids } = await leftUnacked('ackids.client', 3, 'client');
    expect(await answer(client, 'ACK', { id: ids[1]! })).toBe('RECEIPT');
    expect(await answer(client, 'ACK', { id: ids[0]! })).toBe(UNEXPECTED_ACK);
    expect(await answer(client, 'ACK', { id: ids[2]! })).toBe('RECEIPT');
    expect(broker().queue('ackids.client').purge()).toBe(3); // those on their way back put back first
    client.close();
  });
});
