import { describe, expect, it } from 'vitest';
import { Routed } from '../../src/core/exchanges/routing.js';
import { Transaction } from '../../src/core/transaction.js';
import { Collector, coreBroker, declareQueue, message, publish, texts } from './helpers.js';

describe('transactions in the core (transaction.ts)', () => {
  it('publishes and acks wait for commit, then apply together in order; rollback forgets them', () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q');
    publish(vhost, '', 'q', 'old');
    const session = broker.openSession(vhost, {});
    const sink = new Collector();
    session.consume('q', { tag: 'c', noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
    const tx = new Transaction(broker.durability);

    tx.publish('', 'q', message('rolled back', {}, '', 'q'));
    tx.rollback();
    expect(tx.size).toBe(0);

    const outcomes: number[] = [];
    tx.publish('', 'q', message('new', {}, '', 'q'), (flags) => outcomes.push(flags));
    tx.publish('', 'nowhere', message('lost', {}, '', 'nowhere'), (flags) => outcomes.push(flags));
    const tag = sink.deliveries[0]!.tag;
    tx.settle(() => session.ack(tag, false));
    expect(tx.size).toBe(3);
    // nothing has happened yet
    expect(session.unackedCount).toBe(1);
    expect(sink.texts).toEqual(['old']);

    const persistent = tx.commit((e, k, m) => vhost.publish(e, k, m));
    expect(persistent).toBe(false);
    expect(outcomes).toEqual([Routed, 0]);
    expect(sink.texts).toEqual(['old', 'new']);
    expect(session.unackedCount).toBe(1);
    expect(texts(vhost, 'q')).toEqual([]);
    expect(tx.size).toBe(0);
  });

  it('says when the commit is durable: at once without persistent messages, after the store otherwise; not when the client is gone', async () => {
    const { broker, vhost } = coreBroker();
    declareQueue(vhost, 'q', {}, true);
    const tx = new Transaction(broker.durability);
    let transient = false;
    tx.publish('', 'q', message('t', {}, '', 'q'));
    tx.commit((e, k, m) => vhost.publish(e, k, m), () => (transient = true));
    expect(transient).toBe(true);

    tx.publish('', 'q', message('p', { deliveryMode: 2 }, '', 'q'));
    let persistent = false;
    const durable = new Promise<void>((resolve) => {
      persistent = tx.commit((e, k, m) => vhost.publish(e, k, m), () => resolve());
    });
    await durable;
    expect(persistent).toBe(true);

    let late = false;
    tx.publish('', 'q', message('p2', { deliveryMode: 2 }, '', 'q'));
    tx.commit((e, k, m) => vhost.publish(e, k, m), () => (late = true), () => false);
    await new Promise<void>((resolve) => broker.durability.wait(() => resolve()));
    expect(late).toBe(false);
    expect(texts(vhost, 'q')).toEqual(['t', 'p', 'p2']);
  });
});
