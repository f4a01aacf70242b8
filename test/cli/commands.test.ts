import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { parseEndpoints, runCli, startForeground, useCliScratch } from '../helpers/cli.js';
import { isAlive } from '../../src/process-alive.js';

const FIXTURE = new URL('../fixtures/rabbitmq/rabbitmq-3.10-definitions.json', import.meta.url);
const { tempDir, children } = useCliScratch('localmq-cli-');

/** amqp://localhost:N with credentials */
function withLogin(url: string, user = 'guest', password = 'guest', vhost = ''): string {
  return url.replace('amqp://', `amqp://${user}:${password}@`) + (vhost ? `/${encodeURIComponent(vhost)}` : '');
}

async function roundTrip(url: string, queue = 'cli.q'): Promise<string> {
  const conn = await amqplib.connect(url);
  const ch = await conn.createChannel();
  await ch.assertQueue(queue, { durable: false });
  ch.sendToQueue(queue, Buffer.from('via the CLI broker'));
  const msg = await new Promise<amqplib.ConsumeMessage>((resolve) => void ch.consume(queue, (m) => m && resolve(m), { noAck: true }));
  await conn.close();
  return msg.content.toString();
}

describe('localmq start (foreground), wait, status, definitions, stop', () => {
  it('serves AMQP, answers wait and status, exports and imports definitions, and stops cleanly', async () => {
    const cwd = tempDir();
    const run = join(cwd, 'run');
    // RabbitMQ 3.10's export loads whole on 3.13; on 4.2+ the quorum default refuses its
    // durable x-max-priority queue, as RabbitMQ 4 does (test/server/engine-versions.test.ts)
    const fg = await startForeground(['--in-memory', '--free-ports', '--run-dir', run, '--engine-version', '3.13', '--disk-free-limit', '1GB'], { cwd });
    children.push(fg);
    expect(fg.stdout()).toMatch(/^LocalMQ \S+ \(engine: all\) is running, pid \d+/);
    expect(fg.stdout()).toMatch(/Credentials +guest \/ guest \(administrator, loopback only\)/);
    expect(fg.stdout()).toMatch(/Data dir +in memory/);
    const amqp = fg.endpoints.get('AMQP')!;
    expect(amqp).toMatch(/^amqp:\/\/localhost:\d+$/);
    expect(fg.endpoints.get('Management console and API')).toMatch(/^http:\/\/localhost:\d+$/);

    const wait = await runCli(['wait', '--run-dir', run, '--timeout', '10'], { cwd });
    expect(wait.status).toBe(0);
    expect(wait.stdout).toMatch(new RegExp(`^ready: amqp ${new URL(amqp).port}`));

    expect(await roundTrip(withLogin(amqp))).toBe('via the CLI broker');

    const status = await runCli(['status', '--run-dir', run, '--json'], { cwd });
    expect(status.status).toBe(0);
    const s = JSON.parse(status.stdout) as { running: boolean; pid: number; listeners: { key: string; up: boolean }[]; totals: { queues: number }; disk: unknown };
    expect(s).toMatchObject({ running: true, pid: fg.child.pid });
    // --disk-free-limit (RabbitMQ's disk_free_limit) as the node shows it; in memory nothing is monitored
    expect(s.disk).toMatchObject({ limit: 1e9, alarm: false, free: expect.any(Number) });
    expect(s.listeners.every((l) => l.up)).toBe(true);
    expect(s).not.toHaveProperty('controlToken');
    const text = await runCli(['status', '--run-dir', run], { cwd });
    expect(text.stdout).toMatch(/^running: pid \d+, up /);
    expect(text.stdout).toMatch(/amqp +\d+ +accepting/);

    // the real RabbitMQ export loads whole over the CLI; its users log in with their passwords
    const imp = await runCli(['definitions', 'import', fileURLToPathString(FIXTURE), '--run-dir', run], { cwd });
    expect(imp.status, imp.stderr).toBe(0);
    expect(imp.stderr).toMatch(/imported 2 users, 2 vhosts, 6 queues, 6 exchanges, 6 bindings, 1 policies/);
    const app = await amqplib.connect(withLogin(amqp, 'app', 'app-secret-pass-1', 'orders'));
    const ch = await app.createChannel();
    await ch.checkQueue('orders.created');
    await app.close();

    const exported = join(cwd, 'export.json');
    const exp = await runCli(['definitions', 'export', exported, '--run-dir', run], { cwd });
    expect(exp.status, exp.stderr).toBe(0);
    const out = JSON.parse(readFileSync(exported, 'utf8')) as Record<string, unknown[]>;
    const fixture = JSON.parse(readFileSync(FIXTURE, 'utf8')) as Record<string, unknown[]>;
    for (const key of Object.keys(fixture)) expect(out).toHaveProperty(key);
    // the fixture's 6 and the round trip's cli.q (non-exclusive queues are exported, durable or not)
    expect((out['queues'] as { name: string }[]).map((q) => q.name).sort()).toEqual([...(fixture['queues'] as { name: string }[]).map((q) => q.name), 'cli.q'].sort());
    expect(out['bindings']!.length).toBe(6);

    // round trip: what was exported imports into a second broker and exports the same
    const run2 = join(cwd, 'run2');
    const second = await startForeground(['--in-memory', '--free-ports', '--run-dir', run2, '--definitions', exported, '--engine-version', '3.13'], { cwd });
    children.push(second);
    const exported2 = join(cwd, 'export2.json');
    expect((await runCli(['definitions', 'export', exported2, '--run-dir', run2], { cwd })).status).toBe(0);
    const out2 = JSON.parse(readFileSync(exported2, 'utf8')) as Record<string, unknown>;
    expect(out2).toEqual(out);
    expect((await runCli(['stop', '--run-dir', run2], { cwd })).status).toBe(0);

    const stop = await runCli(['stop', '--run-dir', run], { cwd });
    expect(stop.status).toBe(0);
    expect(stop.stdout).toMatch(/^stopped \(pid \d+\)/);
    expect(await fg.exited).toBe(0);
    expect(existsSync(join(run, 'localmq.state.json'))).toBe(false);
    expect(existsSync(join(run, 'localmq.pid'))).toBe(false);
    // stop and status with nothing running
    expect((await runCli(['stop', '--run-dir', run], { cwd })).stdout).toMatch(/no broker is running/);
    const gone = await runCli(['status', '--run-dir', run], { cwd });
    expect(gone.status).toBe(3);
    expect(gone.stderr).toMatch(/^localmq: no broker is running from /);
  }, 60_000);

  it('on SIGINT closes AMQP clients with 320 CONNECTION_FORCED and exits 0', async () => {
    const cwd = tempDir();
    const fg = await startForeground(['--in-memory', '--free-ports'], { cwd });
    children.push(fg);
    const conn = await amqplib.connect(withLogin(fg.endpoints.get('AMQP')!));
    const closed = new Promise<Error & { code?: number }>((resolve) => conn.once('close', resolve));
    fg.child.kill('SIGINT');
    expect((await closed).code).toBe(320);
    expect(await fg.exited).toBe(0);
  });
});

describe('localmq start --detach', () => {
  it('returns once ready, keeps pid and log in the data dir, and stops on localmq stop', async () => {
    const cwd = tempDir();
    // a 3.10 export: loads whole on 3.13 (4.2's quorum default refuses its x-max-priority queue)
    const start = await runCli(['start', '--detach', '--free-ports', '--engine-version', '3.13', '--definitions', fileURLToPathString(FIXTURE)], { cwd });
    expect(start.status, start.stderr).toBe(0);
    const endpoints = parseEndpoints(start.stdout);
    expect(start.stdout).toMatch(new RegExp(`Data dir +${join(cwd, '.localmq').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(start.stdout).toMatch(/Running in the background/);
    const pid = Number(readFileSync(join(cwd, '.localmq/localmq.pid'), 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(readFileSync(join(cwd, '.localmq/localmq.log'), 'utf8')).toMatch(/definitions imported/);
    expect((await runCli(['wait'], { cwd })).status).toBe(0);
    expect(await roundTrip(withLogin(endpoints.get('AMQP')!, 'app', 'app-secret-pass-1', 'orders'), 'app.q')).toBe('via the CLI broker');
    const again = await runCli(['start', '--detach', '--free-ports'], { cwd });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^localmq: a broker is already running from .*\(pid \d+\)/);
    const stop = await runCli(['stop'], { cwd });
    expect(stop.status).toBe(0);
    expect(isAlive(pid)).toBe(false);
  }, 60_000);
});

describe('localmq start --disk-free-limit (RabbitMQ\'s disk_free_limit)', () => {
  it('a limit above the free space of the data dir\'s disk: the alarm is logged and status shows it', async () => {
    const cwd = tempDir();
    const fg = await startForeground(['--free-ports', '--data-dir', join(cwd, 'data'), '--disk-free-limit', '100000TB', '--log-format', 'text'], { cwd });
    children.push(fg);
    // logged (on stderr) before the endpoint table (on stdout): the two pipes are read in any order
    const insufficient = /Free disk space is insufficient\. Free bytes: \d+\. Limit: 100000000000000000/;
    await new Promise<void>((resolve) => {
      if (insufficient.test(fg.stderr())) return resolve();
      fg.child.stderr!.on('data', () => insufficient.test(fg.stderr()) && resolve());
    });
    const text = await runCli(['status', '--data-dir', join(cwd, 'data')], { cwd });
    expect(text.stdout).toMatch(/^ {2}disk free \d+ MiB, limit 95367431641 MiB, ALARM \(disk\): publishers blocked$/m);
    expect(text.stdout).toMatch(/^ {2}memory [\d.]+ MiB of \d+ MiB high watermark$/m);
    const json = JSON.parse((await runCli(['status', '--data-dir', join(cwd, 'data'), '--json'], { cwd })).stdout) as { disk: unknown };
    expect(json.disk).toMatchObject({ limit: 1e17, alarm: true, free: expect.any(Number) });
    fg.child.kill('SIGTERM');
    expect(await fg.exited).toBe(0);
  }, 60_000);
});

describe('errors: one line, what and what to do, non-zero exit', () => {
  const expectOneLine = (stderr: string) => {
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).not.toMatch(/\n\s+at /);
  };

  it('a port in use', async () => {
    const cwd = tempDir();
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['start', '--in-memory', '--amqp-port', String(port), '--host', '127.0.0.1', '--free-ports'], { cwd });
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`localmq: port ${port} on 127.0.0.1 is already in use: stop whatever holds it, or pass --amqp-port <port> (0 picks a free one)\n`);
      // detached, the parent reports the child's reason
      const d = await runCli(['start', '--detach', '--in-memory', '--amqp-port', String(port), '--host', '127.0.0.1', '--free-ports'], { cwd });
      expect(d.status).toBe(1);
      expect(d.stderr).toMatch(new RegExp(`^localmq: port ${port} on 127.0.0.1 is already in use`));
      expectOneLine(d.stderr);
    } finally {
      blocker.close();
    }
  });

  it('bad values from flags, the environment and the config file, with exit code 2', async () => {
    const cwd = tempDir();
    const flag = await runCli(['start', '--amqp-port', 'abc'], { cwd });
    expect(flag.status).toBe(2);
    expect(flag.stderr).toBe(`localmq: --amqp-port must be a port number 0-65535 (0 picks a free port) or 'off', got "abc"\n`);
    const env = await runCli(['start'], { cwd, env: { LOCALMQ_LOG_LEVEL: 'loud' } });
    expect(env.status).toBe(2);
    expect(env.stderr).toBe('localmq: LOCALMQ_LOG_LEVEL must be one of silent, error, warn, info, debug, trace, got "loud"\n');
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ engine: 'ibmmq' }));
    const file = await runCli(['start', '--config', 'bad.json'], { cwd });
    expect(file.status).toBe(2);
    expect(file.stderr).toBe(`localmq: config file setting 'engine' must be one of rabbitmq, activemq, all, got "ibmmq"\n`);
    writeFileSync(join(cwd, 'typo.json'), '{"prots": {}}');
    const typo = await runCli(['start', '--config', 'typo.json'], { cwd });
    expect(typo.status).toBe(2);
    expect(typo.stderr).toMatch(/^localmq: config file .*typo.json: unknown setting 'prots'/);
    const missing = await runCli(['start', '--config', 'nope.json'], { cwd });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/^localmq: cannot read config file nope.json: ENOENT/);
    const defs = await runCli(['start', '--in-memory', '--free-ports', '--definitions', 'nope.json'], { cwd });
    expect(defs.status).toBe(2);
    // structured log lines may come first; the last line is the one clear error
    expect(defs.stderr).toMatch(/(^|\n)localmq: cannot read definitions file .*nope.json: ENOENT; fix the file or leave out --definitions\n$/);
  });

  it('a data dir that cannot be used', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'a-file'), 'not a directory');
    const r = await runCli(['start', '--data-dir', join(cwd, 'a-file'), '--free-ports'], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^localmq: cannot use data dir .*a-file \(EEXIST\): pass --data-dir with a directory you can write, or --in-memory\n$/);
  });

  it('wait with no broker gives up with the reason', async () => {
    const cwd = tempDir();
    const r = await runCli(['wait', '--timeout', '0.2'], { cwd });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^localmq: not ready after 0.2 s: no broker has started from .*\.localmq yet/);
  });
});

describe('settings precedence: flags > env > config file > defaults', () => {
  it('a flag beats the environment, which beats the config file', async () => {
    const cwd = tempDir();
    // the file asks for a port in use, the environment for a free one: the environment wins
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const busy = (blocker.address() as net.AddressInfo).port;
    writeFileSync(join(cwd, 'localmq.json'), JSON.stringify({ ports: { amqp: busy, http: 0 }, engine: 'bogus', inMemory: true, hosts: ['127.0.0.1'] }));
    try {
      const fg = await startForeground(['--config', 'localmq.json', '--engine', 'rabbitmq'], { cwd, env: { LOCALMQ_AMQP_PORT: '0', LOCALMQ_ENGINE: 'also-bogus' } });
      children.push(fg);
      expect(new URL(fg.endpoints.get('AMQP')!).port).not.toBe(String(busy));
      expect(fg.stdout()).toMatch(/engine: rabbitmq/);
      fg.child.kill('SIGTERM');
      expect(await fg.exited).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('--help documents every option, the environment and the precedence', async () => {
    const r = await runCli(['--help'], { cwd: tempDir() });
    expect(r.status).toBe(0);
    for (const o of ['--amqp-port', '--mqtt-port', '--stomp-port', '--engine', '--user', '--data-dir', '--in-memory', '--log-level', '--verbose', '--definitions', '--config', '--detach']) {
      expect(r.stdout).toContain(o);
    }
    expect(r.stdout).toMatch(/highest first: command-line flags, LOCALMQ_\* environment\s+variables, the JSON file/);
    expect(r.stdout).toContain('LOCALMQ_AMQP_PORT');
    for (const c of ['wait', 'status', 'stop', 'definitions']) expect(r.stdout).toMatch(new RegExp(`^  ${c}`, 'm'));
  });
});

function fileURLToPathString(u: URL): string {
  return decodeURIComponent(u.pathname);
}
