/**
 * Topic routing cost as the number of bindings grows: the trie walks only the branches a
 * key's words can match, so a publish should cost about the same with 10 or 10,000
 * bindings. Compared with the naive way (one regex per binding) to show why.
 * Run: npx tsx bench/topic-routing.bench.ts
 */
import { Bench } from 'tinybench';
import type { Destination } from '../src/core/exchanges/router.js';
import { TopicRouter } from '../src/core/exchanges/topic.js';

const REGIONS = ['eu', 'us', 'ap', 'sa', 'af'];
const KINDS = ['created', 'updated', 'deleted', 'shipped'];

/**
 * n bindings like `orders.<region>.<tenant-i>.<kind>`, with some `*` ones and one `#` per
 * region, so each publish matches a handful of queues whatever n is: the cost measured is
 * finding them, not adding many matches to the result.
 */
function bindingKeys(n: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const region = REGIONS[i % REGIONS.length]!;
    const kind = KINDS[i % KINDS.length]!;
    if (i < REGIONS.length) keys.push(`orders.${region}.#`);
    else if (i % 20 === 0) keys.push(`orders.*.tenant${i}.${kind}`);
    else keys.push(`orders.${region}.tenant${i}.${kind}`);
  }
  return keys;
}

function trieWith(keys: string[]): TopicRouter {
  const router = new TopicRouter();
  keys.forEach((k, i) => {
    const destination: Destination = { kind: 'queue', name: `q${i}` };
    router.add({ destination, routingKey: k, arguments: {}, id: `b${i}` });
  });
  return router;
}

/** the per-binding regex a naive implementation would test every key against */
function regexFor(key: string): RegExp {
  const parts = key.split('.').map((w) => (w === '*' ? '[^.]+' : w === '#' ? '.*' : w.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&')));
  return new RegExp(`^${parts.join('\\.')}$`.replace(/\\\.\.\*/g, '(\\..*)?').replace(/^\^\.\*\\\./, '^(.*\\.)?'));
}

const publishKeys = Array.from({ length: 1000 }, (_, i) => `orders.${REGIONS[i % 5]}.tenant${(i * 37) % 10000}.${KINDS[i % 4]}`);
const out = new Set<Destination>();
const bench = new Bench({ time: 1000 });

for (const n of [10, 1000, 10000]) {
  const keys = bindingKeys(n);
  const trie = trieWith(keys);
  const regexes = keys.map(regexFor);
  bench.add(`trie: 1000 publishes, ${n} bindings`, () => {
    for (const k of publishKeys) {
      out.clear();
      trie.route(k, undefined, out);
    }
  });
  if (n <= 1000) {
    bench.add(`regex per binding: 1000 publishes, ${n} bindings`, () => {
      let matched = 0;
      for (const k of publishKeys) for (const r of regexes) if (r.test(k)) matched++;
      return matched;
    });
  }
}

await bench.run();
console.table(
  bench.tasks.map((t) => {
    const r = t.result as { throughput?: { mean: number }; hz?: number } | undefined;
    const opsPerSec = r?.throughput?.mean ?? r?.hz ?? 0;
    return { task: t.name, 'publishes/s': Math.round(opsPerSec * 1000).toLocaleString('en-US') };
  }),
);
