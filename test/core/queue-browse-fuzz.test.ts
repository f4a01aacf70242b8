import { describe, expect, it } from 'vitest';
import type { ConsumerSink, Delivery } from '../../src/core/consumer.js';
import type { Session } from '../../src/core/session.js';
import type { QueueBrowse } from '../../src/core/queues/queue-browse.js';
import type { Queue } from '../../src/core/queues/queue.js';
import { coreBroker, declareQueue, publish } from './helpers.js';

/** a small deterministic generator: a seed's run is the same on every machine */
function lcg(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s >>> 8) % n;
  };
}

const turn = () => new Promise<void>((r) => setImmediate(r));
const index = (d: { message: { body: Buffer } }) => Number(d.message.body.toString().slice(1));

/**
 * QueueBrowse while its held ones are gathered a slice at a time (a step walks 1024 deliveries
 * when its time is up) and the sessions holding them settle meanwhile, one by one and in bulk
 * (ack / nack multiple above 512 and closes go to the broker's sliced work: review-s13-3 B1, B2),
 * no-ack consumers take some (gone at once), with a requeued part of 0-40 at the head at the start,
 * the bulk work running between some of the steps. Whatever the interleaving, ActiveMQ 5.17's
 * browser rules hold (test/openwire/browser-held.test.ts): every message the queue held at the
 * start and that nobody acked is shown exactly once, in the queue's order (one priority, no
 * selector: by arrival); none published after the start is; none is shown after its ack has been
 * settled by the queue (ActiveMQ's browser skips what is acked: held at the start, or ready and
 * taken meanwhile, the requeued part's included: review-s14-1 R1).
 */
describe('QueueBrowse under interleaved settles (seeded)', () => {
  for (let seed = 1; seed <= 12; seed++) {
    it(`seed ${seed}`, async () => {
      const rnd = lcg(seed);
      const { broker, vhost } = coreBroker();
      const q = declareQueue(vhost, 'q', {}) as Queue;
      let published = 0;
      const publishSome = (n: number) => {
        for (let i = 0; i < n; i++) publish(vhost, '', 'q', `m${published++}`);
      };
      publishSome(5000);
      interface Holder {
        session: Session;
        /** its deliveries not settled yet, by tag (the consumer goes on taking as its window opens) */
        open: Map<number, Delivery>;
      }
      const holders: Holder[] = [];
      const hold = () => {
        const session = broker.openSession(vhost, {});
        session.consumerPrefetch = 300 + rnd(1300);
        const h: Holder = { session, open: new Map() };
        const sink: ConsumerSink = { deliver: (d) => h.open.set(d.tag, d), isWritable: () => true, cancelledByBroker: () => undefined };
        session.consume('q', { tag: 'c', noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
        holders.push(h);
      };
      for (let k = 0; k < 3; k++) {
        hold();
        // its whole window taken before the next one consumes (a dispatch past its deadline goes on in the sliced work)
        await broker.bulkWork.idle();
      }
      // a requeued part at the head of the ready list (copied from a snapshot: review-s14-1 R1):
      // another session takes some and rejects them with requeue; the holders have no room for them
      const requeuer = broker.openSession(vhost, {});
      const requeued: Delivery[] = [];
      const toRequeue = rnd(41);
      const requeueSink: ConsumerSink = {
        deliver: (d) => {
          requeued.push(d);
          if (requeued.length === toRequeue) requeuer.cancel('r');
        },
        isWritable: () => requeued.length < toRequeue,
        cancelledByBroker: () => undefined,
      };
      if (toRequeue > 0) {
        requeuer.consume('q', { tag: 'r', noAck: false, exclusive: false, priority: 0, arguments: {} }, requeueSink);
        await broker.bulkWork.idle();
        for (const d of requeued) requeuer.reject(d.tag, true);
      }
      /** a no-ack consumer that takes up to `n` and goes: they leave the queue for good as they are taken */
      const takeNoAck = (n: number, into: Set<number>) => {
        const s = broker.openSession(vhost, {});
        let got = 0;
        const sink: ConsumerSink = {
          deliver: (d) => {
            into.add(index(d));
            if (++got === n) s.cancel('n');
          },
          isWritable: () => got < n,
          cancelledByBroker: () => undefined,
        };
        s.consume('q', { tag: 'n', noAck: true, exclusive: false, priority: 0, arguments: {} }, sink);
        if (got < n) s.cancel('n');
        s.close();
      };
      const heldAtStart = new Set<number>();
      for (const h of holders) for (const d of h.open.values()) heldAtStart.add(index(d));
      expect(heldAtStart.size).toBeGreaterThan(1024);
      const startCount = published;

      const acked = new Set<number>();
      const shown: number[] = [];
      let browse: QueueBrowse | undefined = q.browseWhenReturned(() => undefined);
      expect(browse).toBeDefined();
      const b = browse!;
      browse = undefined;
      let stepping = true;
      const showSome = (n: number) => {
        for (let k = 0; k < n; k++) {
          const e = b.next(Date.now());
          if (e === undefined) return;
          const i = index(e);
          // the queue has settled every ack asked so far: one shown must not be acked
          if (broker.bulkWork.pending === 0) expect(acked.has(i), `m${i} shown after its ack`).toBe(false);
          shown.push(i);
        }
      };
      const browseTurn = (deadline: number) => {
        if (b.done || !stepping) return;
        showSome(1 + rnd(200));
        b.step(deadline, 1 + rnd(300));
        if (b.waitingForReturns) {
          stepping = false;
          b.whenGathered(() => (stepping = true));
        }
        showSome(1 + rnd(200));
      };
      const settleThrough = (h: Holder, tag: number, how: 'ack' | 'nack') => {
        for (const [t, d] of h.open) {
          if (t > tag) continue;
          h.open.delete(t);
          if (how === 'ack') acked.add(index(d));
        }
      };
      const pick = (): Holder | undefined => {
        const live = holders.filter((h) => h.open.size > 0);
        return live.length === 0 ? undefined : live[rnd(live.length)];
      };
      const tagIn = (h: Holder): number => [...h.open.keys()][rnd(h.open.size)]!;

      for (let op = 0; op < 150 && !b.done; op++) {
        const r = rnd(22);
        const h = pick();
        if (r < 6) browseTurn(0);
        else if (r < 8) await turn();
        else if (r === 8) publishSome(1 + rnd(50));
        else if (r >= 20) takeNoAck(1 + rnd(20), acked);
        else if (h === undefined) continue;
        else if (r < 11) {
          const t = tagIn(h);
          acked.add(index(h.open.get(t)!));
          h.open.delete(t);
          h.session.ack(t, false);
        } else if (r < 13) {
          // up to a tag, or all of them (the last tag: the whole book goes to a bulk settle above 512)
          const t = r === 11 ? tagIn(h) : Math.max(...h.open.keys());
          settleThrough(h, t, 'ack');
          h.session.ack(t, true);
        } else if (r < 15) {
          const t = r === 13 ? tagIn(h) : Math.max(...h.open.keys());
          settleThrough(h, t, 'nack');
          h.session.nack(t, true, true);
        } else if (r < 17) {
          const t = tagIn(h);
          h.open.delete(t);
          h.session.reject(t, true);
        } else if (r < 20) {
          // the session goes (its unacked come back: in bulk above 512), another takes its place
          h.open.clear();
          holders.splice(holders.indexOf(h), 1);
          h.session.close();
          hold();
        }
      }
      for (let guard = 0; !b.done; guard++) {
        expect(guard, 'the browse ends').toBeLessThan(100_000);
        await turn();
        browseTurn(Infinity);
      }

      expect(new Set(shown).size, 'each shown once').toBe(shown.length);
      expect(shown.every((i) => i < startCount), 'none published after the start').toBe(true);
      for (let k = 1; k < shown.length; k++) if (shown[k]! <= shown[k - 1]!) expect.fail(`out of order: m${shown[k - 1]} then m${shown[k]}`);
      const seen = new Set(shown);
      const missing = Array.from({ length: startCount }, (_, i) => i).filter((i) => !acked.has(i) && !seen.has(i));
      expect(missing.map((i) => `m${i}`), 'every message not acked is shown').toEqual([]);
    });
  }
});
