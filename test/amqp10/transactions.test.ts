import { describe, expect, it } from 'vitest';
import { AmqpMap, Described, Sym, encodeMessage, uint, type AmqpValue, type Composite } from '../../src/protocols/amqp10/codec/index.js';
import { useBroker } from '../helpers/broker.js';
import { openReceiver, openSender, pending, receiveN, rheaClose, rheaConnect, sendAwait } from '../helpers/amqp10.js';
import { RawClient } from '../helpers/amqp10-raw.js';
import { protonMissing, runPythonScript } from '../helpers/python.js';
import { RheaController, stateFields, txnSettle } from '../helpers/amqp10-txn.js';

// AMQP 1.0 local transactions (part 4) as ActiveMQ's AMQP transport serves them
// (AmqpTransactionCoordinator, AmqpReceiver, AmqpSender in activemq-amqp): txn-ids are
// 8-byte counters per connection; a transactional transfer is answered at once, settled, with
// transactional-state(accepted) and published at commit; a transactional disposition holds the
// ack until commit; on rollback a delivery the client settled is sent again with a higher
// delivery count, and one it did not settle stays acquired by it. RabbitMQ does not serve them.
const broker = useBroker({ engine: 'activemq', ports: { stomp: false, stomps: false, mqtt: false, mqtts: false, wss: false, console: false, openwire: false, openwireSsl: false } });
const port = () => broker().ports['amqp10']!;
const rabbit = useBroker({ engine: 'rabbitmq', ports: { stomp: false, stomps: false, mqtt: false, mqtts: false, amqps: false, http: false, https: false } });

const bodies = (q: string) => broker().queue(q).messages().map((m) => m.body.toString());

describe('AMQP 1.0 transactions with rhea (ActiveMQ profile)', () => {
  it('a coordinator link attaches offering local transactions; declare gives 8-byte txn-ids counting from 1', async () => {
    const conn = await rheaConnect(port());
    const ctl = await RheaController.open(conn);
    const target = stateFields(ctl.remoteTarget);
    expect(target.code).toBe(0x30);
    expect(target.fields[0]).toEqual(expect.arrayContaining(['amqp:local-transactions']));
    const a = await ctl.declare();
    const b = await ctl.declare();
    expect(a).toEqual(Buffer.from('0000000000000001', 'hex'));
    expect(b).toEqual(Buffer.from('0000000000000002', 'hex'));
    expect((await ctl.discharge(a, true)).code).toBe(0x24);
    expect((await ctl.discharge(b, false)).code).toBe(0x24);
    await rheaClose(conn);
  });

  it('acks in a transaction apply at commit; an unsettled one stays acquired after a rollback', async () => {
    const q = 'a10-tx-acks';
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    for (const body of ['a', 'b', 'c']) expect((await sendAwait(s, { body, durable: true })).outcome).toBe('accepted');
    const rx = await openReceiver(conn, { source: `queue://${q}`, autoaccept: false, credit_window: 10 });
    const got = await receiveN(rx, 3);
    expect(got.map((g) => g.message.body)).toEqual(['a', 'b', 'c']);
    const ctl = await RheaController.open(conn);

    // txn 1: a and b accepted (settled, as JMS clients settle): nothing acked until the commit
    const t1 = await ctl.declare();
    await txnSettle(got[0]!.delivery, t1, true);
    await txnSettle(got[1]!.delivery, t1, true);
    await ctl.declare().then((id) => ctl.discharge(id, true)); // a round trip: the dispositions were read
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 3 });
    expect((await ctl.discharge(t1, false)).code).toBe(0x24);
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 1 });

    // txn 2: c accepted unsettled, then rolled back: c is still the client's, not sent again
    const t2 = await ctl.declare();
    await txnSettle(got[2]!.delivery, t2, false);
    expect((await ctl.discharge(t2, true)).code).toBe(0x24);
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 1 });
    expect(pending(rx)).toBe(0);
    // and it can be accepted again outside any transaction
    got[2]!.delivery.accept();
    await ctl.declare().then((id) => ctl.discharge(id, true));
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 0 });
    await rheaClose(conn);
  });

  it('a rolled-back ack of a settled delivery sends it again, its delivery-count raised', async () => {
    const q = 'a10-tx-redeliver';
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    expect((await sendAwait(s, { body: 'again' })).outcome).toBe('accepted');
    const rx = await openReceiver(conn, { source: `queue://${q}`, autoaccept: false, credit_window: 10 });
    const [first] = await receiveN(rx, 1);
    expect(first!.message.delivery_count ?? 0).toBe(0);
    const ctl = await RheaController.open(conn);
    const t = await ctl.declare();
    await txnSettle(first!.delivery, t, true);
    expect((await ctl.discharge(t, true)).code).toBe(0x24);
    const [again] = await receiveN(rx, 1);
    expect(again!.message.body).toBe('again');
    expect(again!.message.delivery_count).toBe(1);
    expect(again!.message.first_acquirer).toBe(false);
    again!.delivery.accept();
    await rheaClose(conn);
  });

  it('a transaction spans sessions of its connection (multi-ssns-per-txn)', async () => {
    const q = 'a10-tx-sessions';
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    expect((await sendAwait(s, { body: 'x' })).outcome).toBe('accepted');
    const other = conn.create_session();
    other.begin();
    const rx = await openReceiver(other as unknown as typeof conn, { source: `queue://${q}`, autoaccept: false });
    const [m] = await receiveN(rx, 1);
    const ctl = await RheaController.open(conn);
    const t = await ctl.declare();
    await txnSettle(m!.delivery, t, true);
    expect((await ctl.discharge(t, false)).code).toBe(0x24);
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 0 });
    await rheaClose(conn);
  });

  it('a discharge of an unknown txn-id is rejected as ActiveMQ\'s broker refuses it ("failed", "has not been started"); a txn is gone once discharged', async () => {
    const conn = await rheaConnect(port());
    const ctl = await RheaController.open(conn);
    const r = await ctl.discharge(Buffer.from('00000000000000ff', 'hex'), false);
    // AmqpTransactionCoordinator: Rejected(ErrorCondition("failed", <the broker's exception>)),
    // TransactionBroker.getTransaction: "Transaction '<LocalTransactionId>' has not been started."
    expect(r.error).toEqual({ condition: 'failed', description: expect.stringMatching(/^Transaction 'TX:.+:255' has not been started\.$/) });
    const t = await ctl.declare();
    expect((await ctl.discharge(t, false)).code).toBe(0x24);
    const again = await ctl.discharge(t, false);
    expect(again.error).toMatchObject({ condition: 'failed', description: expect.stringMatching(/:1' has not been started\.$/) });
    await rheaClose(conn);
  });

  it('what a connection leaves undischarged is rolled back when it closes', async () => {
    const q = 'a10-tx-close';
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    expect((await sendAwait(s, { body: 'kept' })).outcome).toBe('accepted');
    const rx = await openReceiver(conn, { source: `queue://${q}`, autoaccept: false });
    const [m] = await receiveN(rx, 1);
    const ctl = await RheaController.open(conn);
    const t = await ctl.declare();
    await txnSettle(m!.delivery, t, true);
    await rheaClose(conn);
    await broker().waitFor(q, (p) => p.body.toString() === 'kept');
    expect(broker().queue(q).info()).toMatchObject({ messages: 1, unacked: 0 });
  });
});

/** a raw client: transactional transfers (rhea cannot put a state on a transfer) */
class RawTx {
  private nextId = 0;
  private constructor(readonly c: RawClient) {}

  /** a session with a coordinator link (handle 0) and a sender (handle 1) to `address` */
  static async open(p: number, address: string): Promise<RawTx> {
    const c = await RawClient.open(p);
    c.frame(0, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(1000), outgoingWindow: uint(1000) });
    c.frame(0, { $: 'attach', name: 'ctl', handle: uint(0), role: false, source: { $: 'source' }, target: { $: 'coordinator', capabilities: ['amqp:local-transactions'] } } as Composite);
    c.frame(0, { $: 'attach', name: 'tx', handle: uint(1), role: false, source: { $: 'source' }, target: { $: 'target', address } } as Composite);
    await c.next((g) => 'performative' in g && g.performative.$ === 'flow' && g.performative['handle'] === 1);
    return new RawTx(c);
  }

  /** a transfer; resolves with the disposition that answers it (or undefined once `settled` ones are sent) */
  async transfer(handle: number, body: AmqpValue, opts: { txnId?: Buffer; settled?: boolean } = {}): Promise<Composite | undefined> {
    const id = this.nextId++;
    const from = this.c.got.length;
    this.c.frame(
      0,
      { $: 'transfer', handle: uint(handle), deliveryId: uint(id), deliveryTag: Buffer.from([id]), messageFormat: uint(0), settled: opts.settled, state: opts.txnId ? { $: 'transactional-state', txnId: opts.txnId } : undefined } as Composite,
      encodeMessage({ body: { kind: 'value', value: body } }),
    );
    if (opts.settled) return undefined;
    const g = await this.c.next((x) => this.c.got.indexOf(x) >= from && 'performative' in x && x.performative.$ === 'disposition' && (x.performative['first'] as number) <= id && ((x.performative['last'] as number | undefined) ?? (x.performative['first'] as number)) >= id);
    return ((g as { performative: Composite }).performative['state'] as Composite | undefined) ?? undefined;
  }

  async declare(): Promise<Buffer> {
    const state = await this.transfer(0, new Described(0x31, []));
    expect(state).toMatchObject({ $: 'declared' });
    return state!['txnId'] as Buffer;
  }

  discharge(txnId: Buffer, fail: boolean): Promise<Composite | undefined> {
    return this.transfer(0, new Described(0x32, [txnId, fail]));
  }
}

describe('AMQP 1.0 transactional transfers (raw frames, ActiveMQ profile)', () => {
  it('transfers in a transaction are answered transactional-state(accepted) at once and routed only at commit; a rollback drops them', async () => {
    const q = 'a10-tx-transfers';
    const tx = await RawTx.open(port(), `queue://${q}`);
    const t1 = await tx.declare();
    expect(await tx.transfer(1, 'one', { txnId: t1 })).toEqual({ $: 'transactional-state', txnId: t1, outcome: { $: 'accepted' } });
    expect(await tx.transfer(1, 'two', { txnId: t1 })).toMatchObject({ $: 'transactional-state', outcome: { $: 'accepted' } });
    expect(broker().queue(q).messageCount()).toBe(0);
    expect(await tx.discharge(t1, false)).toEqual({ $: 'accepted' });
    expect(bodies(q)).toEqual(['one', 'two']);
    const t2 = await tx.declare();
    await tx.transfer(1, 'three', { txnId: t2 });
    void tx.transfer(1, 'four', { txnId: t2, settled: true });
    expect(await tx.discharge(t2, true)).toEqual({ $: 'accepted' });
    expect(bodies(q)).toEqual(['one', 'two']);
    tx.c.socket.destroy();
  });

  it('a session\'s first transactional transfer naming no transaction closes the connection (ActiveMQ\'s transport fails on it); once enlisted, an unknown txn-id is rejected "failed" and a settled one dropped', async () => {
    const q = 'a10-tx-unknown';
    const bogus = Buffer.from('0000000000000abc', 'hex');
    // AmqpSession.enlist looks the transaction up and fails (NullPointerException): AmqpConnection
    // closes with decode-error "Could not process AMQP commands"
    const first = await RawTx.open(port(), `queue://${q}`);
    void first.transfer(1, 'lost', { txnId: bogus }).catch(() => undefined);
    expect(await first.c.error('close')).toEqual({ $: 'error', condition: 'amqp:decode-error', description: 'Could not process AMQP commands' });
    await first.c.closed();
    // enlisted in a transaction, the session's transfer naming another id reaches ActiveMQ's broker, which refuses it
    const tx = await RawTx.open(port(), `queue://${q}`);
    const t = await tx.declare();
    await tx.transfer(1, 'kept', { txnId: t });
    expect(await tx.transfer(1, 'lost', { txnId: bogus })).toEqual({ $: 'rejected', error: { $: 'error', condition: 'failed', description: expect.stringMatching(/^Transaction 'TX:.+:2748' has not been started\.$/) } });
    await tx.transfer(1, 'lost too', { txnId: bogus, settled: true });
    expect(await tx.discharge(t, false)).toEqual({ $: 'accepted' });
    expect(bodies(q)).toEqual(['kept']);
    tx.c.socket.destroy();
  });

  it('what ActiveMQ\'s transport cannot process closes the connection with decode-error: a declare with a global-id (no distributed transactions), a coordinator body that is neither declare nor discharge, a txn-id that is not 8 bytes', async () => {
    for (const body of [new Described(0x31, [Buffer.from('xid')]), 'commit please', new Described(0x32, [Buffer.from([1]), false])] as AmqpValue[]) {
      const tx = await RawTx.open(port(), 'queue://a10-tx-global');
      void tx.transfer(0, body).catch(() => undefined);
      expect(await tx.c.error('close')).toEqual({ $: 'error', condition: 'amqp:decode-error', description: 'Could not process AMQP commands' });
      await tx.c.closed();
    }
    // the next connection's coordinator serves
    const tx = await RawTx.open(port(), 'queue://a10-tx-global');
    await tx.declare();
    tx.c.socket.destroy();
  });

  it('transactional acquisition (a flow with a txn-id property, part 4.4.3) is not served, as ActiveMQ reads no flow properties: deliveries come outside the transaction', async () => {
    const q = 'a10-tx-acquire';
    const conn = await rheaConnect(port());
    const s = await openSender(conn, `queue://${q}`);
    expect((await sendAwait(s, { body: 'plain' })).outcome).toBe('accepted');
    await rheaClose(conn);
    const tx = await RawTx.open(port(), `queue://${q}-unused`);
    const t = await tx.declare();
    tx.c.frame(0, { $: 'attach', name: 'rx', handle: uint(2), role: true, source: { $: 'source', address: `queue://${q}` }, target: { $: 'target' } } as Composite);
    await tx.c.performative('attach', 0);
    tx.c.frame(0, { $: 'flow', nextIncomingId: uint(0), incomingWindow: uint(1000), nextOutgoingId: uint(100), outgoingWindow: uint(1000), handle: uint(2), deliveryCount: uint(0), linkCredit: uint(10), properties: new AmqpMap([[new Sym('txn-id'), t]]) } as unknown as Composite);
    const { performative } = await tx.c.performative('transfer');
    // no transactional-state on the transfer: the message is not acquired in the transaction
    expect(performative['state']).toBeUndefined();
    tx.c.frame(0, { $: 'disposition', role: true, first: performative['deliveryId'], settled: true, state: { $: 'accepted' } } as Composite);
    expect(await tx.discharge(t, true)).toEqual({ $: 'accepted' });
    // the rollback does not bring it back: it was accepted outside the transaction
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 0 });
    tx.c.socket.destroy();
  });
});

describe('RabbitMQ profile', () => {
  it('a coordinator link is refused with amqp:not-implemented "Transactions not supported" (RabbitMQ 4; 3.10.8 ends the session with it)', async () => {
    const c = await RawClient.open(rabbit().ports['amqp']!);
    c.frame(0, { $: 'begin', nextOutgoingId: uint(0), incomingWindow: uint(1000), outgoingWindow: uint(1000) });
    c.frame(0, { $: 'attach', name: 'txn', handle: uint(0), role: false, source: { $: 'source' }, target: { $: 'coordinator', capabilities: ['amqp:local-transactions'] } } as Composite);
    expect(await c.error('detach')).toEqual({ $: 'error', condition: 'amqp:not-implemented', description: 'Transactions not supported' });
    c.socket.destroy();
  });
});

describe('AMQP 1.0 transactions with python-qpid-proton (its Transaction API)', () => {
  const run = async (address: string, scenario: string) =>
    (await runPythonScript('amqp10-proton-tx.py', [`amqp://guest:guest@127.0.0.1:${port()}`, address, scenario]))
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);

  if (protonMissing) {
    it.skip(`proton transactions (skipped: ${protonMissing})`, () => undefined);
    return;
  }

  it('sends in a committed transaction arrive; sends in an aborted one do not', async () => {
    const q = 'a10-proton-tx-pub';
    const events = await run(`queue://${q}`, 'publish');
    expect(events.filter((e) => e['event'] !== 'settled')).toEqual([
      { event: 'declared', txn: 1, id: '0000000000000001' },
      { event: 'committed', txn: 1 },
      { event: 'declared', txn: 2, id: '0000000000000002' },
      { event: 'aborted', txn: 2 },
      { done: true },
    ]);
    expect(bodies(q)).toEqual(['p0', 'p1']);
  });

  it('messages accepted (unsettled) in an aborted transaction, released by proton, come again as they were; accepted in a committed one they are gone', async () => {
    const q = 'a10-proton-tx-consume';
    await run(`queue://${q}`, 'publish');
    const events = await run(`queue://${q}`, 'consume');
    expect(events.filter((e) => e['event'] === 'message').map((e) => [e['body'], e['delivery_count']])).toEqual([
      ['p0', 0],
      ['p1', 0],
      ['p0', 0],
      ['p1', 0],
    ]);
    expect(events.filter((e) => e['event'] === 'aborted' || e['event'] === 'committed')).toEqual([
      { event: 'aborted', txn: 1 },
      { event: 'committed', txn: 2 },
    ]);
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 0 });
  });

  it('settled before the discharge (as JMS clients settle), the messages of an aborted transaction come again, delivery-count 1', async () => {
    const q = 'a10-proton-tx-settled';
    await run(`queue://${q}`, 'publish');
    const events = await run(`queue://${q}`, 'consume-settled');
    expect(events.filter((e) => e['event'] === 'message').map((e) => [e['body'], e['delivery_count']])).toEqual([
      ['p0', 0],
      ['p1', 0],
      ['p0', 1],
      ['p1', 1],
    ]);
    expect(events.filter((e) => e['event'] === 'aborted' || e['event'] === 'committed')).toEqual([
      { event: 'aborted', txn: 1 },
      { event: 'committed', txn: 2 },
    ]);
    expect(broker().queue(q).info()).toMatchObject({ messages: 0, unacked: 0 });
  });
});
