import { describe, expect, it } from 'vitest';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { importDefinitionsJson } from '../../src/server/definitions/apply.js';
import { call } from '../helpers/management.js';

/**
 * Classic queue mirroring's policy keys per version.
 * - 3.13: rabbit_mirror_queue_misc registers policy validators for ha-mode, ha-params,
 *   ha-sync-mode, ha-sync-batch-size, ha-promote-on-shutdown and ha-promote-on-failure (and
 *   operator-policy validators for the first three); values are checked by validate_policy/1
 *   and the ha-mode modules (rabbit_mirror_queue_mode_all/exactly/nodes), with these texts.
 *   The deprecated feature classic_queue_mirroring is permitted by default there.
 * - 4.x: mirroring was removed (4.0.1 release notes); nothing validates those keys, so
 *   rabbit_policy:validation0 answers "… are not recognised policy settings" like for any
 *   unknown key (rabbitmq_4_0_deprecations_SUITE:set_cmq_policy asserts this text), and a
 *   definitions file carrying such a policy fails to import (definition_import_SUITE
 *   import_case1/case3, rabbit_definitions:add_policy/3).
 */

async function withBroker(engineVersion: string, body: (b: LocalMQ) => Promise<void>): Promise<void> {
  const broker = await startBroker({ engineVersion });
  try {
    await body(broker);
  } finally {
    await broker.stop();
  }
}

const put = (b: LocalMQ, name: string, definition: Record<string, unknown>, path = 'policies') =>
  call(b, 'PUT', `/api/${path}/%2F/${name}`, { body: { pattern: '^ha\\.', definition, 'apply-to': 'queues' } });

describe('classic mirrored-queue policies (ha-mode …)', () => {
  it('3.13 accepts them as RabbitMQ 3.13 does, and shows them back', async () => {
    await withBroker('3.13', async (b) => {
      expect((await put(b, 'ha-all', { 'ha-mode': 'all', 'ha-sync-mode': 'automatic' })).status).toBe(201);
      expect((await put(b, 'ha-two', { 'ha-mode': 'exactly', 'ha-params': 2, 'ha-promote-on-shutdown': 'when-synced' })).status).toBe(201);
      expect((await put(b, 'ha-nodes', { 'ha-mode': 'nodes', 'ha-params': ['rabbit@a', 'rabbit@b'] })).status).toBe(201);
      expect((await put(b, 'ha-op', { 'ha-mode': 'all' }, 'operator-policies')).status).toBe(201);
      const got = await (await call(b, 'GET', '/api/policies/%2F/ha-two')).json();
      expect(got.definition).toEqual({ 'ha-mode': 'exactly', 'ha-params': 2, 'ha-promote-on-shutdown': 'when-synced' });
    });
  });

  it.each([
    [{ 'ha-mode': 'some' }, '<<"some">> is not a valid ha-mode value'],
    [{ 'ha-mode': 'all', 'ha-params': 2 }, 'ha-mode="all" does not take parameters'],
    [{ 'ha-mode': 'exactly', 'ha-params': 'two' }, 'ha-mode="exactly" takes an integer, <<"two">> given'],
    [{ 'ha-mode': 'nodes', 'ha-params': [] }, 'ha-mode="nodes" list must be non-empty'],
    [{ 'ha-params': 2 }, 'ha-mode must be specified to specify ha-params, ha-sync-mode or ha-promote-on-shutdown'],
    [{ 'ha-mode': 'all', 'ha-sync-mode': 'eager' }, 'ha-sync-mode must be "manual" or "automatic", got <<"eager">>'],
  ])('3.13 refuses %o with 400 and rabbit_mirror_queue_misc\'s text', async (definition, text) => {
    await withBroker('3.13', async (b) => {
      const res = await put(b, 'bad', definition);
      expect(res.status).toBe(400);
      expect((await res.json()).reason).toBe(`Validation failed\n\n${text}\n`);
    });
  });

  for (const engineVersion of ['4.2', '4.3']) {
    it(`${engineVersion} refuses them as unknown settings (400), for policies and operator policies`, async () => {
      await withBroker(engineVersion, async (b) => {
        const res = await put(b, 'ha-all', { 'ha-mode': 'all' });
        expect(res.status).toBe(400);
        expect((await res.json()).reason).toBe('Validation failed\n\n[{<<"ha-mode">>,<<"all">>}] are not recognised policy settings\n');
        const op = await put(b, 'ha-op', { 'ha-mode': 'all' }, 'operator-policies');
        expect(op.status).toBe(400);
        expect((await call(b, 'GET', '/api/policies/%2F/ha-all')).status).toBe(404);
        // the rest of a policy is fine on its own
        expect((await put(b, 'ttl', { 'message-ttl': 1000 })).status).toBe(201);
      });
    });
  }

  it('4.2: a definitions file with a mirroring policy fails to import; 3.13 imports it', async () => {
    const defs = {
      rabbit_version: '3.13.7',
      vhosts: [{ name: '/' }],
      policies: [{ vhost: '/', name: '2-queue-replicas', pattern: '.*', 'apply-to': 'queues', definition: { 'ha-mode': 'exactly', 'ha-params': 2, 'ha-sync-mode': 'automatic' }, priority: 0 }],
    };
    await withBroker('4.2', async (b) => {
      expect(() => importDefinitionsJson(b, defs)).toThrow(/are not recognised policy settings/);
      expect(b.core.policies.get('/', '2-queue-replicas')).toBeUndefined();
    });
    await withBroker('3.13', async (b) => {
      importDefinitionsJson(b, defs);
      expect(b.core.policies.get('/', '2-queue-replicas')?.definition).toMatchObject({ 'ha-mode': 'exactly' });
    });
  });
});
