/**
 * Issue 18 point 5: what a queued message costs the heap, per protocol. The old generation holds
 * every queued message of a flood, and each of its objects is copied by the scavenges that promote
 * it and visited by every mark-compact's marking: fewer objects per message, shorter pauses of the
 * event loop during a flood (bench/big-queue-blocking.ts --only publish).
 *   node --expose-gc --import tsx bench/queued-message-heap.ts [--count 100000] [--only AMQP,STOMP,MQTT,OpenWire,'AMQP 1.0']
 * For each protocol: its flood client (bench/lib/flood-clients.ts, one-byte messages) publishes
 * --count messages into an empty queue of the in-process broker (in memory); heap snapshots after
 * a full GC before and after give the objects and bytes added per queued message, and the kinds
 * of object that make them up (V8's snapshot type and constructor name, the biggest first).
 * A warm-up flood of 1,000 first (then purged) keeps what is built once (shared property
 * objects, the connection's state, the queue's first block) out of the figures.
 */
import { getHeapSnapshot } from 'node:v8';
import { startBroker } from '../src/index.js';
import { jmsFloodClasspath, publishFloods } from './lib/flood-clients.js';

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const N = Number(arg('--count') ?? 100_000);
const only = arg('--only')?.split(',');
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');

/** live objects by "type name" (count, self bytes), after a full GC */
async function census(): Promise<Map<string, { count: number; bytes: number }>> {
  gc!();
  gc!();
  let text = '';
  for await (const chunk of getHeapSnapshot()) text += chunk;
  const snap = JSON.parse(text) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  text = '';
  const fields = snap.snapshot.meta.node_fields;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const types = snap.snapshot.meta.node_types[0];
  const out = new Map<string, { count: number; bytes: number }>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]!]!;
    // strings and numbers by type only: their names are their contents
    const name = type === 'object' || type === 'closure' || type === 'native' || type === 'hidden' || type === 'array' ? snap.strings[snap.nodes[i + nameAt]!] : '';
    const key = `${type} ${name}`.trim();
    const e = out.get(key) ?? { count: 0, bytes: 0 };
    e.count++;
    e.bytes += snap.nodes[i + sizeAt]!;
    out.set(key, e);
  }
  return out;
}

const b = await startBroker({ engine: 'all', ports: { amqp: 0, stomp: 0, mqtt: 0, openwire: 0 } });
const core = b.core as typeof b.core & { bulkWork?: { pending: number } };
const v = core.vhost('/')!;
const jmsCp = !only || only.includes('OpenWire') ? jmsFloodClasspath() : undefined;
console.log(`heap per queued one-byte message, ${N} queued per protocol, node ${process.version}`);
console.log('| flood | objects per message | heap bytes per message | external bytes per message | biggest kinds (objects per message, bytes per message) |');
console.log('|---|---:|---:|---:|---|');
for (const p of publishFloods(b.urls, b.ports, jmsCp)) {
  const protocol = /\((.*) client\)/.exec(p.label)![1]!;
  if (only && !only.includes(protocol)) continue;
  v.declareQueue(p.queue, { passive: false, durable: false, exclusive: false, autoDelete: false, arguments: {} }, null);
  if (p.queue === 'pub.mqtt') v.bindQueue('pub.mqtt', 'amq.topic', 'pub.mqtt', {}, null);
  const q = v.getQueue(p.queue)!;
  const warm = p.run(1000);
  if (warm === undefined) {
    console.log(`| ${p.label} | skipped | | | |`);
    continue;
  }
  await warm;
  v.purgeQueue(q, null);
  while ((core.bulkWork?.pending ?? 0) > 0) await new Promise((r) => setImmediate(r));
  const before = await census();
  const external0 = process.memoryUsage().external;
  await p.run(N);
  if (q.messageCount < N) throw new Error(`${p.label}: ${q.messageCount} queued, not ${N}`);
  const after = await census();
  const external = (process.memoryUsage().external - external0) / N;
  let objects = 0;
  let bytes = 0;
  const kinds: { key: string; count: number; bytes: number }[] = [];
  for (const [key, a] of after) {
    const o = before.get(key) ?? { count: 0, bytes: 0 };
    const count = a.count - o.count;
    const added = a.bytes - o.bytes;
    objects += count;
    bytes += added;
    if (Math.abs(count) >= N / 20 || Math.abs(added) >= N * 4) kinds.push({ key, count, bytes: added });
  }
  kinds.sort((x, y) => y.bytes - x.bytes);
  const list = kinds.map((k) => `${k.key} ${(k.count / N).toFixed(2)}, ${(k.bytes / N).toFixed(0)} B`).join('; ');
  console.log(`| ${p.label} | ${(objects / N).toFixed(2)} | ${(bytes / N).toFixed(0)} | ${external.toFixed(0)} | ${list} |`);
  v.deleteQueue(p.queue, false, false, null);
}
await b.stop();
process.exit(0);
