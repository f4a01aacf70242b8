import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * STOMP 1.2 ack ids in the ActiveMQ dialect are forgotten with their subscription, however many it
 * held unacknowledged (review-s16-2 L2). More than 512 go back to the queue in slices after the
 * UNSUBSCRIBE: their ids stayed in the connection's map for its life (~170 B a message; a poller that
 * subscribes with a big window and leaves grew without bound), and a stale ACK of one of them was
 * answered as if it were live. Here a stale ACK is refused either way. (ActiveMQ 5.17 answers a stale
 * ack id with a RECEIPT, review-s16-2 stale-ack.mjs: not matched.)
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0 } });

/** `n` queued, all received unacknowledged, UNSUBSCRIBE; then an ACK of the first one's id: the answer */
async function staleAck(queue: string, n: number): Promise<string> {
  const { client } = await RawStomp.connected(broker());
  client.useVersion('1.2');
  for (let i = 0; i < n; i++) client.send('SEND', { destination: `/queue/${queue}`, ...(i === n - 1 ? { receipt: 'sent' } : {}) }, `m${i}`);
  await client.receipt('sent');
  client.send('SUBSCRIBE', { destination: `/queue/${queue}`, id: 's', ack: 'client-individual', 'activemq.prefetchSize': String(n) });
  const first = await client.frame('MESSAGE');
  for (let i = 1; i < n; i++) await client.frame('MESSAGE');
  client.send('UNSUBSCRIBE', { id: 's', receipt: 'gone' });
  await client.receipt('gone');
  client.send('ACK', { id: getHeader(first, 'ack')!, receipt: 'stale' });
  const answer = await client.frame();
  client.close();
  return answer.command === 'ERROR' ? `ERROR ${getHeader(answer, 'message')}` : answer.command;
}

describe('ActiveMQ STOMP 1.2 ack ids of a closed subscription (review-s16-2 L2)', () => {
  it('are forgotten with 10 unacked and with 600 (the old code kept the 600: its stale ACK got a RECEIPT)', async () => {
    expect(await staleAck('ackids.few', 10)).toMatch(/^ERROR Unexpected ACK received for message-id \[/);
    expect(await staleAck('ackids.many', 600)).toMatch(/^ERROR Unexpected ACK received for message-id \[/);
  });
});
