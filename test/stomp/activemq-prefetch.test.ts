import { describe, expect, it } from 'vitest';
import { RawStomp, getHeader } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';

/**
 * How many MESSAGE frames an ActiveMQ-dialect STOMP subscription gets before it acks. Asked of
 * ActiveMQ 5.17 (Debian's, a stomp:// connector, default policies; raw STOMP 1.2 client,
 * /work/notes/s14-fidelity.md §3): without activemq.prefetchSize a queue subscription gets 1000
 * (ack client and client-individual; one more per acked message), a wildcard queue subscription
 * 1000 over all the queues it reads (one consumer), a topic subscription 32767
 * (ActiveMQPrefetchPolicy's defaults, set by its ProtocolConverter); ack auto is never held
 * back; RabbitMQ's prefetch-count header is ignored, whatever its value (5: all 50 pushed; 'abc':
 * no ERROR); activemq.prefetchSize 5 gives 5; activemq.prefetchSize 0 gives nothing at all, in
 * every ack mode, on queues and topics (a STOMP client cannot pull). The old code pushed
 * everything without activemq.prefetchSize, honoured prefetch-count (refusing 'abc' with an
 * ERROR) and pushed everything at activemq.prefetchSize 0.
 */
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0 } });
let seq = 0;
const unique = (p: string) => `stomp.pf.${p}.${++seq}`;

async function client(): Promise<RawStomp> {
  const { client } = await RawStomp.connected(broker());
  client.useVersion('1.2');
  return client;
}

/** `count` messages m0… on queue `name`, through the core (the subscriber's connection only reads) */
function fillQueue(name: string, count: number): void {
  broker().core.vhost('/')!.declareQueue(name, { passive: false, durable: true, exclusive: false, autoDelete: false, arguments: { 'x-activemq-queue': true } }, null);
  for (let i = 0; i < count; i++) broker().publish('', name, `m${i}`);
}

/** a round trip: any MESSAGE the broker wrote before answering it is in `c.frames` after it */
async function roundTrip(c: RawStomp): Promise<void> {
  const r = `rt${++seq}`;
  c.send('SUBSCRIBE', { id: r, destination: `/queue/${unique('empty')}`, receipt: r });
  await c.receipt(r);
}

/** takes `n` MESSAGE frames; their bodies */
async function take(c: RawStomp, n: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) bodies.push((await c.frame('MESSAGE')).body.toString());
  return bodies;
}

describe('ActiveMQ-dialect STOMP prefetch (ActiveMQ 5.17)', () => {
  for (const ack of ['client', 'client-individual']) {
    it(`ack:${ack} without activemq.prefetchSize on a queue: 1000 MESSAGE frames, then one more per acked message`, async () => {
      const q = unique(ack);
      fillQueue(q, 1003);
      const c = await client();
      c.send('SUBSCRIBE', { id: 's1', destination: `/queue/${q}`, ack });
      const first = await c.frame('MESSAGE');
      expect(first.body.toString()).toBe('m0');
      await take(c, 999);
      await roundTrip(c);
      expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
      expect(broker().queue(q).messageCount()).toBe(3);
      c.send('ACK', { id: getHeader(first, 'ack')! });
      expect(await take(c, 1)).toEqual(['m1000']);
      await roundTrip(c);
      expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
      c.close();
    });
  }

  it('a wildcard queue subscription has one window over the queues it reads: 1000 over two queues of 800', async () => {
    // ActiveMQ 5.17 (/tmp/s14-fidelity/stomp-wildcard-pf.mjs): 800 of .a and 200 of .b, then nothing before an ack
    const base = unique('wc');
    fillQueue(`${base}.a`, 800);
    fillQueue(`${base}.b`, 800);
    const c = await client();
    c.send('SUBSCRIBE', { id: 's1', destination: `/queue/${base}.>`, ack: 'client-individual' });
    const first = await c.frame('MESSAGE');
    await take(c, 999);
    await roundTrip(c);
    expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
    expect(broker().queue(`${base}.a`).messageCount() + broker().queue(`${base}.b`).messageCount()).toBe(600);
    c.send('ACK', { id: getHeader(first, 'ack')! });
    await take(c, 1);
    await roundTrip(c);
    expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
    c.close();
  });

  it('ack:auto without activemq.prefetchSize: never held back', async () => {
    const q = unique('auto');
    fillQueue(q, 1500);
    const c = await client();
    c.send('SUBSCRIBE', { id: 's1', destination: `/queue/${q}`, ack: 'auto' });
    expect((await take(c, 1500)).at(-1)).toBe('m1499');
    c.close();
  });

  it('a topic subscription without activemq.prefetchSize: 32767 MESSAGE frames before an ack', async () => {
    const topic = unique('topic');
    const c = await client();
    c.send('SUBSCRIBE', { id: 's1', destination: `/topic/${topic}`, ack: 'client-individual', receipt: 'sub' });
    await c.receipt('sub');
    for (let i = 0; i < 32770; i++) broker().publish('amq.topic', topic, `t${i}`);
    const first = await c.frame('MESSAGE');
    expect((await take(c, 32766)).at(-1)).toBe('t32766');
    await roundTrip(c);
    expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
    c.send('ACK', { id: getHeader(first, 'ack')! });
    expect(await take(c, 1)).toEqual(['t32767']);
    c.close();
  });

  it("RabbitMQ's prefetch-count is ignored, whatever its value; activemq.prefetchSize 5 gives 5", async () => {
    const c = await client();
    const pushed: Record<string, number> = {};
    for (const [name, headers] of [
      ['prefetch-count 5', { 'prefetch-count': '5' }],
      ["prefetch-count 'abc'", { 'prefetch-count': 'abc' }],
      ['activemq.prefetchSize 5', { 'activemq.prefetchSize': '5' }],
    ] as const) {
      const q = unique('header');
      fillQueue(q, 50);
      c.send('SUBSCRIBE', { id: name, destination: `/queue/${q}`, ack: 'client', ...headers, receipt: name });
      await c.receipt(name);
      await roundTrip(c);
      pushed[name] = c.frames.splice(0).filter((f) => f.command === 'MESSAGE').length;
    }
    expect(pushed).toEqual({ 'prefetch-count 5': 50, "prefetch-count 'abc'": 50, 'activemq.prefetchSize 5': 5 });
    c.close();
  });

  it('activemq.prefetchSize 0: nothing is pushed, in any ack mode, queue or topic', async () => {
    const c = await client();
    const q = unique('zero');
    fillQueue(q, 10);
    const topic = unique('zero-topic');
    for (const ack of ['client', 'client-individual', 'auto']) c.send('SUBSCRIBE', { id: `q-${ack}`, destination: `/queue/${q}`, ack, 'activemq.prefetchSize': '0' });
    c.send('SUBSCRIBE', { id: 't', destination: `/topic/${topic}`, ack: 'auto', 'activemq.prefetchSize': '0', receipt: 'subs' });
    await c.receipt('subs');
    for (let i = 0; i < 10; i++) broker().publish('amq.topic', topic, `t${i}`);
    await roundTrip(c);
    expect(c.frames.filter((f) => f.command === 'MESSAGE')).toHaveLength(0);
    expect(broker().queue(q).messageCount()).toBe(10);
    // each stays a consumer of the queue (ActiveMQ's consumer count for them was not asked)
    expect(broker().core.vhost('/')!.getQueue(q)!.consumerCount).toBe(3);
    c.close();
  });
});
