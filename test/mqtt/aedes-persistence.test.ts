import assert from 'node:assert';
import { describe, expect, it } from 'vitest';
// the suite aedes-persistence ships for third-party persistences (CommonJS, node:test style)
// @ts-expect-error -- abstract.js ships without type declarations
import abstractPersistence from 'aedes-persistence/abstract.js';
import { CorePersistence, NS_RETAINED, NS_SUBSCRIPTIONS, NS_WILLS } from '../../src/protocols/mqtt/persistence.js';

type TestFn = (t: NodeTestLike) => Promise<void> | void;

interface NodeTestLike {
  plan(n: number): void;
  diagnostic(msg: string): void;
  assert: Record<'equal' | 'deepEqual' | 'notEqual' | 'ok', (...args: unknown[]) => void>;
}

/** Skipped tests of the abstract suite, with why (none so far). */
const SKIPPED: Record<string, string> = {};

/** node:test's `test(name, fn)` and its `t` (plan, assert, diagnostic) on top of vitest */
function nodeTestOnVitest(name: string, fn: TestFn): void {
  if (SKIPPED[name]) {
    it.skip(`${name} (skipped: ${SKIPPED[name]})`, () => undefined);
    return;
  }
  it(name, async () => {
    let planned: number | undefined;
    let count = 0;
    const counted =
      (f: (...a: never[]) => void) =>
      (...args: unknown[]) => {
        count++;
        (f as (...a: unknown[]) => void)(...args);
      };
    const t: NodeTestLike = {
      plan: (n) => {
        planned = n;
      },
      diagnostic: () => undefined,
      assert: {
        equal: counted(assert.equal),
        deepEqual: counted(assert.deepEqual),
        notEqual: counted(assert.notEqual),
        ok: counted(assert.ok),
      },
    };
    await fn(t);
    if (planned !== undefined) expect(count, 'assertions run against t.plan').toBe(planned);
  });
}

describe('aedes-persistence abstract suite against CorePersistence', () => {
  (abstractPersistence as (opts: unknown) => void)({
    test: nodeTestOnVitest,
    persistence: () => new CorePersistence(),
    testAsync: true,
  });
});

describe('CorePersistence write-through', () => {
  it('writes retained messages, subscriptions and wills as records and recovers them', async () => {
    const records = new Map<string, Map<string, unknown>>();
    const sink = {
      putRecord(ns: string, key: string, value: unknown) {
        let m = records.get(ns);
        if (!m) records.set(ns, (m = new Map()));
        if (value === null) m.delete(key);
        else m.set(key, JSON.parse(JSON.stringify(value)));
      },
    };
    const p = new CorePersistence(sink);
    await p.setup({ id: 'b1' });
    await p.storeRetained({ cmd: 'publish', topic: 'a/b', payload: Buffer.from('kept'), qos: 1, retain: true });
    await p.storeRetained({ cmd: 'publish', topic: 'a/gone', payload: Buffer.from('x'), qos: 0, retain: true });
    await p.storeRetained({ cmd: 'publish', topic: 'a/gone', payload: Buffer.alloc(0), qos: 0, retain: true });
    await p.addSubscriptions({ id: 'c1', clean: false }, [{ clientId: 'c1', topic: 'x/#', qos: 1 }]);
    await p.putWill({ id: 'c1' }, { cmd: 'publish', topic: 'will/c1', payload: Buffer.from('bye'), qos: 0, retain: false });
    expect([...records.get(NS_RETAINED)!.keys()]).toEqual(['a/b']);
    expect(records.get(NS_SUBSCRIPTIONS)!.get('c1')).toEqual([{ topic: 'x/#', qos: 1 }]);
    expect(records.get(NS_WILLS)!.has('c1')).toBe(true);

    const again = new CorePersistence(undefined, records);
    await again.setup({ id: 'b2' });
    const retained: { topic: string; payload: Buffer }[] = [];
    for await (const r of again.createRetainedStream('#')) retained.push(r);
    expect(retained.map((r) => [r.topic, r.payload.toString()])).toEqual([['a/b', 'kept']]);
    expect(await again.subscriptionsByClient({ id: 'c1' })).toEqual([{ topic: 'x/#', qos: 1 }]);
    expect((await again.subscriptionsByTopic('x/y')).map((s) => s.clientId)).toEqual(['c1']);
    expect((await again.getWill({ id: 'c1' }))?.payload?.toString()).toBe('bye');
  });

  it('does not match $ topics with a leading wildcard', async () => {
    const p = new CorePersistence();
    await p.setup({ id: 'b' });
    await p.storeRetained({ cmd: 'publish', topic: '$SYS/x', payload: Buffer.from('s'), qos: 0, retain: true });
    const got: unknown[] = [];
    for await (const r of p.createRetainedStream('#')) got.push(r);
    expect(got).toEqual([]);
    for await (const r of p.createRetainedStream('$SYS/#')) got.push(r);
    expect(got).toHaveLength(1);
  });
});
