import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqplib from 'amqplib';
import { describe, expect, it } from 'vitest';
import { isAlive } from '../../src/process-alive.js';
import { CLI, runCli, startForeground, useCliScratch } from '../helpers/cli.js';

// Issue 10, "the command and the package": what a new user sees in their first hour.

const { tempDir, children } = useCliScratch('localmq-first-hour-');

const root = new URL('../..', import.meta.url);

describe('localmq start --detach, twice', () => {
  it('the refused second start leaves the running broker and its log untouched', async () => {
    const cwd = tempDir();
    const first = await runCli(['start', '--detach', '--in-memory', '--free-ports'], { cwd });
    expect(first.status, first.stderr).toBe(0);
    const log = join(cwd, '.localmq/localmq.log');
    const before = readFileSync(log);
    const again = await runCli(['start', '--detach', '--in-memory', '--free-ports'], { cwd });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^localmq: a broker is already running from .*\(pid \d+\)/);
    // the log still starts with what the first broker wrote, and has no hole of NUL bytes
    const after = readFileSync(log);
    expect(after.subarray(0, before.length).equals(before)).toBe(true);
    expect(after.includes(0)).toBe(false);
    const stop = await runCli(['stop'], { cwd });
    expect(stop.stdout).toMatch(/^stopped \(pid \d+\)/);
  }, 60_000);
});

describe('localmq stop', () => {
  it('counts a zombie (exited, not yet reaped by a slow init) as stopped', async () => {
    // perl forks a child that exits at once, prints its pid and sleeps 5 s without ever waiting:
    // the child stays a zombie for 5 s, as an exited --detach broker does under an init that
    // reaps late (what made `localmq stop` take 2 s on an idle broker). Not `sh -c 'sleep 0 &
    // ...; exec sleep 5'`: dash may reap the finished job before its exec (train run 67: the
    // zombie seen, then ESRCH). perl is Debian's perl-base, an essential package.
    const sh = spawn('perl', ['-e', '$| = 1; my $pid = fork() // die; if ($pid == 0) { exit 0 } print "$pid\n"; sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const zombie = Number(await new Promise<string>((resolve) => sh.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
    try {
      await new Promise<void>((resolve) => {
        const check = () => (readFileSync(`/proc/${zombie}/stat`, 'utf8').includes(') Z ') ? resolve() : setTimeout(check, 10));
        check();
      });
      expect(() => process.kill(zombie, 0)).not.toThrow();
      expect(isAlive(zombie)).toBe(false);
      expect(isAlive(process.pid)).toBe(true);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});

describe('localmq status --json', () => {
  it('prints a JSON object saying nothing runs, and exits 3', async () => {
    const cwd = tempDir();
    const r = await runCli(['status', '--json'], { cwd });
    expect(r.status).toBe(3);
    expect(JSON.parse(r.stdout)).toEqual({ running: false, runDir: join(cwd, '.localmq'), reason: expect.stringMatching(/^no broker is running from /) });
  });
});

describe('an unknown command', () => {
  it.each([
    ['stat', "unknown command 'stat' (did you mean 'status'?)"],
    ['stp', "unknown command 'stp' (did you mean 'stop'?)"],
    ['xyzzy', "unknown command 'xyzzy'"],
  ])('localmq %s says the command is unknown and suggests one', async (word, text) => {
    const r = await runCli([word], { cwd: tempDir() });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`localmq: ${text}; see 'localmq --help'\n`);
  });
});

describe('the package', () => {
  it('has no install-time scripts (npm warns about prepare when the packed tarball is installed); it builds on pack', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string>; version: string; exports: Record<string, Record<string, string>> };
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts).not.toHaveProperty(s);
    expect(pkg.scripts['prepack']).toBe('npm run build');
    // require('localmq') resolves to the CommonJS build
    expect(pkg.exports['.']).toMatchObject({ import: './dist/index.js', require: './cjs/index.js' });
  });

  it('reports the version package.json has', async () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { version: string };
    const { PRODUCT } = await import('../../src/server/product.js');
    expect(PRODUCT.version).toBe(pkg.version);
    const r = await runCli(['--version'], { cwd: tempDir() });
    expect(r.stdout.trim()).toBe(pkg.version);
  });
});

describe('localmq start --in-memory', () => {
  it('writes its CA to a file, prints it, and the TLS endpoints verify against it', async () => {
    const cwd = tempDir();
    const fg = await startForeground(['--in-memory', '--free-ports'], { cwd });
    children.push(fg);
    const caFile = join(cwd, '.localmq/ca.pem');
    expect(fg.stdout()).toContain(`CA file      ${caFile}`);
    const ca = readFileSync(caFile, 'utf8');
    expect(ca).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const amqps = new URL(fg.endpoints.get('AMQP (TLS)')!);
    const conn = await amqplib.connect(`amqps://guest:guest@localhost:${amqps.port}`, { ca: [ca] });
    await conn.close();
    fg.child.kill('SIGTERM');
    expect(await fg.exited).toBe(0);
  }, 60_000);

  it('two in-memory brokers run from the same directory: the second writes no run files', async () => {
    const cwd = tempDir();
    const first = await startForeground(['--in-memory', '--free-ports'], { cwd });
    children.push(first);
    const second = await startForeground(['--in-memory', '--free-ports'], { cwd });
    children.push(second);
    expect(second.endpoints.get('AMQP')).not.toBe(first.endpoints.get('AMQP'));
    for (const fg of [first, second]) {
      const conn = await amqplib.connect(fg.endpoints.get('AMQP')!.replace('amqp://', 'amqp://guest:guest@'));
      await conn.close();
    }
    // the run dir is the first one's: status and stop find it
    const state = JSON.parse(readFileSync(join(cwd, '.localmq/localmq.state.json'), 'utf8')) as { pid: number };
    expect(state.pid).toBe(first.child.pid);
    // the second's CA goes elsewhere, and it says where
    expect(second.stdout()).toContain(`CA file      ${join(tmpdir(), `localmq-${second.child.pid}`, 'ca.pem')}`);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect(JSON.parse(readFileSync(join(cwd, '.localmq/localmq.state.json'), 'utf8'))).toMatchObject({ pid: first.child.pid });
    const stop = await runCli(['stop'], { cwd });
    expect(stop.stdout).toBe(`stopped (pid ${first.child.pid})\n`);
  }, 60_000);
});

describe('under npm (npx localmq, npm start)', () => {
  it('stops when npm goes: SIGTERM to npx kills its shell, the orphaned broker notices and shuts down', async () => {
    // npx runs `sh -c localmq ...` and passes a SIGTERM to that shell, which dies without
    // passing it on; here a shell stands in for that pair, with npm's npm_command variable
    const cwd = tempDir();
    const cmd = [...CLI, 'start', '--in-memory', '--free-ports'].map((a) => `'${a}'`).join(' ');
    const sh = spawn('sh', ['-c', `${cmd}; true`], { cwd, env: { ...process.env, npm_command: 'exec' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    await new Promise<void>((resolve, reject) => {
      sh.stdout.on('data', (d) => {
        stdout += d;
        if (/^ {2}Data dir/m.test(stdout)) resolve();
      });
      sh.on('exit', () => reject(new Error('exited early')));
    });
    const pid = (JSON.parse(readFileSync(join(cwd, '.localmq/localmq.state.json'), 'utf8')) as { pid: number }).pid;
    expect(pid).not.toBe(sh.pid);
    sh.kill('SIGKILL');
    await new Promise<void>((resolve) => {
      const check = () => (isAlive(pid) ? setTimeout(check, 50) : resolve());
      check();
    });
    expect(isAlive(pid)).toBe(false);
    // it shut down cleanly: its run files are gone
    expect(existsSync(join(cwd, '.localmq/localmq.state.json'))).toBe(false);
  }, 60_000);
});

describe('the log', () => {
  it('JSON lines when not on a terminal, readable lines with --log-format text; nothing above the endpoint table', async () => {
    const cwd = tempDir();
    const fg = await startForeground(['--in-memory', '--free-ports'], { cwd });
    children.push(fg);
    const url = fg.endpoints.get('AMQP')!.replace('amqp://', 'amqp://guest:guest@');
    await (await amqplib.connect(url)).close();
    expect(fg.stdout()).toMatch(/^LocalMQ /);
    fg.child.kill('SIGTERM');
    expect(await fg.exited).toBe(0);
    const lines = fg.stderr().trim().split('\n');
    const parsed = lines.map((l) => JSON.parse(l) as { level: string; msg: string; protocol?: string; peer?: string; user?: string; vhost?: string });
    // the first line a user sees on stderr is about their client, not about OpenWire
    expect(parsed[0]).toMatchObject({ level: 'info', msg: 'connection opened', protocol: 'amqp', user: 'guest', vhost: '/' });
    expect(parsed[0]!.peer).toMatch(/^127\.0\.0\.1:\d+$|^\[::1\]:\d+$/);
    expect(parsed.map((p) => p.msg)).toEqual(['connection opened', 'connection closed', 'shutting down']);

    const text = await startForeground(['--in-memory', '--free-ports', '--log-format', 'text', '--run-dir', join(cwd, 'b')], { cwd });
    children.push(text);
    await amqplib.connect(text.endpoints.get('AMQP')!.replace('amqp://', 'amqp://guest:wrong@')).catch(() => undefined);
    text.child.kill('SIGTERM');
    expect(await text.exited).toBe(0);
    expect(text.stderr()).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \[warn\] login refused .*user=guest mechanism=PLAIN reason=bad-credentials peer=\S+:\d+$/m);
    expect(text.stderr()).not.toMatch(/^\{/m);
  }, 60_000);

  it('a plaintext client on a TLS port is logged', async () => {
    const cwd = tempDir();
    const fg = await startForeground(['--in-memory', '--free-ports'], { cwd });
    children.push(fg);
    const port = Number(new URL(fg.endpoints.get('AMQP (TLS)')!).port);
    const net = await import('node:net');
    await new Promise<void>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => s.write('AMQP\x00\x00\x09\x01'));
      s.on('close', () => resolve());
      s.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => {
      const check = () => (fg.stderr().includes('TLS handshake failed') ? resolve() : setTimeout(check, 20));
      check();
    });
    const line = fg.stderr().split('\n').find((l) => l.includes('TLS handshake failed'))!;
    expect(JSON.parse(line)).toMatchObject({ level: 'info', msg: 'TLS handshake failed: the client does not speak TLS (a plaintext client on a TLS port?)', port });
  }, 60_000);
});
