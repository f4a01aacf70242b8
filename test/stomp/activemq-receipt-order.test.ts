import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { wireFrame, RawStomp, getHeader } from '../helpers/stomp.js';
import { useBroker } from '../helpers/broker.js';
import type { LocalMQ } from '../../src/index.js';

/**
 * Receipts come in frame order, also when one waits for the store. ActiveMQ 5.17 (review-s15-2 F6,
 * receipt-order.mjs / receipt-order2.mjs, one write each): ACK receipt:a1 then UNSUBSCRIBE receipt:u1 →
 * `a1 u1`; a persistent SEND receipt:s1 then BEGIN receipt:b1 → `s1 b1`. The old code sent the later
 * frame's receipt at once, ahead of the one waiting for the store (`u1 a1`, `b1 s1`). RabbitMQ's
 * dialect keeps RabbitMQ 3.10.8's order (the reviewer asked it: `b1 s1`).
 */
const dir = mkdtempSync(join(tmpdir(), 'localmq-receipt-order-'));
const broker = useBroker({ engine: 'activemq', ports: { stomp: 0 }, dataDir: dir });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** the receipt ids of the next `n` RECEIPT frames */
async function receipts(c: RawStomp, n: number): Promise<string[]> {
  const ids: string[] = [];
  while (ids.length < n) {
    const f = await c.frame();
    if (f.command === 'RECEIPT') ids.push(getHeader(f, 'receipt-id')!);
  }
  return ids;
}

/**
 * A queue holding b0 b1; then a persistent SEND receipt:s1 and a SUBSCRIBE of that queue receipt:r2 in
 * one write: the frames that come, receipts by id and messages by body
 */
async function sendThenSubscribe(on: LocalMQ, q: string): Promise<string[]> {
  const { client: c } = await RawStomp.connected(on);
  c.useVersion('1.2');
  for (const body of ['b0', 'b1']) c.send('SEND', { destination: `/queue/${q}`, persistent: 'true', receipt: body }, body);
  expect(await receipts(c, 2)).toEqual(['b0', 'b1']);
  c.write(Buffer.concat([wireFrame('SEND', { destination: `/queue/${q}.x`, persistent: 'true', receipt: 's1' }, 'x'), wireFrame('SUBSCRIBE', { destination: `/queue/${q}`, id: 's', ack: 'auto', receipt: 'r2' })]));
  const order: string[] = [];
  while (order.length < 4) {
    const f = await c.frame();
    order.push(f.command === 'RECEIPT' ? getHeader(f, 'receipt-id')! : f.command === 'MESSAGE' ? f.body.toString() : f.command);
  }
  c.close();
  return order;
}

/** a persistent SEND receipt:s1 and a BEGIN receipt:b1 in one write: the order of their receipts */
async function sendThenBegin(on: LocalMQ): Promise<string[]> {
  const { client: c } = await RawStomp.connected(on);
  c.useVersion('1.2');
  c.write(Buffer.concat([wireFrame('SEND', { destination: '/queue/ro.send', persistent: 'true', receipt: 's1' }, 'x'), wireFrame('BEGIN', { transaction: 't1', receipt: 'b1' })]));
  const order = await receipts(c, 2);
  c.close();
  return order;
}

/** the next `n` frames: receipts by id, messages by body, ERROR(<its receipt-id>) */
async function frames(c: RawStomp, n: number): Promise<string[]> {
  const order: string[] = [];
  while (order.length < n) {
    const f = await c.frame();
    order.push(f.command === 'RECEIPT' ? getHeader(f, 'receipt-id')! : f.command === 'MESSAGE' ? f.body.toString() : f.command === 'ERROR' ? `ERROR(${getHeader(f, 'receipt-id') ?? ''})` : f.command);
  }
  return order;
}

describe('ActiveMQ-dialect STOMP receipts in frame order (ActiveMQ 5.17)', () => {
  it('an ACK receipt waiting for the store comes before a later UNSUBSCRIBE receipt', async () => {
    const { client: c } = await RawStomp.connected(broker());
    c.useVersion('1.2');
    c.send('SEND', { destination: '/queue/ro.ack', persistent: 'true', receipt: 's0' }, 'm0');
    expect(await receipts(c, 1)).toEqual(['s0']);
    c.send('SUBSCRIBE', { destination: '/queue/ro.ack', id: 's', ack: 'client-individual', receipt: 'sub' });
    expect(await receipts(c, 1)).toEqual(['sub']);
    const m = await c.frame('MESSAGE');
    c.write(Buffer.concat([wireFrame('ACK', { id: getHeader(m, 'ack')!, receipt: 'a1' }), wireFrame('UNSUBSCRIBE', { id: 's', receipt: 'u1' })]));
    expect(await receipts(c, 2)).toEqual(['a1', 'u1']);
    c.close();
  });

  it('a persistent SEND receipt comes before a later BEGIN receipt', async () => {
    expect(await sendThenBegin(broker())).toEqual(['s1', 'b1']);
  });

  it("a SUBSCRIBE's receipt, and the messages it is handed, come after an earlier persistent SEND's receipt", async () => {
    // ActiveMQ 5.17 (/tmp/s16-fidelity/sub-receipt-order.mjs, 5 runs): `s1 r2 b0 b1`; the old code `r2 b0 b1 s1` (review-s15-2 F6b)
    expect(await sendThenSubscribe(broker(), 'ro.sub')).toEqual(['s1', 'r2', 'b0', 'b1']);
  });

  it("an ERROR comes after the receipts still waiting for the store and the output they hold; the connection goes on", async () => {
    // ActiveMQ 5.17.2 (/tmp/s17-fidelity/err-order.mjs, 3 runs each, one write): persistent SEND s1, SUBSCRIBE r2 of a
    // queue holding b0, ACK id:nope a3 -> `s1 r2 ERROR(a3) b0` x1 / `s1 r2 b0 ERROR(a3)` x2 (its dispatch is a thread of
    // its own); persistent SEND s1, ACK id:nope a3, SEND s4 -> `s1 ERROR(a3) s4`. The old code sent the ERROR first and
    // the held output with it: `r2 b0 ERROR(a3) s1`, `ERROR(a3) s1 s4` (review-s16-2 F6c)
    const { client: c } = await RawStomp.connected(broker());
    c.useVersion('1.2');
    c.send('SEND', { destination: '/queue/ro.err', persistent: 'true', receipt: 'b0' }, 'b0');
    expect(await receipts(c, 1)).toEqual(['b0']);
    c.write(
      Buffer.concat([
        wireFrame('SEND', { destination: '/queue/ro.err.x', persistent: 'true', receipt: 's1' }, 'x'),
        wireFrame('SUBSCRIBE', { destination: '/queue/ro.err', id: 's', ack: 'auto', receipt: 'r2' }),
        wireFrame('ACK', { id: 'nope', receipt: 'a3' }),
      ]),
    );
    expect(await frames(c, 4)).toEqual(['s1', 'r2', 'b0', 'ERROR(a3)']);
    c.write(Buffer.concat([wireFrame('SEND', { destination: '/queue/ro.err.x', persistent: 'true', receipt: 's5' }, 'x'), wireFrame('ACK', { id: 'nope', receipt: 'a6' }), wireFrame('SEND', { destination: '/queue/ro.err.y', receipt: 's7' }, 'y')]));
    expect(await frames(c, 3)).toEqual(['s5', 'ERROR(a6)', 's7']);
    c.close();
  });

  it('a refusal that closes the connection (an unknown command) closes it after the receipts waiting for the store', async () => {
    // ActiveMQ 5.17.2, 3 runs: persistent SEND s1 then FOO in one write -> `s1 ERROR(f3)`, closed; the old code
    // sent the ERROR and closed, s1 never came
    const { client: c } = await RawStomp.connected(broker());
    c.useVersion('1.2');
    c.write(Buffer.concat([wireFrame('SEND', { destination: '/queue/ro.close', persistent: 'true', receipt: 's1' }, 'x'), wireFrame('FOO', { receipt: 'f3' })]));
    expect(await frames(c, 2)).toEqual(['s1', 'ERROR(f3)']);
    await c.whenClosed();
  });
});

describe('RabbitMQ-dialect STOMP receipts (RabbitMQ 3.10.8)', () => {
  const rdir = mkdtempSync(join(tmpdir(), 'localmq-receipt-order-r-'));
  const rabbit = useBroker({ engine: 'rabbitmq', ports: { stomp: 0 }, dataDir: rdir });
  afterAll(() => rmSync(rdir, { recursive: true, force: true }));

  it("a BEGIN's receipt comes ahead of an earlier persistent SEND's, as RabbitMQ 3.10.8 answers (review-s15-2 F7: `b1 s1`)", async () => {
    expect(await sendThenBegin(rabbit())).toEqual(['b1', 's1']);
  });

  it("a SUBSCRIBE's receipt and its messages come ahead of an earlier persistent SEND's receipt (RabbitMQ 3.10.8, 3 runs: `r2 b0 b1 s1`)", async () => {
    expect(await sendThenSubscribe(rabbit(), 'ro.rsub')).toEqual(['r2', 'b0', 'b1', 's1']);
  });
});
