import type { Channel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import { beforeEach, describe, expect, it } from 'vitest';
import { nextMessage, uniqueName, useBrokerConnection } from '../helpers/amqp.js';

const { broker, conn } = useBrokerConnection();
let ch: Channel;
beforeEach(async () => {
  ch = await conn().createChannel();
});

const next = (queue: string) => nextMessage(ch, queue);

describe('publisher confirms, mandatory, transactions', () => {
  it('confirms every publish; waitForConfirms resolves and acks may be folded with multiple', async () => {
    const cch = await conn().createConfirmChannel();
    const q = (await cch.assertQueue('', { exclusive: true })).queue;
    let acks = 0;
    for (let i = 0; i < 50; i++) cch.sendToQueue(q, Buffer.from(String(i)), {}, (err) => !err && acks++);
    await cch.waitForConfirms();
    expect(acks).toBe(50);
    expect((await cch.checkQueue(q)).messageCount).toBe(50);
    await cch.close();
  });

  it('mandatory publish with no route comes back as basic.return 312 NO_ROUTE, and is still confirmed', async () => {
    const cch = await conn().createConfirmChannel();
    const returned = new Promise<ConsumeMessage>((resolve) => cch.on('return', resolve));
    const confirmed = new Promise<boolean>((resolve) => cch.publish('amq.direct', 'nobody.home', Buffer.from('lost'), { mandatory: true }, (err) => resolve(!err)));
    const r = await returned;
    expect(r.content.toString()).toBe('lost');
    expect(r.fields).toMatchObject({ replyCode: 312, replyText: 'NO_ROUTE', exchange: 'amq.direct', routingKey: 'nobody.home' });
    expect(await confirmed).toBe(true);
    await cch.close();
  });

  it('tx: publishes and acks take effect on commit only; rollback discards them', async () => {
    const q = (await ch.assertQueue('', { exclusive: true })).queue;
    ch.sendToQueue(q, Buffer.from('pre'));
    await ch.checkQueue(q);
    const tch = await conn().createChannel();
    await (tch as unknown as { rpc(m: number, a: object, e: number): Promise<unknown> }).rpc(90 * 65536 + 10, {}, 90 * 65536 + 11); // tx.select
    const txRpc = (m: number, e: number) => (tch as unknown as { rpc(m: number, a: object, e: number): Promise<unknown> }).rpc(m, {}, e);
    const pre = await tch.get(q);
    tch.sendToQueue(q, Buffer.from('in-tx'));
    if (pre) tch.ack(pre);
    await tch.checkQueue(q);
    // nothing happened yet: 'in-tx' not queued, 'pre' still unacked
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    await txRpc(90 * 65536 + 30, 90 * 65536 + 31); // tx.rollback
    expect((await ch.checkQueue(q)).messageCount).toBe(0);
    tch.sendToQueue(q, Buffer.from('committed'));
    if (pre) tch.ack(pre);
    await txRpc(90 * 65536 + 20, 90 * 65536 + 21); // tx.commit
    const after = await ch.get(q, { noAck: true });
    expect(after && after.content.toString()).toBe('committed');
    expect(await ch.get(q, { noAck: true })).toBe(false); // 'pre' was acked by the commit
    await tch.close();
  });
});
