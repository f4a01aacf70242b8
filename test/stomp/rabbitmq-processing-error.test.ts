import { describe, expect, it } from 'vitest';
import { useBroker } from '../helpers/broker.js';
import { subscriptionQueueName } from '../../src/protocols/stomp/endpoints.js';
import { RawStomp, getHeader, wireFrame } from '../helpers/stomp.js';

/**
 * RabbitMQ's STOMP plugin reads some header values with code that crashes on a value it cannot read;
 * rabbit_stomp_processor:process_request answers any such crash with ERROR `Processing error` (body the
 * same), no receipt for the frame, and the session goes on (the same catch clause in 3.10.8, 3.13 and 4.x).
 * What was declared before the crash stays. RabbitMQ 3.10.8 asked for every case here
 * (/tmp/s18-fidelity/pe-cases.mjs, pe-cases2.mjs, pe-cases3.mjs, pf-neg.mjs; outputs rmq-pe-cases*.txt,
 * rmq-pf-neg.txt); the code read in 4.x (rabbit_stomp_util ack_mode, message_properties, build_params) is
 * the same. The old code answered with texts of its own (Invalid header, Invalid id) or took the frame.
 */
const broker = useBroker({ ports: { stomp: 0 } });

const vhost = () => broker().core.vhost('/')!;

/** `frame` refused with Processing error, without its receipt, and the session still going */
async function expectProcessingError(client: RawStomp, frame: Buffer): Promise<void> {
  client.write(Buffer.concat([frame, wireFrame('SEND', { destination: '/queue/pe.after', receipt: 'after' }, 'y')]));
  const err = await client.frame('ERROR');
  expect([getHeader(err, 'message'), getHeader(err, 'content-type'), err.body.toString()]).toEqual(['Processing error', 'text/plain', 'Processing error']);
  expect(getHeader(err, 'receipt-id')).toBeUndefined();
  // the next frame is the probe's receipt: the refused frame got none, and the session goes on
  expect(getHeader(await client.frame('RECEIPT'), 'receipt-id')).toBe('after');
}

describe('RabbitMQ STOMP: a header value the plugin cannot read is a Processing error (RabbitMQ 3.10.8)', () => {
  it('SUBSCRIBE with an unknown ack mode (bogus, Client): refused before the queue is declared', async () => {
    const { client } = await RawStomp.connected(broker());
    for (const ack of ['bogus', 'Client']) {
      await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: `/queue/pe.ack.${ack}`, id: 's1', ack, receipt: 'r1' }));
      expect(vhost().getQueue(`pe.ack.${ack}`)).toBeUndefined();
    }
    client.close();
  });

  it('SUBSCRIBE with an id naming a temp queue: refused after the /queue is declared (consumer_tag comes after ensure_endpoint)', async () => {
    const { client } = await RawStomp.connected(broker());
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/queue/pe.tempid', id: '/temp-queue/x', receipt: 'r1' }));
    expect(vhost().getQueue('pe.tempid')?.consumerCount).toBe(0);
    client.close();
  });

  it('SEND with a priority or timestamp that is no integer: nothing routed, the /queue declared already', async () => {
    const { client } = await RawStomp.connected(broker());
    for (const [header, value] of [['priority', 'abc'], ['priority', ''], ['timestamp', 'abc']] as const) {
      const q = `pe.${header}.${value || 'empty'}`;
      await expectProcessingError(client, wireFrame('SEND', { destination: `/queue/${q}`, [header]: value, receipt: 'r1' }, 'x'));
      expect(vhost().getQueue(q)?.messageCount).toBe(0);
    }
    client.close();
  });

  it("values taken as RabbitMQ reads them: priority ' 5' and '+5' (list_to_integer(string:strip(V))), persistent:True", async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/queue/pe.forms', id: 's1', receipt: 'r0' });
    await client.receipt('r0');
    client.send('SEND', { destination: '/queue/pe.forms', priority: ' 5' }, 'a');
    client.send('SEND', { destination: '/queue/pe.forms', priority: '+5' }, 'b');
    // boolean_header takes True/False too (3.10.8: delivered with persistent:true)
    client.send('SEND', { destination: '/queue/pe.forms', persistent: 'True' }, 'c');
    const got = [await client.frame('MESSAGE'), await client.frame('MESSAGE'), await client.frame('MESSAGE')];
    expect(got.map((m) => [m.body.toString(), getHeader(m, 'priority'), getHeader(m, 'persistent')])).toEqual([
      ['a', '5', undefined],
      ['b', '5', undefined],
      ['c', undefined, 'true'],
    ]);
    client.close();
  });

  it('durable or persistent that is no boolean where a queue is declared: refused, nothing declared; where none is, taken', async () => {
    const { client } = await RawStomp.connected(broker());
    await expectProcessingError(client, wireFrame('SEND', { destination: '/queue/pe.dur.send', durable: 'maybe', receipt: 'r1' }, 'x'));
    await expectProcessingError(client, wireFrame('SEND', { destination: '/queue/pe.pers.send', persistent: 'maybe', receipt: 'r1' }, 'x'));
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/queue/pe.dur.sub', id: 's1', durable: 'maybe', receipt: 'r1' }));
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/topic/pe.dur', id: 's2', persistent: 'maybe', receipt: 'r1' }));
    for (const q of ['pe.dur.send', 'pe.pers.send', 'pe.dur.sub']) expect(vhost().getQueue(q)).toBeUndefined();
    expect([...vhost().queues.keys()].filter((q) => q.startsWith('stomp-subscription-'))).toEqual([]);
    // a SEND to a queue this connection declared already, or to a topic, declares nothing: taken, not persistent
    client.send('SEND', { destination: '/queue/pe.after', persistent: 'maybe', receipt: 'p1' }, 'x');
    await client.receipt('p1');
    client.send('SEND', { destination: '/topic/pe.any', persistent: 'maybe', receipt: 'p2' }, 'x');
    await client.receipt('p2');
    client.close();
  });

  it('a queue argument header that is no integer (x-max-length:abc): refused, nothing declared', async () => {
    const { client } = await RawStomp.connected(broker());
    await expectProcessingError(client, wireFrame('SEND', { destination: '/queue/pe.maxlen', 'x-max-length': 'abc', receipt: 'r1' }, 'x'));
    expect(vhost().getQueue('pe.maxlen')).toBeUndefined();
    client.close();
  });

  it('prefetch-count that is no integer: refused, nothing declared', async () => {
    const { client } = await RawStomp.connected(broker());
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/queue/pe.pfc.abc', id: 's1', ack: 'client', 'prefetch-count': 'abc', receipt: 'r1' }));
    expect(vhost().getQueue('pe.pfc.abc')).toBeUndefined();
    client.close();
  });

  it('prefetch-count:-1 is taken (RECEIPT), and an ack:client subscription then gets no message at all', async () => {
    // RabbitMQ 3.10.8 (pf-neg.mjs): 5 messages queued, SUBSCRIBE ack:client prefetch-count:-1 -> RECEIPT, nothing
    // delivered (-5 the same; 0 and 70000 deliver all 5). The old code refused it (Invalid header)
    const { client } = await RawStomp.connected(broker());
    for (let i = 0; i < 3; i++) client.send('SEND', { destination: '/queue/pe.pfc.neg', receipt: `p${i}` }, `m${i}`);
    for (let i = 0; i < 3; i++) await client.receipt(`p${i}`);
    client.send('SUBSCRIBE', { destination: '/queue/pe.pfc.neg', id: 's1', ack: 'client', 'prefetch-count': '-1', receipt: 'r1' });
    await client.receipt('r1');
    client.send('SEND', { destination: '/queue/pe.after', receipt: 'after' }, 'y');
    await client.receipt('after');
    expect(client.frames.map((f) => f.command)).toEqual([]);
    const q = vhost().getQueue('pe.pfc.neg')!;
    expect([q.consumerCount, q.messageCount]).toEqual([1, 3]);
    client.close();
  });

  it('persistent:false on the SUBSCRIBE (or SEND) that declares a /queue makes it a transient exclusive queue', async () => {
    // RabbitMQ 3.10.8 (pe-cases3.mjs): another connection declaring it gets 405 RESOURCE_LOCKED; build_params takes
    // `persistent` as `durable` (3.10.8 to 4.x). The old code made a durable shared queue
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/queue/pe.pers.false', id: 's1', persistent: 'false', receipt: 'r1' });
    await client.receipt('r1');
    const q = vhost().getQueue('pe.pers.false')!;
    expect([q.durable, q.options.exclusive]).toEqual([false, true]);
    const other = (await RawStomp.connected(broker())).client;
    other.send('SUBSCRIBE', { destination: '/queue/pe.pers.false', id: 's1' });
    expect(getHeader(await other.frame('ERROR'), 'message')).toBe('resource_locked');
    await other.whenClosed();
    client.close();
  });

  it('with both durable and persistent in the frame, the last of the two decides (RabbitMQ 3.10.8, review-s18-2 F1)', async () => {
    // asked (persist-decl.mjs): durable:false, persistent:true -> durable shared queue; persistent:true, durable:false ->
    // exclusive; persistent:true, durable:maybe -> Processing error; durable:maybe, persistent:true -> durable
    const { client } = await RawStomp.connected(broker());
    const send = (q: string, headers: [string, string][], receipt: string) => wireFrame('SEND', [['destination', `/queue/${q}`], ...headers, ['receipt', receipt]], 'x');
    client.write(send('pe.both.1', [['durable', 'false'], ['persistent', 'true']], 'b1'));
    await client.receipt('b1');
    client.write(send('pe.both.2', [['persistent', 'true'], ['durable', 'false']], 'b2'));
    await client.receipt('b2');
    client.write(send('pe.both.4', [['durable', 'maybe'], ['persistent', 'true']], 'b4'));
    await client.receipt('b4');
    await expectProcessingError(client, send('pe.both.3', [['persistent', 'true'], ['durable', 'maybe']], 'b3'));
    const shape = (q: string) => {
      const queue = vhost().getQueue(q);
      return queue ? [queue.durable, queue.options.exclusive] : 'none';
    };
    expect(['pe.both.1', 'pe.both.2', 'pe.both.3', 'pe.both.4'].map(shape)).toEqual([[true, false], [false, true], 'none', [true, false]]);
    client.close();
  });

  it('a /topic subscription: the last of durable / persistent makes its queue durable, either names it by the id (RabbitMQ 3.10.8, review-s18-2 F1b)', async () => {
    // asked (topic-dur.mjs): durable:true, persistent:false -> durable=false; persistent:false, durable:true -> durable=true
    const { client } = await RawStomp.connected(broker());
    const cases: [string, [string, string][]][] = [
      ['s1', [['durable', 'true'], ['persistent', 'false']]],
      ['s2', [['persistent', 'false'], ['durable', 'true']]],
    ];
    for (const [id, headers] of cases) {
      client.write(wireFrame('SUBSCRIBE', [['destination', '/topic/pe.topic.dur'], ['id', id], ...headers, ['auto-delete', 'false'], ['receipt', id]]));
      await client.receipt(id);
    }
    expect(cases.map(([id]) => vhost().getQueue(subscriptionQueueName('pe.topic.dur', id))?.durable)).toEqual([false, true]);
    client.close();
  });
});

describe("RabbitMQ STOMP: SUBSCRIBE's checks in do_subscribe's order (RabbitMQ 3.10.8, review-s18-2 F2)", () => {
  // asked (/tmp/s19-fidelity/stomp-cases2.mjs, rmq-f2.txt): the destination is parsed before prefetch-count and
  // the ack mode are read, the endpoint is declared before an id in use is refused. The old code checked the ack
  // mode and the id first: Processing error for /bogus/x, a close (Duplicated subscription identifier) for an
  // id in use with a bad prefetch-count or an unknown destination, and nothing declared for an id in use
  it('an unknown destination with a bad prefetch-count or ack mode: Unknown destination, the session goes on', async () => {
    const { client } = await RawStomp.connected(broker());
    for (const bad of [{ 'prefetch-count': 'abc' }, { ack: 'bogus' }] as Record<string, string>[]) {
      client.write(Buffer.concat([wireFrame('SUBSCRIBE', { destination: '/bogus/x', id: 's1', ...bad, receipt: 'r1' }), wireFrame('SEND', { destination: '/queue/f2.probe', receipt: 'p' }, 'z')]));
      const err = await client.frame('ERROR');
      expect([getHeader(err, 'message'), err.body.toString().split('\n')[0]]).toEqual(['Unknown destination', "'/bogus/x' is not a valid destination."]);
      await client.receipt('p');
    }
    client.close();
  });

  it('an id in use with a bad prefetch-count or ack mode: Processing error, the session goes on; with an unknown destination: Unknown destination', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/queue/f2.dup', id: 's1', receipt: 'r0' });
    await client.receipt('r0');
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/queue/f2.dup', id: 's1', 'prefetch-count': 'abc', receipt: 'r1' }));
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/queue/f2.dup', id: 's1', ack: 'bogus', receipt: 'r1' }));
    client.write(Buffer.concat([wireFrame('SUBSCRIBE', { destination: '/bogus/y', id: 's1', receipt: 'r1' }), wireFrame('SEND', { destination: '/queue/f2.probe', receipt: 'p' }, 'z')]));
    expect(getHeader(await client.frame('ERROR'), 'message')).toBe('Unknown destination');
    await client.receipt('p');
    client.close();
  });

  it('an id in use on a SUBSCRIBE to a missing /amq/queue or /exchange: Duplicated subscription identifier and the close, not not_found', async () => {
    // review-s19-2 F2R (RabbitMQ 3.10.8 asked there): the existence of those is found out when consuming / binding,
    // after the id check
    for (const destination of ['/amq/queue/f2.missing', '/exchange/f2.nosuchx/k']) {
      const { client } = await RawStomp.connected(broker());
      client.send('SUBSCRIBE', { destination: '/queue/f2.first2', id: 's1', receipt: 'r0' });
      await client.receipt('r0');
      client.send('SUBSCRIBE', { destination, id: 's1', receipt: 'x1' });
      expect(getHeader(await client.frame('ERROR'), 'message')).toBe('Duplicated subscription identifier');
      await client.whenClosed();
    }
  });

  it('a durable subscription to a missing exchange: not_found and the close, no subscription queue left behind', async () => {
    // review-s19-2 F2R2 (RabbitMQ 3.10.8 asked there: nothing declared); e0c2e1f declared it before finding the
    // exchange missing and left the durable queue
    const subscriptionQueues = () => [...vhost().queues.keys()].filter((n) => n.startsWith('stomp-subscription-'));
    const before = subscriptionQueues();
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/exchange/f2r2.nosuchx/k', id: 's1', durable: 'true', 'auto-delete': 'false', receipt: 'r1' });
    expect(getHeader(await client.frame('ERROR'), 'message')).toBe('not_found');
    await client.whenClosed();
    expect(subscriptionQueues()).toEqual(before);
  });

  it('an unreadable integer argument on a SUBSCRIBE to /amq/queue or /reply-queue: Processing error, also for a queue that does not exist', async () => {
    // review-s19-2 X1 (RabbitMQ 3.10.8 asked there: x-max-length:abc / x-message-ttl:abc; the old code subscribed, or
    // answered not_found and closed for a missing queue)
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/x1.q', receipt: 'p0' }, 'x');
    await client.receipt('p0');
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/amq/queue/x1.q', id: 's1', 'x-max-length': 'abc', receipt: 'r1' }));
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/reply-queue/x1.q', id: 's2', 'x-message-ttl': 'abc', receipt: 'r2' }));
    await expectProcessingError(client, wireFrame('SUBSCRIBE', { destination: '/amq/queue/x1.missing', id: 's3', 'x-max-length': 'abc', receipt: 'r3' }));
    expect(vhost().getQueue('x1.q')?.consumerCount).toBe(0);
    client.close();
  });

  it('an id in use on a new /queue: the queue is declared, then Duplicated subscription identifier and the close', async () => {
    const { client } = await RawStomp.connected(broker());
    client.send('SUBSCRIBE', { destination: '/queue/f2.first', id: 's1', receipt: 'r0' });
    await client.receipt('r0');
    client.send('SUBSCRIBE', { destination: '/queue/f2.new', id: 's1', receipt: 'x1' });
    expect(getHeader(await client.frame('ERROR'), 'message')).toBe('Duplicated subscription identifier');
    await client.whenClosed();
    expect(vhost().getQueue('f2.new')?.consumerCount).toBe(0);
  });
});

describe('RabbitMQ STOMP: the integer argument headers are read on every SEND (RabbitMQ 3.10.8)', () => {
  it('x-max-length:abc on a later SEND to a declared /queue, or x-message-ttl:abc to /topic, /exchange, /amq/queue: Processing error, nothing routed', async () => {
    // asked (/tmp/s19-fidelity/misc-cases.mjs, xarg.mjs; rmq-misc.txt, rmq-xarg.txt): ensure_endpoint builds the
    // arguments before it looks at what the connection declared; a later valid x-max-length:7 is not redeclared
    // (RECEIPT). The old code parsed them only when it declared the queue: RECEIPT, routed
    const { client } = await RawStomp.connected(broker());
    client.send('SEND', { destination: '/queue/xa.later', 'x-max-length': '5', receipt: 'p1' }, 'a');
    await client.receipt('p1');
    await expectProcessingError(client, wireFrame('SEND', { destination: '/queue/xa.later', 'x-max-length': 'abc', receipt: 'p2' }, 'b'));
    client.send('SEND', { destination: '/queue/xa.later', 'x-max-length': '7', receipt: 'p3' }, 'c');
    await client.receipt('p3');
    client.send('SEND', { destination: '/queue/xa.q', receipt: 'p4' }, 'q');
    await client.receipt('p4');
    for (const destination of ['/topic/xa.t', '/exchange/amq.direct/xa.q', '/amq/queue/xa.q']) {
      await expectProcessingError(client, wireFrame('SEND', { destination, 'x-message-ttl': 'abc', receipt: 'p5' }, 'b'));
    }
    expect([vhost().getQueue('xa.later')?.messageCount, vhost().getQueue('xa.q')?.messageCount]).toEqual([2, 1]);
    client.close();
  });
});
