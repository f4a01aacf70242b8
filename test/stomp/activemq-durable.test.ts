import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { StompFrame } from '../../src/protocols/stomp/codec/index.js';
import { RawStomp, getHeader } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';
import { jmsClasspath, jmsUnavailable } from '../helpers/jms.js';

/**
 * Durable topic subscriptions over STOMP in ActiveMQ's dialect: CONNECT `client-id` and
 * SUBSCRIBE `activemq.subscriptionName`. Asked of ActiveMQ 5.17 (Debian's, a stomp://
 * connector, default policies; raw STOMP client /tmp/s15-fidelity/stomp-durable.mjs, outputs
 * amq-durable.txt; /work/notes/s15-fidelity.md §1): what is published while the subscriber
 * is away waits for it; CONNECTED's `session` is the client id; UNSUBSCRIBE by id keeps the
 * subscription, UNSUBSCRIBE with activemq.subscriptionName removes it ("Durable consumer is in
 * use" while a subscription reads it, InvalidDestinationException when there is none); the
 * window without activemq.prefetchSize is 100; a durable subscription of a queue, a second
 * subscription of the same name and a second connection with the same client-id are refused.
 * The old code made a plain topic subscription of it: nothing waited, nothing was refused.
 */
// a brokerName of its own: ActiveMQ's InvalidClientIDException names it over STOMP and OpenWire alike
// (RegionBroker.addConnection); the old STOMP dialect said 'localhost' whatever the name
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0, openwire: 0 }, openwire: { brokerName: 'amq-fid' } });
let seq = 0;
const unique = (p: string) => `stomp.dur.${p}.${++seq}`;

async function client(headers: Record<string, string> = {}, version: '1.0' | '1.1' | '1.2' = '1.2'): Promise<{ c: RawStomp; connected: StompFrame }> {
  const { client, connected } = await RawStomp.connected(broker(), { 'accept-version': version, ...headers });
  client.useVersion(version);
  return { c: client, connected };
}

/** a frame that wants a receipt: RECEIPT, or the ERROR that refused it (MESSAGEs before it stay for the caller) */
async function answer(c: RawStomp, command: string, headers: Record<string, string>): Promise<string> {
  const r = `r${++seq}`;
  c.send(command, { ...headers, receipt: r });
  const held: StompFrame[] = [];
  try {
    for (;;) {
      const f = await c.frame();
      if (f.command === 'RECEIPT' && getHeader(f, 'receipt-id') === r) return 'RECEIPT';
      if (f.command === 'ERROR') return `ERROR ${getHeader(f, 'message')} | ${f.body.toString().trim()}`;
      held.push(f);
    }
  } finally {
    c.frames.unshift(...held);
  }
}

async function publish(topic: string, bodies: string[]): Promise<void> {
  const { c } = await client();
  for (const b of bodies) c.send('SEND', { destination: `/topic/${topic}`, persistent: 'true' }, b);
  expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
  c.close();
}

/** `n` MESSAGE bodies */
async function take(c: RawStomp, n: number): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) bodies.push((await c.frame('MESSAGE')).body.toString());
  return bodies;
}

/** nothing more was sent before a round trip's answer */
async function nothingMore(c: RawStomp): Promise<void> {
  expect(await answer(c, 'SUBSCRIBE', { id: `rt${++seq}`, destination: `/queue/${unique('empty')}` })).toBe('RECEIPT');
  expect(c.frames.filter((f) => f.command === 'MESSAGE').map((f) => f.body.toString())).toEqual([]);
}

function durable(topic: string, extra: Record<string, string> = {}): Record<string, string> {
  return { destination: `/topic/${topic}`, id: 's1', ack: 'auto', 'activemq.subscriptionName': 'n1', ...extra };
}

describe('ActiveMQ-dialect STOMP durable topic subscriptions (ActiveMQ 5.17)', () => {
  it('what is published while the subscriber is away is delivered when it subscribes again; CONNECTED names the client id', async () => {
    const t = unique('away');
    const cid = unique('cid');
    let { c, connected } = await client({ 'client-id': cid });
    expect(getHeader(connected, 'session')).toBe(cid);
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
    c.close();
    await publish(t, ['p0', 'p1']);
    ({ c } = await client({ 'client-id': cid }));
    expect(await answer(c, 'SUBSCRIBE', durable(t, { id: 's2' }))).toBe('RECEIPT');
    const got = [await c.frame('MESSAGE'), await c.frame('MESSAGE')];
    expect(got.map((f) => f.body.toString())).toEqual(['p0', 'p1']);
    expect(getHeader(got[0]!, 'subscription')).toBe('s2');
    expect(getHeader(got[0]!, 'destination')).toBe(`/topic/${t}`);
    c.close();
  });

  it('UNSUBSCRIBE by id keeps the subscription; with activemq.subscriptionName it removes it, refused while a subscription reads it', async () => {
    const t = unique('unsub');
    const cid = unique('cid');
    const { c } = await client({ 'client-id': cid });
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1' })).toBe('RECEIPT');
    await publish(t, ['a0']);
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await take(c, 1)).toEqual(['a0']);
    // ActiveMQ 5.17: the subscription stays open, the removal is refused
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1', 'activemq.subscriptionName': 'n1' })).toBe(
      'ERROR Durable consumer is in use | javax.jms.JMSException: Durable consumer is in use',
    );
    await publish(t, ['a1']);
    expect(await take(c, 1)).toEqual(['a1']);
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1' })).toBe('RECEIPT');
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1', 'activemq.subscriptionName': 'n1' })).toBe('RECEIPT');
    await publish(t, ['a2']);
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    await nothingMore(c);
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1' })).toBe('RECEIPT');
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1', 'activemq.subscriptionName': 'nope' })).toBe(
      `ERROR No durable subscription exists for clientID: ${cid} and subscriptionName: nope | javax.jms.InvalidDestinationException: No durable subscription exists for clientID: ${cid} and subscriptionName: nope`,
    );
    c.close();
  });

  it('UNSUBSCRIBE: 1.1 and 1.2 want an id; a 1.0 one looks the subscription up with its name as the client id', async () => {
    for (const v of ['1.1', '1.2'] as const) {
      const { c } = await client({ 'client-id': unique('cid') }, v);
      expect(await answer(c, 'UNSUBSCRIBE', { destination: `/topic/${unique('x')}`, 'activemq.subscriptionName': 'n1' })).toBe(
        'ERROR UNSUBSCRIBE received without a subscription id! | org.apache.activemq.transport.stomp.ProtocolException: UNSUBSCRIBE received without a subscription id!',
      );
      c.close();
    }
    const t = unique('v10');
    const cid = unique('cid');
    let { c } = await client({ 'client-id': cid }, '1.0');
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
    c.close();
    ({ c } = await client({ 'client-id': cid }, '1.0'));
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1', 'activemq.subscriptionName': 'n1' })).toBe(
      'ERROR No durable subscription exists for clientID: n1 and subscriptionName: n1 | javax.jms.InvalidDestinationException: No durable subscription exists for clientID: n1 and subscriptionName: n1',
    );
    // so it is still there
    await publish(t, ['v0']);
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await take(c, 1)).toEqual(['v0']);
    c.close();
  });

  it('without activemq.prefetchSize a durable subscription holds 100 unacknowledged, then one more per ACK', async () => {
    const t = unique('pf');
    const cid = unique('cid');
    let { c } = await client({ 'client-id': cid });
    expect(await answer(c, 'SUBSCRIBE', durable(t, { ack: 'client' }))).toBe('RECEIPT');
    expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
    c.close();
    await publish(t, Array.from({ length: 150 }, (_, i) => `m${i}`));
    ({ c } = await client({ 'client-id': cid }));
    c.send('SUBSCRIBE', durable(t, { ack: 'client' }));
    const first = await c.frame('MESSAGE');
    expect(first.body.toString()).toBe('m0');
    await take(c, 99);
    await nothingMore(c);
    c.send('ACK', { id: getHeader(first, 'ack')! });
    expect(await take(c, 1)).toEqual(['m100']);
    await nothingMore(c);
    c.close();
  });

  it('what it held unacknowledged comes back without `redelivered` (socket closed, UNSUBSCRIBE by id, DISCONNECT)', async () => {
    // ActiveMQ 5.17 (/tmp/s15-fidelity/stomp-dur-redeliv.mjs; review-s15-2 F1): m1 m2 each time, no header (a queue
    // subscription's come back flagged); the old code flagged them redelivered
    for (const how of ['socket', 'unsubscribe', 'disconnect'] as const) {
      const t = unique(`held.${how}`);
      const cid = unique('cid');
      let { c } = await client({ 'client-id': cid });
      expect(await answer(c, 'SUBSCRIBE', durable(t, { ack: 'client' }))).toBe('RECEIPT');
      await publish(t, ['m1', 'm2']);
      await take(c, 2);
      if (how === 'unsubscribe') {
        expect(await answer(c, 'UNSUBSCRIBE', { id: 's1' })).toBe('RECEIPT');
      } else {
        if (how === 'disconnect') expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
        c.close();
        await c.whenClosed();
        // the broker has seen the close once a new connection with the client id is let in (it waits for nothing else)
        for (;;) {
          const again = await RawStomp.connected(broker(), { 'accept-version': '1.2', 'client-id': cid }).catch(() => undefined);
          if (again) {
            again.client.useVersion('1.2');
            c = again.client;
            break;
          }
        }
      }
      expect(await answer(c, 'SUBSCRIBE', durable(t, { ack: 'client' }))).toBe('RECEIPT');
      const back = [await c.frame('MESSAGE'), await c.frame('MESSAGE')];
      expect(back.map((f) => `${f.body.toString()}${getHeader(f, 'redelivered') ? '(r)' : ''}`)).toEqual(['m1', 'm2']);
      c.close();
    }
  });

  it('refused: a durable subscription of a queue, a second subscription of one in use, a second connection with the client id', async () => {
    const cid = unique('cid');
    const { c } = await client({ 'client-id': cid });
    expect(await answer(c, 'SUBSCRIBE', { destination: `/queue/${unique('q')}`, id: 'q1', 'activemq.subscriptionName': 'n1' })).toBe(
      'ERROR Invalid Subscription: cannot durably subscribe to a Queue destination! | org.apache.activemq.transport.stomp.ProtocolException: Invalid Subscription: cannot durably subscribe to a Queue destination!',
    );
    const t = unique('twice');
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await answer(c, 'SUBSCRIBE', durable(t, { id: 's2' }))).toBe(
      `ERROR Durable consumer is in use for client: ${cid} and subscriptionName: n1 | javax.jms.JMSException: Durable consumer is in use for client: ${cid} and subscriptionName: n1`,
    );
    // the connection stays open after these refusals (ActiveMQ 5.17 too)
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1' })).toBe('RECEIPT');
    const other = await RawStomp.open(broker());
    other.useVersion('1.2');
    other.send('CONNECT', { 'accept-version': '1.2', host: '/', login: 'guest', passcode: 'guest', 'client-id': cid });
    const refused = await other.frame('ERROR');
    const port = (c.socket.localPort ?? 0).toString();
    expect(getHeader(refused, 'message')).toBe(`Broker: amq-fid - Client: ${cid} already connected from tcp://127.0.0.1:${port}`);
    expect(refused.body.toString()).toMatch(/^javax\.jms\.InvalidClientIDException: Broker: amq-fid - Client: /);
    await other.whenClosed();
    // DISCONNECT lets the client id go before its receipt
    expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
    const { c: again, connected } = await client({ 'client-id': cid });
    expect(getHeader(connected, 'session')).toBe(cid);
    again.close();
    c.close();
  });
});

/** test/java/JmsDurableSubscriber: its output lines */
function jmsDurable(args: string[]): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const url = `tcp://127.0.0.1:${broker().ports['openwire']!}`;
    const p = spawn('java', ['-Xshare:auto', '-XX:TieredStopAtLevel=1', '-cp', jmsClasspath('JmsDurableSubscriber'), 'JmsDurableSubscriber', url, ...args]);
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => (code === 0 ? resolve(out.split('\n').filter((l) => l !== '')) : reject(new Error(`JMS helper exited ${code}: ${err}`))));
  });
}

const unavailable = jmsUnavailable();

describe.skipIf(unavailable !== undefined)(`a STOMP durable subscription is the JMS one of that client id and name (ActiveMQ 5.17)${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  it('STOMP makes it, JMS reads what waited and removes it; a JMS connection with the client id of a STOMP one is refused', async () => {
    // ActiveMQ 5.17 (/tmp/s15-fidelity/stomp-durable-x.mjs, amq-durable-x.txt): the same subscription both ways
    const t = unique('x');
    const cid = unique('cid');
    let { c } = await client({ 'client-id': cid });
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await jmsDurable([cid, t, 'n1', '200'])).toEqual([
      `REFUSED javax.jms.InvalidClientIDException: Broker: amq-fid - Client: ${cid} already connected from tcp://127.0.0.1:${c.socket.localPort}`,
    ]);
    expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
    c.close();
    await publish(t, ['x0', 'x1']);
    expect(await jmsDurable([cid, t, 'n1', '500', 'unsubscribe'])).toEqual(['GOT x0', 'GOT x1', 'UNSUBSCRIBED']);
    await publish(t, ['x2']);
    ({ c } = await client({ 'client-id': cid }));
    expect(await answer(c, 'UNSUBSCRIBE', { id: 's1', 'activemq.subscriptionName': 'n1' })).toBe(
      `ERROR No durable subscription exists for clientID: ${cid} and subscriptionName: n1 | javax.jms.InvalidDestinationException: No durable subscription exists for clientID: ${cid} and subscriptionName: n1`,
    );
    c.close();
  });

  it('JMS makes it, STOMP reads what waited', async () => {
    const t = unique('y');
    const cid = unique('cid');
    expect(await jmsDurable([cid, t, 'n1', '100'])).toEqual([]);
    await publish(t, ['y0']);
    const { c } = await client({ 'client-id': cid });
    expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
    expect(await take(c, 1)).toEqual(['y0']);
    expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
    c.close();
  });
});

describe('expiry of a topic message in subscriptions (ActiveMQ 5.17)', () => {
  /** a subscriber of ActiveMQ.DLQ taking the copies marked `marker` */
  async function dlq(marker: string): Promise<RawStomp> {
    const { c } = await client();
    expect(await answer(c, 'SUBSCRIBE', { destination: '/queue/ActiveMQ.DLQ', id: 'd', ack: 'auto', selector: `marker = '${marker}'` })).toBe('RECEIPT');
    return c;
  }

  it('one already expired on arrival reaches no subscriber and ActiveMQ.DLQ once, naming the topic', async () => {
    // ActiveMQ 5.17 (review-s15-2 topic-expired.mjs, plain and durable subscribers): `subscriber got: live` twice, one
    // DLQ copy, original-destination:/topic/<t>; the old code delivered it to both, no DLQ copy (durable: 2 copies
    // naming the subscription queues)
    for (const durableSubs of [false, true]) {
      const t = unique('arrived');
      const marker = unique('m');
      const subs: RawStomp[] = [];
      for (const n of ['A', 'B']) {
        const { c } = await client(durableSubs ? { 'client-id': unique(`cid${n}`) } : {});
        expect(await answer(c, 'SUBSCRIBE', durableSubs ? durable(t) : { destination: `/topic/${t}`, id: 's1', ack: 'auto' })).toBe('RECEIPT');
        subs.push(c);
      }
      const d = await dlq(marker);
      const { c: p } = await client();
      p.send('SEND', { destination: `/topic/${t}`, persistent: 'true', expires: String(Date.now() - 1000), marker }, 'expired');
      // then a live one (empty body): the first MESSAGE each subscriber gets
      expect(await answer(p, 'SEND', { destination: `/topic/${t}`, persistent: 'true', marker })).toBe('RECEIPT');
      for (const s of subs) expect((await s.frame('MESSAGE')).body.toString()).toBe('');
      const copy = await d.frame('MESSAGE');
      expect(copy.body.toString()).toBe('expired');
      expect(getHeader(copy, 'original-destination')).toBe(`/topic/${t}`);
      await nothingMore(d);
      for (const c of [...subs, d, p]) c.close();
    }
  });

  it('one that expires while durable subscribers are away goes to ActiveMQ.DLQ once, naming the topic', async () => {
    // ActiveMQ 5.17 (review-s15-2 DurExp.java, durable-expired.mjs): one copy, originalDestination topic://<t>,
    // original-destination:/topic/<t>; the old code made one per subscription, naming its queue
    const t = unique('away');
    const marker = unique('m');
    const cids = [unique('cidA'), unique('cidB')];
    for (const cid of cids) {
      const { c } = await client({ 'client-id': cid });
      expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
      expect(await answer(c, 'DISCONNECT', {})).toBe('RECEIPT');
      c.close();
    }
    const d = await dlq(marker);
    const { c: p } = await client();
    expect(await answer(p, 'SEND', { destination: `/topic/${t}`, persistent: 'true', expires: String(Date.now() + 30), marker })).toBe('RECEIPT');
    // and a live one (empty body)
    expect(await answer(p, 'SEND', { destination: `/topic/${t}`, persistent: 'true', marker })).toBe('RECEIPT');
    // past its expiry (time, not an event: ActiveMQ takes it when the subscriber is served)
    await new Promise((r) => setTimeout(r, 60));
    for (const cid of cids) {
      const { c } = await client({ 'client-id': cid });
      expect(await answer(c, 'SUBSCRIBE', durable(t))).toBe('RECEIPT');
      expect((await c.frame('MESSAGE')).body.toString()).toBe('');
      c.close();
    }
    const copy = await d.frame('MESSAGE');
    expect(getHeader(copy, 'original-destination')).toBe(`/topic/${t}`);
    await nothingMore(d);
    d.close();
    p.close();
  });
});
