import { expect, it } from 'vitest';
import { SeqTrail } from '../../src/core/seq-trail.js';
import { Collector, coreBroker, declareQueue, publish } from './helpers.js';

// SeqTrail (issue 18, session 12): a queue delivers what is ahead of every message still on its
// way back by the trail's bound; a bound above a message still to come would let a later message
// overtake it. Random delivery orders (requeued messages delivered again: the order drops), random
// settles, prunes and splits: the bound is never above the lowest seq still to come.

/** a small deterministic generator (mulberry32) */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

for (let seed = 1; seed <= 20; seed++) {
  it(`never bounds above a delivery still to come back (seed ${seed})`, () => {
    const rnd = random(seed);
    const trail = new SeqTrail();
    // the book: tag -> seq, in tag order
    const book = new Map<number, number>();
    let seq = 0;
    let tag = 0;
    for (let n = 0; n < 3000; n++) {
      // mostly the next in the queue, sometimes an older one delivered again
      const s = rnd() < 0.1 ? Math.floor(rnd() * seq) : ++seq;
      book.set(++tag, s);
      if (trail.note(tag, s)) trail.prune(book.keys().next().value!);
      // settled one by one, mostly the oldest
      if (rnd() < 0.4 && book.size) {
        const keys = [...book.keys()];
        book.delete(rnd() < 0.7 ? keys[0]! : keys[Math.floor(rnd() * keys.length)]!);
      }
    }
    // a requeue of the book up to a tag (nack multiple) or of all of it (a channel closed)
    const cut = rnd() < 0.5 ? tag : Math.floor(tag / 2 + rnd() * (tag / 2));
    const taken = [...book].filter(([t]) => t <= cut);
    const part = (cut === tag ? trail.takeAll() : trail.takeThrough(cut))!;
    // coming back in tag order: before each, the bound is at most the lowest still to come
    for (let k = 0; k < taken.length; k++) {
      const rest = Math.min(...taken.slice(k).map(([, s]) => s));
      const [lastTag, lastSeq] = k === 0 ? [0, undefined] : taken[k - 1]!;
      expect(part.floorAfter(lastTag, lastSeq)).toBeLessThanOrEqual(rest);
      expect(part.floorAfter(lastTag, undefined)).toBeLessThanOrEqual(rest);
    }
    // what the consumer keeps is still bounded by its trail
    const kept = [...book].filter(([t]) => t > cut);
    if (kept.length) expect(trail.takeAll()!.floorAfter(0, undefined)).toBeLessThanOrEqual(Math.min(...kept.map(([, s]) => s)));
  });
}

it('a consumer taking from the head in order: the bound follows what came back', () => {
  const trail = new SeqTrail();
  for (let t = 1; t <= 1000; t++) trail.note(t, 100 + t);
  const all = trail.takeAll()!;
  expect(all.floorAfter(0, undefined)).toBe(101);
  expect(all.floorAfter(500, 600)).toBe(600);
  // one drop (a requeued message delivered again) after: it bounds everything before it
  const again = new SeqTrail();
  for (let t = 1; t <= 10; t++) again.note(t, 100 + t);
  again.note(11, 5);
  for (let t = 12; t <= 20; t++) again.note(t, 100 + t);
  const part = again.takeAll()!;
  expect(part.floorAfter(5, 105)).toBe(5);
  expect(part.floorAfter(11, 5)).toBe(5);
  expect(part.floorAfter(15, 115)).toBe(115);
});

// review-s12-1 F1: one old delivery left unacked while the consumer rejects the others with
// requeue in a loop kept a drop per cycle for as long as the channel lived (2M cycles: 2 000 001
// drops, +45 MiB). Past its cap the trail gives up (a requeue of its deliveries holds the queue, as
// before the trails) and starts afresh once nothing older than the delivery noted is held.
it('stays bounded while an old delivery stays unacked and the rest are rejected with requeue in a loop; starts afresh once it is acked', () => {
  const { broker, vhost } = coreBroker();
  declareQueue(vhost, 'q');
  for (let i = 0; i < 3; i++) publish(vhost, '', 'q', `m${i}`);
  const s = broker.openSession(vhost, {});
  s.setPrefetch(3, false);
  const sink = new Collector();
  const c = s.consume('q', { tag: 'c', noAck: false, exclusive: false, priority: 0, arguments: {} }, sink);
  const first = sink.deliveries[0]!;
  // the two latest rejected with requeue, delivered again at once: each cycle's first redelivery is lower than the one before it
  for (let cycle = 0; cycle < 20_000; cycle++) {
    const [a, b] = sink.deliveries.slice(-2);
    s.reject(b!.tag, true);
    s.reject(a!.tag, true);
  }
  expect(sink.deliveries.length).toBe(3 + 2 * 20_000);
  expect(c.trail!.drops).toBeLessThanOrEqual(1024);
  // a requeue of them now gets no bound (the queue holds what is behind them until they are back)
  s.ack(first.tag, false);
  // once nothing older than its fresh trail is held (the two held now are delivered again), that trail takes over
  for (let cycle = 0; cycle < 2; cycle++) {
    const [a, b] = sink.deliveries.slice(-2);
    s.reject(b!.tag, true);
    s.reject(a!.tag, true);
  }
  expect(c.trail!.drops).toBeLessThanOrEqual(1024);
  expect(c.trail!.takeAll()).toBeDefined();
});
