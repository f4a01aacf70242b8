import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import amqplib from 'amqplib';
import { startBroker, type LocalMQ } from '../../src/index.js';
import { exportDefinitionsJson, importDefinitionsJson } from '../../src/server/definitions/apply.js';
import { setup as vitestSetup } from '../../src/testing/vitest.js';
import { globalSetup as jestSetup, globalTeardown as jestTeardown } from '../../src/testing/jest.js';
import { connect, take } from '../helpers/amqp.js';

const FIXTURE = new URL('../fixtures/rabbitmq/rabbitmq-3.10-definitions.json', import.meta.url);

let broker: LocalMQ;
beforeAll(async () => {
  broker = await startBroker();
});
afterAll(async () => {
  await broker.stop();
});
beforeEach(() => {
  broker.reset();
});

describe('startBroker', () => {
  it('listens on free loopback ports and reports its URLs', async () => {
    expect(broker.urls.amqp).toMatch(/^amqp:\/\/localhost:\d+$/);
    expect(broker.urls.http).toMatch(/^http:\/\/localhost:\d+$/);
    const other = await startBroker();
    try {
      expect(other.urls.amqp).not.toBe(broker.urls.amqp);
      const conn = await connect(other);
      await conn.close();
    } finally {
      await other.stop();
    }
  });

  it('stop() closes clients with 320 CONNECTION_FORCED and frees the port', async () => {
    const b = await startBroker();
    const conn = await connect(b);
    // amqplib treats 320 as a graceful close: 'close' with the error, no 'error' event
    const closed = new Promise<Error>((resolve) => conn.once('close', resolve));
    await b.stop();
    const err = (await closed) as Error & { code?: number };
    expect(err.code).toBe(320);
    expect(err.message).toMatch(/CONNECTION_FORCED - broker forced connection closure with reason 'shutdown'/);
    await expect(amqplib.connect(b.urls.amqp!)).rejects.toThrow(/ECONNREFUSED/);
    await b.stop(); // twice is harmless
  });
});

describe('test helpers', () => {
  it('queues() and queue(name).messages() peek without consuming', async () => {
    const conn = await connect(broker);
    const ch = await conn.createConfirmChannel();
    await ch.assertQueue('peek.q', { durable: false, arguments: { 'x-max-priority': 3 } });
    ch.sendToQueue('peek.q', Buffer.from('one'), { contentType: 'text/plain', headers: { n: 1 } });
    ch.sendToQueue('peek.q', Buffer.from('two'), { messageId: 'm2' });
    await ch.waitForConfirms();
    const info = broker.queues().find((q) => q.name === 'peek.q');
    expect(info).toMatchObject({ vhost: '/', durable: false, messages: 2, consumers: 0, arguments: { 'x-max-priority': 3 } });
    const msgs = broker.queue('peek.q').messages();
    expect(msgs.map((m) => m.text())).toEqual(['one', 'two']);
    expect(msgs[0]!.properties.headers).toEqual({ n: 1 });
    expect(msgs[1]!.properties.messageId).toBe('m2');
    // peek(): the same, built a slice at a time (for queues of millions)
    const peeked = await broker.queue('peek.q').peek();
    expect(peeked.map((m) => [m.text(), m.properties.messageId, m.redelivered])).toEqual([['one', undefined, false], ['two', 'm2', false]]);
    expect((await broker.queue('peek.q').peek(1)).map((m) => m.text())).toEqual(['one']);
    expect(await broker.queue('nope').peek()).toEqual([]);
    // still there for a consumer
    const got = await ch.get('peek.q', { noAck: true });
    expect(got && got.content.toString()).toBe('one');
    expect(broker.queue('peek.q').purge()).toBe(1);
    expect(broker.queue('peek.q').messageCount()).toBe(0);
    expect(broker.queue('nope').exists()).toBe(false);
    await conn.close();
  });

  it('publish() from the server side reaches an amqplib consumer', async () => {
    const conn = await connect(broker);
    const ch = await conn.createChannel();
    await ch.assertExchange('srv.x', 'topic', { durable: false });
    await ch.assertQueue('srv.q', { durable: false });
    await ch.bindQueue('srv.q', 'srv.x', 'order.*');
    expect(broker.publish('srv.x', 'order.created', 'hello', { contentType: 'text/plain', headers: { k: 'v' } })).toBe(true);
    expect(broker.publish('srv.x', 'nothing.here', 'lost')).toBe(false);
    const [m] = await take<amqplib.ConsumeMessage>(1, (push) => void ch.consume('srv.q', (msg) => msg && push(msg), { noAck: true }));
    expect(m!.content.toString()).toBe('hello');
    expect(m!.fields.routingKey).toBe('order.created');
    expect(m!.properties.contentType).toBe('text/plain');
    expect(m!.properties.headers).toMatchObject({ k: 'v' });
    await conn.close();
  });

  it('waitFor() resolves for a message already queued, one published later, and one taken by a consumer', async () => {
    const conn = await connect(broker);
    const ch = await conn.createChannel();
    await ch.assertQueue('wait.q', { durable: false });
    broker.publish('', 'wait.q', 'early');
    await expect(broker.waitFor('wait.q', (m) => m.text() === 'early')).resolves.toMatchObject({ routingKey: 'wait.q' });
    const later = broker.waitFor('wait.q', (m) => m.text() === 'later');
    ch.sendToQueue('wait.q', Buffer.from('later'));
    expect((await later).text()).toBe('later');
    // a consumer that takes it at once: waitFor still sees it go by
    await ch.consume('wait.q', () => undefined, { noAck: true });
    const consumed = broker.waitFor('wait.q', (m) => m.text() === 'consumed');
    ch.sendToQueue('wait.q', Buffer.from('consumed'));
    expect((await consumed).text()).toBe('consumed');
    await expect(broker.waitFor('wait.q', (m) => m.text() === 'never', 50)).rejects.toThrow(/no matching message in queue 'wait.q' within 50 ms/);
    await conn.close();
  });

  it('connections() lists live clients', async () => {
    const conn = await connect(broker);
    expect(broker.connections().map((c) => ({ protocol: c.protocol, user: c.user, vhost: c.vhost }))).toContainEqual({ protocol: 'amqp', user: 'guest', vhost: '/' });
    await conn.close();
    expect(broker.connections().filter((c) => c.protocol === 'amqp')).toHaveLength(0);
  });

  it('events report published, delivered and acked messages', async () => {
    const seen: string[] = [];
    const onPublished = (m: { body: Buffer }, n: number) => seen.push(`published ${m.body} to ${n}`);
    const onDelivered = (q: { name: string }) => seen.push(`delivered from ${q.name}`);
    const onSettled = (q: { name: string }, _e: unknown, how: string) => seen.push(`${how} in ${q.name}`);
    broker.events.on('published', onPublished);
    broker.events.on('delivered', onDelivered);
    broker.events.on('settled', onSettled);
    const conn = await connect(broker);
    const ch = await conn.createChannel();
    await ch.assertQueue('ev.q', { durable: false });
    const acked = new Promise<void>((resolve) => broker.events.once('settled', () => resolve()));
    await ch.consume('ev.q', (msg) => msg && ch.ack(msg));
    ch.sendToQueue('ev.q', Buffer.from('x'));
    await acked;
    broker.events.off('published', onPublished);
    broker.events.off('delivered', onDelivered);
    broker.events.off('settled', onSettled);
    // 'published' fires once the message is in its queues, so a waiting consumer may get it first
    expect(seen).toHaveLength(3);
    expect(seen).toEqual(expect.arrayContaining(['published x to 1', 'delivered from ev.q']));
    expect(seen[2]).toBe('acked in ev.q');
    await conn.close();
  });

  it('reset() drops queues, exchanges and messages but keeps listeners and users', async () => {
    const conn = await connect(broker);
    const ch = await conn.createChannel();
    await ch.assertExchange('reset.x', 'fanout', { durable: true });
    await ch.assertQueue('reset.q', { durable: true });
    await ch.bindQueue('reset.q', 'reset.x', '');
    broker.publish('reset.x', '', 'x');
    await conn.close();
    broker.reset();
    expect(broker.queues()).toEqual([]);
    expect(broker.core.vhost('/')!.getExchange('reset.x')).toBeUndefined();
    expect(broker.core.vhost('/')!.getExchange('amq.topic')).toBeDefined();
    const again = await connect(broker);
    const ch2 = await again.createChannel();
    ch2.on('error', () => undefined);
    await expect(ch2.checkQueue('reset.q')).rejects.toThrow(/NOT_FOUND/);
    await again.close().catch(() => undefined);
  });
});

describe('definitions on a running broker', () => {
  it("loads RabbitMQ 3.10's export whole; its users log in with their passwords; the export has the same shape", async () => {
    // as on Amazon MQ's 3.13 (on 4.2+ the quorum default refuses its durable x-max-priority
    // queue, as RabbitMQ 4 does: test/server/engine-versions.test.ts)
    const b = await startBroker({ engineVersion: '3.13' });
    try {
      const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown[]>;
      const summary = importDefinitionsJson(b, fixture);
      expect(summary).toEqual({ users: 2, vhosts: 2, permissions: 3, policies: 1, queues: 6, exchanges: 6, bindings: 6 });
      const app = await connect(b, { vhost: 'orders', user: 'app', password: 'app-secret-pass-1' });
      const ch = await app.createConfirmChannel();
      // the topic exchange -> e2e binding -> queue route from the file works
      ch.publish('orders.events', 'order.created', Buffer.from('o-1'));
      await ch.waitForConfirms();
      expect(b.queue('orders.created', 'orders').messages().map((m) => m.text())).toEqual(['o-1']);
      await app.close();
      const guest = await connect(b, { user: 'guest', password: 'guest' });
      await guest.close();

      const out = exportDefinitionsJson(b);
      for (const key of Object.keys(fixture)) expect(out).toHaveProperty(key);
      const names = (list: unknown) => (list as { name: string }[]).map((x) => x.name).sort();
      expect(names(out['queues'])).toEqual(names(fixture['queues']));
      expect(names(out['exchanges'])).toEqual(names(fixture['exchanges']));
      expect(names(out['users'])).toEqual(names(fixture['users']));
      expect(out['policies']).toEqual(fixture['policies']!.map((p) => expect.objectContaining(p as object)));
      const sortB = (l: unknown) => (l as Record<string, unknown>[]).map((x) => JSON.stringify([x['source'], x['destination'], x['routing_key'], x['arguments']])).sort();
      expect(sortB(out['bindings'])).toEqual(sortB(fixture['bindings']));
      const app2 = (out['users'] as { name: string; password_hash: string }[]).find((u) => u.name === 'app');
      expect(app2!.password_hash).toBe('8Qla9+N2vWB5Yjgd5jxUWVxPOB5IH+kiDMAZ9Z3vvRJvLe5/');

      // and it imports into a fresh broker of the same version, with the same export back
      const c = await startBroker({ engineVersion: '3.13' });
      try {
        importDefinitionsJson(c, out);
        const again = exportDefinitionsJson(c);
        expect(again).toEqual(out);
      } finally {
        await c.stop();
      }
    } finally {
      await b.stop();
    }
  });

  it('refuses a binding to a missing queue, naming it', () => {
    expect(() =>
      importDefinitionsJson(broker, {
        vhosts: [{ name: '/' }],
        bindings: [{ source: 'amq.direct', vhost: '/', destination: 'missing', destination_type: 'queue', routing_key: 'k', arguments: {} }],
      }),
    ).toThrow(/binding from 'amq.direct' to queue 'missing' in vhost '\/' was refused: NOT_FOUND - no queue 'missing'/);
  });

  it('serves GET and POST /api/definitions to an administrator, 401 otherwise', async () => {
    const url = `${broker.urls.http}/api/definitions`;
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: basic('guest', 'wrong') })).status).toBe(401);
    const body = { vhosts: [{ name: 'api-vh' }], queues: [{ name: 'api.q', vhost: 'api-vh', durable: true, auto_delete: false, arguments: {} }] };
    const post = await fetch(url, { method: 'POST', headers: { ...basic('guest', 'guest'), 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(post.status).toBe(204);
    const got = (await (await fetch(url, { headers: { authorization: `Bearer ${broker.controlToken}` } })).json()) as { queues: { name: string }[] };
    expect(got.queues.map((q) => q.name)).toContain('api.q');
    const bad = await fetch(url, { method: 'POST', headers: basic('guest', 'guest'), body: '{"queues": 3}' });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: 'bad_request', reason: expect.stringMatching(/queues/) });
    broker.core.deleteVhost('api-vh');
  });
});

describe('global setups', () => {
  it('localmq/vitest starts a broker, exports and provides its URLs, and stops it', async () => {
    const provided: Record<string, unknown> = {};
    const saved = { ...process.env };
    try {
      const teardown = await vitestSetup({ provide: (k, v) => (provided[k] = v) });
      expect(process.env['AMQP_URL']).toMatch(/^amqp:\/\/guest:guest@localhost:\d+$/);
      expect(provided['AMQP_URL']).toBe(process.env['AMQP_URL']);
      expect(provided).toHaveProperty('STOMP_URL');
      expect(provided).toHaveProperty('MQTT_URL');
      const conn = await amqplib.connect(process.env['AMQP_URL']!);
      await conn.close();
      await teardown();
      await expect(amqplib.connect(process.env['AMQP_URL']!)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      process.env = saved;
    }
  });

  it('localmq/jest starts a broker in globalSetup and stops it in globalTeardown', async () => {
    const saved = { ...process.env };
    try {
      await jestSetup();
      const conn = await amqplib.connect(process.env['AMQP_URL']!);
      await conn.close();
      await jestTeardown();
      await expect(amqplib.connect(process.env['AMQP_URL']!)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      process.env = saved;
    }
  });
});

describe('a default jest project using localmq/jest; require(\'localmq\')', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  let work: string | undefined;
  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs its tests (one against the global setup\'s broker, one that requires localmq and starts its own); plain Node requires localmq too', () => {
    work = mkdtempSync(join(tmpdir(), 'localmq-jest-'));
    const project = join(work, 'project');
    cpSync(join(root, 'test/fixtures/jest-project'), project, { recursive: true });
    // LocalMQ as installed: a directory of the project's node_modules holding the built
    // JavaScript under the package's exports, its dependencies beside it. jest (no
    // --experimental-vm-modules) loads the CommonJS build for both: `localmq/jest` and
    // require('localmq') resolve through the exports' `require` condition. Installed there (not
    // linked in from elsewhere, which jest resolves to a path outside node_modules), jest leaves
    // the package untransformed, as for any installed package: linked, babel-jest transformed
    // all ~250 files of the build on a cold cache (each run's directory is new) inside the
    // 5 s of jest's default test timeout (4.9 s measured under load)
    const pkg = join(project, 'node_modules/localmq');
    mkdirSync(pkg, { recursive: true });
    const build = spawnSync(process.execPath, [join(root, 'scripts/build-cjs.mjs'), join(pkg, 'cjs')], { cwd: root, encoding: 'utf8' });
    expect(existsSync(join(pkg, 'cjs/testing/jest.js')), build.stdout + build.stderr).toBe(true);
    expect(existsSync(join(pkg, 'cjs/index.js'))).toBe(true);
    writeFileSync(join(pkg, 'package.json'), readFileSync(join(root, 'package.json')));
    symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
    symlinkSync(join(root, 'node_modules/amqplib'), join(project, 'node_modules/amqplib'), 'dir');
    const run = spawnSync(process.execPath, [join(root, 'node_modules/jest/bin/jest.js'), '--ci', '--rootDir', project], {
      cwd: project,
      encoding: 'utf8',
      env: { ...process.env, AMQP_URL: '', STOMP_URL: '', MQTT_URL: '' },
    });
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).toMatch(/Tests:\s+2 passed, 2 total/);

    // CommonJS: require('localmq') and startBroker(), in a .cjs script of the project
    writeFileSync(
      join(project, 'start.cjs'),
      `const { startBroker } = require('localmq');
       const amqplib = require('amqplib');
       startBroker().then(async (broker) => {
         const conn = await amqplib.connect(broker.urls.amqp.replace('amqp://', 'amqp://guest:guest@'));
         await conn.close();
         console.log('required', broker.urls.amqp);
         await broker.stop();
       });`,
    );
    const cjs = spawnSync(process.execPath, [join(project, 'start.cjs')], { cwd: project, encoding: 'utf8' });
    expect(cjs.status, cjs.stdout + cjs.stderr).toBe(0);
    expect(cjs.stdout).toMatch(/^required amqp:\/\/localhost:\d+$/m);
  }, 360_000); // builds the CommonJS package and runs jest in a child: minutes on a loaded 2-core machine
});
