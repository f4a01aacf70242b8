import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import type { StompFrame } from '../../src/protocols/stomp/codec/index.js';
import { RawStomp, getHeader, wireFrame } from '../helpers/stomp.js';

/**
 * RabbitMQ's STOMP plugin answers an ACK or NACK before the queue's deliveries that follow from it: the message
 * an ACK lets through a full prefetch window, the message a NACK redelivers (the channel hands the settlement to
 * the queue process, which delivers later). RabbitMQ 3.10.8 asked (/tmp/s19-fidelity/ack-receipt.mjs,
 * misc-cases.mjs; rmq-ack-receipt.txt): `M(m1) R(a1) M(m2)` for an ACK with prefetch-count:1, `M(m1) R(a1)
 * M(m1, redelivered)` for a NACK. The old code wrote the delivery first, then the RECEIPT.
 */
const broker = useBroker({ ports: { stomp: 0 } });

/** frames as receipt ids, M(body) for a MESSAGE, the command otherwise */
const ids = (frames: StompFrame[]) => frames.map((f) => (f.command === 'RECEIPT' ? getHeader(f, 'receipt-id') : f.command === 'MESSAGE' ? `M(${f.body.toString()})` : f.command));

/** two messages queued, a client-individual subscription with prefetch-count:1 holding the first */
async function holdingFirst(q: string): Promise<{ client: RawStomp; ackId: string }> {
  const { client } = await RawStomp.connected(broker());
  client.send('SEND', { destination: `/queue/${q}` }, 'm1');
  client.send('SEND', { destination: `/queue/${q}`, receipt: 'p2' }, 'm2');
  await client.receipt('p2');
  client.send('SUBSCRIBE', { destination: `/queue/${q}`, id: 's', ack: 'client-individual', 'prefetch-count': '1' });
  const first = await client.frame('MESSAGE');
  return { client, ackId: getHeader(first, 'ack')! };
}

/** the next two frames: command and body or receipt id */
async function nextTwo(client: RawStomp): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 2; i++) {
    const f = await client.frame();
    out.push(f.command === 'RECEIPT' ? `RECEIPT ${getHeader(f, 'receipt-id')}` : `${f.command} ${f.body.toString()}${getHeader(f, 'redelivered') === 'true' ? ' redelivered' : ''}`);
  }
  return out;
}

describe("RabbitMQ STOMP: an ACK's or NACK's receipt before the delivery it sets off (RabbitMQ 3.10.8)", () => {
  it('ACK with a full prefetch window: RECEIPT, then the next message', async () => {
    const { client, ackId } = await holdingFirst('ar.ack');
    client.send('ACK', { id: ackId, receipt: 'a1' });
    expect(await nextTwo(client)).toEqual(['RECEIPT a1', 'MESSAGE m2']);
    client.close();
  });

  it('NACK: RECEIPT, then the redelivered message; NACK requeue:false: RECEIPT, then the next one', async () => {
    const { client, ackId } = await holdingFirst('ar.nack');
    client.send('NACK', { id: ackId, receipt: 'n1' });
    expect(await nextTwo(client)).toEqual(['RECEIPT n1', 'MESSAGE m1 redelivered']);
    client.close();
    const second = await holdingFirst('ar.nack.drop');
    second.client.send('NACK', { id: second.ackId, requeue: 'false', receipt: 'n2' });
    expect(await nextTwo(second.client)).toEqual(['RECEIPT n2', 'MESSAGE m2']);
    second.client.close();
  });
});

describe('RabbitMQ STOMP: SEND receipts and deliveries after the other answers to the same read (RabbitMQ 3.10.8)', () => {
  // asked (/tmp/s19-fidelity/read-receipts.mjs, tx-receipts.mjs; rmq-read-receipts.txt, 4 runs each, the frames in
  // one write): a SEND's receipt is a publisher confirm and a delivery comes from the queue, both after the plugin
  // has handled the whole read. The old code answered in frame order: `p0 b1`, `r0 M M p0 b1`, `p0 c1 s1`, `p0 d1`
  /** one write: SEND p0 (with `p0Headers`), BEGIN t, SEND s1 in t, COMMIT c1, all to `destination` */
  function sendThenTransaction(destination: string, p0Headers: Record<string, string>): Buffer {
    return Buffer.concat([
      wireFrame('SEND', { destination, ...p0Headers, receipt: 'p0' }, 'z'),
      wireFrame('BEGIN', { transaction: 't' }),
      wireFrame('SEND', { destination, transaction: 't', receipt: 's1' }, 'a'),
      wireFrame('COMMIT', { transaction: 't', receipt: 'c1' }),
    ]);
  }

  async function answers(client: RawStomp, n: number): Promise<(string | undefined)[]> {
    const got: StompFrame[] = [];
    for (let i = 0; i < n; i++) got.push(await client.frame());
    return ids(got);
  }

  it('SEND p0, BEGIN b1 -> b1 p0; SEND p0, BEGIN, SEND s1 in it, COMMIT c1 -> c1 p0 s1', async () => {
    const { client } = await RawStomp.connected(broker());
    client.write(Buffer.concat([wireFrame('SEND', { destination: '/queue/rr.a', receipt: 'p0' }, 'a'), wireFrame('BEGIN', { transaction: 't0', receipt: 'b1' })]));
    expect(await answers(client, 2)).toEqual(['b1', 'p0']);
    client.write(sendThenTransaction('/queue/rr.a', {}));
    expect(await answers(client, 3)).toEqual(['c1', 'p0', 's1']);
    client.close();
  });

  it('a persistent SEND p0, BEGIN, SEND s1 in it, COMMIT c1 -> c1 s1 p0 (the transaction is not answered behind p0\'s store wait)', async () => {
    // asked (/tmp/s19-fidelity/pers-mixed.mjs, rmq-pers-mixed.txt, 4/4)
    const { client } = await RawStomp.connected(broker());
    client.write(sendThenTransaction('/queue/rr.p', { persistent: 'true' }));
    expect(await answers(client, 3)).toEqual(['c1', 's1', 'p0']);
    client.close();
  });

  it('a persistent SEND p0 then a transient SEND p1 to a declared queue -> p1 p0 (each receipt when its own message is safe)', async () => {
    // asked (/tmp/s19-fidelity/pers-order2.mjs, rmq-pers-order2.txt, 3/3 each; review-s19-2 C1): to the same queue or
    // another one this connection declared -> `p1 p0`. (To a queue the SEND declares, RabbitMQ answers `p0 p1`: its
    // declare is a round trip the disk write finishes within; not emulated.) The old code kept them in frame order
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/rr.po' }, 'w');
    client.send('SEND', { destination: '/queue/rr.po.b', receipt: 'w' }, 'w');
    await client.receipt('w');
    for (const other of ['/queue/rr.po', '/queue/rr.po.b']) {
      client.write(Buffer.concat([wireFrame('SEND', { destination: '/queue/rr.po', persistent: 'true', receipt: 'p0' }, 'z'), wireFrame('SEND', { destination: other, receipt: 'p1' }, 'a')]));
      expect(await answers(client, 2)).toEqual(['p1', 'p0']);
    }
    client.close();
  });

  it('SUBSCRIBE r0 to a queue holding one, SEND p0 to it, BEGIN b1 -> r0 b1, the two MESSAGEs, p0', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/rr.own', receipt: 'w' }, 'warm');
    await client.receipt('w');
    client.write(
      Buffer.concat([
        wireFrame('SUBSCRIBE', { destination: '/queue/rr.own', id: 's', receipt: 'r0' }),
        wireFrame('SEND', { destination: '/queue/rr.own', receipt: 'p0' }, 'a'),
        wireFrame('BEGIN', { transaction: 't', receipt: 'b1' }),
      ]),
    );
    expect(await answers(client, 5)).toEqual(['r0', 'b1', 'M(warm)', 'M(a)', 'p0']);
    client.close();
  });

  it('a read ending the connection sends neither: SEND p0, DISCONNECT d1 -> d1 and closed (the message is routed)', async () => {
    const { client } = await RawStomp.connected(broker());
    client.write(Buffer.concat([wireFrame('SEND', { destination: '/queue/rr.bye', receipt: 'p0' }, 'a'), wireFrame('DISCONNECT', { receipt: 'd1' })]));
    expect(await answers(client, 1)).toEqual(['d1']);
    await client.whenClosed();
    expect(ids(client.frames)).toEqual([]); // nothing after d1
    expect(broker().core.vhost('/')!.getQueue('rr.bye')?.messageCount).toBe(1);
  });
});

describe('RabbitMQ STOMP: a delivery held for after the read whose subscription ended in that read (RabbitMQ 3.10.8)', () => {
  it('SUBSCRIBE and UNSUBSCRIBE in one write on a queue holding 2: RECEIPTs, then an ERROR Subscription not found per delivery, no MESSAGE', async () => {
    // review-s19-2 R1 (asked there, 3 runs: `RECEIPT(r1) RECEIPT(u1) ERROR ERROR`, open); 18c4430 wrote the two
    // MESSAGEs after the UNSUBSCRIBE's RECEIPT, for a subscription the client had closed
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/r1.q' }, 'a1');
    client.send('SEND', { destination: '/queue/r1.q', receipt: 'r0' }, 'a2');
    await client.receipt('r0');
    client.write(
      Buffer.concat([
        wireFrame('SUBSCRIBE', { destination: '/queue/r1.q', id: 's1', ack: 'client-individual', receipt: 'r1' }),
        wireFrame('UNSUBSCRIBE', { id: 's1', receipt: 'u1' }),
      ]),
    );
    const got: StompFrame[] = [];
    for (let i = 0; i < 4; i++) got.push(await client.frame());
    expect(ids(got)).toEqual(['r1', 'u1', 'ERROR', 'ERROR']);
    expect([getHeader(got[2]!, 'message'), got[2]!.body.toString()]).toEqual(['Subscription not found', "There is no current subscription with tag 'T_s1'."]);
    client.send('SEND', { destination: '/queue/r1.probe', receipt: 'p' }, 'x');
    await client.receipt('p');
    client.close();
  });
});
