import { describe, expect, it } from 'vitest';
import { connect } from '../helpers/amqp.js';
import { useBroker } from '../helpers/broker.js';
import type { StompFrame } from '../../src/protocols/stomp/codec/index.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';

/**
 * RabbitMQ's STOMP plugin puts every SEND header but the properties and `destination` into the AMQP headers
 * table (rabbit_stomp_util:user_header, the same list from 3.x to 4.x): `receipt`, `transaction` and
 * `content-length` travel with the message, in reverse frame order (its parser prepends each new header).
 * RabbitMQ 3.10.8 asked (/tmp/s18-fidelity/pe-cases.mjs and pe-cases3.mjs, /tmp/s19-fidelity/hdr-order.mjs): a
 * STOMP MESSAGE carries `receipt:s2` / `transaction:t1` and one content-length (its own, last); an AMQP basic.get
 * sees {x-custom, transaction, receipt, content-length} in that order for a SEND that gave them the other way round.
 */
const broker = useBroker({ ports: { stomp: 0 } });

describe('RabbitMQ STOMP: a SEND\'s receipt and transaction are message headers (RabbitMQ 3.10.8)', () => {
  it('a STOMP subscriber sees receipt and transaction; the MESSAGE has its own content-length', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/queue/uh.stomp', id: 's1', receipt: 'r0' });
    await client.receipt('r0');
    client.send('SEND', { destination: '/queue/uh.stomp', receipt: 'p1', 'content-length': '1' }, 'a');
    await client.receipt('p1');
    const plain = await client.frame('MESSAGE');
    client.send('BEGIN', { transaction: 't1' });
    client.send('SEND', { destination: '/queue/uh.stomp', transaction: 't1', receipt: 's2' }, 'bc');
    client.send('COMMIT', { transaction: 't1', receipt: 'c1' });
    await client.receipt('c1');
    await client.receipt('s2');
    const inTx = await client.frame('MESSAGE');
    expect([getHeader(plain, 'receipt'), getHeader(plain, 'transaction'), plain.headers.filter(([k]) => k === 'content-length')]).toEqual(['p1', undefined, [['content-length', '1']]]);
    expect([getHeader(inTx, 'receipt'), getHeader(inTx, 'transaction'), inTx.headers.filter(([k]) => k === 'content-length')]).toEqual(['s2', 't1', [['content-length', '2']]]);
    client.close();
  });

  it('an AMQP 0-9-1 consumer sees them in the headers table', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('BEGIN', { transaction: 't1' });
    client.send('SEND', { destination: '/queue/uh.amqp', 'content-length': '1', receipt: 's1', transaction: 't1', 'x-custom': 'c' }, 'x');
    client.send('COMMIT', { transaction: 't1', receipt: 'c1' });
    await client.receipt('c1');
    await client.receipt('s1');
    client.close();
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    const got = await ch.get('uh.amqp', { noAck: true });
    // content-length too (review-s18-2 U1; the old code left it out), in reverse frame order (P2; the old code kept
    // the frame's order)
    expect(got && Object.entries(got.properties.headers!)).toEqual([
      ['x-custom', 'c'],
      ['transaction', 't1'],
      ['receipt', 's1'],
      ['content-length', '1'],
    ]);
    await conn.close();
  });

  it('equal user headers in another order keep their own order (not the earlier message\'s)', async () => {
    // review-s19-2 P2b (RabbitMQ 3.10.8 asked there: SEND h1:a content-length:2 h2:b, then h2:b h1:a content-length:2
    // -> basic.get {h2, content-length, h1}, then {content-length, h1, h2}); the sharing of equal properties compared
    // the tables without their order, so the second read back in the first's order
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', [['destination', '/queue/uh.order2'], ['h1', 'a'], ['content-length', '2'], ['h2', 'b']], 'xy');
    client.send('SEND', [['destination', '/queue/uh.order2'], ['h2', 'b'], ['h1', 'a'], ['content-length', '2']], 'zw');
    client.send('SEND', { destination: '/queue/uh.order2.sync', receipt: 'p' }, 's');
    await client.receipt('p');
    client.close();
    const conn = await connect(broker());
    const ch = await conn.createChannel();
    const first = await ch.get('uh.order2', { noAck: true });
    const second = await ch.get('uh.order2', { noAck: true });
    expect([first && Object.keys(first.properties.headers!), second && Object.keys(second.properties.headers!)]).toEqual([
      ['h2', 'content-length', 'h1'],
      ['content-length', 'h1', 'h2'],
    ]);
    await conn.close();
  });

  it('a STOMP subscriber sees the user headers in reverse frame order, the first of a repeated name, one content-length last (RabbitMQ 3.10.8)', async () => {
    // asked (/tmp/s19-fidelity/hdr-order.mjs, rmq-hdr-order.txt; review-s18-2 P2): SEND h1:a, receipt:p1, h2:b,
    // content-length:1, h3:c -> MESSAGE h3 h2 receipt h1 ... content-length:1; SEND receipt:p2, receipt:p2b, h1:a,
    // h2:b, h1:a2 -> h2:b h1:a receipt:p2. The old code wrote them in frame order
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/queue/uh.order', id: 's1', receipt: 'r0' });
    await client.receipt('r0');
    client.send('SEND', [['destination', '/queue/uh.order'], ['h1', 'a'], ['receipt', 'p1'], ['h2', 'b'], ['content-length', '1'], ['h3', 'c']], 'x');
    client.send('SEND', [['destination', '/queue/uh.order'], ['receipt', 'p2'], ['receipt', 'p2b'], ['h1', 'a'], ['h2', 'b'], ['h1', 'a2']], 'z');
    const shown = (m: StompFrame) => m.headers.filter(([k]) => !['destination', 'message-id', 'subscription', 'redelivered', 'ack'].includes(k));
    // (the SENDs' RECEIPTs come in between)
    const message = async (): Promise<StompFrame> => {
      for (;;) {
        const f = await client.frame();
        if (f.command === 'MESSAGE') return f;
      }
    };
    expect(shown(await message())).toEqual([['h3', 'c'], ['h2', 'b'], ['receipt', 'p1'], ['h1', 'a'], ['content-length', '1']]);
    expect(shown(await message())).toEqual([['h2', 'b'], ['h1', 'a'], ['receipt', 'p2'], ['content-length', '1']]);
    client.close();
  });
});
