import type { Channel, ConsumeMessage, GetMessage } from 'amqplib';
import { beforeEach, describe, expect, it } from 'vitest';
import { channelClosed, connect, useBrokerConnection } from '../helpers/amqp.js';
import { getJson } from '../helpers/management.js';

const { broker, conn } = useBrokerConnection();
let ch: Channel;
beforeEach(async () => {
  ch = await conn().createChannel();
});

async function freshQueue(args: Record<string, unknown> = {}): Promise<string> {
  return (await ch.assertQueue('', { exclusive: true, arguments: args })).queue;
}

async function get(queue: string, noAck = false): Promise<GetMessage | false> {
  return ch.get(queue, { noAck });
}

/** what consumers received, with a wait until it holds `n` items */
function arrivals(): { got: string[]; push(item: string): void; reach(n: number): Promise<void> } {
  const got: string[] = [];
  let waiting: { n: number; resolve: () => void } | undefined;
  return {
    got,
    push(item) {
      got.push(item);
      if (waiting && got.length >= waiting.n) {
        waiting.resolve();
        waiting = undefined;
      }
    },
    reach(n) {
      if (got.length >= n) return Promise.resolve();
      return new Promise<void>((resolve) => (waiting = { n, resolve }));
    },
  };
}

function publishAll(queue: string, bodies: string[]): void {
  for (const b of bodies) ch.sendToQueue(queue, Buffer.from(b));
}

describe('queues', () => {
  it('server-named queues are amq.gen-…; declare-ok counts messages and consumers', async () => {
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-[A-Za-z0-9_-]{22}$/);
    publishAll(q.queue, ['a', 'b']);
    await ch.consume(q.queue, () => undefined, { noAck: false, consumerTag: 'c1' });
    const again = await ch.assertQueue(q.queue, { exclusive: true });
    expect(again.consumerCount).toBe(1);
    // both were delivered (unacked): declare-ok counts ready messages only
    expect(again.messageCount).toBe(0);
    await ch.cancel('c1');
  });

  it('declare-ok and passive declare report ready messages', async () => {
    const q = await freshQueue();
    publishAll(q, ['a', 'b', 'c']);
    const checked = await ch.checkQueue(q);
    expect(checked).toMatchObject({ queue: q, messageCount: 3, consumerCount: 0 });
  });

  it('exclusive queue: 405 RESOURCE_LOCKED from another connection; deleted when its owner closes', async () => {
    const owner = await connect(broker());
    const och = await owner.createChannel();
    await och.assertQueue('excl.q', { exclusive: true });
    const other = await connect(broker());
    const xch = await other.createChannel();
    const closed = channelClosed(xch);
    xch.consume('excl.q', () => undefined).catch(() => undefined);
    const err = await closed;
    expect(err.code).toBe(405);
    expect(err.message).toContain(
      "RESOURCE_LOCKED - cannot obtain exclusive access to locked queue 'excl.q' in vhost '/'. It could be originally declared on another connection or the exclusive property value does not match that of the original declaration.",
    );
    await owner.close();
    const ych = await other.createChannel();
    const gone = channelClosed(ych);
    ych.checkQueue('excl.q').catch(() => undefined);
    expect((await gone).code).toBe(404);
    await other.close();
  });

  it('a shared queue redeclared exclusive: 405 RESOURCE_LOCKED, from another connection or its own (RabbitMQ 3.10.8)', async () => {
    // asked (/tmp/s18-fidelity/amqp-excl2.mjs; review-s18-2 P1): a durable shared queue declared again with
    // exclusive=true (durable true or false) -> 405 for another connection and for the one that made it; the old
    // code answered 406 inequivalent arg (the exclusive access is checked before the equivalence)
    const q = `shared.excl.${Date.now()}`;
    await ch.assertQueue(q, { durable: true });
    const other = await connect(broker());
    const och = await other.createChannel();
    const lockedForOther = channelClosed(och);
    och.assertQueue(q, { durable: false, exclusive: true }).catch(() => undefined);
    const err = await lockedForOther;
    expect([err.code, err.message.includes('RESOURCE_LOCKED - cannot obtain exclusive access to locked queue')]).toEqual([405, true]);
    const lockedForOwn = channelClosed(ch);
    ch.assertQueue(q, { durable: true, exclusive: true }).catch(() => undefined);
    expect((await lockedForOwn).code).toBe(405);
    await other.close();
    broker().core.vhost('/')!.deleteQueue(q, false, false, null);
  });

  it("a connection's own exclusive queue redeclared shared: 405 RESOURCE_LOCKED, not 406 (RabbitMQ 3.10.8)", async () => {
    // asked (/tmp/s19-fidelity/p1.mjs, rmq-p1.txt; review-s18-2 P1b): the exclusive access is checked strictly
    // before the equivalence, so the owner redeclaring it non-exclusive (durable or not) gets 405; the old code
    // answered 406 inequivalent arg 'exclusive' / 'durable'
    for (const durable of [false, true]) {
      const own = await conn().createChannel();
      const q = (await own.assertQueue('', { exclusive: true })).queue;
      const locked = channelClosed(own);
      own.assertQueue(q, { exclusive: false, durable }).catch(() => undefined);
      const err = await locked;
      expect([err.code, err.message.includes(`RESOURCE_LOCKED - cannot obtain exclusive access to locked queue '${q}'`)]).toEqual([405, true]);
    }
  });

  it('an exclusive queue is never durable: declared durable it is transient, and redeclares with either durability are equivalent (RabbitMQ 3.10.8)', async () => {
    // asked (/tmp/s19-fidelity/p1.mjs, rmq-p1.txt; review-s18-2 P1c): rabbit_channel declares
    // `durable andalso not exclusive`; the management API shows durable=false for an exclusive+durable declare
    // and a redeclare of either durability is ok (the old code: durable=true, and 406 inequivalent arg 'durable')
    const made = (await ch.assertQueue('', { exclusive: true, durable: true })).queue;
    const kept = (await ch.assertQueue('', { exclusive: true, durable: false })).queue;
    expect((await getJson(broker(), `/api/queues/%2F/${made}`)).durable).toBe(false);
    await ch.assertQueue(made, { exclusive: true, durable: false });
    await ch.assertQueue(kept, { exclusive: true, durable: true });
    expect((await ch.checkQueue(kept)).queue).toBe(kept);
    expect((await getJson(broker(), `/api/queues/%2F/${kept}`)).durable).toBe(false);
  });

  it('auto-delete queue is deleted when its last consumer cancels', async () => {
    await ch.assertQueue('auto.q', { autoDelete: true });
    await ch.consume('auto.q', () => undefined, { consumerTag: 'only' });
    await ch.cancel('only');
    const closed = channelClosed(ch);
    ch.checkQueue('auto.q').catch(() => undefined);
    expect((await closed).code).toBe(404);
  });

  it('durable flag is kept: redeclaring with another durable value is 406 (text as RabbitMQ 3.10.8)', async () => {
    // a shared queue: an exclusive one is never durable, so either durability is equivalent for it (RabbitMQ
    // 3.10.8 asked, /tmp/s19-fidelity/p1.mjs). RabbitMQ 4.3 denies transient non-exclusive queues only when it
    // makes one (rabbit_amqqueue:declare), after the channel's equivalence check on an existing queue: 406 too
    await ch.assertQueue('dq', { durable: true });
    const closed = channelClosed(ch);
    ch.assertQueue('dq', { durable: false }).catch(() => undefined);
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'dq' in vhost '/': received 'false' but current is 'true'");
    ch = await conn().createChannel();
    await ch.deleteQueue('dq');
  });

  it('inequivalent x-arguments: 406', async () => {
    await ch.assertQueue('ttlq', { arguments: { 'x-message-ttl': 100 } });
    const closed = channelClosed(ch);
    ch.assertQueue('ttlq', { arguments: { 'x-message-ttl': 200 } }).catch(() => undefined);
    const err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - inequivalent arg 'x-message-ttl' for queue 'ttlq' in vhost '/'");
    ch = await conn().createChannel();
    await ch.deleteQueue('ttlq');
  });

  it('purge returns the count; delete returns the count; delete of a missing queue is ok with 0', async () => {
    const q = await freshQueue();
    publishAll(q, ['a', 'b']);
    expect(await ch.purgeQueue(q)).toEqual({ messageCount: 2 });
    publishAll(q, ['c']);
    expect(await ch.deleteQueue(q)).toEqual({ messageCount: 1 });
    expect(await ch.deleteQueue('never.there')).toEqual({ messageCount: 0 });
  });

  it('delete if-unused / if-empty refuse with 406 (texts as RabbitMQ 3.10.8)', async () => {
    await ch.assertQueue('iu.q');
    await ch.consume('iu.q', () => undefined);
    let closed = channelClosed(ch);
    ch.deleteQueue('iu.q', { ifUnused: true }).catch(() => undefined);
    let err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - queue 'iu.q' in vhost '/' in use");
    ch = await conn().createChannel();
    await ch.deleteQueue('iu.q');
    await ch.assertQueue('ie.q');
    ch.sendToQueue('ie.q', Buffer.from('x'));
    closed = channelClosed(ch);
    ch.deleteQueue('ie.q', { ifEmpty: true }).catch(() => undefined);
    err = await closed;
    expect(err.code).toBe(406);
    expect(err.message).toContain("PRECONDITION_FAILED - queue 'ie.q' in vhost '/' not empty");
    ch = await conn().createChannel();
    expect(await ch.deleteQueue('ie.q')).toEqual({ messageCount: 1 });
  });

  it('bind and unbind change what reaches the queue', async () => {
    const q = await freshQueue();
    await ch.bindQueue(q, 'amq.direct', 'k');
    ch.publish('amq.direct', 'k', Buffer.from('1'));
    await ch.unbindQueue(q, 'amq.direct', 'k');
    ch.publish('amq.direct', 'k', Buffer.from('2'));
    await ch.checkQueue(q);
    expect((await get(q, true)) && true).toBe(true);
    expect(await get(q, true)).toBe(false);
  });
});

describe('consumers', () => {
  it('round-robins between consumers of one queue', async () => {
    const q = await freshQueue();
    const seen: string[] = [];
    const done = new Promise<void>((resolve) => {
      const on = (tag: string) => (m: ConsumeMessage | null) => {
        if (!m) return;
        seen.push(`${tag}:${m.content}`);
        if (seen.length === 4) resolve();
      };
      void ch.consume(q, on('A'), { noAck: true }).then(() => ch.consume(q, on('B'), { noAck: true })).then(() => publishAll(q, ['1', '2', '3', '4']));
    });
    await done;
    expect(seen).toEqual(['A:1', 'B:2', 'A:3', 'B:4']);
  });

  it('per-consumer prefetch (qos global=false) holds further messages until an ack', async () => {
    const q = await freshQueue();
    publishAll(q, ['1', '2', '3']);
    await ch.prefetch(2, false);
    const got: ConsumeMessage[] = [];
    let resolveTwo!: () => void;
    const two = new Promise<void>((r) => (resolveTwo = r));
    let resolveThree!: () => void;
    const three = new Promise<void>((r) => (resolveThree = r));
    await ch.consume(q, (m) => {
      if (!m) return;
      got.push(m);
      if (got.length === 2) resolveTwo();
      if (got.length === 3) resolveThree();
    });
    await two;
    expect((await ch.checkQueue(q)).messageCount).toBe(1);
    ch.ack(got[0]!);
    await three;
    expect(got.map((m) => m.content.toString())).toEqual(['1', '2', '3']);
  });

  it('global prefetch (qos global=true) is shared by all consumers of the channel', async () => {
    const q1 = await freshQueue();
    const q2 = await freshQueue();
    publishAll(q1, ['a', 'b']);
    publishAll(q2, ['c', 'd']);
    await ch.prefetch(2, true);
    let count = 0;
    await ch.consume(q1, () => void count++);
    await ch.consume(q2, () => void count++);
    const r1 = await ch.checkQueue(q1);
    const r2 = await ch.checkQueue(q2);
    // RabbitMQ 4.3 denies global QoS and applies the limit per consumer (rabbit_channel)
    const inFlight = broker().core.engineRules.globalQos ? 2 : 4;
    expect(count).toBe(inFlight);
    expect(r1.messageCount + r2.messageCount).toBe(4 - inFlight);
  });

  it('basic.get reports message-count of ready messages left; get-empty at the end (as RabbitMQ 3.10.8)', async () => {
    const q = await freshQueue();
    publishAll(q, ['g1', 'g2', 'g3']);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await get(q);
      counts.push((m as GetMessage).fields.messageCount);
    }
    expect(counts).toEqual([2, 1, 0]);
    expect(await get(q)).toBe(false);
  });

  it('nack/reject requeue put messages back at their original position, redelivered, with new tags (as RabbitMQ 3.10.8)', async () => {
    const q = await freshQueue();
    publishAll(q, ['m1', 'm2', 'm3', 'm4', 'm5']);
    const m1 = (await get(q)) as GetMessage;
    const m2 = (await get(q)) as GetMessage;
    const m3 = (await get(q)) as GetMessage;
    expect([m1, m2, m3].map((m) => m.fields.messageCount)).toEqual([4, 3, 2]);
    ch.nack(m3, false, true);
    ch.nack(m1, false, true);
    const next: [string, boolean, number][] = [];
    for (let i = 0; i < 4; i++) {
      const m = (await get(q, true)) as GetMessage;
      next.push([m.content.toString(), m.fields.redelivered, m.fields.messageCount]);
      expect([m1, m2, m3].map((x) => x.fields.deliveryTag)).not.toContain(m.fields.deliveryTag);
    }
    expect(next).toEqual([
      ['m1', true, 3],
      ['m3', true, 2],
      ['m4', false, 1],
      ['m5', false, 0],
    ]);
    expect(await get(q)).toBe(false);
    ch.reject(m2, true);
    const back = (await get(q, true)) as GetMessage;
    expect([back.content.toString(), back.fields.redelivered]).toEqual(['m2', true]);
  });

  it('multiple ack settles everything up to the tag; nack multiple requeues the rest', async () => {
    const q = await freshQueue();
    publishAll(q, ['1', '2', '3', '4']);
    const ms: GetMessage[] = [];
    for (let i = 0; i < 4; i++) ms.push((await get(q)) as GetMessage);
    ch.ack(ms[1]!, true); // acks 1 and 2
    ch.nack(ms[3]!, true, true); // requeues 3 and 4
    const left: string[] = [];
    for (;;) {
      const m = await get(q, true);
      if (!m) break;
      left.push(`${m.content}:${m.fields.redelivered}`);
    }
    expect(left).toEqual(['3:true', '4:true']);
  });

  it('basic.recover requeues every unacked message in original order (as RabbitMQ 3.10.8)', async () => {
    const q = await freshQueue();
    publishAll(q, ['m1', 'm2', 'm3', 'm4']);
    await get(q);
    await get(q);
    await ch.recover();
    const out: string[] = [];
    for (;;) {
      const m = await get(q, true);
      if (!m) break;
      out.push(`${m.content}:${m.fields.redelivered}:${m.fields.messageCount}`);
    }
    expect(out).toEqual(['m1:true:3', 'm2:true:2', 'm3:false:1', 'm4:false:0']);
  });

  it('closing a channel requeues its unacked messages for other consumers, redelivered', async () => {
    const q = await freshQueue();
    publishAll(q, ['x']);
    const other = await conn().createChannel();
    const first = (await other.get(q)) as GetMessage;
    expect(first.fields.redelivered).toBe(false);
    await other.close();
    const again = (await get(q, true)) as GetMessage;
    expect([again.content.toString(), again.fields.redelivered]).toEqual(['x', true]);
  });

  it('the server cancels a consumer whose queue is deleted (basic.cancel: amqplib calls back with null)', async () => {
    await ch.assertQueue('doomed');
    const cancelled = new Promise<null>((resolve) => void ch.consume('doomed', (m) => m === null && resolve(m)));
    const other = await conn().createChannel();
    await other.deleteQueue('doomed');
    expect(await cancelled).toBeNull();
    await other.close();
  });

  it('an exclusive consumer locks out others with 403 ACCESS_REFUSED … in exclusive use (as RabbitMQ 3.10.8)', async () => {
    const q = await freshQueue();
    await ch.consume(q, () => undefined, { exclusive: true });
    const other = await conn().createChannel();
    const closed = channelClosed(other);
    other.consume(q, () => undefined).catch(() => undefined);
    const err = await closed;
    expect(err.code).toBe(403);
    expect(err.message).toContain(`ACCESS_REFUSED - queue '${q}' in vhost '/' in exclusive use`);
  });

  it('consumer priorities: the higher x-priority consumer gets the messages while it has credit', async () => {
    const q = await freshQueue();
    const { got, push, reach } = arrivals();
    await ch.consume(q, (m) => m && push(`low:${m.content}`), { noAck: true, priority: 1 });
    await ch.consume(q, (m) => m && push(`high:${m.content}`), { noAck: true, priority: 10 });
    publishAll(q, ['1', '2', '3']);
    await reach(3);
    expect(got).toEqual(['high:1', 'high:2', 'high:3']);
  });

  it('single-active-consumer: only the first consumer receives; the next takes over when it cancels', async () => {
    const q = await freshQueue({ 'x-single-active-consumer': true });
    const { got, push, reach } = arrivals();
    await ch.consume(q, (m) => m && push(`A:${m.content}`), { noAck: true, consumerTag: 'A' });
    await ch.consume(q, (m) => m && push(`B:${m.content}`), { noAck: true, consumerTag: 'B' });
    publishAll(q, ['1', '2']);
    await reach(2);
    await ch.cancel('A');
    publishAll(q, ['3']);
    await reach(3);
    expect(got).toEqual(['A:1', 'A:2', 'B:3']);
  });

  it('direct reply-to: a request with replyTo amq.rabbitmq.reply-to gets its answer back', async () => {
    const server = await conn().createChannel();
    const rq = (await server.assertQueue('', { exclusive: true })).queue;
    await server.consume(rq, (m) => {
      if (!m) return;
      expect(m.properties.replyTo).toMatch(/^amq\.rabbitmq\.reply-to\./);
      server.sendToQueue(m.properties.replyTo, Buffer.from(`re:${m.content}`), { correlationId: m.properties.correlationId });
    }, { noAck: true });
    const reply = new Promise<ConsumeMessage>((resolve) => void ch.consume('amq.rabbitmq.reply-to', (m) => m && resolve(m), { noAck: true }));
    await new Promise((r) => setImmediate(r));
    await ch.checkQueue(rq);
    ch.sendToQueue(rq, Buffer.from('ping'), { replyTo: 'amq.rabbitmq.reply-to', correlationId: 'c-1' });
    const m = await reply;
    expect(m.content.toString()).toBe('re:ping');
    expect(m.properties.correlationId).toBe('c-1');
  });
});
