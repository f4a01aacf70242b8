import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { connect } from '../helpers/amqp.js';
import { RawStomp, getHeader, wireFrame } from '../helpers/stomp.js';

// Behaviour pinned against Debian's RabbitMQ 3.10.8 with rabbitmq_stomp, asked on this
// machine with raw frames (and rabbitmqctl list_queues), where RabbitMQ's own STOMP suite
// (deps/rabbitmq_stomp/test/python_SUITE_data, v3.10.8) found LocalMQ different.

let broker: LocalMQ;

beforeAll(async () => {
  broker = await startBroker({ vhosts: ['orders', 'closed'] });
  broker.users.clearPermission('guest', 'closed');
});

afterAll(async () => {
  await broker.stop();
});

beforeEach(() => broker.reset());

/** CONNECT with these headers (no host header unless given); the first frame back */
async function connectWith(headers: Record<string, string>) {
  const client = await RawStomp.open(broker);
  client.send('CONNECT', { 'accept-version': '1.2', login: 'guest', passcode: 'guest', ...headers });
  return { client, reply: await client.frame() };
}

describe('CONNECT host header (RabbitMQ 3.10.8: the host is the vhost)', () => {
  it('no host header, host:/ and host:<existing vhost> connect', async () => {
    for (const [headers, vhost] of [[{}, '/'], [{ host: '/' }, '/'], [{ host: 'orders' }, 'orders']] as const) {
      const { client, reply } = await connectWith(headers);
      expect(reply.command).toBe('CONNECTED');
      client.send('SEND', { destination: '/queue/host-check', receipt: 'r' }, 'x');
      await client.receipt('r');
      expect(broker.queue('host-check', vhost).messageCount()).toBe(1);
      client.close();
      broker.reset();
    }
  });

  // RabbitMQ 3.10.8 answered each of these with exactly this ERROR; the connection stays, not logged in (asked again
  // in s17, /tmp/s17-fidelity/badvhost.mjs: then SEND -> ERROR Illegal command, a good CONNECT -> CONNECTED)
  it.each(['//', 'nosuchvhost', 'localhost', '127.0.0.1', '', 'closed'])('host:%s is refused: Virtual host access denied', async (host) => {
    const { client, reply } = await connectWith({ host });
    expect(reply.command).toBe('ERROR');
    expect(getHeader(reply, 'message')).toBe('Bad CONNECT');
    expect(reply.body.toString()).toBe(`Virtual host '${host}' access denied`);
    client.send('SEND', { destination: '/queue/host-check', receipt: 'r' }, 'x');
    expect(getHeader(await client.frame('ERROR'), 'message')).toBe('Illegal command');
    client.close();
  });
});

describe('x-queue-name on /topic and /exchange subscriptions', () => {
  it.each([
    ['/topic/named.t', 'named-topic-q', 'amq.topic', 'named.t'],
    ['/exchange/amq.direct/k', 'named-exchange-q', 'amq.direct', 'k'],
  ])('SUBSCRIBE %s with x-queue-name:%s consumes from a queue of that name (RabbitMQ: not exclusive, auto-delete)', async (destination, queueName, exchange, key) => {
    const { client } = await RawStomp.connected(broker);
    client.send('SUBSCRIBE', { id: 's1', destination, 'x-queue-name': queueName, receipt: 'sub' });
    await client.receipt('sub');
    expect(broker.queue(queueName).info()).toMatchObject({ durable: false, exclusive: false, autoDelete: true, consumers: 1 });
    // x_queue_name.py: an AMQP client publishes to the named queue through the default exchange
    const conn = await connect(broker);
    const ch = await conn.createConfirmChannel();
    ch.sendToQueue(queueName, Buffer.from('by name'));
    ch.publish(exchange, key, Buffer.from('by binding'));
    await ch.waitForConfirms();
    await conn.close();
    expect((await client.frame('MESSAGE')).body.toString()).toBe('by name');
    expect((await client.frame('MESSAGE')).body.toString()).toBe('by binding');
    client.close();
    await client.whenClosed();
  });

  it('x-queue-type and the durable headers apply to the named queue (x_queue_type_quorum.py)', async () => {
    const { client } = await RawStomp.connected(broker);
    client.send('SUBSCRIBE', {
      id: '1234',
      destination: '/topic/quorum-queue-test',
      'x-queue-name': 'my-quorum-queue',
      'x-queue-type': 'quorum',
      durable: 'true',
      'auto-delete': 'false',
      receipt: 'sub',
    });
    await client.receipt('sub');
    const info = broker.queue('my-quorum-queue').info()!;
    expect(info).toMatchObject({ durable: true, exclusive: false, autoDelete: false });
    expect(info.arguments['x-queue-type']).toBe('quorum');
    // a durable UNSUBSCRIBE deletes the named queue
    client.send('UNSUBSCRIBE', { id: '1234', durable: 'true', receipt: 'unsub' });
    await client.receipt('unsub');
    expect(broker.queue('my-quorum-queue').exists()).toBe(false);
    client.close();
  });
});

describe('RECEIPT order', () => {
  it('the RECEIPT for a SUBSCRIBE comes before the messages already waiting in the queue', async () => {
    const { client } = await RawStomp.connected(broker);
    for (const body of ['one', 'two', 'three']) client.send('SEND', { destination: '/queue/waiting', receipt: body }, body);
    for (const body of ['one', 'two', 'three']) await client.receipt(body);
    client.send('SUBSCRIBE', { id: 's', destination: '/queue/waiting', receipt: 'subscribed' });
    const first = await client.frame();
    expect(first.command).toBe('RECEIPT');
    expect(getHeader(first, 'receipt-id')).toBe('subscribed');
    const bodies = [];
    for (let i = 0; i < 3; i++) bodies.push((await client.frame('MESSAGE')).body.toString());
    expect(bodies).toEqual(['one', 'two', 'three']);
    client.close();
  });

  it("a SEND inside a transaction gets its RECEIPT at COMMIT, after the COMMIT's receipt (a publisher confirm of what the COMMIT published)", async () => {
    // RabbitMQ 3.10.8 (asked, /tmp/s18-fidelity/tx-receipts.mjs, 4 runs each): BEGIN, SEND s1, SEND s2, COMMIT c1 ->
    // `c1 s1 s2`, persistent messages too; the 4.x source the same (do_receipt leaves a SEND's receipt to its
    // confirm). The old code answered the SENDs first (`s1 s2 c1`)
    const { client } = await RawStomp.connected(broker);
    client.send('BEGIN', { transaction: 'tx1' });
    client.send('SEND', { destination: '/queue/tx-receipts', transaction: 'tx1', receipt: 'in-tx' }, 'a');
    client.send('SEND', { destination: '/queue/tx-receipts', transaction: 'tx1', persistent: 'true', receipt: 'in-tx-2' }, 'a2');
    // a frame after it, outside the transaction: its receipt must be the first to come
    client.send('SEND', { destination: '/queue/tx-other', receipt: 'outside' }, 'b');
    const first = await client.frame('RECEIPT');
    expect(getHeader(first, 'receipt-id')).toBe('outside');
    expect(broker.queue('tx-receipts').messageCount()).toBe(0);
    client.send('COMMIT', { transaction: 'tx1', receipt: 'committed' });
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(getHeader(await client.frame('RECEIPT'), 'receipt-id'));
    expect(ids).toEqual(['committed', 'in-tx', 'in-tx-2']);
    expect(broker.queue('tx-receipts').messageCount()).toBe(2);

    // an aborted transaction's SEND never gets a receipt
    client.send('BEGIN', { transaction: 'tx2' });
    client.send('SEND', { destination: '/queue/tx-receipts', transaction: 'tx2', receipt: 'aborted-send' }, 'c');
    client.send('ABORT', { transaction: 'tx2', receipt: 'aborted' });
    expect(getHeader(await client.frame('RECEIPT'), 'receipt-id')).toBe('aborted');
    client.send('DISCONNECT', { receipt: 'bye' });
    expect(getHeader(await client.frame('RECEIPT'), 'receipt-id')).toBe('bye');
    expect(broker.queue('tx-receipts').messageCount()).toBe(2);
    client.close();
  });
});
